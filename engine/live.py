"""`finops serve`: the HTTP server, the rebuild loop and (optionally) the simulator together.

This module only wires threads: server.py serves files, watch.py decides
when to build, site.build_site builds, the simulator writes the CSV. It
owns start-up order and a clean stop (Ctrl-C or SIGTERM: the simulator
stops at a line boundary, a build or load under way has its DuckDB query
interrupted and publishes nothing, the server and watchers end, one closing
line). No thread may still be inside DuckDB when the interpreter exits: a
daemon thread that DuckDB's C++ code is running then aborts the process
("terminate called ... FATAL: exception not rethrown").
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .catalog import check_sql_dirs
from .errors import FinopsError
from .server import filter_route, is_loopback, make_server, start_in_thread, urls_of
from .paths import SQL_DIR, TEMPLATES_DIR, VIEWER_DIR
from .session import QueryStop, Stopped
from .watch import RebuildLoop, WatchPlan

MB = 1_000_000
DEMO_TARGET_MB = 50.0
# How long a stop waits for the threads once their queries are interrupted
# (they end within a second; a thread still running then is named, and the
# CLI leaves without finalizing the interpreter under it).
STOP_SECONDS = 10.0

logger = logging.getLogger(__name__)


def _logger_at(level: int) -> Callable[[str], None]:
    return lambda line: logger.log(level, line)


def _http_log(line: str) -> None:
    """The server's lines: its errors ("http: ...") as warnings, access lines as info."""
    logger.log(logging.WARNING if line.startswith("http:") else logging.INFO, line)


@dataclass
class ServeSummary:
    builds: int
    failed: int
    csv_mb: float
    simulated_rows: int | None = None
    unfinished: tuple[str, ...] = ()  # threads still running after STOP_SECONDS


class LiveBuild:
    """build_site as serve runs it: live mode, waits logged, and two guards.

    - A CSV that shrank in place (same file, fewer bytes than the last good
      build read: truncated or emptied) is not built from: the last good
      reports stay listed with a warning until the file grows past that size
      again (a file *replaced* by a smaller one is a new file and builds).
    - A build that raises (a bug, a full disk) still updates the manifest, so
      the viewer shows the error instead of going quiet.
    """

    def __init__(self, csv_path, out_dir, *, log: Callable[[str], None] | None = None, **options):
        try:
            from .site import build_site
        except ImportError as exc:
            raise FinopsError(f"the report builder is missing ({exc}); reinstall finops "
                              "(`make install`)") from None
        self._build_site = build_site
        self.csv_path, self.out_dir, self.options = Path(csv_path), Path(out_dir), options
        self.log = log or _logger_at(logging.WARNING)  # "waiting for another build" lines
        self.last_good: tuple[int, int, int] | None = None  # (dev, inode, bytes read)

    def _stat(self):
        try:
            return os.stat(self.csv_path)
        except OSError:
            return None

    def _truncated(self, st) -> tuple[str, str] | None:
        if st is None or self.last_good is None or st.st_size == 0:
            return None  # missing and empty files are the build's to report
        dev, ino, size = self.last_good
        if (st.st_dev, st.st_ino) == (dev, ino) and st.st_size < size:
            return ("truncated", f"{self.csv_path.name} was truncated: it holds {st.st_size:,} bytes, "
                                 f"the last good build read {size:,}; the last good reports stay "
                                 "until it grows past that again (restart `finops serve` to build "
                                 "from the smaller file)")
        return None

    def __call__(self):
        st = self._stat()
        hold = self._truncated(st)
        try:
            result = self._build_site(self.csv_path, self.out_dir, live=True, on_wait=self.log,
                                      hold=hold, **self.options)
        except (FinopsError, Stopped):
            raise
        except Exception as exc:
            message = f"the build failed: {type(exc).__name__}: {exc}"
            try:
                self._build_site(self.csv_path, self.out_dir, live=True, on_wait=self.log,
                                 hold=("ok", message), **self.options)
            except Exception:
                pass
            raise
        if result.status in ("ok", "partial") and result.source is not None and st is not None:
            self.last_good = (st.st_dev, st.st_ino, result.source.size_bytes)
        return result


def default_build(csv_path, out_dir, *, sql_dirs=(), target_mb=None, memory_limit=None,
                  poll_seconds=15, log: Callable[[str], None] | None = None,
                  subscriptions=None, budgets=None,
                  stop: QueryStop | None = None) -> Callable[[], object]:
    """The real build: build_site with the serve options, live mode on, guarded."""
    return LiveBuild(csv_path, out_dir, log=log, sql_dirs=tuple(sql_dirs), target_mb=target_mb,
                     memory_limit=memory_limit, poll_seconds=poll_seconds,
                     subscriptions=subscriptions, budgets=budgets, stop=stop)


class _Simulator:
    """run_continuous in a background thread, sharing the serve stop event."""

    def __init__(self, csv_path: Path, target_mb: float, rate: float | None, seed: int | None,
                 stop_event: threading.Event, log: Callable[[str], None] | None):
        self.csv_path, self.target_mb, self.rate, self.seed = csv_path, target_mb, rate, seed
        self.stop_event = stop_event
        self.log = log or _logger_at(logging.INFO)
        self.log_error = log or _logger_at(logging.ERROR)
        self.result = None
        self.thread = threading.Thread(target=self._run, name="finops-simulate", daemon=True)

    def _run(self) -> None:
        from finops import simulator

        rate = simulator.DEFAULT_RATE if self.rate is None else self.rate
        try:
            self.result = simulator.run_continuous(self.csv_path, target_mb=self.target_mb,
                                                   rate=rate, seed=self.seed,
                                                   stop_event=self.stop_event)
        except FinopsError as exc:
            self.log_error(f"simulator error: {exc}")
            return
        except Exception as exc:  # keep serving what there is
            self.log_error(f"simulator failed: {type(exc).__name__}: {exc}")
            return
        r = self.result
        if not r.stopped:
            self.log(f"simulator done: wrote {r.rows:,} rows; the CSV holds "
                     f"{r.file_bytes / MB:.1f} MB")


def serve(csv_path: str | os.PathLike, out_dir: str | os.PathLike = "reports", *,
          host: str = "127.0.0.1", port: int = 8000, simulate: bool = False,
          target_mb: float | None = None, poll_seconds: float = 15, sql_dirs=(),
          memory_limit: str | None = None, rate: float | None = None, seed: int | None = None,
          verbose: bool = False, log: Callable[[str], None] | None = None,
          allow_hosts: tuple[str, ...] | list[str] = (), routes=(),
          build: Callable[[], object] | None = None, debounce: float = 0.5,
          min_interval: float | None = None, stop_event: threading.Event | None = None,
          on_ready: Callable[[str], None] | None = None,
          subscriptions: str | os.PathLike | None = None,
          budgets: str | os.PathLike | None = None) -> ServeSummary:
    """Build, serve out_dir, rebuild on changes; return when stopped (Ctrl-C, SIGTERM, stop_event).

    log: a callable for every line (tests); None logs through `logging` by level.
    """
    csv_path, out_dir = Path(csv_path), Path(out_dir)
    if poll_seconds <= 0:
        raise FinopsError("--poll-seconds must be positive, e.g. --poll-seconds 15")
    if rate is not None and rate < 0:
        raise FinopsError(f"--rate {rate:g} is negative; give rows per second, or 0 for as fast as possible")
    if target_mb is not None and target_mb <= 0:
        raise FinopsError("--target-mb must be positive, e.g. --target-mb 50")
    if simulate and target_mb is None:
        # The demo's size target belongs to the simulator; a user's own file
        # (serve --csv) has no target unless one is asked for.
        target_mb = DEMO_TARGET_MB
    extra_sql = check_sql_dirs(sql_dirs)
    stop_event = stop_event or threading.Event()
    queries = QueryStop()  # every DuckDB connection of this serve's builds and filter requests
    from .explore import ExploreService

    # Filtered reports (issue 13): a report, download or statement page asked
    # for with a filter query is re-run by the explore service on a cached session.
    explore = ExploreService(csv_path, out_dir, sql_dirs=extra_sql, memory_limit=memory_limit,
                             subscriptions=subscriptions, budgets=budgets, stop=queries)
    # A busy port or an unnamed network exposure fails first, before any build.
    # routes: extra Starlette routes (e.g. an endpoint that re-runs one analyzer),
    # answered before the folder's files, behind the same Host check and headers.
    server = make_server(out_dir, host, port, verbose=verbose, allow_hosts=allow_hosts,
                         log=log or _http_log, routes=[filter_route(explore), *routes])
    if build is None:
        build = default_build(csv_path, out_dir, sql_dirs=extra_sql, target_mb=target_mb,
                              memory_limit=memory_limit, poll_seconds=poll_seconds,
                              log=log or _logger_at(logging.WARNING),
                              subscriptions=subscriptions, budgets=budgets, stop=queries)
    plan = WatchPlan(csv_path, sql_dirs=[SQL_DIR, *extra_sql],
                     template_dirs=[TEMPLATES_DIR, VIEWER_DIR], ignore_dirs=[out_dir])
    if min_interval is None:
        # Rebuilding more often than the viewer polls only burns CPU.
        min_interval = min(5.0, max(1.0, poll_seconds / 3))
    loop = RebuildLoop(build, plan, log=log, debounce=debounce, min_interval=min_interval,
                       target_bytes=int(target_mb * MB) if target_mb else None,
                       stop_event=stop_event)
    previous = _install_stop_signals(stop_event, queries)
    say = log or _logger_at(logging.INFO)
    warn = log or _logger_at(logging.WARNING)
    sim = None
    loop_thread = None
    http_thread = None
    try:
        loop.start_watchers()  # before the first build, so no change is missed
        if simulate:
            sim = _Simulator(csv_path, target_mb, rate, seed, stop_event, log)
            sim.thread.start()
            say(f"simulating into {csv_path} up to {target_mb:g} MB")
            # Let the first rows land so the first page shows data, not "no data".
            _wait_for_rows(csv_path, stop_event, timeout=3.0)
        loop.build_now(None)
        if stop_event.is_set() or queries.stopped:  # stopped during the first build
            raise KeyboardInterrupt
        explore.start_warmer(stop_event)
        http_thread = start_in_thread(server)
        urls = urls_of(server, host, allow_hosts)
        url = urls[0]
        if not is_loopback(host):
            warn(f"warning: listening on {host or '0.0.0.0'}: anyone who can reach this machine "
                 f"on port {server.server_address[1]} can read these reports; answering only "
                 f"for {', '.join(allow_hosts)} and loopback")
        say(f"serving {out_dir} at {' and '.join(urls)} (Ctrl-C to stop)")
        loop_thread = threading.Thread(target=loop.run, kwargs={"initial_build": False},
                                       name="finops-rebuild", daemon=True)
        loop_thread.start()
        if on_ready:
            on_ready(url)
        while not stop_event.wait(0.25):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        # The order matters: interrupt DuckDB first, so that a build, a load or a
        # filter request ends within a moment; then wait for every thread that
        # may be inside DuckDB, bounded; the HTTP server last (its requests are
        # answered "stopping" by then).
        stop_event.set()
        queries.stop()
        end = time.monotonic() + STOP_SECONDS
        unfinished = [] if explore.close(STOP_SECONDS) else ["finops-explore"]
        threads = [t for t in (sim.thread if sim else None, loop_thread, *loop.threads) if t]
        unfinished += _join_interrupting(threads, queries, end)
        if http_thread:
            server.shutdown(max(1.0, end - time.monotonic()))
        server.server_close()
        _restore_signals(previous)
    if unfinished:
        warn(f"warning: {', '.join(unfinished)} did not stop within {STOP_SECONDS:g} s")
    summary = ServeSummary(loop.record.builds, loop.record.failed, loop.csv_size() / MB,
                           sim.result.rows if sim and sim.result else None, tuple(unfinished))
    say(f"stopped: {summary.builds} build{'s' if summary.builds != 1 else ''}"
        f"{f' ({summary.failed} failed)' if summary.failed else ''}, "
        f"CSV {summary.csv_mb:.1f} MB")
    return summary


def _wait_for_rows(csv_path: Path, stop_event: threading.Event, timeout: float) -> None:
    """Until the CSV holds a header and at least one complete row (or timeout)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not stop_event.is_set():
        try:
            with open(csv_path, "rb") as fh:
                if fh.read(4096).count(b"\n") >= 2:
                    return
        except OSError:
            pass
        stop_event.wait(0.05)


def _join_interrupting(threads: list[threading.Thread], queries: QueryStop,
                       end: float) -> list[str]:
    """Wait until `end` for threads to end, interrupting DuckDB again meanwhile
    (an interrupt reaches only the query running at that moment); the names
    of those still running."""
    for thread in threads:
        while thread.is_alive() and time.monotonic() < end:
            thread.join(0.05)
            queries.interrupt()
    return [t.name for t in threads if t.is_alive()]


def _install_stop_signals(stop_event: threading.Event, queries: QueryStop):
    """Ctrl-C and SIGTERM stop serve (handlers are only possible in the main thread).

    The first raises KeyboardInterrupt in the main thread; later ones only
    interrupt the queries again. A second signal must not cut the stop short:
    `timeout 75 make demo` delivers SIGTERM twice (timeout signals make's
    process group, and make passes its own SIGTERM on), and leaving then with
    a thread inside DuckDB aborted the interpreter at exit."""
    if threading.current_thread() is not threading.main_thread():
        return None

    # The handler takes no lock the main thread may hold: it runs between two
    # of the main thread's bytecodes, also inside stop_event.wait() or inside
    # an earlier handler's stop_event.set(). Setting the event there hung
    # serve for good when the second SIGTERM landed in the first's set() (the
    # Event's lock is not reentrant); serve's `finally` sets it instead.
    # (QueryStop's lock is reentrant.)
    signalled = []

    def on_signal(signum, frame):
        queries.stop()
        if not signalled:
            signalled.append(signum)
            raise KeyboardInterrupt

    return {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)

