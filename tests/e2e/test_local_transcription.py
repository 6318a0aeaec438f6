"""Local-room transcription end to end: words recognised, Daily's message shape, instances, errors."""

from __future__ import annotations

import asyncio
import signal
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway_client import GatewayError

from protocol.schema import validate_server_message
from tests.audio import silence, tone
from tests.conftest import start_gateway

pytest.importorskip("pocketsphinx")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "speech_hello_world.wav"
KEY_WORDS = {"hello", "world", "open", "door", "close", "window"}
"""The fixture says "hello world. please open the door and close the window." (tests/fixtures/README.md)."""


def phrase() -> bytes:
    """The fixture phrase, 16 kHz mono PCM16, with a pause after it so the recogniser ends the utterance."""
    with wave.open(str(FIXTURE)) as w:
        assert w.getframerate() == 16000
        return w.readframes(w.getnframes()) + silence(16000, 1.0)


def finals(client, participant_id: str | None = None) -> list[dict]:
    return [
        e.data["message"]
        for e in client.event_log
        if e.event == "transcription-message"
        and e.data["message"]["rawResponse"]["is_final"]
        and (participant_id is None or e.data["message"]["participantId"] == participant_id)
    ]


def words(messages: list[dict]) -> set[str]:
    return {w for m in messages for w in m["text"].split()}


def validate(client) -> None:
    for e in client.event_log:
        validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def wait_final(client, participant_id: str, timeout: float = 20.0):
    return await client.wait_for(
        "transcription-message",
        lambda d: d["message"]["participantId"] == participant_id and d["message"]["rawResponse"]["is_final"],
        timeout=timeout,
    )


async def test_transcript_holds_the_key_words_in_dailys_format(connect, room):
    """A speaks a known phrase; everyone gets final transcription messages from A with most of its key words."""
    a, b = await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    before = datetime.now(UTC)
    reply = await b.request("start-transcription")
    for client in (a, b):
        started = await client.wait_for("transcription-started")
        assert started.data["status"]["instanceId"] == reply["instance_id"]
        assert started.data["status"]["startedBy"] == b.participant_id
    await a.send_audio(phrase())
    message = (await wait_final(b, ja["participant_id"])).data["message"]
    assert message["trackType"] == "cam-audio" and message["text"]
    stamp = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) < stamp < datetime.now(UTC), message["timestamp"]
    alternative = message["rawResponse"]["channel"]["alternatives"][0]
    assert alternative["transcript"] == message["text"] and alternative["languages"] == ["en"]
    await b.request("stop-transcription")
    heard = words(finals(b, ja["participant_id"]))
    assert len(heard & KEY_WORDS) >= 3, f"recognised {sorted(heard)}"
    assert words(finals(a, ja["participant_id"])) == heard, "the speaker did not get the same transcript"
    assert not [e for e in b.event_log if e.event == "transcription-error"]
    validate(b)


async def test_interim_results_only_when_asked(connect, room):
    """With extra.interim_results, interim messages (is_final false) come before the final; without, only finals."""
    a, b = await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    await b.request("start-transcription", {"settings": {"instanceId": "plain"}})
    await b.request("start-transcription", {"settings": {"instanceId": "live", "extra": {"interim_results": True}}})
    # list-rooms names the running instances, so a page opened now knows (the dashboard's Transcript tab).
    listed = {r["room_url"]: r for r in (await a.request("list-rooms"))["rooms"]}
    assert listed[room]["transcriptions"] == ["live", "plain"]
    await a.send_audio(phrase())
    for instance in ("plain", "live"):
        await b.wait_for(
            "transcription-message",
            lambda d, i=instance: d["message"]["instanceId"] == i and d["message"]["rawResponse"]["is_final"],
            timeout=20,
        )
    messages = [e.data["message"] for e in b.event_log if e.event == "transcription-message"]
    live = [m for m in messages if m["instanceId"] == "live"]
    plain = [m for m in messages if m["instanceId"] == "plain"]
    assert all(m["rawResponse"]["is_final"] for m in plain), "interim messages without interim_results"
    kinds = [m["rawResponse"]["is_final"] for m in live]
    assert False in kinds and kinds.index(False) < kinds.index(True), f"no interim before the final: {kinds}"
    assert {m["participantId"] for m in messages} == {ja["participant_id"]}


async def test_only_the_participants_asked_for(connect, room):
    """settings.participants limits transcription to them; update-transcription switches to others."""
    a, c, b = await connect(), await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    jc = await c.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    await b.request("start-transcription", {"settings": {"participants": [ja["participant_id"]]}})
    await asyncio.gather(a.send_audio(phrase()), c.send_audio(phrase()))
    await wait_final(b, ja["participant_id"])
    await asyncio.sleep(1.0)
    assert not finals(b, jc["participant_id"]), "a participant not asked for was transcribed"
    await b.request("update-transcription", {"participants": [jc["participant_id"]]})
    await asyncio.gather(a.send_audio(phrase()), c.send_audio(phrase()))
    await wait_final(b, jc["participant_id"])
    count_a = len(finals(b, ja["participant_id"]))
    await asyncio.sleep(1.5)
    assert len(finals(b, ja["participant_id"])) == count_a, "A was still transcribed after the update"


async def test_capture_participant_transcription_before_and_after_start(connect, room):
    """capture-participant-transcription kept before a start narrows it once started, and adds a participant later."""
    a, c, b = await connect(), await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    jc = await c.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    kept = await b.request("capture-participant-transcription", {"participant_id": ja["participant_id"]})
    assert kept == {"participants": [ja["participant_id"]], "applied": False, "reason": "not_found"}
    with pytest.raises(GatewayError) as unknown:
        await b.request("capture-participant-transcription", {"participant_id": "nobody"})
    assert unknown.value.code == "not_found"
    await b.request("start-transcription")  # no settings.participants: the captured set applies
    await asyncio.gather(a.send_audio(phrase()), c.send_audio(phrase()))
    await wait_final(b, ja["participant_id"])
    await asyncio.sleep(1.0)
    assert not finals(b, jc["participant_id"]), "a participant not captured was transcribed"
    added = await b.request("capture-participant-transcription", {"participant_id": jc["participant_id"]})
    assert added == {"participants": [ja["participant_id"], jc["participant_id"]], "applied": True}
    await c.send_audio(phrase())
    await wait_final(b, jc["participant_id"])


async def test_stop_flushes_the_last_words_then_stops(connect, room):
    """stop-transcription mid-speech still sends the words heard so far, then transcription-stopped naming the stopper."""
    a, b = await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    await b.request("start-transcription")
    await a.send_audio(phrase()[: 16000 * 2 * 3])  # 3 s of the phrase, cut mid-sentence
    await asyncio.sleep(3.2)
    await b.request("stop-transcription")
    stopped = await b.wait_for("transcription-stopped")
    assert stopped.data["stopped_by"] == b.participant_id and stopped.data["stopped_by_error"] is False
    last = finals(b, ja["participant_id"])
    assert last, "nothing was transcribed"
    final_seqs = [e.seq for e in b.event_log if e.event == "transcription-message"]
    assert max(final_seqs) < stopped.seq, "a transcription message came after transcription-stopped"
    await a.send_audio(phrase())
    await asyncio.sleep(1.0)
    assert len(finals(b)) == len(last), "transcribed after stop"


async def test_tone_is_not_speech(connect, room):
    """A pure tone and silence produce no transcription messages (the recogniser's endpointer ignores them)."""
    a, b = await connect(), await connect()
    await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    await b.request("start-transcription")
    await a.send_audio(silence(16000, 1.0) + tone(16000, 1.0, freq=440, amplitude=0.3) + silence(16000, 1.0))
    await asyncio.sleep(3.3)
    await b.request("stop-transcription")
    assert not [e for e in b.event_log if e.event == "transcription-message"]


async def test_transcription_errors_are_typed(connect, room):
    """Wrong-state uses get typed errors: not_joined, not_found, wrong_state, not_supported (with transcription-error)."""
    from gateway_client import GatewayError

    a, b = await connect(), await connect()
    with pytest.raises(GatewayError) as err:
        await a.request("start-transcription")
    assert err.value.code == "not_joined"
    await a.join(room, token="owner")
    await b.join(room)
    cases = [
        ("stop-transcription", {}, "not_found"),
        ("stop-transcription", {"instance_id": "nope"}, "not_found"),
        ("update-transcription", {"participants": [a.participant_id]}, "not_found"),
        ("start-transcription", {"settings": {"participants": ["nobody"]}}, "not_found"),
        ("start-transcription", {"settings": {"participants": "everyone"}}, "invalid_params"),
        ("update-transcription", {"participants": "x"}, "invalid_params"),
        ("start-transcription", {"settings": {"language": "fr"}}, "not_supported"),
    ]
    for rtype, params, code in cases:
        with pytest.raises(GatewayError) as err:
            await a.request(rtype, params)
        assert err.value.code == code, (rtype, params, err.value)
    error = await b.wait_for("transcription-error")
    assert "fr" in error.data["message"]
    await a.request("start-transcription")
    with pytest.raises(GatewayError) as err:
        await a.request("start-transcription")
    assert err.value.code == "wrong_state"
    with pytest.raises(GatewayError) as err:
        await a.request("update-transcription", {"participants": ["nobody"]})
    assert err.value.code == "not_found"
    await a.request("stop-transcription")
    validate(b)



async def test_transcription_needs_admin_rights(connect, room):
    """Without owner or canAdmin "transcription", start/stop/update-transcription are not_allowed and nothing starts; ["transcription"] allows it."""
    from gateway_client import GatewayError

    owner, guest = await connect(), await connect()
    await owner.join(room, token="owner")
    await guest.join(room)
    for rtype, params in [("start-transcription", {}), ("stop-transcription", {}),
                          ("update-transcription", {"participants": [owner.participant_id]})]:
        with pytest.raises(GatewayError) as err:
            await guest.request(rtype, params)
        assert err.value.code == "not_allowed", (rtype, err.value)
        assert err.value.details == {"admin": "transcription"}
    await owner.request("update-remote-participants", {"remote_participants": {guest.participant_id: {"permissions": {"canAdmin": ["transcription"]}}}})
    await guest.wait_for("participant-updated", lambda d: d["participant"]["info"]["permissions"]["canAdmin"] == ["transcription"])
    reply = await guest.request("start-transcription")
    started = await owner.wait_for("transcription-started")
    assert started.data["status"]["instanceId"] == reply["instance_id"]
    await owner.request("update-remote-participants", {"remote_participants": {guest.participant_id: {"permissions": {"canAdmin": False}}}})
    await guest.wait_for("participant-updated", lambda d: d["participant"]["info"]["permissions"]["canAdmin"] is False)
    with pytest.raises(GatewayError) as err:
        await guest.request("stop-transcription")
    assert err.value.code == "not_allowed"
    await owner.request("stop-transcription")
    stopped = await guest.wait_for("transcription-stopped")
    assert stopped.data["stopped_by"] == owner.participant_id

async def test_transcription_goes_on_after_the_starter_leaves(connect, room):
    """B starts transcription and leaves; A's speech is still transcribed for C."""
    a, b, c = await connect(), await connect(), await connect()
    ja = await a.join(room, audio_out={"sample_rate": 16000})
    await b.join(room, token="owner")
    await c.join(room)
    await b.request("start-transcription")
    await b.leave()
    await c.wait_for("participant-left")
    await a.send_audio(phrase())
    message = (await wait_final(c, ja["participant_id"])).data["message"]
    assert message["text"] and message["participantId"] == ja["participant_id"]


def children(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` by pid, with their command lines."""
    out: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            out[int(entry.name)] = cmdline
    return out


def gone(pid: int) -> bool:
    """The process has exited (no such pid, or a zombie nobody reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
async def test_no_recognition_process_outlives_the_gateway(sig):
    """--transcription-workers 2 runs two recognition processes; both exit when the gateway is SIGTERMed or SIGKILLed."""
    from gateway_client import GatewayClient

    gw = start_gateway("--transcription-workers", "2", name=f"gateway-transcription-{sig.name}")
    try:
        a = await GatewayClient.connect(gw.url)
        await a.join("local://orphans", token="owner", audio_out={"sample_rate": 16000})
        assert not children(gw.process.pid), "recognition started before any transcription"
        await a.request("start-transcription")
        await a.send_audio(phrase())
        await wait_final(a, a.participant_id)
        workers = [pid for pid, cmd in children(gw.process.pid).items() if "spawn_main" in cmd]
        assert len(workers) == 2, children(gw.process.pid)
        helpers = list(children(gw.process.pid))  # the workers, and multiprocessing's resource tracker
        gw.process.send_signal(sig)
        await asyncio.to_thread(gw.process.wait, 15)
        deadline = time.monotonic() + 10
        while not all(gone(pid) for pid in helpers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert all(gone(pid) for pid in helpers), f"left behind: {[p for p in helpers if not gone(p)]}"
        if sig == signal.SIGTERM:
            assert gw.process.returncode == 0 and "Traceback" not in gw.log()
        await a.close()
    finally:
        gw.stop()
