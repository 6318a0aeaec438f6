"""The gateway serves the dashboard and the JS SDK over HTTP on its WebSocket port, and nothing else."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest


def _get(gateway, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw GET (http.client sends the path as given: no normalisation of '..')."""
    host = urllib.parse.urlsplit(gateway.http_url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_dashboard_index_is_html(gateway):
    """/dashboard redirects to /dashboard/, which serves the dashboard's HTML."""
    status, headers, _ = _get(gateway, "/dashboard")
    assert status == 302 and headers["location"] == "/dashboard/"
    status, headers, body = _get(gateway, "/dashboard/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b"<html" in body.lower() and headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/dashboard/main.js", "text/javascript; charset=utf-8"),
        ("/dashboard/features/watch.js", "text/javascript; charset=utf-8"),
        ("/dashboard/style.css", "text/css; charset=utf-8"),
    ],
)
def test_dashboard_assets_have_content_types(gateway, path, content_type):
    """Dashboard scripts and styles are served with the content type a browser needs for modules."""
    status, headers, body = _get(gateway, path)
    assert status == 200 and headers["content-type"] == content_type and body


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/../pyproject.toml",
        "/dashboard/%2e%2e/%2e%2e/pyproject.toml",
        "/dashboard/..%2f..%2fpyproject.toml",
        "/dashboard/%2E%2E%5C%2E%2E%5Cpyproject.toml",
        "/sdk/../../../gateway/server.py",
        "/dashboard/%00index.html",
        "/dashboard/.hidden",
        "/dashboard/%ff%fe",
        "/dashboard//etc/passwd",
    ],
)
def test_no_path_traversal(gateway, path):
    """Encoded or plain '..', backslashes, NUL and absolute paths never serve a file outside the mounts."""
    status, _, body = _get(gateway, path)
    assert status == 404, f"{path} answered {status}"
    assert b"[project]" not in body and b"import" not in body and b"root:" not in body


def test_unknown_path_is_404_and_browser_root_goes_to_dashboard(gateway):
    """Paths outside the mounts are 404; a browser opening / is sent to the dashboard."""
    assert _get(gateway, "/dashboardx/index.html")[0] == 404
    status, headers, _ = _get(gateway, "/", {"Accept": "text/html,application/xhtml+xml"})
    assert status == 302 and headers["location"] == "/dashboard/"
    assert _get(gateway, "/")[0] == 426


def test_startup_prints_the_dashboard_url(gateway):
    """Right after its listening line the gateway prints the dashboard's URL, and that URL serves the page."""
    import re
    import urllib.request

    line = gateway.process.stdout.readline()
    match = re.search(r"dashboard: open (http://\S+) in a browser", line)
    assert match, f"no dashboard URL after the listening line: {line!r}"
    with urllib.request.urlopen(match.group(1), timeout=5) as response:
        assert response.status == 200 and b"dashboard" in response.read()


@pytest.fixture(scope="module")
def cors_gateway():
    """A gateway that admits pages of one other origin (a Vite dev server)."""
    from tests.conftest import start_gateway

    gw = start_gateway("--allowed-origins", "http://localhost:5173", name="gateway-cors")
    yield gw
    gw.stop()


def test_the_sdk_is_served_across_origins_to_allowed_origins_only(cors_gateway):
    """/sdk/ answers a page of an allowed origin with Access-Control-Allow-Origin (and Vary), others without; the dashboard never."""
    allowed = {"Origin": "http://localhost:5173"}
    _, headers, _ = _get(cors_gateway, "/sdk/index.js", allowed)
    assert headers.get("access-control-allow-origin") == "http://localhost:5173"
    assert headers.get("vary") == "Origin"
    _, headers, _ = _get(cors_gateway, "/sdk/index.js", {"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in headers
    _, headers, _ = _get(cors_gateway, "/sdk/index.js")
    assert "access-control-allow-origin" not in headers
    _, headers, _ = _get(cors_gateway, "/dashboard/app.js", allowed)
    assert "access-control-allow-origin" not in headers


def test_without_allowed_origins_no_cors_header(gateway):
    """A gateway with no allowed_origins sends no CORS header: only its own pages load the SDK."""
    _, headers, _ = _get(gateway, "/sdk/index.js", {"Origin": "http://localhost:5173"})
    assert "access-control-allow-origin" not in headers
