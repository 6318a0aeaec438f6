"""The opening handshake's HTTP request, screened before websockets parses it (PROTOCOL.md, "Security").

websockets reads a handshake request and drops the connection without a word when the request
is not one it can take (a body, a transfer coding, two requests in one write), serves any method
as if it were GET, and reads up to 128 header lines of 8 KiB. :class:`RequestScreen` collects the
request head itself, bounded, and refuses those with a status a client can read:

- a method other than GET: **405** with ``Allow: GET``;
- a request line over :data:`MAX_REQUEST_LINE` bytes: **414**; a head over :data:`MAX_HEAD_BYTES`: **431**;
- ``Transfer-Encoding`` (chunked) or a non-zero ``Content-Length``: **400**;
- more than one ``Host``, ``Authorization`` or ``Origin`` header: **400**;
- bytes after the head before the gateway answered (a pipelined request, frames sent before the 101): **400**.

Sans-I/O: bytes in, the head (to hand to websockets) or a :class:`Rejected` out.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson

MAX_REQUEST_LINE = 8192
"""Longest request line (method, path, version) read; longer is 414."""
MAX_HEAD_BYTES = 64 * 1024
"""Largest request head (request line and headers) read; larger is 431."""
SINGLE_HEADERS = (b"host", b"authorization", b"origin")
"""Headers whose value decides who the client is: a second one makes the request ambiguous (400)."""


class Rejected(Exception):
    """A request refused before the handshake: ``status`` and a message for people."""

    def __init__(self, status: HTTPStatus, message: str, *, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow

    def response(self) -> bytes:
        """The HTTP response to write before closing: JSON ``{"error": message}``, ``Connection: close``."""
        body = orjson.dumps({"error": self.message})
        lines = [
            f"HTTP/1.1 {self.status.value} {self.status.phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Cache-Control: no-store",
            "Connection: close",
        ]
        if self.allow:
            lines.append(f"Allow: {self.allow}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RequestScreen:
    """Collects one request head and refuses what the gateway will not serve (module docstring)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._line_checked = False
        self.passed = False
        """The head was handed on; whatever arrives now, before the response, is refused."""

    def feed(self, data: bytes) -> bytes | None:
        """The complete request head once it has arrived (None until then).

        Raises:
            Rejected: the request, or data after it, is refused (see the module docstring).
        """
        if self.passed:
            raise Rejected(HTTPStatus.BAD_REQUEST, "data before the handshake response: pipelined requests are not supported")
        buffer = self._buffer
        buffer += data
        if not self._line_checked:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                if len(buffer) > MAX_REQUEST_LINE:
                    raise Rejected(HTTPStatus.REQUEST_URI_TOO_LONG, f"request line over {MAX_REQUEST_LINE} bytes")
                return None
            _check_request_line(bytes(buffer[:line_end]))
            self._line_checked = True
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise Rejected(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"request head over {MAX_HEAD_BYTES} bytes")
            return None
        if end + 4 > MAX_HEAD_BYTES:
            raise Rejected(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, f"request head over {MAX_HEAD_BYTES} bytes")
        if len(buffer) > end + 4:
            raise Rejected(HTTPStatus.BAD_REQUEST, "data after the request head: pipelined requests and bodies are not supported")
        head = bytes(buffer)
        _check_headers(head[:end].split(b"\r\n")[1:])
        self._buffer = bytearray()
        self.passed = True
        return head


def _check_request_line(line: bytes) -> None:
    if len(line) > MAX_REQUEST_LINE:
        raise Rejected(HTTPStatus.REQUEST_URI_TOO_LONG, f"request line over {MAX_REQUEST_LINE} bytes")
    method, _, _ = line.partition(b" ")
    if method != b"GET":
        raise Rejected(HTTPStatus.METHOD_NOT_ALLOWED, "only GET is served here", allow="GET")


def _check_headers(lines: list[bytes]) -> None:
    seen: set[bytes] = set()
    for line in lines:
        name, sep, value = line.partition(b":")
        name = name.strip().lower()
        if not sep:
            raise Rejected(HTTPStatus.BAD_REQUEST, "malformed header line")
        if name == b"transfer-encoding":
            raise Rejected(HTTPStatus.BAD_REQUEST, "transfer codings (chunked) are not supported: a handshake has no body")
        if name == b"content-length" and value.strip() != b"0":
            raise Rejected(HTTPStatus.BAD_REQUEST, "a request body is not supported")
        if name in SINGLE_HEADERS:
            if name in seen:
                raise Rejected(HTTPStatus.BAD_REQUEST, f"duplicate {name.decode()} header")
            seen.add(name)
