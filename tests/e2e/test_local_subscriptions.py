"""Local rooms: update-subscriptions, update-publishing and update-inputs change what is received and sent."""

from __future__ import annotations

import asyncio

import pytest

from gateway_client import GatewayError
from protocol.schema import validate_server_message
from tests.audio import best_correlation, demo_speech, tone

RATE = 16000


def validate(*clients) -> None:
    for client in clients:
        for e in client.event_log:
            validate_server_message({"type": "event", "seq": e.seq, "event": e.event, "data": e.data})


async def test_unsubscribing_one_participant_keeps_the_other(connect, room):
    """The listener unsubscribes A's microphone: it still hears B (content) and nothing of A; subscribing again brings A back."""
    a, b, listener = await connect(), await connect(), await connect()
    await a.join(room, audio_out={"sample_rate": RATE})
    await b.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    reply = await listener.request("update-subscriptions", {"participant_settings": {a.participant_id: {"media": {"microphone": "unsubscribed"}}}})
    assert reply["subscriptions"] == {a.participant_id: {"media": {"microphone": "unsubscribed"}}}
    event = await listener.wait_for("subscriptions-updated")
    assert event.data["subscriptions"] == reply["subscriptions"]
    speech, beep = demo_speech(RATE, seconds=1.2), tone(RATE, 1.2, freq=700)
    listener.drain_audio()
    sends = asyncio.gather(a.send_audio(speech), b.send_audio(beep))
    of_a = asyncio.create_task(listener.record(1.8, participant_id=a.participant_id))
    await sends
    await of_a
    assert of_a.result() == b"", "an unsubscribed participant was received"
    assert not [f for f in listener.drain_audio() if f.participant_id == a.participant_id]
    tracks = {t.participant_id for t in listener.tracks.values()}
    assert b.participant_id in tracks
    await listener.request("update-subscriptions", {"participant_settings": {a.participant_id: {"media": "subscribed"}}})
    await asyncio.sleep(0.5)
    listener.drain_audio()
    sending = asyncio.create_task(a.send_audio(speech))
    received = await listener.record(1.8, participant_id=a.participant_id)
    await sending
    assert best_correlation(speech, RATE, received, RATE)[0] > 0.9
    validate(a, b, listener)


async def test_base_profile_unsubscribes_everyone_including_later_joiners(connect, room):
    """profile base microphone unsubscribed: a participant joining later is not received either."""
    listener = await connect()
    await listener.join(room, audio_out={"enabled": False})
    await listener.request("update-subscriptions", {"profile_settings": {"base": {"media": {"microphone": "unsubscribed"}}}})
    speaker = await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    listener.drain_audio()
    await speaker.send_audio(demo_speech(RATE, seconds=0.8))
    assert await listener.record(1.2) == b""


async def test_not_publishing_the_microphone_is_silence_for_the_room(connect, room):
    """update-publishing microphone false: nobody hears the publisher; true again: heard (content)."""
    speaker, listener = await connect(), await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    reply = await speaker.request("update-publishing", {"publishing_settings": {"microphone": {"isPublishing": False}}})
    assert reply["publishing_settings"]["microphone"] == {"isPublishing": False}
    await speaker.wait_for("publishing-updated")
    update = await listener.wait_for("participant-updated", lambda d: d["participant"]["media"]["microphone"]["state"] == "off")
    assert update.data["participant"]["id"] == speaker.participant_id
    speech = demo_speech(RATE, seconds=1.0)
    await speaker.send_audio(speech)
    assert await listener.record(1.4, participant_id=speaker.participant_id) == b""
    await speaker.request("update-publishing", {"publishing_settings": {"microphone": {"isPublishing": True}}})
    await asyncio.sleep(1.1)
    listener.drain_audio()
    sending = asyncio.create_task(speaker.send_audio(speech))
    received = await listener.record(1.6, participant_id=speaker.participant_id)
    await sending
    assert best_correlation(speech, RATE, received, RATE)[0] > 0.9
    validate(speaker, listener)


async def test_own_microphone_off_with_update_inputs(connect, room):
    """update-inputs microphone off: inputs-updated, the others see state off and hear nothing."""
    speaker, listener = await connect(), await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    await listener.join(room, audio_out={"enabled": False})
    reply = await speaker.request("update-inputs", {"input_settings": {"microphone": {"isEnabled": False}}})
    assert reply["input_settings"]["microphone"] == {"isEnabled": False}
    assert (await speaker.wait_for("inputs-updated")).data["input_settings"] == reply["input_settings"]
    await speaker.send_audio(demo_speech(RATE, seconds=0.8))
    assert await listener.record(1.2, participant_id=speaker.participant_id) == b""
    validate(speaker, listener)


async def test_bad_subscription_requests_are_typed_errors(connect, room):
    """Unknown participant: not_found; unknown state: invalid_params; before joining: not_joined."""
    a = await connect()
    with pytest.raises(GatewayError) as err:
        await a.request("update-subscriptions", {"profile_settings": {"base": {"media": {"microphone": "unsubscribed"}}}})
    assert err.value.code == "not_joined"
    await a.join(room)
    with pytest.raises(GatewayError) as err:
        await a.request("update-subscriptions", {"participant_settings": {"nobody": {"media": "unsubscribed"}}})
    assert err.value.code == "not_found"
    with pytest.raises(GatewayError) as err:
        await a.request("update-subscriptions", {"participant_settings": {"x": {"media": "muted"}}})
    assert err.value.code == "invalid_params"


async def test_prebuilt_chat_message_arrives_in_prebuilts_shape(connect, room):
    """send-prebuilt-chat-message reaches the others as an app message {event: chat-msg, message, name}."""
    a, b = await connect(), await connect()
    await a.join(room, user_name="bot")
    await b.join(room)
    await a.request("send-prebuilt-chat-message", {"message": "hello"})
    msg = await b.wait_for("app-message")
    assert msg.data["sender"] == a.participant_id
    assert msg.data["message"]["event"] == "chat-msg"
    assert (msg.data["message"]["message"], msg.data["message"]["name"]) == ("hello", "bot")


async def test_subscription_profiles_of_a_local_room(connect, room):
    """update-subscription-profiles base (everyone) works as profile_settings.base; another profile is not_supported."""
    listener = await connect()
    await listener.join(room, audio_out={"enabled": False})
    reply = await listener.request("update-subscription-profiles", {"profile_settings": {"base": {"microphone": "unsubscribed"}}})
    assert reply["subscription_profiles"]["base"]["microphone"] == {"subscriptionState": "unsubscribed"}
    assert reply["subscription_profiles"]["base"]["camera"] == {"subscriptionState": "subscribed"}
    await listener.wait_for("subscription-profiles-updated")
    speaker = await connect()
    await speaker.join(room, audio_out={"sample_rate": RATE})
    listener.drain_audio()
    await speaker.send_audio(demo_speech(RATE, seconds=0.8))
    assert await listener.record(1.2) == b""
    with pytest.raises(GatewayError) as error:
        await listener.request("update-subscription-profiles", {"profile_settings": {"listeners": {"camera": "unsubscribed"}}})
    assert error.value.code == "not_supported"
