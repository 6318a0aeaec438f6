"""Backend capabilities: a backend with only the core answers every optional request not_supported, from one place."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import protocol
from gateway.admission import Admission
from gateway.backends import capabilities
from gateway.backends.base import AudioFormat, Backend, JoinOptions, Transport, TransportListener
from gateway.backends.daily.transport import DailyTransport
from gateway.backends.local import LocalBackend
from gateway.backends.local.transport import LocalTransport, PhoneTransport
from gateway.backends.registry import BackendRegistry
from gateway.config import Config
from gateway.handlers import HANDLERS
from gateway.metrics import GatewayMetrics
from gateway.session import Session, SessionState
from protocol.constants import ColorFormat
from protocol.errors import CommandError, ErrorCode
from protocol.media import decode_frame, encode_video
from protocol.messages import Request
from protocol.schema import validate_request

SPEC = (Path(protocol.__file__).resolve().parent / "PROTOCOL.md").read_text("utf-8")

OPTIONAL = {
    "start-recording": "recording", "stop-recording": "recording", "update-recording": "recording",
    "start-transcription": "transcription", "stop-transcription": "transcription",
    "update-transcription": "transcription", "capture-participant-transcription": "transcription",
    "capture-participant-video": "video capture", "stop-capture-participant-video": "video capture",
    "update-remote-participants": "remote control of participants",
    "eject-remote-participants": "remote control of participants",
    "send-prebuilt-chat-message": "Prebuilt chat",
    "update-inputs": "inputs, publishing and subscriptions", "update-publishing": "inputs, publishing and subscriptions",
    "update-subscriptions": "inputs, publishing and subscriptions",
    "update-subscription-profiles": "inputs, publishing and subscriptions",
    "start-dialout": "telephony", "stop-dialout": "telephony", "send-dtmf": "telephony",
    "sip-call-transfer": "telephony", "sip-refer": "telephony",
    "get-participant-counts": "room state", "get-active-speaker": "room state", "get-network-stats": "room state",
}
"""Each request a backend may lack, and the ability its not_supported names."""


class CoreTransport(Transport):
    """A participant of a backend with nothing but the core interface."""

    backend = "core"

    @property
    def participant_id(self) -> str | None:
        return "me"

    async def join(self) -> dict[str, Any]:
        return {"participant_id": "me", "room_url": self.room_url, "participant": {}, "participants": {}}

    async def leave(self, cause: str = "left") -> None:
        pass

    def write_audio(self, pcm: bytes) -> None:
        pass

    async def send_app_message(self, message: Any, participant_id: str | None, urgent: bool) -> None:
        pass

    def participants(self) -> dict[str, dict[str, Any]]:
        return {"me": {"id": "me"}}


class CoreBackend(Backend):
    name = "core"
    schemes = ("core",)

    def check_room_url(self, room_url: str) -> None:
        pass

    def create_transport(self, options: JoinOptions, listener: TransportListener) -> Transport:
        return CoreTransport(options, listener)


def example(rtype: str) -> Request:
    """The example request of ``rtype``'s section in PROTOCOL.md."""
    section = re.search(rf"^### `{re.escape(rtype)}`\n(.*?)(?=^##)", SPEC + "\n##", re.M | re.S)
    assert section is not None
    for body in re.findall(r"^```json\n(.*?)^```", section.group(1), re.M | re.S):
        message = json.loads(body)
        if message.get("type") == rtype:
            return Request(rtype, message.pop("id"), {k: v for k, v in message.items() if k != "type"})
    raise AssertionError(f"no example of {rtype}")


def joined_session() -> Session:
    """A session joined to a core-only room (no connection: what it sends stays in its replay buffer)."""
    gateway = SimpleNamespace(config=Config(), backends=BackendRegistry([CoreBackend()]), joined=set())
    gateway.metrics = GatewayMetrics(gateway)  # type: ignore[arg-type]
    session = Session(gateway, Admission())  # type: ignore[arg-type]
    session.transport = CoreTransport(JoinOptions("core://room", audio_out=AudioFormat(16000)), session)
    session.state = SessionState.JOINED
    return session


@pytest.mark.parametrize("rtype", sorted(OPTIONAL))
async def test_a_core_only_backend_answers_each_optional_request_not_supported(rtype):
    """Every request of a capability the transport lacks fails not_supported, naming the ability and the backend."""
    session = joined_session()
    request = example(rtype)
    with pytest.raises(CommandError) as refused:
        await HANDLERS[rtype].run(session, request.id, validate_request(request))
    assert refused.value.code is ErrorCode.NOT_SUPPORTED
    assert refused.value.message == f"{OPTIONAL[rtype]} is not supported by the core backend"


async def test_the_same_requests_before_a_join_are_not_joined():
    """not_joined comes before not_supported: the session asks for the room, then for the capability."""
    session = joined_session()
    session.transport, session.state = None, SessionState.OPEN
    for rtype in sorted(OPTIONAL):
        request = example(rtype)
        with pytest.raises(CommandError) as refused:
            await HANDLERS[rtype].run(session, request.id, validate_request(request))
        assert refused.value.code is ErrorCode.NOT_JOINED, rtype


async def test_publishing_video_to_a_core_only_backend_is_not_supported():
    """A binary video frame for a transport without VideoPublishing is refused not_supported, nothing is written."""
    session = joined_session()
    frame = decode_frame(encode_video(2, 1, 0, 2, 2, ColorFormat.RGBA, b"\x00" * 16))  # camera, 2x2 RGBA
    with pytest.raises(CommandError) as refused:
        session.publish_video(frame)  # type: ignore[arg-type]
    assert refused.value.code is ErrorCode.NOT_SUPPORTED and "publishing video" in refused.value.message


async def test_observing_and_phones_need_a_backend_that_offers_them():
    """observe on a backend without RoomObserving and none of the gateway's sessions in the room: not_found saying a
    session must be in it; register-phone with no SimulatedPhones backend: not_supported."""
    session = joined_session()
    session.transport, session.state = None, SessionState.OPEN
    observe = example("observe")
    observe.params["room_url"] = "core://room"
    with pytest.raises(CommandError) as refused:
        await HANDLERS["observe"].run(session, observe.id, validate_request(observe))
    assert refused.value.code is ErrorCode.NOT_FOUND and "through one of the gateway's sessions" in refused.value.message
    assert session.state is SessionState.OPEN  # and the session may still join
    phone = example("register-phone")
    with pytest.raises(CommandError) as refused:
        await HANDLERS["register-phone"].run(session, phone.id, validate_request(phone))
    assert refused.value.code is ErrorCode.NOT_SUPPORTED and "simulated phones" in refused.value.message


def test_both_backends_declare_every_transport_capability():
    """The local and Daily transports declare every capability (so their requests reach them); the core one none."""
    everything = sorted(set(OPTIONAL.values()) | {"publishing video"})
    for transport in (LocalTransport, PhoneTransport, DailyTransport):
        assert capabilities.abilities(transport) == everything, transport
    assert capabilities.abilities(CoreTransport) == []
    assert capabilities.abilities(LocalBackend) == ["observing rooms", "simulated phones"]
    assert PhoneTransport.is_phone and not LocalTransport.is_phone and not DailyTransport.is_phone
