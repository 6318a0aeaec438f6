"""StaticFiles without sockets: content types, index files, and no way out of a mount."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.http import StaticFiles


@pytest.fixture
def files(tmp_path: Path) -> StaticFiles:
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "index.html").write_text("<html>home</html>")
    (site / "app.js").write_text("export {}")
    (site / "sub" / "index.html").write_text("<html>sub</html>")
    (site / "blob.bin").write_bytes(b"\x00\x01")
    (tmp_path / "secret.txt").write_text("top secret")
    (site / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (site / "escape-dir").symlink_to(tmp_path)
    return StaticFiles({"/site": site, "/missing": tmp_path / "nope"})


def test_serves_files_with_content_types(files):
    """Known suffixes get their content type, unknown ones application/octet-stream; folders serve index.html."""
    response = files.respond("/site/app.js")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.body == b"export {}"
    assert files.respond("/site/blob.bin").headers["Content-Type"] == "application/octet-stream"
    assert files.respond("/site/").body == b"<html>home</html>"
    assert files.respond("/site/sub/").body == b"<html>sub</html>"
    assert files.respond("/site/%61pp.js").body == b"export {}"


def test_prefix_without_slash_redirects(files):
    """/site answers 302 to /site/ so that relative URLs in the page resolve."""
    response = files.respond("/site")
    assert response.status_code == 302 and response.headers["Location"] == "/site/"


@pytest.mark.parametrize(
    "path",
    ["/site/escape.txt", "/site/escape-dir/secret.txt", "/site/../secret.txt", "/site/%2e%2e/secret.txt",
     "/site/sub/..%2f..%2fsecret.txt", "/site/.hidden", "/site/a%00b", "/site/%c3%28", "/site//etc/passwd",
     "/site/sub\\..\\..\\secret.txt"],
)
def test_nothing_outside_the_mount(files, path):
    """Symlinks out, '..' (plain or encoded), hidden files, NUL, bad UTF-8 and absolute paths are all 404."""
    response = files.respond(path)
    assert response.status_code == 404
    assert b"top secret" not in response.body


def test_handles_only_its_prefixes(files):
    """A path that merely starts with a mount's name is not that mount's."""
    assert files.handles("/site/x") and files.handles("/site")
    assert not files.handles("/sitemap.xml") and not files.handles("/")


def test_missing_sdk_build_says_how_to_build(tmp_path):
    """When the SDK is not built, /sdk/ answers 404 with the command that builds it."""
    files = StaticFiles({"/sdk": tmp_path / "dist"})
    response = files.respond("/sdk/index.js")
    assert response.status_code == 404 and b"make js-build" in response.body
