"""A bot in a Daily room for the browser tests: the gateway's Daily backend runs on the fake SDK.

    daily_room.py --url WS --control FILE --room https://example.daily.co/x [--bot-name N] [--seconds S]

Joins the room through the gateway (a session with ``audio_in``), then has the fake daily-python
add a remote participant ``alice`` who speaks the demo WAV in a loop (2 s of speech, 1 s of
silence) for ``--seconds``. Prints one JSON object per line: ``{"ready", "session_id",
"participant_id", "room_url"}`` once joined, then ``{"alice": <id>}`` once she speaks. SIGTERM
closes the session with 1000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from gateway_client import GatewayClient

from tests.audio import demo_speech, silence
from tests.fakes.daily_remote import RemoteFake

RATE = 16000


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


async def run(args: argparse.Namespace, client: GatewayClient) -> None:
    joined = await client.join(args.room, user_name=args.bot_name, audio_in={"sample_rate": RATE})
    emit({"ready": True, "session_id": (await client.stats())["session_id"],
          "participant_id": joined["participant_id"], "room_url": args.room})
    remote = RemoteFake(Path(args.control), timeout=20)
    try:
        fake = await remote.client_for(args.room)
        alice = str((await fake.add_participant(user_name="alice"))["id"])
        await fake.wait_for_renderer(alice)
        emit({"alice": alice})
        speech = demo_speech(RATE, seconds=2.0) + silence(RATE, 1.0)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            await remote.wait_push(await fake.push_audio(alice, speech, RATE), timeout=10)
    finally:
        await remote.close()


async def main_async(args: argparse.Namespace) -> None:
    client = await GatewayClient.connect(args.url)
    body = asyncio.create_task(run(args, client))
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, body.cancel)
    try:
        await body
    except asyncio.CancelledError:
        pass
    finally:
        await client.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--bot-name", default="daily-bot")
    parser.add_argument("--seconds", type=float, default=60.0)
    asyncio.run(main_async(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
