"""The reports server: only the output folder, never anything else.

Requests are sent as raw bytes over a socket so that no client library
normalises `..` or percent-encodings before the server sees them.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from finops.engine.errors import FinopsError
from finops.engine.server import CONTENT_SECURITY_POLICY, make_server, resolve_request_path, Refused

SECRET = "top secret outside the folder"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("site")
    root = tmp_path / "reports"
    (root / "assets").mkdir(parents=True)
    (root / "sub").mkdir()
    (root / "empty").mkdir()
    (root / "index.html").write_text("<!doctype html><title>index</title>")
    (root / "manifest.json").write_text('{"generated_at": "x"}')
    (root / "assets" / "viewer.js").write_text("console.log(1)")
    (root / "assets" / "style.css").write_text("body{}")
    (root / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n")
    (root / "assets" / "icon.svg").write_text("<svg/>")
    (root / "data.csv").write_text("a,b\n1,2\n")
    (root / "sub" / "index.html").write_text("sub index")
    (root / ".manifest.json.tmp").write_text(SECRET)
    (root / "report.html.tmp").write_text(SECRET)
    (root / ".hidden").write_text(SECRET)
    (tmp_path / "secret.txt").write_text(SECRET)
    (root / "link_out").symlink_to(tmp_path / "secret.txt")
    (root / "dir_out").symlink_to(tmp_path)
    (root / "link_in.html").symlink_to(root / "index.html")
    (root / "link_tmp.html").symlink_to(root / ".manifest.json.tmp")
    server = make_server(root, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.tmp_path = tmp_path
    yield server
    server.shutdown()
    server.server_close()


def raw(server, target: str | bytes, *, method="GET", host: str | None = "default",
        extra: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send one raw HTTP/1.1 request; return (status, headers, body)."""
    port = server.server_address[1]
    if host == "default":
        host = f"127.0.0.1:{port}"
    target = target if isinstance(target, bytes) else target.encode("latin-1")
    request = method.encode() + b" " + target + b" HTTP/1.1\r\n"
    if host is not None:
        request += f"Host: {host}\r\n".encode()
    request += b"Connection: close\r\n" + extra + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers, body


def test_serves_files_with_content_types_and_security_headers(site):
    expected = {
        "/": "text/html; charset=utf-8",
        "/index.html": "text/html; charset=utf-8",
        "/manifest.json": "application/json",
        "/assets/viewer.js": "text/javascript; charset=utf-8",
        "/assets/style.css": "text/css; charset=utf-8",
        "/assets/logo.png": "image/png",
        "/assets/icon.svg": "image/svg+xml",
        "/data.csv": "text/csv; charset=utf-8",
    }
    for target, content_type in expected.items():
        status, headers, body = raw(site, target)
        assert status == 200, target
        assert headers["content-type"] == content_type, target
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert int(headers["content-length"]) == len(body)
    assert raw(site, "/")[2].startswith(b"<!doctype html>")
    assert raw(site, "/index.html?x=1#frag")[0] == 200


def test_manifest_is_never_cached(site):
    assert raw(site, "/manifest.json")[1]["cache-control"] == "no-store"
    assert raw(site, "/index.html")[1]["cache-control"] == "no-cache"


def test_head_has_headers_and_no_body(site):
    status, headers, body = raw(site, "/manifest.json", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_only_get_and_head(site, method):
    status, headers, body = raw(site, "/index.html", method=method)
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_unknown_method_refused(site):
    assert raw(site, "/index.html", method="PROPFIND")[0] in (405, 501)


TRAVERSALS = [
    "/../secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/assets/../../secret.txt",
    "/assets/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt",          # double-encoded
    "/%252e%252e%252fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/assets%5c..%5c..%5csecret.txt",
    "/index.html%00.png",
    "/%00",
    "//etc/passwd",
    "/etc/passwd/../../../../etc/passwd",
    "http://127.0.0.1/../secret.txt",
    "/C:/windows/win.ini",
    "/./index.html",
    "/assets/./viewer.js",
    "/%c0%ae%c0%ae/secret.txt",        # overlong UTF-8 dots
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_refused(site, target):
    status, _, body = raw(site, target)
    assert status in (400, 403, 404), (target, status)
    assert SECRET.encode() not in body


def test_absolute_filesystem_path_is_just_a_missing_file(site):
    status, _, body = raw(site, str(site.tmp_path / "secret.txt"))
    assert status == 404 and SECRET.encode() not in body


def test_nul_byte_raw(site):
    status, _, body = raw(site, b"/index.html\x00.png")
    assert status == 400


@pytest.mark.parametrize("target", ["/link_out", "/dir_out/secret.txt", "/dir_out/",
                                    "/link_tmp.html"])
def test_symlinks_out_or_to_temp_files_refused(site, target):
    status, _, body = raw(site, target)
    assert status == 404 and SECRET.encode() not in body


def test_symlink_inside_the_folder_is_served(site):
    assert raw(site, "/link_in.html")[0] == 200


@pytest.mark.parametrize("target", ["/.manifest.json.tmp", "/report.html.tmp", "/.hidden",
                                    "/%2emanifest.json.tmp", "/assets/.x"])
def test_temporary_and_dot_files_refused(site, target):
    status, _, body = raw(site, target)
    assert status == 404 and SECRET.encode() not in body


def test_no_directory_listing(site):
    status, _, body = raw(site, "/empty/")
    assert status == 404 and b"Directory listing" not in body
    assert raw(site, "/assets/")[0] == 404
    status, _, body = raw(site, "/sub/")
    assert status == 200 and body == b"sub index"
    status, headers, _ = raw(site, "/sub")
    assert status == 301 and headers["location"] == "/sub/"


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "localhost.evil.example:{port}", "127.0.0.1.nip.io:{port}", ""])
def test_foreign_host_header_refused(site, host):
    port = site.server_address[1]
    status, _, body = raw(site, "/index.html", host=host.format(port=port))
    assert status in (400, 403, 421)
    assert b"<title>index" not in body


def test_missing_host_header_refused(site):
    assert raw(site, "/index.html", host=None)[0] in (400, 421)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_local_host_headers_accepted(site, host):
    assert raw(site, "/index.html", host=host.format(port=site.server_address[1]))[0] == 200


def test_missing_file_is_404(site):
    assert raw(site, "/nope.html")[0] == 404


def test_missing_favicon_is_an_empty_answer(site):
    status, headers, body = raw(site, "/favicon.ico")
    assert status == 204 and body == b""


def test_resolve_request_path_unit(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.html").write_text("x")
    assert resolve_request_path(tmp_path, "/a/b.html") == (tmp_path / "a" / "b.html").resolve()
    assert resolve_request_path(tmp_path, "/") == tmp_path.resolve()
    for bad in ["/a/../../x", "/a%2fb.html", "a/b.html", "/a//b.html"]:
        with pytest.raises(Refused):
            resolve_request_path(tmp_path, bad)


def test_busy_port_is_a_one_line_error_naming_port(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(FinopsError) as info:
            make_server(tmp_path, "127.0.0.1", port)
    message = str(info.value)
    assert "--port" in message and str(port) in message and "\n" not in message


def test_busy_port_from_the_cli(tmp_path):
    from click.testing import CliRunner

    from finops.engine.cli import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--csv", str(tmp_path / "c.csv"),
                                           "--out", str(tmp_path / "out"), "--port", str(port)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--port" in lines[0] and lines[0].startswith("error:")


def test_bound_to_loopback_by_default(tmp_path):
    server = make_server(tmp_path, port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_server_does_not_follow_symlinked_root_escape(tmp_path):
    """The root itself may be a symlink; files are judged against its real path."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "index.html").write_text("ok")
    link = tmp_path / "link"
    link.symlink_to(real)
    assert resolve_request_path(link, "/index.html") == (real / "index.html").resolve()
    assert os.path.exists(resolve_request_path(link, "/index.html"))


def test_wildcard_bind_needs_named_hosts_and_accepts_only_those(tmp_path):
    root = tmp_path / "reports"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>index</title>")
    with pytest.raises(FinopsError) as info:
        make_server(root, "0.0.0.0", 0)
    assert "--allow-host" in str(info.value) and "\n" not in str(info.value)
    server = make_server(root, "0.0.0.0", 0, allow_hosts=["reports.lan", "10.1.2.3"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert raw(server, "/index.html", host=f"reports.lan:{port}")[0] == 200
        assert raw(server, "/index.html", host=f"REPORTS.LAN:{port}")[0] == 200
        assert raw(server, "/index.html", host=f"10.1.2.3:{port}")[0] == 200
        assert raw(server, "/index.html", host=f"127.0.0.1:{port}")[0] == 200
        # An address nobody named, a wrong port, a foreign name: refused.
        assert raw(server, "/index.html", host=f"192.168.1.20:{port}")[0] in (400, 421)
        assert raw(server, "/index.html", host=f"reports.lan:{port + 1}")[0] in (400, 421)
        assert raw(server, "/index.html", host=f"evil.example:{port}")[0] in (400, 421)
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_bind_refuses_other_ip_addresses(site):
    assert raw(site, "/index.html", host=f"192.168.1.20:{site.server_address[1]}")[0] in (400, 421)


def test_extra_routes_get_the_same_host_check_and_headers(tmp_path):
    """How a later endpoint plugs in: a Starlette route passed to make_server."""
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def ping(request):
        return JSONResponse({"pong": request.query_params.get("x")})

    (tmp_path / "index.html").write_text("index")
    server = make_server(tmp_path, "127.0.0.1", 0, routes=[Route("/api/ping", ping)])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, headers, body = raw(server, "/api/ping?x=1")
        assert status == 200 and body == b'{"pong":"1"}'
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["cache-control"] == "no-store"
        assert raw(server, "/api/ping", host="evil.example")[0] == 421
        assert raw(server, "/api/ping", method="POST")[0] == 405
        assert raw(server, "/index.html")[2] == b"index"  # the folder still answers the rest
    finally:
        server.shutdown()
        server.server_close()
