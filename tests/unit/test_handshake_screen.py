"""The request screen without I/O: what passes to websockets untouched, and what is refused with which status."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from gateway.net.handshake import MAX_HEAD_BYTES, MAX_REQUEST_LINE, Rejected, RequestScreen

UPGRADE = (b"GET /v1 HTTP/1.1\r\nHost: 127.0.0.1:8765\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def test_a_good_request_passes_whole_even_byte_by_byte():
    """A handshake fed one byte at a time comes out once, complete and unchanged."""
    screen = RequestScreen()
    out = [screen.feed(UPGRADE[i : i + 1]) for i in range(len(UPGRADE))]
    assert out[:-1] == [None] * (len(UPGRADE) - 1) and out[-1] == UPGRADE


def refused(*chunks: bytes) -> Rejected:
    screen = RequestScreen()
    with pytest.raises(Rejected) as exc:
        for chunk in chunks:
            screen.feed(chunk)
    return exc.value


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"HEAD", b"OPTIONS", b"get", b"X" * 30])
def test_other_methods_are_405_as_soon_as_the_line_is_read(method):
    """Any method but GET (case-sensitive) is 405 with Allow: GET, before the headers arrive."""
    rejected = refused(method + b" /healthz HTTP/1.1\r\nHost: x")
    assert rejected.status == 405 and b"\r\nAllow: GET\r\n" in rejected.response()


@pytest.mark.parametrize(
    ("extra", "why"),
    [(b"Transfer-Encoding: chunked\r\n", "chunked"), (b"Content-Length: 3\r\n", "body"),
     (b"Host: evil\r\n", "duplicate host"), (b"authorization: a\r\nAuthorization: b\r\n", "duplicate authorization"),
     (b"Origin: a\r\nOrigin: a\r\n", "duplicate origin"), (b"no colon here\r\n", "malformed")],
)
def test_bodies_codings_duplicates_and_junk_are_400(extra, why):
    """Transfer codings, bodies, a second Host/Authorization/Origin (any case) and header junk are 400."""
    rejected = refused(UPGRADE[:-2] + extra + b"\r\n")
    assert rejected.status == 400 and why in rejected.message.lower()


def test_content_length_zero_is_fine():
    """Content-Length: 0 (some devices send it) passes."""
    request = UPGRADE[:-2] + b"Content-Length: 0\r\n\r\n"
    assert RequestScreen().feed(request) == request


def test_pipelined_and_early_bytes_are_400():
    """Bytes after the head in the same read, or in a later read before the response, are refused."""
    assert refused(UPGRADE + b"GET / HTTP/1.1\r\n\r\n").status == 400
    screen = RequestScreen()
    assert screen.feed(UPGRADE) == UPGRADE
    with pytest.raises(Rejected) as exc:
        screen.feed(b"\x82\x80\0\0\0\0")
    assert exc.value.status == 400 and "pipelined" in exc.value.message


def test_long_lines_and_heads_are_414_and_431():
    """A request line past MAX_REQUEST_LINE is 414 even before its end; a head past MAX_HEAD_BYTES is 431."""
    assert refused(b"GET /" + b"a" * MAX_REQUEST_LINE).status == 414
    assert refused(b"GET /" + b"a" * (MAX_REQUEST_LINE + 10) + b" HTTP/1.1\r\n").status == 414
    pad = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(MAX_HEAD_BYTES // 1000 + 1))
    assert refused(b"GET / HTTP/1.1\r\n" + pad).status == 431


def test_the_response_is_json_and_closes():
    """A refusal is a complete HTTP response: status line, JSON body with its length, Connection: close."""
    raw = Rejected(HTTPStatus.BAD_REQUEST, "duplicate host header").response()
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"\r\nConnection: close" in head
    assert json.loads(body) == {"error": "duplicate host header"} and f"Content-Length: {len(body)}".encode() in head
