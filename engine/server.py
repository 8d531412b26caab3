"""The HTTP server of `finops serve`: the reports folder, and nothing else.

uvicorn carries the HTTP (a real listen backlog, keep-alive timeouts, a
concurrency cap, strict HTTP/1.1 parsing by h11) and Starlette's static
files carry ETag/Last-Modified, 304s and byte ranges. This module adds what
a folder of reports on a shared machine needs on top:

- it never exposes anything outside the folder: request paths are checked
  on their raw form (encoded `..`, `/`, backslashes, NUL bytes) and again
  on the resolved real path, so neither a crafted URL nor a symlink leads
  out; temporary files of an atomic write (`.name.tmp...`) and dot-files
  are never served and folders are never listed;
- one Host header, naming this server (DNS rebinding); a body on GET/HEAD
  is refused and the connection closed; over-long targets get 414;
- a connection must send its request head within a deadline and keep
  reading what it asked for, so idle and slow clients cannot hold
  descriptors for ever;
- security headers (CSP and friends) on every answer; `manifest.json` is
  never cached, everything else is revalidated (ETag -> 304).

The app is built by `create_app` from a list of routes: a route added there
(e.g. a filter endpoint) gets the same Host check and headers, and the
static folder answers every path no route claims. It knows nothing of builds.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import re
import resource
import socket
import stat
import threading
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.parse import unquote, urlsplit

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from uvicorn.protocols.http.h11_impl import H11Protocol

from .errors import FinopsError, folder_error
from .files import is_hidden_name

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
}

# Reports run inline scripts (Chart.js set-up, the embedded manifest) and
# inline styles; nothing may come from another origin. The filter bar is a
# GET form to the same report: form-action 'self'.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; "
                           "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]

# Files that always reflect the latest build: the browser must ask again.
NO_STORE = {"manifest.json"}

# Limits. A request target longer than MAX_TARGET bytes is answered 414; a
# request head not complete HEAD_TIMEOUT seconds after the connection (or
# the previous answer) closes the connection; a client that reads nothing of
# an answer for WRITE_TIMEOUT seconds is cut off.
MAX_TARGET = 8192
MAX_HEAD = 64 * 1024
HEAD_TIMEOUT = 10.0
WRITE_TIMEOUT = 30.0
KEEP_ALIVE = 5
SMALL_FILE = 256 * 1024
BACKLOG = 2048
# Connections plus requests in flight before new requests get 503: far above
# a team's viewers (each polls one small file every few seconds).
MAX_CONCURRENCY = 4096

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


class Refused(Exception):
    """A request path that must not be served; carries the HTTP status."""

    def __init__(self, status: HTTPStatus):
        super().__init__(status.phrase)
        self.status = status


def _real_path_under(real_root: str, segments: list[str]) -> str:
    """os.path.realpath(real_root/segments...) for a root that is already real:
    one lstat per segment instead of one per component from `/` (the server
    does this on every request)."""
    path = real_root
    for i, segment in enumerate(segments):
        path = os.path.join(path, segment)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return os.path.join(path, *segments[i + 1:])  # does not exist: a 404 later
        if stat.S_ISLNK(mode):
            return os.path.realpath(os.path.join(path, *segments[i + 1:]))
    return path


def resolve_request_path(root: Path, raw_target: str, real_root: str | None = None) -> Path:
    """The real file or folder a raw request-target names inside root, or Refused.

    Works on the raw target, before any normalisation, so that encoded and
    double-encoded escapes are seen for what they are. real_root: root's
    real path, when the caller already knows it.
    """
    if not raw_target.startswith("/") or raw_target.startswith("//"):
        raise Refused(HTTPStatus.BAD_REQUEST)  # absolute-form or authority-like targets
    raw_path = urlsplit(raw_target).path
    if "\\" in raw_path or "\x00" in raw_path:
        raise Refused(HTTPStatus.BAD_REQUEST)
    try:
        decoded = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST) from None
    # A `%` left after one decoding is a double-encoded name: no file of a
    # build is named like that. Decoded separators and controls likewise.
    if "%" in decoded or "\\" in decoded or any(ord(ch) < 32 or ord(ch) == 127 for ch in decoded):
        raise Refused(HTTPStatus.BAD_REQUEST)
    raw_segments = raw_path.split("/")[1:]
    decoded_segments = decoded.split("/")[1:]
    if len(raw_segments) != len(decoded_segments):
        raise Refused(HTTPStatus.BAD_REQUEST)  # an encoded `/` (%2f) inside a segment
    segments = decoded_segments
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "" and not last:
            raise Refused(HTTPStatus.BAD_REQUEST)  # `a//b`
        if segment in {".", ".."} or ":" in segment:
            raise Refused(HTTPStatus.BAD_REQUEST)
        if segment and is_hidden_name(segment):
            raise Refused(HTTPStatus.NOT_FOUND)
        if len(segment.encode()) > 255:
            raise Refused(HTTPStatus.NOT_FOUND)  # no file has such a name (ENAMETOOLONG)
    real_root = os.path.realpath(root) if real_root is None else real_root
    candidate = _real_path_under(real_root, [s for s in segments if s])
    if candidate != real_root and not candidate.startswith(real_root + os.sep):
        raise Refused(HTTPStatus.NOT_FOUND)  # a symlink that leads out of the folder
    rel_parts = candidate[len(real_root):].split(os.sep)
    if any(part and is_hidden_name(part) for part in rel_parts):
        raise Refused(HTTPStatus.NOT_FOUND)  # a link whose target is a temp file
    return Path(candidate)


# --- who may ask -------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_form(name: str) -> str:
    name = name.strip().lower()
    if ":" in name and not name.startswith("["):
        return f"[{name}]"  # an IPv6 address
    return name


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> set[str]:
    """The Host header values this server answers: loopback names, the bound
    address (unless a wildcard) and the names passed with --allow-host."""
    names = set(LOOPBACK_NAMES) | {n for n in extra if n}
    if host not in WILDCARD_HOSTS:
        names.add(host)
    forms = {_host_form(n) for n in names}
    allowed = {f"{n}:{port}" for n in forms}
    if port == 80:
        allowed |= forms
    return allowed


def check_exposure(host: str, allow_hosts: Sequence[str]) -> None:
    """A non-loopback bind must name the host names its clients use."""
    if is_loopback(host):
        return
    if not allow_hosts:
        shown = host or "0.0.0.0"
        raise FinopsError(
            f"--host {shown} makes the reports readable from the network; name the host names "
            "clients will use with --allow-host NAME (repeatable), e.g. --allow-host "
            f"{socket.gethostname() or 'reports.example.lan'}")
    for name in allow_hosts:
        if not name or any(c in name for c in "/ @?#") or name.count(":") == 1:
            raise FinopsError(f"--allow-host {name!r} is not a host name or address; "
                              "give the name alone, without scheme or port, e.g. --allow-host reports.lan")


# --- answers -------------------------------------------------------------------

def _plain(status: int, *, headers: dict[str, str] | None = None, close: bool = False) -> Response:
    phrase = HTTPStatus(status).phrase
    body = b"" if status in (204, 304) else f"{status} {phrase}\n".encode()
    response = Response(body, status_code=status, media_type="text/plain; charset=utf-8",
                        headers={"cache-control": "no-store", **(headers or {})})
    if close:
        response.headers["connection"] = "close"
    return response


def _has_body(scope) -> bool:
    return any(k == b"transfer-encoding" or (k == b"content-length" and v.strip() != b"0")
               for k, v in scope["headers"])


class _LoopReader:
    """An already-open file, read in the event loop: report files are small
    and local, and opening the file before the answer starts means a rebuild
    that replaces it mid-request cannot change its length under us."""

    def __init__(self, fh):
        self._fh = fh

    async def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    async def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)


class _OpenFileResponse(FileResponse):
    """Starlette's FileResponse (ETag, Last-Modified, ranges) over an open file."""

    def __init__(self, fh, stat_result: os.stat_result, media_type: str, headers: dict[str, str]):
        super().__init__(fh.name, stat_result=stat_result, media_type=media_type, headers=headers)
        self._fh = fh

    @asynccontextmanager
    async def _open_file(self):
        yield _LoopReader(self._fh)

    async def __call__(self, scope, receive, send) -> None:
        if self.stat_result.st_size <= SMALL_FILE:
            # Sent in one or two writes: no need for Starlette's task that
            # watches for a disconnect while streaming (ASGI 2.4 behaviour).
            scope = {**scope, "asgi": {**scope.get("asgi", {}), "spec_version": "2.4"}}
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._fh.close()


class ReportFiles(StaticFiles):
    """GET/HEAD of the files in one folder, checked by resolve_request_path."""

    def __init__(self, root: Path):
        super().__init__(directory=root, html=False, check_dir=False)
        self.root = Path(root)
        self.real_root = os.path.realpath(root)

    async def __call__(self, scope, receive, send) -> None:
        response = self.respond(scope)
        await response(scope, receive, send)

    def respond(self, scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            # A body that is not read must never be taken for the next request.
            return _plain(405, headers={"allow": "GET, HEAD"}, close=_has_body(scope))
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        try:
            path = resolve_request_path(self.root, raw, self.real_root)
            if path.is_dir():
                if not raw.endswith("/"):
                    # Relative links in the folder's index need the trailing slash.
                    return _plain(301, headers={"location": raw + "/"})
                path = resolve_request_path(self.root, raw + "index.html", self.real_root)
            fh = open(path, "rb")
        except Refused as exc:
            return _plain(exc.status.value)
        except OSError as exc:
            if raw == "/favicon.ico" and exc.errno == errno.ENOENT:
                return _plain(204)  # browsers ask unprompted; an empty answer keeps consoles clean
            return _plain(404)
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            fh.close()
            return _plain(404)
        media_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        cache = "no-store" if path.name in NO_STORE else "no-cache"
        response = _OpenFileResponse(fh, st, media_type, {"cache-control": cache})
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            fh.close()
            return NotModifiedResponse(response.headers)
        return response


class RequestGuard:
    """ASGI middleware: one allowed Host, a sane target, no body on GET/HEAD,
    and the security headers on every answer (routes' too)."""

    def __init__(self, app, allowed: set[str]):
        self.app = app
        self.allowed = {a.lower() for a in allowed}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            return await refusal(scope, receive, send_with_headers)
        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope) -> Response | None:
        hosts = [v for k, v in scope["headers"] if k == b"host"]
        if len(hosts) != 1:
            return _plain(400, close=True)  # none, or two that may disagree
        if hosts[0].decode("latin-1").strip().lower() not in self.allowed:
            return _plain(421)
        raw = scope.get("raw_path") or scope["path"].encode()
        if len(raw) + len(scope.get("query_string", b"")) > MAX_TARGET:
            return _plain(414, close=True)
        if scope["method"] in ("GET", "HEAD") and _has_body(scope):
            # The body is not read: close, so it is never taken for a request.
            return _plain(400, close=True)
        return None


class _Dispatch:
    """Extra routes first (as a Starlette app, with its error handling and
    405s), the reports folder for every other path, without Starlette's
    middleware layers on that hot path."""

    def __init__(self, routes: Sequence[BaseRoute], files: ReportFiles):
        self.routes = list(routes)
        self.files = files
        self.app = Starlette(routes=self.routes) if self.routes else None

    async def __call__(self, scope, receive, send) -> None:
        if self.app is not None:
            for route in self.routes:
                match, _ = route.matches(scope)
                if match is not Match.NONE:
                    return await self.app(scope, receive, send)
        await self.files(scope, receive, send)


def create_app(root: str | os.PathLike, allowed: set[str], routes: Sequence[BaseRoute] = ()):
    """The ASGI app: the request guard, then `routes`, then the reports folder.

    A new endpoint is a Starlette route in `routes` (e.g.
    `Route("/api/filter/{name}", endpoint)`): it gets the Host check, the
    target and body checks and the security headers like every file.
    """
    return RequestGuard(_Dispatch(routes, ReportFiles(Path(root))), allowed=allowed)


# --- filtered reports (issue 13) ------------------------------------------------

# A filtered report request: a plain file name (or a statement page), a bounded query.
_EXPLORE_NAME = re.compile(r"((org|customer)/)?[A-Za-z0-9_][A-Za-z0-9_-]{0,120}\.(html|csv|json)")
MAX_QUERY_LENGTH = 2048
MAX_QUERY_FIELDS = 20


class _FilterRoute(Route):
    """GET/HEAD /{name} or /{org|customer}/{name} WITH a query string: a report,
    CSV, JSON or statement page rendered by the explore service for the
    typed filters in the query. Without a query the request is not this
    route's: the reports folder serves the file with all its checks."""

    def __init__(self, service):
        self.service = service
        super().__init__("/{name:path}", self._endpoint, methods=["GET"])

    def matches(self, scope):
        if scope["type"] != "http" or not scope.get("query_string"):
            return Match.NONE, {}
        name = scope["path"][1:]
        if not _EXPLORE_NAME.fullmatch(name) or not self.service.handles(name):
            return Match.NONE, {}
        return super().matches(scope)

    async def _endpoint(self, request):
        if len(request.scope["query_string"]) > MAX_QUERY_LENGTH:
            return _plain(414)
        try:
            request.scope["query_string"].decode("ascii")
            pairs = list(request.query_params.multi_items())
        except (UnicodeDecodeError, ValueError):
            return _plain(400)
        if len(pairs) > MAX_QUERY_FIELDS:
            return _plain(400)
        reply = await run_in_threadpool(self.service.handle, request.path_params["name"], pairs)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type,
                        headers={"cache-control": "no-store"})


def filter_route(service) -> BaseRoute:
    """The route serve adds for engine.explore.ExploreService (make_server(routes=...))."""
    return _FilterRoute(service)


# --- connections -----------------------------------------------------------------

class _ConnectionGuards:
    """Mixed into uvicorn's HTTP protocols: a deadline for each request head, a
    414 for a request line longer than MAX_TARGET, and a cut-off for a client
    that stops reading. (uvicorn times out idle keep-alive connections only
    after a first answer, and never a slow writer or reader.)"""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_deadline = None
        self._write_deadline = None
        self._await_head()

    def _await_head(self) -> None:
        self._cancel_head()
        self._head_seen = 0
        self._line_done = False
        self._head_deadline = self.loop.call_later(HEAD_TIMEOUT, self._head_expired)

    def _cancel_head(self) -> None:
        if getattr(self, "_head_deadline", None) is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _head_expired(self) -> None:
        self._head_deadline = None
        if self._busy():
            return  # an answer is on its way; the write cut-off watches it
        if not self.transport.is_closing():
            conn = getattr(self, "conn", None)  # h11's state machine, if any
            if conn is not None:
                try:
                    conn.send(h11.ConnectionClosed())
                except h11.LocalProtocolError:
                    pass
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is not None and not self._line_done:
            newline = data.find(b"\n")
            line = self._head_seen + (newline if newline >= 0 else len(data))
            self._line_done = newline >= 0
            self._head_seen += len(data)
            if line > MAX_TARGET + 64:
                self._refuse_414()
                return
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:
            self._cancel_head()

    def _refuse_414(self) -> None:
        self._cancel_head()
        body = b"414 URI Too Long\n"
        self.transport.write(b"HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: %d\r\ncache-control: no-store\r\nconnection: close\r\n\r\n%s"
                             % (len(body), body))
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._busy():
            self._await_head()

    def connection_lost(self, exc) -> None:
        self._cancel_head()
        self._cancel_write()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._cancel_write()
        self._write_deadline = self.loop.call_later(WRITE_TIMEOUT, self.transport.abort)

    def resume_writing(self) -> None:
        self._cancel_write()
        super().resume_writing()

    def _cancel_write(self) -> None:
        if getattr(self, "_write_deadline", None) is not None:
            self._write_deadline.cancel()
            self._write_deadline = None


class GuardedH11Protocol(_ConnectionGuards, H11Protocol):
    """uvicorn's pure-Python HTTP/1.1 (h11), guarded."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is a compiled wheel; h11 does the same job, slower
    HttpToolsProtocol = None
    GuardedHttpToolsProtocol = None
else:
    class GuardedHttpToolsProtocol(_ConnectionGuards, HttpToolsProtocol):
        """uvicorn's httptools (llhttp, node's C parser) HTTP/1.1, guarded."""

# The faster parser when it is installed (it is a dependency; h11 is the fallback).
PROTOCOLS = [p for p in (GuardedHttpToolsProtocol, GuardedH11Protocol) if p is not None]


# --- logs ----------------------------------------------------------------------------

# uvicorn's own start/stop chatter: serve prints its own lines.
_CHATTER = ("Started server process", "Finished server process", "Waiting for application",
            "Application startup", "Shutting down", "Uvicorn running", "Waiting for connections")


class _LogBridge(logging.Handler):
    """uvicorn's log records as one line each through serve's log function.

    Not verbose: server errors only, as one line (no traceback). Verbose:
    access lines and protocol warnings too, and tracebacks."""

    def __init__(self, log: Callable[[str], None], verbose: bool):
        super().__init__(logging.INFO if verbose else logging.ERROR)
        self.log = log
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().strip()
            if message.startswith(_CHATTER):
                return
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                message = f"{message}: {type(exc).__name__}: {exc}"
                if self.verbose:
                    message += "\n" + self.format(record)
            self.log(f"http: {message}" if record.name != "uvicorn.access" else message)
        except Exception:  # a log line must never break serving
            pass


def _raise_open_files_limit(wanted: int = 8192) -> None:
    """Idle browser connections each hold a descriptor: lift the soft limit
    towards the hard one (many systems start at 1,024)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        pass


# --- the server -------------------------------------------------------------------------

class ReportsServer:
    """A bound socket and the uvicorn server that answers on it.

    serve_forever() runs in the calling thread until shutdown() (from any
    thread); server_close() releases the socket.
    """

    def __init__(self, sock: socket.socket, app, *, verbose: bool,
                 log: Callable[[str], None] | None, protocol=None):
        self.socket = sock
        self.app = app
        self.server_address = sock.getsockname()[:2]
        self.config = uvicorn.Config(
            app, http=protocol or PROTOCOLS[0], loop="asyncio", lifespan="off", ws="none",
            log_config=None, access_log=verbose, proxy_headers=False, server_header=False,
            backlog=BACKLOG, timeout_keep_alive=KEEP_ALIVE, limit_concurrency=MAX_CONCURRENCY,
            h11_max_incomplete_event_size=MAX_HEAD, timeout_graceful_shutdown=3)
        self._server = uvicorn.Server(self.config)
        self._done = threading.Event()
        self._done.set()
        self._bridge = _LogBridge(log or (lambda line: None), verbose)
        logger = logging.getLogger("uvicorn")
        logger.addHandler(self._bridge)
        logger.propagate = False  # never Python's last-resort stderr handler (tracebacks)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)

    def serve_forever(self, poll_interval: float | None = None) -> None:
        self._done.clear()
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._done.set()

    @property
    def connections(self) -> int:
        return len(self._server.server_state.connections)

    def shutdown(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._done.wait(timeout)

    def server_close(self) -> None:
        logging.getLogger("uvicorn").removeHandler(self._bridge)
        try:
            self.socket.close()
        except OSError:
            pass


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets
    # only when it sees that, and without it every small answer waited ~40 ms
    # for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("::", ""):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, *,
                verbose: bool = False, allow_hosts: Sequence[str] = (),
                routes: Sequence[BaseRoute] = (),
                log: Callable[[str], None] | None = None, protocol=None) -> ReportsServer:
    """A bound (not yet serving) server for root; a busy port is a FinopsError.

    A non-loopback host needs allow_hosts (the names clients type); routes
    are extra Starlette routes answered before the folder's files.
    """
    check_exposure(host, allow_hosts)
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise folder_error("cannot create", root, exc) from None
    _raise_open_files_limit()
    try:
        sock = _bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise FinopsError(f"port {port} on {host} is busy; pass --port with a free port, "
                              f"e.g. --port {port + 1}") from None
        if exc.errno == errno.EACCES:
            raise FinopsError(f"no permission to use port {port}; pass --port 1024 or higher") from None
        raise FinopsError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "check --host and --port") from None
    bound_port = sock.getsockname()[1]
    app = create_app(root.resolve(), allowed_hosts(host, bound_port, allow_hosts), routes)
    return ReportsServer(sock, app, verbose=verbose, log=log, protocol=protocol)


def urls_of(server: ReportsServer, host: str, allow_hosts: Sequence[str] = ()) -> list[str]:
    """The URLs clients can really use: loopback when it answers there, then each allowed name."""
    port = server.server_address[1]
    names = ["127.0.0.1" if host in WILDCARD_HOSTS else host]
    names += [n for n in allow_hosts if n not in names]
    return [f"http://{_host_form(n)}:{port}/" for n in names]


def url_of(server: ReportsServer, host: str) -> str:
    return urls_of(server, host)[0]


def start_in_thread(server: ReportsServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="finops-http", daemon=True)
    thread.start()
    return thread
