"""A local HTTP server for the reports folder, and nothing else.

It serves the files of one output folder to a browser on the same machine.
It must never expose anything outside that folder: request paths are
checked on their raw form (encoded `..`, `/`, backslashes, NUL bytes) and
again on the resolved real path, so neither a crafted URL nor a symlink
leads out. Temporary files of an atomic write (`.name.tmp...`) are never
served, folders are never listed, and a Host header other than the bound
host or localhost is refused (DNS rebinding). It knows nothing of builds.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import shutil
import socket
import sys
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import FinopsError
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

# A filtered report request: a plain top-level file name, a bounded query.
_EXPLORE_NAME = re.compile(r"((org|customer)/)?[A-Za-z0-9_][A-Za-z0-9_-]{0,120}\.(html|csv|json)")
MAX_QUERY_LENGTH = 2048

# Files that always reflect the latest build: the browser must ask again.
NO_STORE = {"manifest.json"}


class Refused(Exception):
    """A request path that must not be served; carries the HTTP status."""

    def __init__(self, status: HTTPStatus):
        super().__init__(status.phrase)
        self.status = status




def resolve_request_path(root: Path, raw_target: str) -> Path:
    """The real file or folder a raw request-target names inside root, or Refused.

    Works on the raw target, before any normalisation, so that encoded and
    double-encoded escapes are seen for what they are.
    """
    if not raw_target.startswith("/") or raw_target.startswith("//"):
        raise Refused(HTTPStatus.BAD_REQUEST)  # absolute-form or authority-like targets
    raw_path = urlsplit(raw_target).path
    if "\\" in raw_path or "\x00" in raw_path:
        raise Refused(HTTPStatus.BAD_REQUEST)
    decoded = unquote(raw_path, errors="strict")
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
    real_root = os.path.realpath(root)
    candidate = os.path.realpath(os.path.join(real_root, *[s for s in segments if s]))
    if candidate != real_root and not candidate.startswith(real_root + os.sep):
        raise Refused(HTTPStatus.NOT_FOUND)  # a symlink that leads out of the folder
    rel_parts = Path(candidate).relative_to(real_root).parts
    if any(is_hidden_name(part) for part in rel_parts):
        raise Refused(HTTPStatus.NOT_FOUND)  # a link whose target is a temp file
    return Path(candidate)


def allowed_hosts(host: str, port: int) -> set[str]:
    names = {host, "localhost", "127.0.0.1"}
    allowed = {f"{name}:{port}" for name in names} | {f"[::1]:{port}"}
    if ":" in host and not host.startswith("["):
        allowed.add(f"[{host}]:{port}")
    if port == 80:
        allowed |= names
    return {a.lower() for a in allowed}


WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


def ip_literal_host(host_header: str, port: int) -> bool:
    """An IP address with the bound port, e.g. 192.168.1.5:8000 or [fe80::1]:8000.

    DNS rebinding needs a host name, so an address typed as digits is safe to
    accept when the server listens on every interface (--host 0.0.0.0).
    """
    name, sep, got_port = host_header.rpartition(":")
    if not sep or got_port != str(port):
        return False
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
    except ValueError:
        return False
    return True


class ReportsHandler(BaseHTTPRequestHandler):
    """GET/HEAD of files in one folder; every other request is refused."""

    server_version = "finops"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, root: Path, allowed: set[str], verbose: bool, explore=None,
                 **kwargs):
        self.root = root
        self.allowed = allowed
        self.verbose = verbose
        self.explore = explore  # engine.explore.ExploreService: filtered reports (issue 13)
        super().__init__(*args, **kwargs)

    # --- methods ------------------------------------------------------
    def do_GET(self) -> None:
        self._serve(body=True)

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def _not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    # --- serving ------------------------------------------------------
    def _serve(self, body: bool) -> None:
        host = (self.headers.get("Host") or "").strip().lower()
        wildcard = self.server.server_address[0] in WILDCARD_HOSTS
        if host not in self.allowed and not (
                wildcard and ip_literal_host(host, self.server.server_address[1])):
            self._error(HTTPStatus.MISDIRECTED_REQUEST if host else HTTPStatus.BAD_REQUEST)
            return
        if self.explore is not None and urlsplit(self.path).query:
            if self._explore(body):
                return
        try:
            path = resolve_request_path(self.root, self.path)
        except (Refused, UnicodeDecodeError) as exc:
            status = exc.status if isinstance(exc, Refused) else HTTPStatus.BAD_REQUEST
            self._error(status)
            return
        if path.is_dir():
            if not urlsplit(self.path).path.endswith("/"):
                # Relative links in the folder's index need the trailing slash.
                target = urlsplit(self.path).path + "/"
                self._error(HTTPStatus.MOVED_PERMANENTLY, extra={"Location": target})
                return
            try:  # the folder's index.html, checked like any request; never a listing
                path = resolve_request_path(self.root, urlsplit(self.path).path + "index.html")
            except Refused as exc:
                self._error(exc.status)
                return
        if not path.is_file():
            if urlsplit(self.path).path == "/favicon.ico":
                # Browsers ask for it unprompted; an empty answer keeps consoles clean.
                self._error(HTTPStatus.NO_CONTENT)
                return
            self._error(HTTPStatus.NOT_FOUND)
            return
        try:
            fh = open(path, "rb")
        except OSError:
            self._error(HTTPStatus.NOT_FOUND)
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix.lower(),
                                                               "application/octet-stream"))
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control",
                             "no-store" if path.name in NO_STORE else "no-cache")
            self._security_headers()
            self.end_headers()
            if body:
                try:
                    shutil.copyfileobj(fh, self.wfile)
                except (BrokenPipeError, ConnectionResetError):
                    pass

    def _explore(self, body: bool) -> bool:
        """A report, CSV or JSON with a filter query: rendered on request by
        the explore service. Only plain top-level names, only the typed
        filter keys (validated there), a bounded query. False: not ours."""
        parts = urlsplit(self.path)
        name = parts.path[1:]
        if not _EXPLORE_NAME.fullmatch(name) or not self.explore.handles(name):
            return False
        if len(parts.query) > MAX_QUERY_LENGTH:
            self._error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return True
        try:
            pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False,
                              max_num_fields=20, errors="strict")
        except (ValueError, UnicodeDecodeError):
            self._error(HTTPStatus.BAD_REQUEST)
            return True
        reply = self.explore.handle(name, pairs)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self._security_headers()
        self.end_headers()
        if body:
            try:
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        return True

    def _security_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")

    def _error(self, status: HTTPStatus, extra: dict[str, str] | None = None) -> None:
        body = b"" if status == HTTPStatus.NO_CONTENT else f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self._security_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (bad request line, unknown method) in our plain format.
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self.close_connection = True
        self._error(status)

    def log_message(self, format: str, *args) -> None:
        if self.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class ReportsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class ReportsServer6(ReportsServer):
    address_family = socket.AF_INET6


def make_server(root: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
                *, verbose: bool = False, explore=None) -> ReportsServer:
    """A bound (not yet serving) server for root; a busy port is a FinopsError."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FinopsError(f"cannot create {root} ({exc.strerror or exc}); "
                          "pass --out with a writable folder") from None
    try:
        cls = ReportsServer6 if ":" in host else ReportsServer
        server = cls((host, port), partial(ReportsHandler, root=root.resolve(),
                                                     allowed=set(), verbose=verbose))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise FinopsError(f"port {port} on {host} is busy; pass --port with a free port, "
                              f"e.g. --port {port + 1}") from None
        if exc.errno == errno.EACCES:
            raise FinopsError(f"no permission to use port {port}; pass --port 1024 or higher") from None
        raise FinopsError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                          "check --host and --port") from None
    bound_port = server.server_address[1]
    server.RequestHandlerClass = partial(ReportsHandler, root=root.resolve(),
                                         allowed=allowed_hosts(host, bound_port), verbose=verbose,
                                         explore=explore)
    return server


def url_of(server: ReportsServer, host: str) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{server.server_address[1]}/"


def start_in_thread(server: ReportsServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="finops-http", daemon=True)
    thread.start()
    return thread
