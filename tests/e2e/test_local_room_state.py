"""Local rooms: participant counts, active speaker and network stats (PROTOCOL.md 5.10)."""

from __future__ import annotations

import pytest

from gateway_client import GatewayError
from protocol.schema import validate_server_message
from tests.audio import demo_speech

RATE = 16000


def validate(*clients) -> None:
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


def counts_seen(client) -> list[dict]:
    return [e.data["counts"] for e in client.event_log if e.event == "participant-counts-updated"]


async def test_counts_follow_joins_hiding_and_leaves(connect, room):
    """get-participant-counts and participant-counts-updated track join, hide, show and leave (not other changes, not to the newcomer); observers get them all."""
    watcher = await connect()
    await watcher.request("observe", {"room_url": room, "audio": "none"})
    owner, guest = await connect(), await connect()

    async def next_counts(client) -> dict:
        return (await client.wait_for("participant-counts-updated")).data["counts"]

    await owner.join(room, token="owner", audio_out={"enabled": False})
    assert await owner.participant_counts() == {"present": 1, "hidden": 0}
    await guest.join(room, audio_out={"enabled": False})
    assert await next_counts(owner) == {"present": 2, "hidden": 0}
    assert await guest.participant_counts() == {"present": 2, "hidden": 0}

    hide = {"remote_participants": {guest.participant_id: {"permissions": {"hasPresence": False}}}}
    await owner.request("update-remote-participants", hide)
    assert await next_counts(owner) == {"present": 1, "hidden": 1}
    assert await guest.participant_counts() == {"present": 1, "hidden": 1}
    show = {"remote_participants": {guest.participant_id: {"permissions": {"hasPresence": True}}}}
    await owner.request("update-remote-participants", show)
    assert await next_counts(owner) == {"present": 2, "hidden": 0}
    await owner.request("update-remote-participants", {"remote_participants": {guest.participant_id: {"permissions": {"canSend": False}}}})
    await guest.leave()
    assert await next_counts(owner) == {"present": 1, "hidden": 0}, "counts sent without a change (canSend)"
    await owner.request("ping")  # anything sent after the leave has arrived by now
    assert len(counts_seen(owner)) == 4
    assert counts_seen(guest) == [{"present": 1, "hidden": 1}, {"present": 2, "hidden": 0}], "a newcomer got its own join's counts"
    for _ in range(5):
        await next_counts(watcher)
    assert counts_seen(watcher) == [{"present": 1, "hidden": 0}, *counts_seen(owner)]
    validate(owner, guest, watcher)


async def test_active_speaker_is_whoever_spoke_last(connect, room):
    """get-active-speaker and active-speaker-changed name the speaker (isLocal true for itself only), null before and after."""
    speaker, listener = await connect(), await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    assert await listener.active_speaker() is None
    await speaker.send_audio(demo_speech(RATE, seconds=1.0))
    changed = await listener.wait_for("active-speaker-changed")
    assert changed.data["participant"]["id"] == speaker.participant_id
    assert changed.data["participant"]["info"]["isLocal"] is False
    mine = await speaker.wait_for("active-speaker-changed")
    assert mine.data["participant"]["id"] == speaker.participant_id
    assert mine.data["participant"]["info"]["isLocal"] is True, "the speaker cannot tell the event is about itself"
    heard = await listener.active_speaker()
    assert heard["id"] == speaker.participant_id and heard["info"]["isLocal"] is False
    own = await speaker.active_speaker()
    assert own["id"] == speaker.participant_id and own["info"]["isLocal"] is True
    await speaker.leave()
    await listener.wait_for("participant-left")
    assert await listener.active_speaker() is None
    validate(listener, speaker)


async def test_network_stats_count_the_media_moved(connect, room):
    """get-network-stats has Daily's shape, and its byte counts equal the audio one participant sent and the other received."""
    speaker, listener = await connect(), await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    await speaker.send_audio(demo_speech(RATE, seconds=1.0))
    await speaker.wait_for("playout-idle")
    sent, received = await speaker.network_stats(), await listener.network_stats()
    for stats in (sent, received):
        assert stats["threshold"] == "good" and stats["quality"] == 100 and stats["networkState"] == "good"
        assert stats["stats"]["latest"]["totalRecvPacketLoss"] == 0.0
    assert sent["local"]["audioBytesSent"] >= RATE * 2, "less than the second of speech was counted"
    assert received["local"]["audioBytesReceived"] == sent["local"]["audioBytesSent"]
    assert sent["local"]["bytesReceived"] == 0 and received["local"]["bytesSent"] == 0
    assert sent["stats"]["latest"]["sendBitsPerSecond"] > 0
    assert received["stats"]["latest"]["recvBitsPerSecond"] > 0


async def test_room_state_needs_a_room_of_ones_own(connect, room):
    """Before join the room state requests are not_joined; an observer gets not_allowed."""
    client, watcher = await connect(), await connect()
    await watcher.request("observe", {"room_url": room, "audio": "none"})
    for rtype in ("get-participant-counts", "get-active-speaker", "get-network-stats"):
        with pytest.raises(GatewayError) as err:
            await client.request(rtype)
        assert err.value.code == "not_joined", rtype
        with pytest.raises(GatewayError) as err:
            await watcher.request(rtype)
        assert err.value.code == "not_allowed", rtype
