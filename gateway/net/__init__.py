"""The gateway's WebSocket layer: the connection (framing, fast path), the opening handshake's screen,
receive budgets, and the keep-alive watchdog."""
