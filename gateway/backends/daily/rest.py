"""Asyncio client for the few Daily REST calls the gateway needs: rooms, meeting tokens, dial-in.

Why no HTTP library: five JSON calls, one short-lived connection each, are served by an HTTP/1.1
exchange on :func:`asyncio.open_connection` (TLS through :func:`ssl.create_default_context`).
The response parser is sans-I/O (:class:`ResponseParser`, bytes in, a response out) so that it is
tested with raw bytes; :class:`DailyRestClient` only pumps it.

The API key is a secret: it is sent in the ``Authorization`` header and nowhere else. It never
appears in an exception message, a ``repr`` or a log line; text that comes back from the server
is redacted too, in case a proxy echoes the request headers.

Exception tree (every error carries ``status``, ``code`` and ``message``)::

    DailyRestError                      base; code "rest_error"
    ├── DailyRestConfigError            rest_config: no API key, bad api_url (raised at construction)
    ├── DailyRestBadRequest             rest_bad_request: 400, 422 and any other unmapped 4xx
    ├── DailyRestUnauthorized           rest_unauthorized: 401, 403 (bad key, missing permission)
    ├── DailyRestNotFound               rest_not_found: 404
    ├── DailyRestRateLimited            rest_rate_limited: 429 (``retry_after`` in seconds or None)
    ├── DailyRestServerError            rest_server_error: 5xx
    ├── DailyRestBadResponse            rest_bad_response: unparsable HTTP or JSON, unexpected status
    ├── DailyRestTimeout                rest_timeout: no full answer within the call's timeout
    └── DailyRestUnreachable            rest_unreachable: DNS, refused, reset, TLS failure

Daily's REST reference: https://docs.daily.co/reference/rest-api (rooms, meeting-tokens,
dialin/pinlessCallUpdate).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_EXPIRY",
    "DailyRestBadRequest",
    "DailyRestBadResponse",
    "DailyRestClient",
    "DailyRestConfigError",
    "DailyRestError",
    "DailyRestNotFound",
    "DailyRestRateLimited",
    "DailyRestServerError",
    "DailyRestTimeout",
    "DailyRestUnauthorized",
    "DailyRestUnreachable",
    "HttpResponse",
    "ResponseParser",
]

logger = logging.getLogger("gateway.daily.rest")

DEFAULT_API_URL = "https://api.daily.co/v1"
DEFAULT_TIMEOUT = 10.0
"""Seconds for one whole call: connect, TLS, request and response."""
DEFAULT_TOKEN_EXPIRY = 3600.0
"""Seconds a meeting token lives when the caller gives no ``exp``: a bot session, not forever."""

MAX_BODY = 4 * 1024 * 1024
"""Largest response body accepted; Daily's answers are a few kB."""
MAX_HEADERS = 100
MAX_LINE = 16 * 1024
_MESSAGE_LIMIT = 300  # characters of server text kept in an error message


# --------------------------------------------------------------------------------------- errors


class DailyRestError(Exception):
    """A Daily REST call failed. ``code`` is stable and meant for programs; ``message`` for people."""

    code: str = "rest_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        daily_error: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        """Human-readable reason; never contains the API key."""
        self.status = status
        """HTTP status, or None when no response was received."""
        self.daily_error = daily_error
        """Daily's own error tag from the body (e.g. ``"not-found"``), when it sent one."""
        self.method = method
        self.path = path

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.code}{status}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class DailyRestConfigError(DailyRestError):
    """The client cannot be built: no API key, or an api_url that is not http(s)."""

    code = "rest_config"


class DailyRestBadRequest(DailyRestError):
    """Daily rejected the request (400, 422, other 4xx): fix the arguments, do not retry."""

    code = "rest_bad_request"


class DailyRestUnauthorized(DailyRestError):
    """The API key is missing, wrong, or lacks the permission (401, 403)."""

    code = "rest_unauthorized"


class DailyRestNotFound(DailyRestError):
    """The room (or other resource) does not exist (404)."""

    code = "rest_not_found"


class DailyRestRateLimited(DailyRestError):
    """Too many requests (429); retry after ``retry_after`` seconds when Daily says so."""

    code = "rest_rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class DailyRestServerError(DailyRestError):
    """Daily failed (5xx); the call may succeed later."""

    code = "rest_server_error"


class DailyRestBadResponse(DailyRestError):
    """The answer was not the HTTP or JSON this client understands."""

    code = "rest_bad_response"


class DailyRestTimeout(DailyRestError):
    """No complete answer within the call's timeout; the request may or may not have been applied."""

    code = "rest_timeout"


class DailyRestUnreachable(DailyRestError):
    """No connection, or it broke: DNS failure, refused, reset, TLS handshake failure."""

    code = "rest_unreachable"


def _error_for_status(status: int) -> type[DailyRestError]:
    """The exception class for an HTTP error status."""
    if status in (401, 403):
        return DailyRestUnauthorized
    if status == 404:
        return DailyRestNotFound
    if status == 429:
        return DailyRestRateLimited
    if 400 <= status < 500:
        return DailyRestBadRequest
    if status >= 500:
        return DailyRestServerError
    return DailyRestBadResponse


# ------------------------------------------------------------------------ sans-I/O HTTP parsing


class HttpParseError(ValueError):
    """The bytes received are not a valid HTTP/1.1 response."""


class _State(Enum):
    HEAD = "head"
    BODY_LENGTH = "body-length"
    BODY_EOF = "body-eof"
    CHUNK_SIZE = "chunk-size"
    CHUNK_DATA = "chunk-data"
    CHUNK_END = "chunk-end"
    TRAILERS = "trailers"
    DONE = "done"


@dataclass
class HttpResponse:
    """A complete HTTP response. Header names are lower-cased; repeated headers are joined by ','."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class ResponseParser:
    """Incremental HTTP/1.1 response parser (RFC 9112): feed bytes, then read :attr:`response`.

    Handles ``Content-Length``, ``Transfer-Encoding: chunked`` (RFC 9112 section 7.1) and bodies
    delimited by the connection closing; skips 1xx interim responses. Raises
    :class:`HttpParseError` on malformed input or limits exceeded.
    """

    def __init__(self, *, request_method: str = "GET", max_body: int = MAX_BODY) -> None:
        self._head_only = request_method.upper() == "HEAD"
        self._max_body = max_body
        self._buf = bytearray()
        self._state = _State.HEAD
        self._remaining = 0
        self._body = bytearray()
        self._response: HttpResponse | None = None

    @property
    def done(self) -> bool:
        """True once a whole response has been parsed."""
        return self._state is _State.DONE

    @property
    def response(self) -> HttpResponse:
        """The parsed response; only valid once :attr:`done`."""
        if self._state is not _State.DONE or self._response is None:
            raise HttpParseError("response is not complete")
        return self._response

    def feed(self, data: bytes) -> None:
        """Consume ``data``; bytes after the end of the response are ignored (we send Connection: close)."""
        if self._state is _State.DONE:
            return
        self._buf += data
        self._advance()

    def feed_eof(self) -> None:
        """The peer closed: completes an EOF-delimited body, or raises if the response is cut short."""
        if self._state is _State.DONE:
            return
        if self._state is _State.BODY_EOF:
            self._body += self._buf
            self._buf.clear()
            self._check_size()
            self._finish()
            return
        raise HttpParseError(f"connection closed before the response was complete ({self._state.value})")

    # -- internals

    def _line(self) -> bytes | None:
        """Pop one CRLF-terminated line (without the CRLF), or None if it is not all here yet."""
        end = self._buf.find(b"\r\n")
        if end < 0:
            if len(self._buf) > MAX_LINE:
                raise HttpParseError("header or chunk-size line too long")
            return None
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _check_size(self) -> None:
        if len(self._body) > self._max_body:
            raise HttpParseError(f"response body larger than {self._max_body} bytes")

    def _finish(self) -> None:
        assert self._response is not None
        self._response.body = bytes(self._body)
        self._state = _State.DONE

    def _advance(self) -> None:
        while self._state is not _State.DONE:
            if self._state is _State.HEAD:
                if not self._parse_head():
                    return
            elif self._state is _State.BODY_LENGTH:
                take = min(self._remaining, len(self._buf))
                self._body += self._buf[:take]
                del self._buf[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._finish()
            elif self._state is _State.BODY_EOF:
                self._body += self._buf
                self._buf.clear()
                self._check_size()
                return
            elif self._state is _State.CHUNK_SIZE:
                line = self._line()
                if line is None:
                    return
                size_text = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise HttpParseError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0:
                    raise HttpParseError("negative chunk size")
                if len(self._body) + size > self._max_body:
                    raise HttpParseError(f"response body larger than {self._max_body} bytes")
                self._remaining = size
                self._state = _State.CHUNK_DATA if size else _State.TRAILERS
            elif self._state is _State.CHUNK_DATA:
                take = min(self._remaining, len(self._buf))
                self._body += self._buf[:take]
                del self._buf[:take]
                self._remaining -= take
                if self._remaining:
                    return
                self._state = _State.CHUNK_END
            elif self._state is _State.CHUNK_END:
                if len(self._buf) < 2:
                    return
                if self._buf[:2] != b"\r\n":
                    raise HttpParseError("chunk data not followed by CRLF")
                del self._buf[:2]
                self._state = _State.CHUNK_SIZE
            elif self._state is _State.TRAILERS:
                line = self._line()
                if line is None:
                    return
                if line == b"":
                    self._finish()

    def _parse_head(self) -> bool:
        """Parse status line and headers once all of them are buffered; False if more is needed."""
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_LINE * 4:
                raise HttpParseError("response head too long")
            return False
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpParseError(f"bad status line {status_line[:60]!r}")
        try:
            status = int(parts[1])
        except ValueError:
            raise HttpParseError(f"bad status code {parts[1][:10]!r}") from None
        if not 100 <= status <= 999:
            raise HttpParseError(f"bad status code {status}")
        if len(header_lines) > MAX_HEADERS:
            raise HttpParseError("too many headers")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise HttpParseError(f"bad header line {line[:60]!r}")
            key = name.lower()
            value = value.strip()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        if 100 <= status < 200:
            return True  # interim response: the real one follows
        self._response = HttpResponse(status, parts[2] if len(parts) > 2 else "", headers)
        if self._head_only or status in (204, 304):
            self._finish()
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _State.CHUNK_SIZE
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HttpParseError("bad Content-Length") from None
            if length < 0 or length > self._max_body:
                raise HttpParseError(f"Content-Length {length} out of range")
            self._remaining = length
            self._state = _State.BODY_LENGTH
        else:
            self._state = _State.BODY_EOF
        return True


# ---------------------------------------------------------------------------------------- client


class _Secret:
    """Holds the API key so that no repr, str or f-string can show it by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


class DailyRestClient:
    """Daily REST client: rooms, meeting tokens and pinless dial-in, one connection per call.

    Args:
        api_key: Daily API key; defaults to the ``DAILY_API_KEY`` environment variable.
        api_url: Base URL of the REST API, ``http://`` (tests) or ``https://``.
        timeout: Default seconds for one whole call; each method takes ``timeout=`` to override.
        ssl_context: TLS settings for https; default :func:`ssl.create_default_context`
            (certificate and host name verified).

    Raises:
        DailyRestConfigError: no API key, or an unusable ``api_url``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("DAILY_API_KEY", "")
        if not key:
            raise DailyRestConfigError("no Daily API key: pass api_key or set DAILY_API_KEY")
        if any(c in key for c in "\r\n"):
            raise DailyRestConfigError("the Daily API key contains a line break")
        self._key = _Secret(key)
        parts = urllib.parse.urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DailyRestConfigError(f"api_url must be an http or https URL, got {api_url!r}")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise DailyRestConfigError("api_url must not carry credentials, a query or a fragment")
        if timeout <= 0:
            raise DailyRestConfigError("timeout must be positive")
        self.api_url = api_url.rstrip("/")
        """Base URL, without a trailing slash."""
        self.timeout = timeout
        """Default seconds for one whole call."""
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if default_port else f"{host}:{self._port}"
        self._base_path = parts.path.rstrip("/")
        self._ssl = (ssl_context or ssl.create_default_context()) if self._tls else None

    def __repr__(self) -> str:
        return f"DailyRestClient(api_url={self.api_url!r}, api_key=<redacted>, timeout={self.timeout!r})"

    # -- public API

    async def create_room(
        self,
        name: str | None = None,
        privacy: str = "public",
        properties: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Create a room (``POST /rooms``) and return Daily's room object (``name``, ``url``, ...).

        ``name`` None lets Daily pick one. ``properties`` pass through (exp, enable_dialout,
        enable_recording, max_participants, sip, start_video_off, ...).
        """
        body: dict[str, Any] = {"privacy": privacy, "properties": dict(properties or {})}
        if name is not None:
            body["name"] = _check_name(name)
        return _expect_object(await self.request("POST", "/rooms", body, timeout=timeout), "/rooms")

    async def get_room(self, name: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Return the room object (``GET /rooms/{name}``); :class:`DailyRestNotFound` if absent."""
        path = f"/rooms/{_quote(name)}"
        return _expect_object(await self.request("GET", path, timeout=timeout), path)

    async def delete_room(self, name: str, *, timeout: float | None = None) -> bool:
        """Delete a room (``DELETE /rooms/{name}``): True if deleted, False if it did not exist.

        A 404 counts as success: the caller wants the room gone, and it is.
        """
        try:
            await self.request("DELETE", f"/rooms/{_quote(name)}", timeout=timeout)
        except DailyRestNotFound:
            return False
        return True

    async def create_meeting_token(
        self,
        properties: Mapping[str, Any],
        *,
        expiry: float = DEFAULT_TOKEN_EXPIRY,
        timeout: float | None = None,
    ) -> str:
        """Create a meeting token (``POST /meeting-tokens``) and return it.

        ``properties`` pass through (room_name, is_owner, exp, eject_at_token_exp, user_name,
        permissions, start_cloud_recording, ...). Without ``exp`` the token expires ``expiry``
        seconds from now, so that a leaked bot token does not live forever.
        """
        props = dict(properties)
        if props.get("exp") is None:
            props["exp"] = int(time.time() + expiry)
        answer = await self.request("POST", "/meeting-tokens", {"properties": props}, timeout=timeout)
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise DailyRestBadResponse("the meeting-token answer has no token", method="POST", path="/meeting-tokens")
        return token

    async def pinless_dialin_update(
        self, call_id: str, call_domain: str, sip_uri: str, *, timeout: float | None = None
    ) -> Any:
        """Route a waiting pinless dial-in call to this room's SIP endpoint.

        Called on the ``dialin_ready(sip_endpoint)`` event: POSTs ``{callId, callDomain, sipUri}``
        to ``/dialin/pinlessCallUpdate`` and returns Daily's JSON answer.
        """
        body = {"callId": call_id, "callDomain": call_domain, "sipUri": sip_uri}
        return await self.request("POST", "/dialin/pinlessCallUpdate", body, timeout=timeout)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Make one authenticated JSON call and return the decoded answer (None for an empty body).

        ``path`` is relative to ``api_url`` and must start with ``/``.

        Raises:
            DailyRestError: a subclass per failure, see the module docstring.
        """
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        limit = self.timeout if timeout is None else timeout
        if limit <= 0:
            raise ValueError("timeout must be positive")
        method = method.upper()
        started = time.monotonic()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("> %s %s", method, path)
        try:
            async with asyncio.timeout(limit):
                response = await self._exchange(method, path, body)
        except TimeoutError:
            error: DailyRestError = DailyRestTimeout(
                f"{method} {path}: no answer within {limit:g} s", method=method, path=path
            )
            self._log_failure(error, started)
            raise error from None
        except DailyRestError as exc:
            self._log_failure(exc, started)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("< %d %s %s (%.0f ms)", response.status, method, path, (time.monotonic() - started) * 1000)
        if response.status >= 300:
            error = self._status_error(response, method, path)
            self._log_failure(error, started)
            raise error
        if not response.body.strip():
            return None
        try:
            return json.loads(response.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            error = DailyRestBadResponse(
                f"{method} {path}: the answer is not JSON ({exc.__class__.__name__})",
                status=response.status,
                method=method,
                path=path,
            )
            self._log_failure(error, started)
            raise error from None

    # -- internals

    def _redact(self, text: str) -> str:
        """``text`` with the API key cut out, for anything built from server answers."""
        key = self._key.reveal()
        return text.replace(key, "<redacted>") if key else text

    def _log_failure(self, error: DailyRestError, started: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("! %s (%.0f ms)", error, (time.monotonic() - started) * 1000)

    def _build_request(self, method: str, path: str, body: Any) -> bytes:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        lines = [
            f"{method} {self._base_path}{path} HTTP/1.1",
            f"Host: {self._host_header}",
            f"Authorization: Bearer {self._key.reveal()}",
            "Accept: application/json",
            "User-Agent: daily-ws-gateway",
            "Connection: close",
        ]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    async def _exchange(self, method: str, path: str, body: Any) -> HttpResponse:
        """One request on a fresh connection; maps socket and parse failures to typed errors."""
        request = self._build_request(method, path, body)
        where = f"{self._host}:{self._port}"
        try:
            reader, writer = await asyncio.open_connection(
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl else None,
            )
        except OSError as exc:  # refused, DNS (gaierror), TLS (SSLError) are all OSError
            raise DailyRestUnreachable(
                f"{method} {path}: cannot connect to {where}: {self._redact(_describe(exc))}",
                method=method,
                path=path,
            ) from exc
        parser = ResponseParser(request_method=method)
        try:
            writer.write(request)
            await writer.drain()
            while not parser.done:
                data = await reader.read(65536)
                if not data:
                    parser.feed_eof()
                    break
                parser.feed(data)
        except HttpParseError as exc:
            raise DailyRestBadResponse(
                f"{method} {path}: malformed HTTP answer from {where}: {self._redact(str(exc))}",
                method=method,
                path=path,
            ) from None
        except OSError as exc:
            raise DailyRestUnreachable(
                f"{method} {path}: connection to {where} lost: {self._redact(_describe(exc))}",
                method=method,
                path=path,
            ) from exc
        finally:
            writer.close()
        return parser.response

    def _status_error(self, response: HttpResponse, method: str, path: str) -> DailyRestError:
        """The typed error for a non-2xx answer, with Daily's ``error``/``info`` when present."""
        daily_error: str | None = None
        detail = ""
        try:
            parsed = json.loads(response.body) if response.body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = None
            detail = response.body[:_MESSAGE_LIMIT].decode("utf-8", "replace")
        if isinstance(parsed, dict):
            if isinstance(parsed.get("error"), str):
                daily_error = self._redact(parsed["error"])[:_MESSAGE_LIMIT]
            info = parsed.get("info", parsed.get("message", ""))
            detail = info if isinstance(info, str) else json.dumps(info)
        detail = self._redact(detail.strip())[:_MESSAGE_LIMIT]
        reason = self._redact(response.reason)[:80]
        message = f"{method} {path}: {response.status} {reason}".rstrip()
        if daily_error:
            message += f" [{daily_error}]"
        if detail:
            message += f": {detail}"
        cls = _error_for_status(response.status)
        kw: dict[str, Any] = dict(status=response.status, daily_error=daily_error, method=method, path=path)
        if cls is DailyRestRateLimited:
            return DailyRestRateLimited(message, retry_after=_retry_after(response.headers), **kw)
        if cls is DailyRestBadResponse:
            message = f"{method} {path}: unexpected status {response.status} {reason}".rstrip()
        return cls(message, **kw)


def _quote(name: str) -> str:
    """A room name as one path segment; '/' and '..' cannot escape ``/rooms/``."""
    return urllib.parse.quote(_check_name(name), safe="")


def _check_name(name: str) -> str:
    # An empty name would turn GET/DELETE /rooms/{name} into calls on the room list.
    if not isinstance(name, str) or not name.strip():
        raise ValueError("room name must be a non-empty string")
    return name


def _expect_object(answer: Any, path: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise DailyRestBadResponse(f"{path}: expected a JSON object, got {type(answer).__name__}", path=path)
    return answer


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if exc.__class__.__name__ in text else f"{exc.__class__.__name__}: {text}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header in its delta-seconds form (RFC 9110 section 10.2.3)."""
    value = headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
