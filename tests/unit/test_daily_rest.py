"""The Daily REST client against a stub Daily API on 127.0.0.1, and its sans-I/O response parser."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.backends.daily.rest import (
    DEFAULT_API_URL,
    DailyRestBadRequest,
    DailyRestBadResponse,
    DailyRestClient,
    DailyRestConfigError,
    DailyRestError,
    DailyRestNotFound,
    DailyRestRateLimited,
    DailyRestServerError,
    DailyRestTimeout,
    DailyRestUnauthorized,
    DailyRestUnreachable,
    HttpParseError,
    ResponseParser,
)
from tests.fakes.daily_rest_api import Reply, StubDaily

KEY = "sk_test_9f8e7d6c5b4a_DO_NOT_LEAK"


@pytest.fixture
async def stub() -> AsyncIterator[StubDaily]:
    server = StubDaily()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def client(stub: StubDaily) -> DailyRestClient:
    return DailyRestClient(KEY, api_url=stub.url, timeout=5)


def _no_key_in(*texts: str) -> None:
    for text in texts:
        assert KEY not in text, f"API key leaked in {text!r}"


# ---------------------------------------------------------------------------------- happy paths


async def test_create_room_posts_name_privacy_properties_with_bearer(stub: StubDaily, client: DailyRestClient) -> None:
    """create_room POSTs {name, privacy, properties} with the Bearer key and returns Daily's room object."""
    room = {"id": "r1", "name": "bot-room", "url": "https://x.daily.co/bot-room", "privacy": "private"}
    stub.on("POST", "/v1/rooms", Reply(200, room))
    got = await client.create_room("bot-room", privacy="private", properties={"exp": 123, "enable_dialout": True})
    assert got == room
    [req] = stub.requests
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"name": "bot-room", "privacy": "private", "properties": {"exp": 123, "enable_dialout": True}}


async def test_create_room_without_name_lets_daily_choose(stub: StubDaily, client: DailyRestClient) -> None:
    """create_room() with no arguments sends no name, public privacy and empty properties."""
    stub.on("POST", "/v1/rooms", Reply(200, {"name": "auto-123"}))
    assert (await client.create_room())["name"] == "auto-123"
    assert stub.requests[0].json == {"privacy": "public", "properties": {}}


async def test_get_room_quotes_the_name_into_one_path_segment(stub: StubDaily, client: DailyRestClient) -> None:
    """get_room GETs /rooms/{name} with the name percent-encoded, so '/' and '..' cannot escape."""
    stub.on("GET", "/v1/rooms/a%2F..%2Fb%20c", Reply(200, {"name": "a/../b c"}))
    assert (await client.get_room("a/../b c")) == {"name": "a/../b c"}
    assert stub.requests[0].body == b""


async def test_empty_room_name_is_refused_locally(stub: StubDaily, client: DailyRestClient) -> None:
    """An empty name raises ValueError before any request: DELETE /rooms/ must never be sent."""
    for call in (client.get_room(""), client.delete_room("  ")):
        with pytest.raises(ValueError):
            await call
    assert stub.requests == []


async def test_delete_room_true_when_deleted_false_on_404(stub: StubDaily, client: DailyRestClient) -> None:
    """delete_room returns True on 200 and False on 404 (already gone counts as success)."""
    stub.on("DELETE", "/v1/rooms/here", Reply(200, {"deleted": True, "name": "here"}))
    stub.on("DELETE", "/v1/rooms/gone", Reply(404, {"error": "not-found", "info": "room gone not found"}))
    assert await client.delete_room("here") is True
    assert await client.delete_room("gone") is False
    assert [r.method for r in stub.requests] == ["DELETE", "DELETE"]


async def test_get_room_404_raises_not_found(stub: StubDaily, client: DailyRestClient) -> None:
    """Only delete_room forgives a 404: get_room raises DailyRestNotFound with Daily's error tag."""
    stub.on("GET", "/v1/rooms/nope", Reply(404, {"error": "not-found", "info": "room nope not found"}))
    with pytest.raises(DailyRestNotFound) as info:
        await client.get_room("nope")
    assert (info.value.status, info.value.code, info.value.daily_error) == (404, "rest_not_found", "not-found")
    assert "room nope not found" in info.value.message


async def test_meeting_token_passes_properties_and_defaults_exp_to_one_hour(
    stub: StubDaily, client: DailyRestClient
) -> None:
    """create_meeting_token sends the properties unchanged plus exp = now + 3600 when none is given."""
    stub.on("POST", "/v1/meeting-tokens", Reply(200, {"token": "eyJ.tok"}))
    props = {
        "room_name": "r",
        "is_owner": True,
        "user_name": "bot",
        "eject_at_token_exp": True,
        "permissions": {"canAdmin": ["transcription"]},
        "start_cloud_recording": False,
    }
    before = time.time()
    assert await client.create_meeting_token(props) == "eyJ.tok"
    sent = stub.requests[0].json["properties"]
    assert {k: v for k, v in sent.items() if k != "exp"} == props
    assert before + 3600 - 2 <= sent["exp"] <= time.time() + 3600 + 1
    assert "exp" not in props, "the caller's mapping must not be modified"


async def test_meeting_token_keeps_an_explicit_exp(stub: StubDaily, client: DailyRestClient) -> None:
    """An exp given by the caller is sent as is."""
    stub.on("POST", "/v1/meeting-tokens", Reply(200, {"token": "t"}))
    await client.create_meeting_token({"room_name": "r", "exp": 4102444800})
    assert stub.requests[0].json == {"properties": {"room_name": "r", "exp": 4102444800}}


async def test_meeting_token_without_token_in_answer_is_bad_response(stub: StubDaily, client: DailyRestClient) -> None:
    """A 200 without a token string raises DailyRestBadResponse instead of returning None."""
    stub.on("POST", "/v1/meeting-tokens", Reply(200, {"nope": 1}))
    with pytest.raises(DailyRestBadResponse):
        await client.create_meeting_token({"room_name": "r"})


async def test_pinless_dialin_update_body_and_bearer(stub: StubDaily, client: DailyRestClient) -> None:
    """pinless_dialin_update POSTs {callId, callDomain, sipUri} to /dialin/pinlessCallUpdate with the Bearer key."""
    stub.on("POST", "/v1/dialin/pinlessCallUpdate", Reply(200, {"status": "ok"}))
    got = await client.pinless_dialin_update("call-1", "domain-2", "sip:abc@daily.example")
    assert got == {"status": "ok"}
    [req] = stub.requests
    assert req.json == {"callId": "call-1", "callDomain": "domain-2", "sipUri": "sip:abc@daily.example"}
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["host"] == stub.url.split("/")[2]


async def test_api_key_from_environment(stub: StubDaily, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without api_key the client uses DAILY_API_KEY; without either it refuses to be built."""
    monkeypatch.setenv("DAILY_API_KEY", "env-key-123")
    stub.on("GET", "/v1/rooms/r", Reply(200, {"name": "r"}))
    await DailyRestClient(api_url=stub.url).get_room("r")
    assert stub.requests[0].headers["authorization"] == "Bearer env-key-123"
    monkeypatch.delenv("DAILY_API_KEY")
    with pytest.raises(DailyRestConfigError) as info:
        DailyRestClient()
    assert info.value.code == "rest_config"


def test_defaults_and_bad_api_url() -> None:
    """The default api_url is Daily's v1 API over https, and non-http URLs are refused."""
    assert DailyRestClient(KEY).api_url == DEFAULT_API_URL == "https://api.daily.co/v1"
    for bad in ("ftp://x/v1", "api.daily.co/v1", "https://user:pw@x/v1"):
        with pytest.raises(DailyRestConfigError):
            DailyRestClient(KEY, api_url=bad)


# --------------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (400, DailyRestBadRequest, "rest_bad_request"),
        (422, DailyRestBadRequest, "rest_bad_request"),
        (401, DailyRestUnauthorized, "rest_unauthorized"),
        (403, DailyRestUnauthorized, "rest_unauthorized"),
        (404, DailyRestNotFound, "rest_not_found"),
        (429, DailyRestRateLimited, "rest_rate_limited"),
        (500, DailyRestServerError, "rest_server_error"),
        (503, DailyRestServerError, "rest_server_error"),
    ],
)
async def test_http_errors_map_to_typed_exceptions(
    stub: StubDaily, client: DailyRestClient, status: int, cls: type[DailyRestError], code: str
) -> None:
    """Each HTTP error status raises its own DailyRestError subclass with status, code and Daily's info."""
    stub.on("POST", "/v1/rooms", Reply(status, {"error": "some-error", "info": f"info for {status}"}))
    with pytest.raises(cls) as info:
        await client.create_room("r")
    err = info.value
    assert isinstance(err, DailyRestError)
    assert (err.status, err.code, err.daily_error) == (status, code, "some-error")
    assert f"info for {status}" in err.message and code in str(err)
    assert (err.method, err.path) == ("POST", "/rooms")


async def test_rate_limit_carries_retry_after(stub: StubDaily, client: DailyRestClient) -> None:
    """A 429 with Retry-After exposes the delay in seconds."""
    stub.on("GET", "/v1/rooms/r", Reply(429, {"error": "rate-limit-error"}, headers={"Retry-After": "7"}))
    with pytest.raises(DailyRestRateLimited) as info:
        await client.get_room("r")
    assert info.value.retry_after == 7.0


async def test_non_json_answer_is_bad_response(stub: StubDaily, client: DailyRestClient) -> None:
    """A 200 whose body is not JSON raises DailyRestBadResponse, not a JSONDecodeError."""
    stub.on("GET", "/v1/rooms/r", Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n<html"))
    with pytest.raises(DailyRestBadResponse) as info:
        await client.get_room("r")
    assert info.value.code == "rest_bad_response" and info.value.status == 200


async def test_garbage_and_truncated_answers_are_bad_response(stub: StubDaily, client: DailyRestClient) -> None:
    """Bytes that are not HTTP, or a body cut short by the server closing, raise DailyRestBadResponse."""
    stub.on("GET", "/v1/rooms/a", Reply(raw=b"SSH-2.0-OpenSSH\r\n\r\n"))
    stub.on("GET", "/v1/rooms/b", Reply(raw=b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"na'))
    for name in ("a", "b"):
        with pytest.raises(DailyRestBadResponse):
            await client.get_room(name)


async def test_chunked_answer_is_decoded(stub: StubDaily, client: DailyRestClient) -> None:
    """A chunked (Transfer-Encoding) answer, as Daily's servers may send, is reassembled."""
    body = json.dumps({"name": "chunky", "config": {"exp": 1}}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7))
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    stub.on("GET", "/v1/rooms/chunky", Reply(raw=raw))
    assert await client.get_room("chunky") == {"name": "chunky", "config": {"exp": 1}}


async def test_server_that_never_answers_times_out_on_time(stub: StubDaily) -> None:
    """A server that accepts but never answers raises rest_timeout within the configured timeout."""
    stub.on("GET", "/v1/rooms/slow", Reply(hang=True))
    client = DailyRestClient(KEY, api_url=stub.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(DailyRestTimeout) as info:
        await client.get_room("slow")
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5, elapsed
    assert (info.value.code, info.value.status) == ("rest_timeout", None)


async def test_per_call_timeout_overrides_the_default(stub: StubDaily) -> None:
    """timeout= on a call beats the client's default (here 30 s would make the test hang)."""
    stub.on("POST", "/v1/meeting-tokens", Reply(hang=True))
    client = DailyRestClient(KEY, api_url=stub.url, timeout=30)
    started = time.monotonic()
    with pytest.raises(DailyRestTimeout):
        await client.create_meeting_token({"room_name": "r"}, timeout=0.2)
    assert time.monotonic() - started < 1.5


async def test_connection_refused_is_unreachable() -> None:
    """A port nobody listens on raises rest_unreachable quickly, with no HTTP status."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = DailyRestClient(KEY, api_url=f"http://127.0.0.1:{port}/v1", timeout=5)
    started = time.monotonic()
    with pytest.raises(DailyRestUnreachable) as info:
        await client.delete_room("r")
    assert time.monotonic() - started < 2
    assert (info.value.code, info.value.status) == ("rest_unreachable", None)
    assert "127.0.0.1" in info.value.message


# ------------------------------------------------------------------------------------- secrecy


async def test_api_key_never_in_errors_reprs_or_logs(stub: StubDaily, caplog: pytest.LogCaptureFixture) -> None:
    """Across every failure kind, the key is in no exception str/repr/args/cause and no log line."""
    caplog.set_level(logging.DEBUG, logger="gateway.daily.rest")
    stub.on("POST", "/v1/rooms", Reply(400, echo_auth=True))
    stub.on("GET", "/v1/rooms/unauth", Reply(401, {"error": "authentication-error", "info": KEY}))
    stub.on(
        "GET", "/v1/rooms/boom", Reply(500, raw=f"HTTP/1.1 500 {KEY}\r\nContent-Length: 3\r\n\r\n{KEY[:3]}".encode())
    )
    stub.on("GET", "/v1/rooms/hang", Reply(hang=True))
    stub.on("GET", "/v1/rooms/garbage", Reply(raw=f"HTTP/1.1 abc {KEY}\r\n\r\n".encode()))
    client = DailyRestClient(KEY, api_url=stub.url, timeout=0.3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = DailyRestClient(KEY, api_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1")
    calls = [
        client.create_room("r"),
        client.get_room("unauth"),
        client.get_room("boom"),
        client.get_room("hang"),
        client.get_room("garbage"),
        dead.get_room("x"),
    ]
    errors: list[DailyRestError] = []
    for call in calls:
        with pytest.raises(DailyRestError) as info:
            await call
        errors.append(info.value)
    assert {e.code for e in errors} == {
        "rest_bad_request",
        "rest_unauthorized",
        "rest_server_error",
        "rest_timeout",
        "rest_bad_response",
        "rest_unreachable",
    }
    assert "bad header Bearer <redacted>" in errors[0].message  # the echo was there, and was cut
    for err in errors:
        texts = [str(err), repr(err), err.message, *map(str, err.args), str(err.daily_error)]
        cause = err.__cause__
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__
        _no_key_in(*texts)
    assert caplog.records, "the client should log requests at DEBUG"
    _no_key_in(caplog.text, *(r.getMessage() for r in caplog.records), repr(client), str(client), repr(vars(client)))
    assert all(r.name == "gateway.daily.rest" for r in caplog.records)


# ------------------------------------------------------------------------------------------ TLS


async def test_https_url_speaks_tls() -> None:
    """An https api_url opens with a TLS ClientHello; a peer that is not TLS gives rest_unreachable."""
    first_bytes: list[bytes] = []

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first_bytes.append(await reader.read(3))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = DailyRestClient(KEY, api_url=f"https://127.0.0.1:{port}/v1", timeout=3)
        with pytest.raises(DailyRestUnreachable):
            await client.get_room("r")
    finally:
        server.close()
        await server.wait_closed()
    assert first_bytes and first_bytes[0][:2] == b"\x16\x03", "expected a TLS handshake record"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
async def test_tls_verifies_certificates_and_works_with_a_trusted_one(tmp_path: Path) -> None:
    """A self-signed server is refused by the default context and accepted with a context trusting it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    seen: list[str] = []

    async def tls_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.decode().split("\r\n")[0])
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{"name":"tl"}')
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(tls_handler, "127.0.0.1", 0, ssl=server_ctx)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    try:
        with pytest.raises(DailyRestUnreachable) as info:
            await DailyRestClient(KEY, api_url=url, timeout=3).get_room("tl")
        assert "CERTIFICATE_VERIFY_FAILED" in info.value.message or "certificate" in info.value.message.lower()
        trusting = ssl.create_default_context(cafile=str(cert))
        assert await DailyRestClient(KEY, api_url=url, timeout=3, ssl_context=trusting).get_room("tl") == {"name": "tl"}
    finally:
        server.close()
        await server.wait_closed()
    assert seen == ["GET /v1/rooms/tl HTTP/1.1"]


# ------------------------------------------------------------------------------ sans-I/O parser


def _parse_bytewise(raw: bytes, method: str = "GET") -> ResponseParser:
    parser = ResponseParser(request_method=method)
    for i in range(len(raw)):
        parser.feed(raw[i : i + 1])
    return parser


def test_parser_content_length_fed_one_byte_at_a_time() -> None:
    """Status, lower-cased headers and a Content-Length body survive arbitrary splits."""
    parser = _parse_bytewise(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-A: 1\r\nX-A: 2\r\n\r\nbodyEXTRA")
    assert parser.done
    r = parser.response
    assert (r.status, r.reason, r.body, r.headers["x-a"]) == (201, "Created", b"body", "1,2")


def test_parser_chunked_with_extensions_and_trailers() -> None:
    """Chunk extensions are ignored, trailers are skipped, the body is the concatenation."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: t\r\n\r\n"
    parser = _parse_bytewise(raw)
    assert parser.done and parser.response.body == b"abcde"


def test_parser_eof_delimited_body_and_interim_100() -> None:
    """A 100 Continue is skipped; a body without length ends when the peer closes."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil-")
    assert not parser.done
    parser.feed(b"close")
    parser.feed_eof()
    assert parser.response.status == 200 and parser.response.body == b"until-close"


def test_parser_head_and_204_have_no_body() -> None:
    """HEAD answers and 204 end after the headers even with a Content-Length."""
    parser = ResponseParser(request_method="HEAD")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
    assert parser.done and parser.response.body == b""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert parser.done


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2x0 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno-colon-here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
    ],
)
def test_parser_rejects_malformed_input(raw: bytes) -> None:
    """Malformed status lines, headers, lengths and chunks raise HttpParseError."""
    with pytest.raises(HttpParseError):
        ResponseParser().feed(raw)


def test_parser_truncated_response_raises_on_eof() -> None:
    """EOF in the middle of a Content-Length body is an error, not a short body."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(HttpParseError):
        parser.feed_eof()
    with pytest.raises(HttpParseError):
        _ = parser.response
