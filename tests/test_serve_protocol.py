"""HTTP protocol hygiene of the reports server, case by case, over raw sockets.

Each case is what a hostile or merely sloppy client does: bodies on GET,
over-long targets, hanging up mid-answer, two Host headers, conditional
requests, idle and stalled connections. None may produce a traceback, a
second answer from one request, or a connection held for ever.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time

import pytest

from finops.engine import server as server_module
from finops.engine.files import write_atomic
from finops.engine.server import make_server

SECRET = b"only-in-the-smuggled-request"


@pytest.fixture(params=server_module.PROTOCOLS, ids=lambda p: p.__name__)
def served(request, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(server_module, "HEAD_TIMEOUT", 0.6)
    monkeypatch.setattr(server_module, "WRITE_TIMEOUT", 0.6)
    root = tmp_path / "reports"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>index</title>")
    (root / "manifest.json").write_text('{"generated_at": "x"}')
    (root / "big.csv").write_bytes((b"x" * 99 + b"\n") * 200_000)  # 20 MB
    logs: list[str] = []
    srv = make_server(root, "127.0.0.1", 0, log=logs.append, protocol=request.param)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.root, srv.logs = root, logs
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)
    # Whatever the case did, nothing was logged and no traceback reached stderr.
    assert not any("Traceback" in line or "Exception" in line for line in logs), logs
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def connect(srv, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=timeout)


def host(srv) -> bytes:
    return f"127.0.0.1:{srv.server_address[1]}".encode()


def read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data


def exchange(srv, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes."""
    with connect(srv) as sock:
        sock.sendall(request)
        return read_all(sock)


def statuses(data: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def get(srv, target: bytes = b"/index.html", extra: bytes = b"") -> tuple[int, dict, bytes]:
    data = exchange(srv, b"GET " + target + b" HTTP/1.1\r\nHost: " + host(srv) +
                    b"\r\nConnection: close\r\n" + extra + b"\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# --- bodies on GET/HEAD --------------------------------------------------------

@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_a_body_on_get_is_refused_and_never_answered_as_a_second_request(served, method):
    smuggled = b"GET /" + SECRET + b" HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n"
    request = (method + b" /index.html HTTP/1.1\r\nHost: " + host(served) +
               b"\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
    data = exchange(served, request)  # returns only once the server closed the connection
    assert statuses(data) == [400]
    assert SECRET not in data


def test_a_chunked_body_on_get_is_refused(served):
    request = (b"GET /index.html HTTP/1.1\r\nHost: " + host(served) +
               b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert statuses(exchange(served, request)) == [400]


def test_content_length_and_transfer_encoding_together_are_refused(served):
    request = (b"GET /index.html HTTP/1.1\r\nHost: " + host(served) +
               b"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert statuses(exchange(served, request)) == [400]


def test_an_empty_body_declared_as_zero_is_fine(served):
    assert get(served, extra=b"Content-Length: 0\r\n")[0] == 200


def test_pipelined_requests_each_get_their_answer(served):
    one = b"GET /index.html HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n"
    last = b"GET /manifest.json HTTP/1.1\r\nHost: " + host(served) + b"\r\nConnection: close\r\n\r\n"
    assert statuses(exchange(served, one + one + last)) == [200, 200, 200]


# --- over-long targets --------------------------------------------------------------

@pytest.mark.parametrize("length", [9_000, 60_000, 200_000])
def test_an_over_long_target_gets_414(served, length):
    target = b"/" + b"a" * length
    assert statuses(exchange(served, b"GET " + target + b" HTTP/1.1\r\nHost: " +
                             host(served) + b"\r\n\r\n")) == [414]
    assert served.logs == []


def test_an_over_long_query_gets_414(served):
    assert get(served, b"/index.html?" + b"q" * 10_000)[0] == 414


@pytest.mark.parametrize("segment", [256, 300, 4000])
def test_an_over_long_file_name_is_just_missing(served, segment):
    assert get(served, b"/" + b"n" * segment + b".html")[0] == 404
    assert get(served, b"/dir/" + b"n" * segment)[0] == 404


def test_garbage_is_a_400_and_the_server_lives_on(served):
    for junk in [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # a TLS hello
                 b"GET / HTTP/9.9\r\n\r\n", b"NONSENSE\r\n\r\n", b"GET /\r\n\r\n"]:
        data = exchange(served, junk)
        assert statuses(data) in ([], [400]), data[:80]
    assert get(served)[0] == 200


# --- Host ------------------------------------------------------------------------------

def test_two_host_headers_are_refused_even_when_one_is_ours(served):
    for pair in [(host(served), b"evil.example"), (b"evil.example", host(served)),
                 (host(served), host(served))]:
        request = (b"GET /index.html HTTP/1.1\r\nHost: " + pair[0] + b"\r\nHost: " + pair[1] +
                   b"\r\nConnection: close\r\n\r\n")
        data = exchange(served, request)
        assert statuses(data) == [400], pair
        assert b"<title>index" not in data


def test_http10_without_host_is_refused(served):
    assert statuses(exchange(served, b"GET /index.html HTTP/1.0\r\n\r\n")) == [400]


# --- hang-ups -------------------------------------------------------------------------

def test_clients_hanging_up_mid_answer_are_not_errors(served):
    for n in range(20):
        sock = connect(served)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /big.csv HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n")
        if n % 2:
            sock.recv(1000)
        # RST instead of FIN: the rudest hang-up there is.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    time.sleep(0.3)
    assert get(served)[0] == 200
    assert served.logs == []


def test_hang_up_before_the_request_is_complete(served):
    for part in [b"GET /index.html HTTP/1.1\r\nHo", b"GET /index.ht", b""]:
        with connect(served) as sock:
            sock.sendall(part)
    assert get(served)[0] == 200
    assert served.logs == []


# --- conditional requests ------------------------------------------------------------------

def test_etag_and_last_modified_give_304_until_the_file_changes(served):
    status, headers, body = get(served)
    assert status == 200 and headers["etag"] and headers["last-modified"]
    assert headers["cache-control"] == "no-cache"
    status, again, body = get(served, extra=b"If-None-Match: " + headers["etag"].encode() + b"\r\n")
    assert status == 304 and body == b"" and again["etag"] == headers["etag"]
    assert again["x-content-type-options"] == "nosniff" and "content-security-policy" in again
    status, _, _ = get(served, extra=b"If-Modified-Since: " + headers["last-modified"].encode() + b"\r\n")
    assert status == 304
    time.sleep(0.02)
    write_atomic(served.root / "index.html", "<!doctype html><title>new</title>")
    status, _, body = get(served, extra=b"If-None-Match: " + headers["etag"].encode() + b"\r\n")
    assert status == 200 and b"<title>new" in body


def test_manifest_is_no_store_but_still_validates(served):
    status, headers, _ = get(served, b"/manifest.json")
    assert status == 200 and headers["cache-control"] == "no-store"


def test_byte_ranges(served):
    status, headers, body = get(served, b"/big.csv", extra=b"Range: bytes=0-9\r\n")
    assert status == 206 and body == b"x" * 10 and headers["content-range"].endswith("/20000000")


def test_a_file_replaced_mid_answer_is_sent_whole_as_it_was(served, monkeypatch):
    """The file is opened before the answer starts: an atomic replace during a
    download neither breaks the declared length nor mixes the two versions."""
    monkeypatch.setattr(server_module, "WRITE_TIMEOUT", 30)
    (served.root / "swap.csv").write_bytes(b"o" * 8_000_000)
    with connect(served) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /swap.csv HTTP/1.1\r\nHost: " + host(served) + b"\r\nConnection: close\r\n\r\n")
        first = sock.recv(1000)
        write_atomic(served.root / "swap.csv", b"short\n")
        data = first + read_all(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length: 8000000" in head and body == b"o" * 8_000_000


# --- idle, slow and stalled clients ---------------------------------------------------------

def test_an_idle_connection_is_closed_after_the_head_deadline(served):
    with connect(served) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # the server closed it
        assert time.monotonic() - started < 5


def test_a_slowloris_head_is_cut_off(served):
    with connect(served) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\n")
        closed = False
        for _ in range(30):
            try:
                sock.sendall(b"X-a: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.1)
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    closed = True
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        assert closed


def test_a_client_that_stops_reading_is_cut_off(served):
    sock = connect(served)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"GET /big.csv HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n")
    deadline = time.monotonic() + 5
    while not served.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert served.connections == 1
    time.sleep(0.3)
    assert served.connections == 1, "still sending, not yet timed out"
    deadline = time.monotonic() + 8
    while served.connections and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served.connections == 0
    sock.close()
    assert get(served)[0] == 200


def test_many_idle_connections_do_not_block_a_request(served):
    idle = [connect(served) for _ in range(300)]
    try:
        status, _, body = get(served)
        assert status == 200 and b"<title>index" in body
    finally:
        for sock in idle:
            sock.close()


def test_answers_are_not_held_back_by_nagle(served):
    """Small answers go out at once (TCP_NODELAY on every accepted socket):
    without it each one waited ~40 ms for the client's delayed ACK."""
    with connect(served) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n")
        sock.recv(65536)
        protocols = list(served._server.server_state.connections)
        assert protocols
        for protocol in protocols:
            accepted = protocol.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_refused_post_with_a_body_closes_the_connection(served):
    smuggled = b"GET /" + SECRET + b" HTTP/1.1\r\nHost: " + host(served) + b"\r\n\r\n"
    request = (b"POST /index.html HTTP/1.1\r\nHost: " + host(served) +
               b"\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
    data = exchange(served, request)
    assert statuses(data) == [405] and SECRET not in data
