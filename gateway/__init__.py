"""daily-ws-gateway: joins rooms server side and relays them over the daily-gateway.v1 WebSocket protocol."""

__version__ = "0.1.0"

from . import compiled as _compiled  # noqa: E402,F401  (first: GATEWAY_PLAIN_PYTHON must act before any hot module loads)
