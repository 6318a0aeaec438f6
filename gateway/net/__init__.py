"""The gateway's WebSocket layer: the connection (framing, fast path) and the listener (handshake, handler tasks).

Both drive websockets' public sans-I/O :class:`websockets.server.ServerProtocol`; nothing
here reads websockets' private state (docs/ARCHITECTURE.md, "WebSocket layer").
"""
