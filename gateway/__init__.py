"""daily-ws-gateway: joins rooms server side and relays them over the daily-gateway.v1 WebSocket protocol."""

__version__ = "0.1.0"
