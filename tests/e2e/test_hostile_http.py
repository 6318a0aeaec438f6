"""HTTP edges of the gateway's port, attacked with raw sockets (PROTOCOL.md 1.3 and 15.5).

Duplicated headers, DNS rebinding on the open gateway, methods other than GET, chunked and pipelined
requests, very long paths: each gets a status line and one log line, never a traceback or silence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import GatewayProcess, start_gateway
from tests.e2e.hostile_tools import http_exchange, upgrade_request

KEY = "0123456789abcdef-http-hostile"


@pytest.fixture(scope="module")
def open_gw() -> Iterator[GatewayProcess]:
    """An open gateway (no keys) of this module's own, so its log can be checked per attack."""
    gw = start_gateway(name="gateway-hostile-http")
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log(), gw.log()[-3000:]


@pytest.fixture(scope="module")
def keyed_gw() -> Iterator[GatewayProcess]:
    gw = start_gateway(name="gateway-hostile-http-keyed", env={"GATEWAY_API_KEYS": f"k:{KEY}"})
    yield gw
    assert gw.stop() == 0
    assert "Traceback" not in gw.log(), gw.log()[-3000:]


def status(response: bytes) -> int:
    """The status code of a raw HTTP response (0 when the gateway answered nothing)."""
    if not response.startswith(b"HTTP/1.1 "):
        return 0
    return int(response[9:12])


def get(path: str, host: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def host_of(gw: GatewayProcess) -> str:
    return gw.url.split("//", 1)[1].split("/", 1)[0]


@pytest.mark.parametrize("header", ["Host", "Authorization", "Origin"])
async def test_a_duplicated_header_is_400_with_one_log_line(open_gw, header):
    """Two Host, Authorization or Origin headers on an upgrade get 400 and one log line, not a 1011 and a traceback."""
    value = {"Host": host_of(open_gw), "Authorization": "Bearer a", "Origin": f"http://{host_of(open_gw)}"}[header]
    before = open_gw.log().count("\n")
    extra = f"{header}: {value}\r\n" if header == "Host" else f"{header}: {value}\r\n{header}: {value}\r\n"
    response = await http_exchange(open_gw.url, upgrade_request(open_gw.url, extra=extra))
    assert status(response) == 400, response[:200]
    assert f"duplicate {header.lower()} header".encode() in response.lower()
    new_lines = open_gw.log().splitlines()[before:]
    assert len([line for line in new_lines if "refused HTTP request" in line]) == 1
    assert not [line for line in new_lines if "Traceback" in line or "MultipleValuesError" in line]


async def test_duplicated_authorization_on_a_keyed_gateway_is_400(keyed_gw):
    """The keyed gateway answers two Authorization headers with 400 before any credential is looked at."""
    extra = f"Authorization: Bearer {KEY}\r\nAuthorization: Bearer other\r\n"
    response = await http_exchange(keyed_gw.url, upgrade_request(keyed_gw.url, extra=extra))
    assert status(response) == 400, response[:200]


async def test_dns_rebinding_gets_no_hello_on_the_open_gateway(open_gw):
    """Host evil.example with a matching Origin (a rebound page) is refused with 403; loopback names get their 101."""
    port = host_of(open_gw).rsplit(":", 1)[1]
    evil = f"evil.example:{port}"
    response = await http_exchange(open_gw.url, upgrade_request(open_gw.url, host=evil, extra=f"Origin: http://{evil}\r\n"))
    assert status(response) == 403, response[:300]
    assert b"hello" not in response and b"allowed_hosts" in response
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        response = await http_exchange(open_gw.url, upgrade_request(open_gw.url, host=host), timeout=1.0)
        assert status(response) == 101, (host, response[:200])
    healthz = await http_exchange(open_gw.url, get("/healthz", evil))
    assert status(healthz) == 403


async def test_allowed_hosts_admits_a_named_host(clients):
    """--allowed-hosts gw.example lets that Host in on the open gateway; other names stay refused."""
    gw = start_gateway("--allowed-hosts", "gw.example", name="gateway-allowed-hosts")
    try:
        port = host_of(gw).rsplit(":", 1)[1]
        ok = await http_exchange(gw.url, upgrade_request(gw.url, host=f"gw.example:{port}"), timeout=1.0)
        assert status(ok) == 101
        refused = await http_exchange(gw.url, upgrade_request(gw.url, host=f"evil.example:{port}"))
        assert status(refused) == 403
    finally:
        assert gw.stop() == 0


async def test_the_keyed_gateway_accepts_any_host(keyed_gw):
    """With keys the Host is not restricted (credentials protect it); a foreign Host still needs a credential."""
    port = host_of(keyed_gw).rsplit(":", 1)[1]
    response = await http_exchange(keyed_gw.url, upgrade_request(keyed_gw.url, host=f"gw.internal:{port}",
                                                                 extra=f"Authorization: Bearer {KEY}\r\n"), timeout=1.0)
    assert status(response) == 101


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "BREW"])
async def test_methods_other_than_get_are_405(open_gw, method):
    """Any method but GET gets 405 with Allow: GET, on the WebSocket endpoint and on /healthz alike."""
    for path in ("/healthz", "/v1"):
        raw = f"{method} {path} HTTP/1.1\r\nHost: {host_of(open_gw)}\r\nContent-Length: 0\r\n\r\n".encode()
        response = await http_exchange(open_gw.url, raw)
        assert status(response) == 405, (method, path, response[:200])
        assert b"\r\nAllow: GET\r\n" in response


async def test_chunked_request_is_400(open_gw):
    """A request with Transfer-Encoding: chunked (or a body) is answered 400, not dropped silently."""
    chunked = get("/healthz", host_of(open_gw), "Transfer-Encoding: chunked\r\n") + b"0\r\n\r\n"
    assert status(await http_exchange(open_gw.url, chunked)) == 400
    body = get("/healthz", host_of(open_gw), "Content-Length: 5\r\n") + b"hello"
    assert status(await http_exchange(open_gw.url, body)) == 400


async def test_pipelined_requests_are_400(open_gw):
    """Two requests in one write (or frames sent before the 101) are answered 400, not dropped silently."""
    one = get("/healthz", host_of(open_gw))
    response = await http_exchange(open_gw.url, one + one)
    assert status(response) == 400, response[:200]
    early_frame = upgrade_request(open_gw.url) + b"\x82\x80\0\0\0\0"
    assert status(await http_exchange(open_gw.url, early_frame)) == 400


async def test_a_very_long_path_is_414_without_a_traceback(open_gw):
    """A request line past 8 KiB gets 414; a long path under it gets 404 (static files included); no traceback logged."""
    before = open_gw.log().count("\n")
    response = await http_exchange(open_gw.url, get("/" + "a" * 20000, host_of(open_gw)))
    assert status(response) == 414
    for path in ("/dashboard/" + "a" * 5000, "/sdk/" + "a/" * 2000, "/" + "b" * 8000):
        response = await http_exchange(open_gw.url, get(path, host_of(open_gw)))
        assert status(response) == 404, (path[:20], response[:200])
    new = "\n".join(open_gw.log().splitlines()[before:])
    assert "Traceback" not in new and "AssertionError" not in new


async def test_an_oversized_header_block_is_431(open_gw):
    """More header bytes than the gateway reads for a handshake get 431."""
    extra = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(70))
    response = await http_exchange(open_gw.url, get("/healthz", host_of(open_gw), extra))
    assert status(response) == 431


async def test_healthz_still_works(open_gw):
    """The screen lets an ordinary GET through unchanged."""
    response = await http_exchange(open_gw.url, get("/healthz", host_of(open_gw)))
    assert status(response) == 200
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["status"] == "ok"


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"\x82\x03abc", 1002), (b"\xc2\x80\0\0\0\0", 1002), (b"\x80\x80\0\0\0\0", 1002), (b"\x81\x82\0\0\0\0\xff\xfe", 1007)],
    ids=["unmasked", "reserved-bit", "stray-continuation", "bad-utf8"],
)
async def test_framing_violations_close_with_documented_codes(open_gw, data, code):
    """Framing violations at a real gateway close with 1002 / 1007, both documented close codes, and log no traceback."""
    from protocol.constants import CloseCode
    from tests.e2e.hostile_tools import read_close, upgraded

    reader, writer = await upgraded(open_gw.url)
    writer.write(data)
    got, _ = await read_close(reader)
    writer.transport.abort()
    assert got == code and got in {int(c) for c in CloseCode}
