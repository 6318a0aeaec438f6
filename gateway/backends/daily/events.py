"""daily-python's ``EventHandler`` callbacks as protocol events (PROTOCOL.md, section 6).

One table, :data:`EVENTS`, says for every callback of daily-python 0.36's runtime
``EventHandler`` (including the five the stubs lack) which protocol event it becomes and the names of
its data fields: the callback's positional arguments, in order. :func:`to_event` applies it; the
transport adds the little that is not a plain rename (participant state, audio renderers, dial-in).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "on_active_speaker_changed": ("active-speaker-changed", ("participant",)),
    "on_app_message": ("app-message", ("message", "sender")),
    "on_available_devices_updated": ("available-devices-updated", ("available_devices",)),
    "on_call_state_updated": ("call-state-updated", ("state",)),
    "on_dialin_connected": ("dialin-connected", ("data",)),
    "on_dialin_error": ("dialin-error", ("data",)),
    "on_dialin_ready": ("dialin-ready", ("sip_endpoint",)),
    "on_dialin_stopped": ("dialin-stopped", ("data",)),
    "on_dialin_warning": ("dialin-warning", ("data",)),
    "on_dialout_answered": ("dialout-answered", ("data",)),
    "on_dialout_connected": ("dialout-connected", ("data",)),
    "on_dialout_error": ("dialout-error", ("data",)),
    "on_dialout_stopped": ("dialout-stopped", ("data",)),
    "on_dialout_warning": ("dialout-warning", ("data",)),
    "on_dtmf_event": ("dtmf-event", ("data",)),
    "on_error": ("error", ("message",)),
    "on_inputs_updated": ("inputs-updated", ("input_settings",)),
    "on_live_stream_error": ("live-stream-error", ("stream_id", "message")),
    "on_live_stream_started": ("live-stream-started", ("status",)),
    "on_live_stream_stopped": ("live-stream-stopped", ("stream_id",)),
    "on_live_stream_updated": ("live-stream-updated", ("update",)),
    "on_live_stream_warning": ("live-stream-warning", ("stream_id", "message")),
    "on_network_connection_status_updated": ("network-connection-status-updated", ("status",)),
    "on_network_stats_updated": ("network-stats-updated", ("stats",)),
    "on_participant_counts_updated": ("participant-counts-updated", ("counts",)),
    "on_participant_joined": ("participant-joined", ("participant",)),
    "on_participant_left": ("participant-left", ("participant", "reason")),
    "on_participant_updated": ("participant-updated", ("participant",)),
    "on_publishing_updated": ("publishing-updated", ("publishing_settings",)),
    "on_recording_error": ("recording-error", ("stream_id", "message")),
    "on_recording_started": ("recording-started", ("status",)),
    "on_recording_stopped": ("recording-stopped", ("stream_id",)),
    "on_subscription_profiles_updated": ("subscription-profiles-updated", ("subscription_profiles",)),
    "on_subscriptions_updated": ("subscriptions-updated", ("subscriptions",)),
    "on_transcription_error": ("transcription-error", ("message",)),
    "on_transcription_message": ("transcription-message", ("message",)),
    "on_transcription_started": ("transcription-started", ("status",)),
    "on_transcription_stopped": ("transcription-stopped", ("stopped_by", "stopped_by_error")),
    "on_transcription_updated": ("transcription-updated", ("update",)),
}
"""callback name -> (protocol event, data field per positional argument)."""

_PHONE_EVENTS = frozenset(
    name for name, _ in EVENTS.values() if name.startswith(("dialin-", "dialout-", "dtmf-")) and name != "dialin-ready"
)


def plain(value: Any) -> Any:
    """A JSON-ready copy of what daily-python hands a callback (its Mappings are not always dicts)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def participant(doc: Any) -> Any:
    """A participant document in the protocol's shape (common.json ``participant``).

    Daily's ``info.joinedAt`` may come as epoch seconds (or milliseconds); the protocol, like local
    rooms, gives an ISO 8601 time, so clients read one shape whatever the backend.
    """
    if isinstance(doc, dict):
        info = doc.get("info")
        if isinstance(info, dict):
            joined = info.get("joinedAt")
            if isinstance(joined, int | float) and not isinstance(joined, bool):
                seconds = joined / 1000.0 if joined > 1e11 else float(joined)
                info["joinedAt"] = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")
    return doc


def to_event(callback: str, args: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    """The protocol event (name, data) for ``EventHandler.<callback>(*args)``.

    Phone events get ``data.sessionId`` even when Daily names it otherwise, because the session
    keeps the connected calls by that key (send-dtmf and SIP transfer without a session id).

    Raises:
        KeyError: ``callback`` is not in :data:`EVENTS`.
    """
    name, fields = EVENTS[callback]
    data = {field: plain(arg) for field, arg in zip(fields, args, strict=False)}
    if "participant" in data:
        data["participant"] = participant(data["participant"])
    if name in _PHONE_EVENTS:
        inner = data.get("data")
        if not isinstance(inner, dict):
            inner = {"value": inner} if inner is not None else {}
            data["data"] = inner
        if "sessionId" not in inner:
            for alias in ("session_id", "sessionID", "callId"):
                if isinstance(inner.get(alias), str):
                    inner["sessionId"] = inner[alias]
                    break
    return name, data


def make_handler_class(base: type) -> type:
    """A subclass of the SDK's ``EventHandler`` whose every callback calls ``self.sink(callback, args)``.

    ``base`` is ``sdk.EventHandler`` (the real class, also in the fake's module). Set ``sink`` on each
    instance. Callbacks run on the SDK's emitter thread: ``sink`` must only hand over, never block.
    """

    def method(callback: str) -> Callable[..., None]:
        def on_event(self: Any, *args: Any) -> None:
            sink = self.sink
            if sink is not None:
                sink(callback, args)

        on_event.__name__ = callback
        return on_event

    attributes: dict[str, Any] = {callback: method(callback) for callback in EVENTS}
    attributes["sink"] = None
    return type("GatewayDailyEventHandler", (base,), attributes)


__all__ = ["EVENTS", "make_handler_class", "participant", "plain", "to_event"]
