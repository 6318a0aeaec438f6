"""The README tour: join the demo room, watch events, save 5 s of the demo talker to a WAV, say something back.

Run `make serve` in one terminal, then: .venv/bin/python clients/python/examples/tour.py [ws://127.0.0.1:8765/v1]
"""

import asyncio
import sys
import wave

from gateway_client import GatewayClient


async def main(url: str = "ws://127.0.0.1:8765/v1", seconds: float = 5.0, out: str = "demo.wav") -> None:
    async with await GatewayClient.connect(url) as gw:
        joined = await gw.join(
            "local://demo",
            user_name="tour",
            audio_in={"sample_rate": 16000, "channels": 1, "frame_ms": 20},  # what we receive
            audio_out={"sample_rate": 16000, "channels": 1},  # what we send
        )
        print("I am", joined["participant_id"], "with", [p["info"]["userName"] for p in joined["participants"].values()])

        async def show_events() -> None:
            async for event in gw.events():
                if event.event != "audio-levels":
                    print(f"  event {event.seq}: {event.event} {event.data.get('participant_id', '')}")

        printer = asyncio.create_task(show_events())
        pcm = await gw.record(seconds)  # every received frame, concatenated
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(16000)
            wav.writeframes(pcm)
        print(f"saved {len(pcm) / 32000:.1f} s of the room to {out}")

        await gw.send_audio(pcm[: 16000 * 2])  # play 1 s back into the room, paced by the gateway
        await gw.send_app_message({"text": "hello from the tour"})
        await gw.leave()
        printer.cancel()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
