"""Daily rooms end to end: every daily-python EventHandler callback reaches the WebSocket client as a protocol event."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from jsonschema import ValidationError

from protocol.schema import validate_server_message
from tests.fakes.daily import EVENT_NAMES
from tests.fakes.daily_remote import daily_fixtures, nested_in

daily_gateway, daily = daily_fixtures()

SESSION = str(uuid.uuid4())
PARTICIPANT = str(uuid.uuid4())
STREAM = str(uuid.uuid4())

# Arguments for each callback, shaped as Daily documents them (ids shortened where free-form).
SAMPLES: dict[str, tuple[Any, ...]] = {
    "on_available_devices_updated": ({"audio": [], "camera": [], "microphone": [], "speaker": []},),
    "on_dialin_connected": (
        {"sessionId": SESSION, "sipFrom": "sip:+15551230000@carrier", "sipEndpoint": "sip:r@daily"},
    ),
    "on_dialin_stopped": ({"sessionId": SESSION},),
    "on_dialin_error": ({"sessionId": SESSION, "errorMsg": "SDP negotiation failed"},),
    "on_dialin_warning": ({"sessionId": SESSION, "errorMsg": "codec fallback to PCMU"},),
    "on_dialout_answered": ({"sessionId": SESSION, "phoneNumber": "+15551230000"},),
    "on_dialout_connected": ({"sessionId": SESSION, "phoneNumber": "+15551230000"},),
    "on_dialout_stopped": ({"sessionId": SESSION},),
    "on_dialout_error": ({"sessionId": SESSION, "errorMsg": "busy"},),
    "on_dialout_warning": ({"sessionId": SESSION, "errorMsg": "codec fallback to PCMU"},),
    "on_dtmf_event": ({"sessionId": SESSION, "tone": "5", "digitDurationMs": 100, "method": "sip-info"},),
    "on_inputs_updated": ({"microphone": {"isEnabled": True, "settings": {}}},),
    "on_live_stream_error": (STREAM, "rtmp endpoint refused"),
    "on_live_stream_started": ({"streamId": STREAM, "layout": {"preset": "default"}},),
    "on_live_stream_stopped": (STREAM,),
    "on_live_stream_updated": ({"streamId": STREAM, "state": "connected"},),
    "on_live_stream_warning": (STREAM, "endpoint slow"),
    "on_network_stats_updated": ({"quality": 80, "threshold": "low", "stats": {"latest": {"recvBitsPerSecond": 1}}},),
    "on_publishing_updated": ({"microphone": {"isPublishing": False}},),
    "on_recording_error": (STREAM, "recording failed to start"),
    "on_recording_started": ({"streamId": STREAM, "recordingId": "rec-1", "type": "cloud", "startedBy": PARTICIPANT},),
    "on_recording_stopped": (STREAM,),
    "on_subscription_profiles_updated": ({"base": {"camera": {"subscriptionState": "unsubscribed"}}},),
    "on_subscriptions_updated": ({PARTICIPANT: {"media": {"microphone": "unsubscribed"}}},),
    "on_transcription_error": ("transcription quota exceeded",),
    "on_transcription_message": (
        {
            "participantId": PARTICIPANT,
            "text": "hello there",
            "timestamp": "2026-11-24T09:00:00.000Z",
            "trackType": "cam-audio",
            "rawResponse": {"is_final": True},
        },
    ),
    "on_transcription_started": (
        {"instanceId": STREAM, "language": "en", "model": "nova-2", "startedBy": PARTICIPANT},
    ),
    "on_transcription_stopped": (PARTICIPANT, False),
    "on_transcription_updated": ({"instanceId": STREAM, "participants": [PARTICIPANT]},),
}
# Callbacks with a test of their own (they need a participant in the room or carry errors), or that
# daily-python 0.36 never calls (the fake refuses to emit them: tests/fakes/daily.py NEVER_EMITTED).
ELSEWHERE = {
    "on_active_speaker_changed", "on_app_message", "on_call_state_updated", "on_dialin_ready", "on_error",
    "on_participant_counts_updated", "on_participant_joined", "on_participant_left", "on_participant_updated",
    "on_network_connection_status_updated",
}  # fmt: skip


def event_name(callback: str) -> str:
    """The protocol event of a callback: its name without ``on_``, dashed (``on_dtmf_event`` -> ``dtmf-event``)."""
    return callback.removeprefix("on_").replace("_", "-")


def test_every_callback_has_a_sample_or_a_test():
    """The samples below and the dedicated tests together cover every callback of daily-python's EventHandler."""
    assert set(SAMPLES) | ELSEWHERE == set(EVENT_NAMES)


@pytest.mark.parametrize("callback", sorted(SAMPLES))
async def test_sdk_callback_is_relayed(daily, callback):
    """Daily's callback, from the SDK's emitter thread, becomes the protocol event of that name carrying every argument."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    args = SAMPLES[callback]
    await fake.emit(callback, *args)
    # The first one may be the backend's own (the join unsubscribes video: subscription-profiles-updated).
    event = await client.wait_for(event_name(callback), lambda d: all(nested_in(d, a) for a in args), timeout=5)
    for arg in args:
        assert nested_in(event.data, arg), f"{callback}: {arg!r} missing from {event.data!r}"
    assert (await client.stats())["state"] == "joined"


async def test_room_events_reach_the_client(daily):
    """Participants joining, updating, speaking, messaging and leaving in Daily reach the client as the protocol's room events."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    bob = await fake.add_participant(user_name="bob")
    first = await client.wait_for("first-participant-joined")
    joined = await client.wait_for("participant-joined")
    assert first.data["participant"]["id"] == joined.data["participant"]["id"] == bob["id"]
    assert joined.data["participant"]["info"]["userName"] == "bob"
    counts = await client.wait_for("participant-counts-updated")
    assert counts.data["counts"]["present"] == 2

    carol = await fake.add_participant(user_name="carol")
    await client.wait_for("participant-joined", lambda d: d["participant"]["id"] == carol["id"])
    assert [e.event for e in client.event_log].count("first-participant-joined") == 1

    updated = dict(bob, info={**bob["info"], "userName": "bobby"})
    await fake.emit("on_participant_updated", updated)
    change = await client.wait_for("participant-updated", lambda d: d["participant"]["id"] == bob["id"])
    assert change.data["participant"]["info"]["userName"] == "bobby"

    await fake.emit("on_app_message", {"text": "hi", "n": [1, 2]}, bob["id"])
    message = await client.wait_for("app-message")
    assert message.data == {"message": {"text": "hi", "n": [1, 2]}, "sender": bob["id"]}

    await fake.set_active_speaker(bob["id"])
    speaker = await client.wait_for("active-speaker-changed")
    assert speaker.data["participant"]["id"] == bob["id"]

    await fake.remove_participant(bob["id"], reason="hidden")
    left = await client.wait_for("participant-left")
    assert left.data["participant"]["id"] == bob["id"] and left.data["reason"] == "hidden"


async def test_sdk_errors_become_error_events(daily):
    """Daily's on_error (which the reference never surfaced) becomes an error event with Daily's text; the session stays joined."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    await fake.emit("on_error", "Signalling connection lost: reconnecting")
    error = await client.wait_for("error", timeout=5)
    assert "Signalling connection lost" in error.data["message"] and error.data["code"]
    assert (await client.stats())["state"] == "joined"


async def test_every_event_matches_its_schema(daily):
    """Events built from Daily's documents (participants with Daily's joinedAt, states, messages) still match protocol/schema."""
    client = await daily.connect()
    _, fake = await daily.join(client)
    bob = await fake.add_participant(user_name="bob", camera=True)
    await fake.set_active_speaker(bob["id"])
    await fake.emit("on_app_message", "plain text", bob["id"])
    for callback, args in SAMPLES.items():
        await fake.emit(callback, *args)
    await fake.remove_participant(bob["id"])
    await client.wait_for("participant-left")
    await fake.drain()
    await client.request("ping")
    problems = []
    for e in client.event_log:
        try:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})
        except ValidationError as exc:
            problems.append(f"{e.event}: {exc.message} at {list(exc.absolute_path)}")
    assert not problems, "\n".join(sorted(set(problems)))
