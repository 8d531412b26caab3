"""The rebuild loop of `finops serve`: watch files, call one build function.

Watchers turn file changes into a queue of reasons; one loop drains the
queue and calls `build()`. The CSV is watched by its signature (the stat of
the path and of what a symlink points to, polled a few times a second), so
appends to a symlink's target, a folder removed and recreated, a file
replaced, truncated or made unreadable are all seen, whatever the file
system; a glob or folder given as --csv is expanded at every poll, so a
matching file that grows or appears is seen too. SQL and template folders are watched by watchfiles (recursive
events), one supervised thread each group: when a watched folder vanishes
or is replaced, the thread says so, waits for it and watches it again.
So builds never overlap, events that arrive during a build cause exactly
one more build afterwards, and the build function is a parameter (the real
one is build.build_site; tests pass a counter). This module decides only
*when* to build: what a build does, and how a failed build keeps the last
good reports, is the build function's business.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import watchfiles

from .files import is_hidden_name

logger = logging.getLogger(__name__)

CSV, SQL, TEMPLATE = "csv", "sql", "template"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass
class WatchPlan:
    """What to watch and how each changed path is classified."""

    csv_path: Path
    sql_dirs: list[Path] = field(default_factory=list)
    template_dirs: list[Path] = field(default_factory=list)
    ignore_dirs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.csv_path = Path(os.path.abspath(self.csv_path))
        self.sql_dirs = [Path(os.path.abspath(p)) for p in self.sql_dirs]
        self.template_dirs = [Path(os.path.abspath(p)) for p in self.template_dirs]
        self.ignore_dirs = [Path(os.path.abspath(p)) for p in self.ignore_dirs]

    def classify(self, path: str) -> str | None:
        """CSV, SQL, TEMPLATE, or None for a change that must not trigger a build."""
        path = os.path.abspath(path)
        if any(_inside(path, str(d)) for d in self.ignore_dirs):
            return None  # the server's own output
        name = os.path.basename(path)
        if path == str(self.csv_path):
            return CSV
        if is_hidden_name(name):
            return None
        if any(_inside(path, str(d)) for d in self.sql_dirs) and name.endswith(".sql"):
            return SQL
        if any(_inside(path, str(d)) for d in self.template_dirs):
            return TEMPLATE
        return None

    def groups(self) -> list[tuple[list[Path], bool]]:
        """(folders, recursive) watched by watchfiles: the code folders (the CSV is probed)."""
        code = [d for d in [*self.sql_dirs, *self.template_dirs] if d.is_dir()]
        return [(code, True)] if code else []

    def kind_of_folder(self, folder: Path) -> str:
        return SQL if folder in self.sql_dirs else TEMPLATE


def csv_signature(path: Path) -> tuple:
    """What changes when the CSV does: the path itself (a symlink swapped) and
    the file it leads to (size, times, inode, mode); None parts when missing.

    For `--csv` given as a glob or a folder: the same for every file it
    names now, so a matching file that grows, appears, goes or is replaced
    changes the signature (the second part is None when nothing matches)."""
    if not _many_inputs(path):
        return _file_signature(path)
    from .errors import FinopsError
    from .store import resolve_inputs

    try:
        files = resolve_inputs(path)
    except (FinopsError, OSError):  # nothing matches (yet), or a kind of file refused
        return (None, None)
    entries = tuple((str(f), _file_signature(f)) for f in files)
    return (entries, entries)


def _many_inputs(path: Path) -> bool:
    """Whether --csv names a glob or a folder rather than one file."""
    from .store import is_pattern

    return is_pattern(str(path)) or path.is_dir()


def _file_signature(path: Path) -> tuple:
    def sig(fn):
        try:
            st = fn(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
    return sig(os.lstat), sig(os.stat)


def _identity(folder: Path) -> tuple | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@dataclass
class BuildLog:
    """What the loop did: for tests and the closing line."""

    builds: int = 0
    failed: int = 0
    reasons: list[set[str]] = field(default_factory=list)
    target_reached: bool = False


def describe(result, reasons: set[str] | None = None) -> str:
    """One log line for a build result (BuildResult or anything alike)."""
    status = getattr(result, "status", "ok") if result is not None else "ok"
    seconds = getattr(result, "seconds", None)
    manifest = getattr(result, "manifest", None) or {}
    why = f" ({', '.join(sorted(reasons))} changed)" if reasons else ""
    took = f" in {seconds:.2f}s" if isinstance(seconds, (int, float)) else ""
    if status == "error":
        error = " ".join(str(getattr(result, "error", "") or "unknown error").split())
        return f"build error{took}{why}: {error}; keeping the last good reports"
    parts = []
    if manifest.get("rows") is not None:
        parts.append(f"{int(manifest['rows']):,} rows")
    if manifest.get("csv_size_mb") is not None:
        parts.append(f"{float(manifest['csv_size_mb']):.1f} MB")
    count = len(getattr(result, "reports", None) or [])
    if count:
        parts.append(f"{count} reports")
    detail = (": " + ", ".join(parts)) if parts else ""
    error = getattr(result, "error", None)
    if error and status != "no_data":
        detail += "; " + " ".join(str(error).split())
    elif status == "no_data" and error:
        detail += ": " + " ".join(str(error).split())
    if getattr(result, "unchanged", False):
        detail += "; up to date, nothing rewritten"
    # What the calls store did (a file re-read from scratch, and why).
    for note in getattr(getattr(result, "source", None), "notes", None) or []:
        detail += f"; note: {note}"
    return f"build {status}{took}{why}{detail}"


class RebuildLoop:
    """Watch the plan's folders and call build() after changes, one build at a time.

    debounce: seconds of quiet to wait after the first event before building;
    max_wait: most seconds to wait for that quiet while events keep coming;
    min_interval: least seconds between the end of one CSV-triggered build
    and the start of the next (SQL/template edits do not wait for it);
    target_bytes: once the CSV is at least this large and one build has seen
    it so, CSV events no longer trigger builds.
    """

    def __init__(self, build: Callable[[], object], plan: WatchPlan, *,
                 log: Callable[[str], None] | None = None, debounce: float = 0.3, max_wait: float = 2.0,
                 min_interval: float = 0.0, target_bytes: int | None = None,
                 stop_event: threading.Event | None = None, force_polling: bool | None = None,
                 probe_interval: float = 0.25):
        self.build = build
        self.plan = plan
        self.log = log  # None: the `logging` module, at each line's level
        self.debounce = debounce
        self.max_wait = max_wait
        self.min_interval = min_interval
        self.target_bytes = target_bytes
        self.stop_event = stop_event or threading.Event()
        self.force_polling = force_polling
        self.probe_interval = probe_interval
        self.events: queue.Queue[str] = queue.Queue()
        self.record = BuildLog()
        self._threads: list[threading.Thread] = []
        self._last_csv_build_end = 0.0
        self._final_built = False
        self.ready = threading.Event()  # set once every watcher is running

    # --- watching -----------------------------------------------------
    def start_watchers(self) -> None:
        from .store import is_pattern

        try:
            if not is_pattern(str(self.plan.csv_path)):  # never a folder named `*`
                self.plan.csv_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the probe reports a missing CSV; the build says why
        started = []
        jobs = [(self._probe_csv, ())] + [(self._watch, (folders, recursive))
                                           for folders, recursive in self.plan.groups()]
        for target, args in jobs:
            started_event = threading.Event()
            thread = threading.Thread(target=target, args=(*args, started_event),
                                      name="finops-watch", daemon=True)
            thread.start()
            self._threads.append(thread)
            started.append(started_event)
        for event in started:
            event.wait(5)
        self.ready.set()

    def _probe_csv(self, started: threading.Event) -> None:
        """Queue a CSV event whenever the CSV's signature changes."""
        path = self.plan.csv_path
        last = csv_signature(path)
        started.set()
        while not self.stop_event.wait(self.probe_interval):
            try:
                now = csv_signature(path)
            except Exception as exc:  # never let the probe die quietly
                self._say(logging.WARNING, f"watch: cannot check {path.name}: {exc}")
                continue
            if now != last:
                if (now[1] is None) != (last[1] is None):
                    name = str(path) if _many_inputs(path) else path.name
                    self._say(logging.WARNING if now[1] is None else logging.INFO,
                              f"watch: {name} " + ("is gone; the last good reports stay until "
                                                   "it is back" if now[1] is None
                                                   else "is back"))
                last = now
                self.events.put(CSV)

    def _watch(self, folders: list[Path], recursive: bool, started: threading.Event) -> None:
        """watchfiles over folders, restarted whenever one of them vanishes or is replaced."""
        def keep(change, path: str) -> bool:
            return self.plan.classify(path) is not None

        while not self.stop_event.is_set():
            identities = {f: _identity(f) for f in folders}
            present = [f for f in folders if identities[f] is not None]
            if not present:
                started.set()
                self.stop_event.wait(0.5)
                self._note_folder_changes(folders, identities)
                continue
            changed = False
            try:
                watcher = watchfiles.watch(*present, watch_filter=keep, debounce=200, step=30,
                                           stop_event=self.stop_event, rust_timeout=200,
                                           yield_on_timeout=True, recursive=recursive,
                                           force_polling=self.force_polling,
                                           raise_interrupt=False, ignore_permission_denied=True)
                for changes in watcher:
                    started.set()
                    for _, path in changes:
                        kind = self.plan.classify(path)
                        if kind:
                            self.events.put(kind)
                    if self._note_folder_changes(folders, identities):
                        changed = True
                        break
            except Exception as exc:  # a vanished folder must not kill the server
                self._say(logging.WARNING,
                          f"watch: {', '.join(f.name for f in present)}: {exc}; watching again")
                self.stop_event.wait(0.5)
                self._note_folder_changes(folders, identities)
            finally:
                started.set()
            if not changed:
                self.stop_event.wait(0.1)

    def _note_folder_changes(self, folders: list[Path], identities: dict) -> bool:
        """Log and queue a build for each folder that vanished, came back or was replaced."""
        changed = False
        for folder in folders:
            now = _identity(folder)
            if now != identities.get(folder):
                changed = True
                state = "is gone" if now is None else (
                    "is back" if identities.get(folder) is None else "was replaced")
                self._say(logging.WARNING if now is None else logging.INFO,
                          f"watch: folder {folder} {state}")
                identities[folder] = now
                self.events.put(self.plan.kind_of_folder(folder))
        return changed

    def _say(self, level: int, line: str) -> None:
        if self.log is not None:
            self.log(line)
        else:
            logger.log(level, line)

    # --- building -----------------------------------------------------
    def csv_size(self) -> int:
        """Bytes of the CSV (of every file a glob or folder names)."""
        path = self.plan.csv_path
        if _many_inputs(path):
            entries = csv_signature(path)[1] or ()
            return sum(sig[1][2] for _, sig in entries if sig[1] is not None)
        try:
            return path.stat().st_size
        except OSError:
            return 0

    def at_target(self) -> bool:
        return self.target_bytes is not None and self.csv_size() >= self.target_bytes

    def build_now(self, reasons: set[str] | None = None) -> object:
        reached = self.at_target()
        try:
            result = self.build()
        except Exception as exc:  # the build function should not raise; stay alive if it does
            if self.stop_event.is_set():
                # Stopping interrupted it (serve's QueryStop): it published nothing and is
                # no build to count.
                self._say(logging.INFO, "build stopped: finops is stopping; the last good "
                                        "reports stay")
                return None
            result = _Failed(f"{type(exc).__name__}: {exc}")
        self.record.builds += 1
        self.record.reasons.append(set(reasons or ()))
        if getattr(result, "status", "ok") == "error":
            self.record.failed += 1
        status = getattr(result, "status", "ok")
        self._say(logging.ERROR if status == "error" else
                  logging.WARNING if status == "partial" else logging.INFO,
                  describe(result, reasons))
        if reached and not self._final_built:
            self._final_built = True
            self.record.target_reached = True
            self._say(logging.INFO, f"target of {self.target_bytes / 1e6:.1f} MB reached: CSV "
                      "growth no longer rebuilds; SQL and template edits still do")
        if reasons and CSV in reasons or reasons is None:
            self._last_csv_build_end = time.monotonic()
        return result

    def _wanted(self, reasons: set[str]) -> set[str]:
        if CSV in reasons:
            if self._final_built and self.at_target():
                reasons = reasons - {CSV}
            elif self._final_built:
                self._final_built = False  # the CSV was replaced by a smaller one
        return reasons

    def _drain(self, first: str) -> set[str]:
        """The first event plus everything arriving until `debounce` seconds of quiet,
        but no longer than `max_wait`: a file that never stops growing still rebuilds."""
        reasons = {first}
        deadline = time.monotonic() + max(self.max_wait, self.debounce)
        while not self.stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                reasons.add(self.events.get(timeout=min(self.debounce, left)))
            except queue.Empty:
                break
        return reasons

    def run(self, initial_build: bool = True) -> BuildLog:
        """Build (optionally) once, then rebuild on changes until stop_event is set."""
        if not self._threads:
            self.start_watchers()
        if initial_build:
            self.build_now(None)
        while not self.stop_event.is_set():
            try:
                first = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            reasons = self._wanted(self._drain(first))
            if not reasons:
                continue
            if reasons == {CSV} and self.min_interval:
                wait = self._last_csv_build_end + self.min_interval - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    break
                # Events that came in while waiting belong to this build.
                while True:
                    try:
                        reasons.add(self.events.get_nowait())
                    except queue.Empty:
                        break
                reasons = self._wanted(reasons)
                if not reasons:
                    continue
            if self.stop_event.is_set():
                break
            self.build_now(reasons)
        return self.record

    @property
    def threads(self) -> list[threading.Thread]:
        """The watcher threads (to wait for when stopping)."""
        return list(self._threads)

    def join(self, timeout: float = 5.0) -> None:
        for thread in self._threads:
            thread.join(timeout)


@dataclass
class _Failed:
    error: str
    status: str = "error"
    seconds: float | None = None
    manifest: dict | None = None
    reports: list | None = None
