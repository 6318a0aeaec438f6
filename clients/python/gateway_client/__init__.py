"""Python client for daily-ws-gateway (protocol daily-gateway.v1)."""

from .client import GatewayClient, GatewayError, ReceivedAudio, ReceivedVideo, TrackInfo

__all__ = ["GatewayClient", "GatewayError", "ReceivedAudio", "ReceivedVideo", "TrackInfo"]
