"""The gateway's WebSocket layer: the connection (framing, fast path), the listener (handshake, handler tasks),
the opening handshake's screen, receive budgets, and the keep-alive watchdog.

The connection and the listener drive websockets' public sans-I/O :class:`websockets.server.ServerProtocol`;
nothing here reads websockets' private state (docs/ARCHITECTURE.md, "Rules").
"""
