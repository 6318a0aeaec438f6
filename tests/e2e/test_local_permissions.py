"""Local rooms: permissions and remote control (owner token, canAdmin, canSend, hasPresence, inputs, eject)."""

from __future__ import annotations

import asyncio

import pytest

from gateway_client import GatewayError
from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech

RATE = 16000


def validate(*clients) -> None:
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def heard(listener, speaker, pcm: bytes, seconds: float) -> float:
    """Correlation of ``pcm`` (sent by ``speaker`` now) with what ``listener`` receives of the speaker."""
    listener.drain_audio()
    sending = asyncio.create_task(speaker.send_audio(pcm))
    received = await listener.record(seconds, participant_id=speaker.participant_id)
    await sending
    return best_correlation(pcm, RATE, received, RATE)[0] if received else 0.0


async def three(connect, room):
    """An owner, a speaker and a listener in ``room``."""
    owner, speaker, listener = await connect(), await connect(), await connect()
    await owner.join(room, token="owner", audio_out={"enabled": False})
    await speaker.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    return owner, speaker, listener


async def test_a_participant_who_may_not_send_is_not_heard(connect, room):
    """canSend false from the owner: the listener's track of the speaker stops and its speech no longer arrives; true again restores it."""
    owner, speaker, listener = await three(connect, room)
    speech = demo_speech(RATE, seconds=1.2)
    assert await heard(listener, speaker, speech, 1.8) > 0.9, "not heard before the mute"
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"canSend": False}}}})
    stopped = await listener.wait_for("track-stopped", lambda d: d["participant_id"] == speaker.participant_id)
    assert stopped.data["source"] == "microphone"
    update = await listener.wait_for(
        "participant-updated", lambda d: d["participant"]["info"]["permissions"]["canSend"] is False
    )
    assert update.data["participant"]["media"]["microphone"]["state"] == "blocked"
    own = await speaker.wait_for("participant-updated", lambda d: d["participant"]["info"]["isLocal"])
    assert own.data["participant"]["info"]["permissions"]["canSend"] is False
    listener.drain_audio()
    await speaker.send_audio(speech)
    assert await listener.record(1.6, participant_id=speaker.participant_id) == b"", "a muted participant was heard"
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"canSend": ["microphone"]}}}})
    await asyncio.sleep(1.3)  # what was refused is not replayed; let the playout drain
    assert await heard(listener, speaker, speech, 1.8) > 0.9, "not heard after canSend came back"
    validate(owner, speaker, listener)


async def test_inputs_off_from_an_admin_silences_and_on_restores(connect, room):
    """inputsEnabled.microphone false mutes the speaker for everyone; true makes it heard again."""
    owner, speaker, listener = await three(connect, room)
    speech = demo_speech(RATE, seconds=1.0)
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"inputsEnabled": {"microphone": False}}}})
    await listener.wait_for("participant-updated", lambda d: d["participant"]["media"]["microphone"]["state"] == "off")
    listener.drain_audio()
    await speaker.send_audio(speech)
    assert await listener.record(1.4, participant_id=speaker.participant_id) == b""
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"inputsEnabled": {"microphone": True}}}})
    await asyncio.sleep(1.1)
    assert await heard(listener, speaker, speech, 1.6) > 0.9


async def test_remote_control_needs_admin_rights(connect, room):
    """A participant without owner or canAdmin gets not_allowed, and nothing changes for the target."""
    owner, speaker, listener = await three(connect, room)
    with pytest.raises(GatewayError) as err:
        await listener.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"canSend": False}}}})
    assert err.value.code == "not_allowed"
    with pytest.raises(GatewayError) as err:
        await listener.request("eject-remote-participants", {"ids": [speaker.participant_id]})
    assert err.value.code == "not_allowed"
    participants = await owner.participants()
    assert participants[speaker.participant_id]["info"]["permissions"]["canSend"] is True
    assert participants[owner.participant_id]["info"]["isOwner"] is True


async def test_bad_remote_control_requests_are_typed_errors(connect, room):
    """Unknown ids are not_found (nothing applied), one's own id invalid_params, bad permission values invalid_params."""
    owner, speaker, listener = await three(connect, room)
    with pytest.raises(GatewayError) as err:
        await owner.request("update-remote-participants", {"remote_participants": {
            speaker.participant_id: {"permissions": {"canSend": False}}, "nobody": {"permissions": {"canSend": False}}}})
    assert err.value.code == "not_found" and err.value.details["participant_id"] == "nobody"
    assert (await owner.participants())[speaker.participant_id]["info"]["permissions"]["canSend"] is True
    with pytest.raises(GatewayError) as err:
        await owner.request("update-remote-participants", {"remote_participants": {owner.participant_id: {"permissions": {"canSend": False}}}})
    assert err.value.code == "invalid_params"
    with pytest.raises(GatewayError) as err:
        await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"canSend": "yes"}}}})
    assert err.value.code == "invalid_params"
    with pytest.raises(GatewayError) as err:
        await owner.request("eject-remote-participants", {"ids": ["nobody"]})
    assert err.value.code == "not_found"


async def test_can_admin_lets_a_participant_eject(connect, room):
    """The owner grants canAdmin; that participant ejects another, who gets left {ejected} and is out of the room."""
    owner, speaker, listener = await three(connect, room)
    await owner.request("update-remote-participants", {"remote_participants": {listener.participant_id: {"permissions": {"canAdmin": ["participants"]}}}})
    await listener.wait_for("participant-updated", lambda d: d["participant"]["info"]["isLocal"])
    await listener.request("eject-remote-participants", {"ids": [speaker.participant_id]})
    left = await speaker.wait_for("left")
    assert left.data == {"reason": "ejected"}
    gone = await owner.wait_for("participant-left", lambda d: d["participant"]["id"] == speaker.participant_id)
    assert gone.data["cause"] == "ejected"
    assert speaker.participant_id not in await owner.participants()
    with pytest.raises(GatewayError) as err:
        await speaker.participants()
    assert err.value.code == "not_joined"
    validate(owner, speaker, listener)


async def test_has_presence_false_hides_and_true_shows_again(connect, room):
    """hasPresence false: the others get participant-left (reason hidden) and no longer list it; true: participant-joined."""
    owner, speaker, listener = await three(connect, room)
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"hasPresence": False}}}})
    left = await listener.wait_for("participant-left", lambda d: d["participant"]["id"] == speaker.participant_id)
    assert left.data["reason"] == "hidden"
    assert speaker.participant_id not in await listener.participants()
    assert speaker.participant_id in await speaker.participants()
    await owner.request("update-remote-participants", {"remote_participants": {speaker.participant_id: {"permissions": {"hasPresence": True}}}})
    await listener.wait_for("participant-joined", lambda d: d["participant"]["id"] == speaker.participant_id)
    assert speaker.participant_id in await listener.participants()
    validate(owner, speaker, listener)


async def test_can_receive_forbidding_audio_stops_it_reaching_that_participant(connect, room):
    """canReceive base {microphone: false} ends the listener's track of the speaker and nothing more arrives; byParticipantId lets the speaker through again."""
    owner, speaker, listener = await three(connect, room)
    speech = demo_speech(RATE, seconds=1.0)
    assert await heard(listener, speaker, speech, 1.6) > 0.9, "not heard before canReceive"
    deaf = {"canReceive": {"base": {"microphone": False, "camera": True}}}
    await owner.request("update-remote-participants", {"remote_participants": {listener.participant_id: {"permissions": deaf}}})
    stopped = await listener.wait_for("track-stopped", lambda d: d["participant_id"] == speaker.participant_id)
    assert stopped.data["source"] == "microphone"
    listener.drain_audio()
    await speaker.send_audio(speech)
    assert await listener.record(1.4, participant_id=speaker.participant_id) == b"", "audio reached a participant who may not receive it"
    await asyncio.sleep(0.3)
    allowed = {"canReceive": {"base": {"microphone": False}, "byParticipantId": {speaker.participant_id: {"microphone": True}}}}
    await owner.request("update-remote-participants", {"remote_participants": {listener.participant_id: {"permissions": allowed}}})
    await listener.wait_for("participant-updated", lambda d: d["participant"]["info"]["isLocal"]
                            and "byParticipantId" in d["participant"]["info"]["permissions"]["canReceive"])
    assert await heard(listener, speaker, speech, 1.6) > 0.9, "not heard once byParticipantId allowed the speaker"
    validate(owner, speaker, listener)
