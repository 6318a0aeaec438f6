"""Join credentials (token, api_key) stay out of JoinOptions' repr, so no log line or traceback shows them."""

from __future__ import annotations

from gateway.backends.base import JoinOptions
from protocol.messages import Request
from protocol.schema import validate_request


def test_join_options_repr_hides_token_and_api_key():
    """repr of the options built from a join with token and api_key holds neither, but still the room."""
    params = validate_request(
        Request("join", "1", {"room_url": "https://x.daily.co/r", "token": "tok-SECRET", "api_key": "key-SECRET",
                              "api_url": "https://api.daily.co/v1"})
    )
    options = JoinOptions(params["room_url"], token=params["token"], extra={"api_key": params["api_key"]}, params=params)
    text = repr(options)
    assert "SECRET" not in text and "https://x.daily.co/r" in text
    assert options.params["api_key"] == "key-SECRET"  # still there for the backend
