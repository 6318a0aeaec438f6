"""Test doubles for external systems the gateway talks to (daily-python's native SDK, ...)."""
