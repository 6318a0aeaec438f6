"""Video capture (PROTOCOL.md 5.6): capture-participant-video, stop-capture-participant-video, request-video-frame.

Publishing video needs no request: binary video frames on track 2 (camera) or 3
(screenVideo). Capturing is per session: each capture is a video track of its own
(``gateway.session.tracks.VideoTrack``: rate-limited, latest frame wins, converted for this client),
held by the session's receiver; the transport's :class:`~gateway.backends.capabilities.VideoCapture`
delivers the participant's frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from protocol.errors import CommandError, ErrorCode

from ..backends.capabilities import VideoCapture
from ..session.tracks import VIDEO_QUEUE_LIMIT, VideoTrack
from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("capture-participant-video")
async def capture_participant_video(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Start relaying a participant's video (a new track); capturing it again replaces the capture."""
    participant_id, video_source = params["participant_id"], params["video_source"]
    capture = await session.require(VideoCapture)
    receiver = session.receiver
    receiver.stop((participant_id, video_source))
    outbox = session.outbox
    track = VideoTrack(
        receiver.allocate_track(),
        participant_id,
        video_source,
        params["color_format"],
        params["framerate"],
        outbox.media,
        ready=lambda: outbox.media_queued < VIDEO_QUEUE_LIMIT,
    )
    receiver.add_video(track)
    try:
        await capture.capture_video(participant_id, video_source, params["color_format"])
    except BaseException:
        if receiver.captured(participant_id, video_source) is track:
            receiver.video.pop((participant_id, video_source))
        track.close()
        raise
    if receiver.captured(participant_id, video_source) is not track:  # the participant left meanwhile
        raise CommandError(ErrorCode.NOT_FOUND, f"participant {participant_id} left", details={"participant_id": participant_id})
    outbox.event("track-started", track.describe())
    track.start()
    return {"track": track.track_id}


@handler("stop-capture-participant-video")
async def stop_capture_participant_video(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Stop relaying a participant's video (``not_found`` if it is not captured)."""
    participant_id, video_source = params["participant_id"], params["video_source"]
    capture = await session.require(VideoCapture)
    track = _captured(session, participant_id, video_source)
    await capture.stop_video_capture(participant_id, video_source)
    session.receiver.stop((participant_id, video_source))
    return {"track": track.track_id}


@handler("request-video-frame")
async def request_video_frame(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    """Send one frame of a captured video now (the only way frames come at framerate 0)."""
    await session.require_room()
    track = _captured(session, params["participant_id"], params["video_source"])
    track.request_frame()
    return {"track": track.track_id}


def _captured(session: Session, participant_id: str, video_source: str) -> VideoTrack:
    track = session.receiver.captured(participant_id, video_source)
    if track is None:
        raise CommandError(
            ErrorCode.NOT_FOUND,
            f"{participant_id}'s {video_source} is not captured; send capture-participant-video first",
            details={"participant_id": participant_id, "video_source": video_source},
        )
    return track
