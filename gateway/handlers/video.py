"""Video capture requests: capture-participant-video, stop-capture-participant-video, request-video-frame.

Publishing video needs no request: binary video frames on track 2 (camera) or 3
(screenVideo). Capturing is per session (``Session.capture_video``): each capture is a
video track of its own, rate-limited and converted for this client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import handler

if TYPE_CHECKING:
    from ..session import Session


@handler("capture-participant-video")
async def capture_participant_video(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await session.capture_video(
        params["participant_id"], params["video_source"], params["color_format"], params["framerate"]
    )


@handler("stop-capture-participant-video")
async def stop_capture_participant_video(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await session.stop_video_capture(params["participant_id"], params["video_source"])


@handler("request-video-frame")
async def request_video_frame(session: Session, rid: str, params: dict[str, Any]) -> dict[str, Any]:
    return await session.request_video_frame(params["participant_id"], params["video_source"])
