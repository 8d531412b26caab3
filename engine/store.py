"""The calls store: the parsed calls file kept as Parquet segments, read incrementally.

A calls file only grows. The store beside it (`calls.csv.finops-store/`)
keeps what sql/calls.sql made of each byte range already read, so a build
parses only the bytes appended since the last one:

- a *unit* is one input file (one CSV, or each file of a glob/folder, in
  sorted order); a CSV unit remembers how many bytes were ingested, how many
  lines they hold, and an xxh3-128 hash of that whole prefix;
- a *segment* is one ingested byte range of a unit: what calls.sql's `read`
  stage made of it (the typed valid rows with their file line, the rule
  rejects, the unreadable lines, the repeated call_ids, the records joined
  across lines, the header's columns), one Parquet file each, every line
  number the file's physical line.

Every open re-hashes the ingested prefix while reading the new bytes (one
pass over the file), so a truncated, replaced or rewritten file - even one
byte edited in place with the size kept - is found, and the store is
rebuilt from scratch with a note. The contract's rules are not here: each
new range is handed to sql/calls.sql's `read` stage as a black box (a
snapshot of the header plus the new complete lines), and its `views` stage
runs over the stored segments. What this module adds is the one rule that
spans segments: a call_id already kept in an earlier segment is a repeat
(first occurrence in file order wins, as in calls.sql).

The store is a cache: deleting it changes nothing but time, and a segment
file written to since it was written (its stamp differs) or unreadable
makes it again from scratch. A lock file
serializes writers; a reader holds a shared lock while it reads segments, so
a writer never deletes a file under a reader.

It must not: decide what a valid row is, or hold business arithmetic.
"""

from __future__ import annotations

import fcntl
import glob as globlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import xxhash

from .errors import FinopsError, MissingCSVError, NoDataError, duckdb_message
from .files import BLOCK_BYTES, complete_bytes, read_blocks, write_atomic, write_stamp
from .paths import CALLS_SQL

logger = logging.getLogger(__name__)

STORE_FORMAT = 5  # 3: units keep open_quote_lines; chunks cut clear of odd-quote lines;
                  # 4: a line's quotes counted up to its NUL, as calls.sql does;
                  # 5: segments keep the stamp of their files
STORE_SUFFIX = ".finops-store"
# A first ingest of a big file is cut into chunks of about this size, so the
# memory it takes stays flat whatever the file's size.
CHUNK_BYTES = int(os.environ.get("FINOPS_STORE_CHUNK_MB", "256")) * 1_000_000
# Past this many segments the two smallest neighbours are merged, up to a
# chunk's size (appends every few seconds would otherwise leave thousands of
# tiny files).
MAX_SEGMENTS = 12
# calls.sql joins two lines with an odd number of quotes when they are at
# most this many lines apart (a quoted field spanning lines).
PAIR_REACH = 200
_KINDS = ("calls", "rule_rejects", "unreadable", "duplicates", "multiline", "header_fields")
PARQUET_SUFFIXES = (".parquet", ".pq")


# --- calls.sql in stages ---------------------------------------------------

def has_stages() -> bool:
    """Whether sql/calls.sql is split into the stages the store runs."""
    text = CALLS_SQL.read_text(encoding="utf-8")
    return all(re.search(rf"^-- stage: {name}\b", text, flags=re.M) for name in ("read", "views"))


def calls_sql_stages() -> dict[str, str]:
    """sql/calls.sql split at its `-- stage: NAME` lines; the text before the first is `prelude`."""
    text = CALLS_SQL.read_text(encoding="utf-8")
    parts = re.split(r"^-- stage: (\w+)[^\n]*\n", text, flags=re.M)
    stages = {"prelude": parts[0]}
    for name, body in zip(parts[1::2], parts[2::2]):
        stages[name] = body
    missing = {"read", "views"} - set(stages)
    if missing:
        raise FinopsError(f"{CALLS_SQL}: no `-- stage: {sorted(missing)[0]}` line; "
                          "the store needs calls.sql in stages (or pass --no-cache)")
    return stages


def _contract_key() -> str:
    """What makes stored rows valid: the contract SQL, DuckDB and this format
    (and calls.sql's settings, kept beside it in the manifest)."""
    h = xxhash.xxh3_64()
    h.update(CALLS_SQL.read_bytes())
    h.update(f"{duckdb.__version__}/{STORE_FORMAT}".encode())
    return h.hexdigest()


def sql_literal(path: Path | str) -> str:
    """A path as a SQL string literal (COPY ... TO and ATTACH take no parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


# --- inputs ----------------------------------------------------------------

def is_pattern(text: str) -> bool:
    """A glob, unless a file or folder of that very name exists (`calls[1].csv`)."""
    return any(ch in text for ch in "*?[") and not os.path.exists(os.path.expanduser(text))


def is_single_csv(csv_arg: str | os.PathLike) -> bool:
    """--csv names one CSV file (not a glob, a folder or Parquet): the input
    sql/calls.sql alone can read, without a store."""
    text = str(csv_arg)
    return (not is_pattern(text) and not Path(text).is_dir()
            and Path(text).suffix.lower() not in PARQUET_SUFFIXES)


def resolve_inputs(csv_arg: str | os.PathLike) -> list[Path]:
    """The input files behind --csv: one file, a folder's CSV/Parquet files, or a glob (sorted)."""
    text = str(csv_arg)
    path = Path(text)
    if is_pattern(text):
        found = [Path(p) for p in sorted(globlib.glob(os.path.expanduser(text)))]
        # Never the store's own segments (a pattern like data/*/*.parquet reaches them).
        files = [p for p in found if p.is_file() and not any(
            part.endswith(STORE_SUFFIX) or part.startswith("finops-store-") for part in p.parts[:-1])]
        if not files:
            raise MissingCSVError(f"no file matches {text}; check the pattern or run "
                                  "`finops simulate` first")
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in (".csv",) + PARQUET_SUFFIXES)
        if not files:
            raise MissingCSVError(f"{path} holds no .csv or .parquet file; pass --csv with a "
                                  "calls file, a folder of them or a glob")
    else:
        if not path.exists():
            raise MissingCSVError(f"CSV not found: {path}; run `finops simulate` first or pass "
                                  "--csv PATH")
        files = [path]
    for p in files:
        suffix = p.suffix.lower()
        if suffix not in PARQUET_SUFFIXES and suffix in (".json", ".jsonl", ".xlsx", ".gz", ".zip"):
            raise FinopsError(f"{p}: finops reads CSV or Parquet files, not {suffix}")
    return files


def default_store_dir(csv_arg: str | os.PathLike) -> Path:
    """Beside the file (`calls.csv.finops-store`), or in the folder of a glob/folder input."""
    text = str(csv_arg)
    if is_pattern(text) or Path(text).is_dir():
        base = Path(text) if Path(text).is_dir() else Path(text.split("*")[0].split("?")[0]
                                                            .split("[")[0] or ".")
        if not base.is_dir():
            base = base.parent
        key = xxhash.xxh3_64(os.path.abspath(text).encode()).hexdigest()[:8]
        return base / f"finops-store-{key}"
    path = Path(text).resolve()
    return path.parent / (path.name + STORE_SUFFIX)


def user_cache_store_dir(csv_arg: str | os.PathLike) -> Path:
    """Where the store goes when the input's folder is not writable: the user's cache."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "finops" / "stores"
    key = xxhash.xxh3_64(os.path.abspath(str(csv_arg)).encode()).hexdigest()
    return base / f"{Path(str(csv_arg)).name.replace('*', '_')}-{key}"


# --- state -----------------------------------------------------------------

@dataclass
class Segment:
    """One ingested byte range of a unit, stored as Parquet files named `<id>.<kind>.parquet`."""

    id: str
    start: int
    end: int
    rows: int = 0
    data_lines: int = 0  # lines calls.sql's line reader emitted, header not counted
    # Its files' inode, size, mtime and ctime when written (_stamp): any write
    # to one since, even one that puts the old mtime back, changes it.
    stamp: str = ""


@dataclass
class Unit:
    """One input file and what of it is in the store."""

    path: str
    kind: str            # csv | parquet
    dev: int
    ino: int
    end: int = 0         # bytes ingested (complete lines); a Parquet unit: its size
    lines: int = 0       # LFs in those bytes
    header_end: int = 0  # the header line's length with its LF
    prefix_hash: str = ""
    # False when a line with an odd number of quotes was left unpaired near
    # the end of what was read: calls.sql could pair it with a line appended
    # later (a quoted field spanning lines), so an append re-reads the file.
    quotes_even: bool = True
    # The file lines of those unpaired odd-quote lines among the last 200 read
    # (judged on the whole line, not the 500-character sample a reject keeps).
    open_quote_lines: list[int] = field(default_factory=list)
    # The file's size and change time (ctime) when both had been still for a
    # while at the last read: the same pair now means nothing was written
    # since, and the re-hash is skipped. (Any write, and any utime() that puts
    # an old mtime back, sets ctime to now; the kernel cannot be told otherwise.)
    still_size: int = -1
    still_ctime_ns: int = -1
    segments: list[Segment] = field(default_factory=list)


@dataclass
class StoreReport:
    """What an open did: notes for the build output, and the figures a benchmark wants."""

    notes: list[str] = field(default_factory=list)
    new_bytes: int = 0
    rebuilt: bool = False
    check_seconds: float = 0.0   # re-hashing what was already ingested
    ingest_seconds: float = 0.0
    segments: int = 0
    size_bytes: int = 0           # complete bytes of all inputs
    partial_tail_bytes: int = 0   # bytes after the last LF (a line still being written)


class DamagedSegment(Exception):
    """A stored segment could not be read while new bytes were added to the store."""


def remade_note(store_dir: Path, message: str) -> str:
    """The build note of a store made again because a segment could not be read."""
    return f"the store {store_dir.name} could not be read ({message}): made again from scratch"


@dataclass
class InputState:
    """A unit as found on disk now."""

    path: Path
    kind: str
    size: int
    dev: int
    ino: int
    complete: int
    ctime_ns: int


# A change time younger than this may still be shared by a write to come
# (file times tick coarsely), so it is not trusted to mean "unchanged".
_STILL_SECONDS = 2.0


def _input_state(path: Path) -> InputState:
    path = Path(os.path.abspath(path))
    st = path.stat()
    kind = "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "csv"
    complete = st.st_size if kind == "parquet" else complete_bytes(path, st.st_size)
    return InputState(path, kind, st.st_size, st.st_dev, st.st_ino, complete, st.st_ctime_ns)


# --- the store ---------------------------------------------------------------

ConnectFn = Callable[[], duckdb.DuckDBPyConnection]


class CallsStore:
    """The Parquet segments of one input (a file, a folder or a glob) and its lock.

    open() brings the store up to date and takes a shared lock; define()
    creates the relations calls.sql's `views` stage reads; close()
    releases the lock.
    """

    def __init__(self, csv_arg: str | os.PathLike, store_dir: Path, connect: ConnectFn,
                 temp_dir: Path, log: Callable[[str], None] | None = None,
                 settings: dict | None = None) -> None:
        self.csv_arg = str(csv_arg)
        self.settings = dict(settings or {})
        self.dir = Path(store_dir)
        self.connect = connect
        self.temp_dir = Path(temp_dir)
        self.log = log or logger.info
        self.units: list[Unit] = []
        self._lock_fd: int | None = None
        self.report = StoreReport()
        self.scratch = False  # a throwaway store: deleted on close
        self.writers: list = []  # threads writing cached tables (finance_cache.py)
        # Each input file as --csv names it (resolve_inputs), by its absolute
        # path: an error names the file as a direct read of it does.
        self._shown: dict[str, Path] = {}

    # locking
    def _lock(self, mode: int) -> None:
        if self._lock_fd is None:
            self._lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            self.log(f"waiting for another finops process using {self.dir}")
            fcntl.flock(self._lock_fd, mode)

    def close(self) -> None:
        from .finance_cache import wait

        wait(self)  # the cached tables being written read the session's connection
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None
        if self.scratch:
            shutil.rmtree(self.dir, ignore_errors=True)

    def discard(self) -> None:
        """Forget every segment (one could not be read) and close: the manifest
        goes under the exclusive lock, so the next open reads the input files
        from scratch and sweeps the old segments."""
        try:
            self._lock(fcntl.LOCK_EX)  # flock converts by releasing first: no deadlock
            self._manifest_path().unlink(missing_ok=True)
        finally:
            self.close()

    # manifest
    def _manifest_path(self) -> Path:
        return self.dir / "manifest.json"

    def _settings_key(self) -> dict:
        from .session import store_settings

        return store_settings(self.settings)

    def _read_manifest(self) -> list[Unit] | None:
        try:
            data = json.loads(self._manifest_path().read_text(encoding="utf-8"))
            if data.get("settings", self._settings_key()) != self._settings_key():
                self.report.notes.append(f"store {self.dir.name} was read with other settings "
                                         f"({data.get('settings')}): re-reading from scratch")
                self._settings_changed = True
                return None
            if data.get("format") != STORE_FORMAT or data.get("contract") != _contract_key():
                return None
            units = []
            for u in data["units"]:
                segs = [Segment(**s) for s in u.pop("segments")]
                units.append(Unit(**u, segments=segs))
            for unit in units:
                for seg in unit.segments:
                    # A segment file gone or written to since (a damaged byte
                    # reads as a wrong value, not always as an error)
                    if self._stamp(seg) != seg.stamp:
                        return None
            return units
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_manifest(self) -> None:
        data = {"format": STORE_FORMAT, "contract": _contract_key(),
                "settings": self._settings_key(), "input": self.csv_arg,
                "units": [asdict(u) for u in self.units]}
        write_atomic(self._manifest_path(), json.dumps(data, indent=1))

    def _file(self, seg: Segment, kind: str) -> Path:
        return self.dir / f"{seg.id}.{kind}.parquet"

    def _stamp(self, seg: Segment) -> str:
        """The inode, size, mtime and ctime of seg's files, as one hash (OSError: one is gone)."""
        return xxhash.xxh3_64(";".join(write_stamp(self._file(seg, k)) for k in _KINDS)
                              .encode()).hexdigest()

    # opening
    def open(self) -> StoreReport:
        """Bring the store up to date with the input files, then hold a shared lock."""
        files = resolve_inputs(self.csv_arg)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock(fcntl.LOCK_EX)
        except OSError as exc:
            # A read-only data folder: keep the store in the user's cache instead.
            fallback = user_cache_store_dir(self.csv_arg)
            if self.dir == fallback:
                raise FinopsError(f"cannot use the store {self.dir} ({exc.strerror or exc}); "
                                  "pass --no-cache to read the file directly") from None
            self.report.notes.append(f"cannot write {self.dir} ({exc.strerror or exc}); "
                                     f"keeping the store in {fallback}")
            self.close()
            self.dir = fallback
            return self.open()
        try:
            try:
                self._refresh(files)
            except DamagedSegment as exc:
                # The store is only a cache: made again from the input files, once.
                self.report = StoreReport(
                    notes=[*self.report.notes, remade_note(self.dir, str(exc))],
                    rebuilt=True)
                self._manifest_path().unlink(missing_ok=True)
                try:
                    self._refresh(files)
                except DamagedSegment as again:
                    raise FinopsError(f"cannot use the store {self.dir} ({again}); "
                                      "pass --no-cache to read the file directly") from None
        except BaseException:
            self.close()
            raise
        fcntl.flock(self._lock_fd, fcntl.LOCK_SH)  # a downgrade: readers may now join
        return self.report

    def _refresh(self, files: list[Path]) -> None:
        self._shown = {os.path.abspath(p): p for p in files}
        stored = self._read_manifest()
        if stored is None:
            if self._manifest_path().exists() and not getattr(self, "_settings_changed", False):
                self.report.notes.append(f"store {self.dir.name} was made by another version "
                                         "of the contract SQL or is damaged: re-reading from scratch")
            stored = []
        states = [_input_state(p) for p in files]
        keep: list[Unit] = []
        dirty = False  # a unit changed: every later unit is re-ingested (cross-file repeats)
        for i, state in enumerate(states):
            unit = stored[i] if i < len(stored) and not dirty else None
            if unit is not None and unit.path != str(state.path):
                self.report.notes.append(f"the input files changed at {state.path.name}: "
                                         "re-reading from there")
                unit, dirty = None, True
            if unit is not None:
                before = self.report.new_bytes
                unit, reason = self._catch_up(unit, state, keep)
                if unit is not None and self.report.new_bytes > before:
                    dirty = True  # later files' repeats were judged without these rows
                if reason:
                    self.report.notes.append(f"{state.path}: {reason}: re-reading it from scratch")
                    self.report.rebuilt = True
                    dirty = True
            if unit is None:
                dirty = dirty or i < len(stored)
                unit = self._ingest_new(state, keep)
            keep.append(unit)
        now = time.time_ns()
        for unit, state in zip(keep, states):
            still = now - state.ctime_ns > _STILL_SECONDS * 1e9 and unit.end >= state.complete
            unit.still_size, unit.still_ctime_ns = ((state.size, state.ctime_ns) if still
                                                    else (-1, -1))
        self.units = keep
        self._compact()
        self._write_manifest()
        self._sweep()
        self.report.segments = sum(len(u.segments) for u in self.units)
        self.report.size_bytes = sum(s.complete for s in states)
        self.report.partial_tail_bytes = sum(s.size - s.complete for s in states)

    def _catch_up(self, unit: Unit, state: InputState,
                  earlier: list[Unit]) -> tuple[Unit | None, str | None]:
        """The unit with its new bytes ingested, or (None, why) when it must be re-read."""
        if (unit.dev, unit.ino) != (state.dev, state.ino):
            return None, "a different file now (new inode)"
        if unit.kind != state.kind:
            return None, "a different kind of file"
        if state.complete < unit.end:
            return None, f"shorter than what was read ({state.complete:,} < {unit.end:,} bytes)"
        if (state.size, state.ctime_ns) == (unit.still_size, unit.still_ctime_ns):
            return unit, None  # not written to since it was read: no re-hash needed
        if unit.kind == "parquet":
            t0 = time.perf_counter()
            same = state.size == unit.end and _hash_range(state.path, 0, unit.end) == unit.prefix_hash
            self.report.check_seconds += time.perf_counter() - t0
            return (unit, None) if same else (None, "rewritten since it was read")
        if state.complete > unit.end and not unit.quotes_even:
            return None, ("its last read ended near an unpaired quote (a quoted field may "
                          "span into the new lines)")
        self._ingest_csv(unit, state, earlier, verify=True)
        if unit.prefix_hash == "":  # set by _ingest_csv when the old prefix no longer matches
            return None, "rewritten or edited since it was read (checksum differs)"
        return unit, None

    def _ingest_new(self, state: InputState, earlier: list[Unit]) -> Unit:
        unit = Unit(path=str(state.path), kind=state.kind, dev=state.dev, ino=state.ino)
        if state.kind == "parquet":
            self._ingest_parquet(unit, state, earlier)
        else:
            self._ingest_csv(unit, state, earlier, verify=False)
        return unit

    # ingesting
    def _ingest_csv(self, unit: Unit, state: InputState, earlier: list[Unit], verify: bool) -> None:
        """Hash the ingested prefix (when verify), then ingest [unit.end, complete) in chunks."""
        path = state.path
        hasher = xxhash.xxh3_128()
        with open(path, "rb") as fh:
            if verify:
                t0 = time.perf_counter()
                remaining = unit.end
                buf = bytearray(BLOCK_BYTES)
                view = memoryview(buf)
                while remaining > 0:
                    n = fh.readinto(view[:min(BLOCK_BYTES, remaining)])
                    if n == 0:
                        break
                    hasher.update(view[:n])
                    remaining -= n
                self.report.check_seconds += time.perf_counter() - t0
                if remaining or hasher.hexdigest() != unit.prefix_hash:
                    unit.prefix_hash = ""
                    return
            if unit.end == 0:
                header = fh.readline()
                if not header.endswith(b"\n"):
                    unit.prefix_hash = hasher.hexdigest()
                    return
                unit.header_end = len(header)
                fh.seek(0)
            else:
                header = None
            if state.complete <= unit.end and unit.segments:
                return
            if header is None:
                with open(path, "rb") as hf:
                    header = hf.read(unit.header_end)
            t0 = time.perf_counter()
            self.report.new_bytes += state.complete - unit.end
            if state.complete - unit.end > CHUNK_BYTES:
                self.log(f"reading {(state.complete - unit.end) / 1e6:,.0f} MB of {path.name} "
                         f"into the store {self.dir} (once; later builds read only new lines)")
            self._ingest_chunks(unit, fh, header, state.complete, hasher, earlier)
            self.report.ingest_seconds += time.perf_counter() - t0

    def _ingest_chunks(self, unit: Unit, fh, header: bytes, complete: int, hasher,
                       earlier: list[Unit]) -> None:
        pos = unit.end
        while True:
            seg_start = pos
            lines_before = unit.lines
            self.temp_dir.mkdir(parents=True, exist_ok=True)
            fd, snap_name = tempfile.mkstemp(prefix="calls-segment-", suffix=".csv",
                                             dir=self.temp_dir)
            snap = Path(snap_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    if seg_start > 0:
                        out.write(header)
                    written = 0
                    scan = (0, 0, False)  # _clean_cut's state, carried from block to block
                    while pos < complete:
                        block = fh.read(min(BLOCK_BYTES, complete - pos))
                        if not block:
                            raise FinopsError(f"{unit.path} shrank while it was read; run again")
                        cut = None
                        if written + len(block) >= CHUNK_BYTES and pos + len(block) < complete:
                            cut, *scan = _clean_cut(block, max(0, CHUNK_BYTES - written - 1),
                                                    *scan)
                        part = block if cut is None else block[:cut]
                        out.write(part)
                        hasher.update(part)
                        unit.lines += part.count(b"\n")
                        written += len(part)
                        pos += len(part)
                        if cut is not None:
                            fh.seek(pos)
                            break
                # The snapshot is the header plus the new lines: its line 2 is
                # the file's line lines_before + 1 (lines_before counts the header).
                seg = self._ingest_snapshot(snap, unit, seg_start, pos,
                                            max(lines_before - 1, 0), earlier)
            finally:
                snap.unlink(missing_ok=True)
            unit.segments.append(seg)
            unit.end = pos
            unit.prefix_hash = hasher.hexdigest()
            if pos >= complete:
                return
            self.log(f"  {pos / 1e6:,.0f} of {complete / 1e6:,.0f} MB read")

    def _ingest_parquet(self, unit: Unit, state: InputState, earlier: list[Unit]) -> None:
        """A Parquet file is one unit read whole: written out as a CSV snapshot for calls.sql."""
        t0 = time.perf_counter()
        unit.prefix_hash = _hash_range(state.path, 0, state.size)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, snap_name = tempfile.mkstemp(prefix="calls-parquet-", suffix=".csv", dir=self.temp_dir)
        os.close(fd)
        snap = Path(snap_name)
        con = self.connect()
        try:
            try:
                con.execute("SET VARIABLE store_parquet = ?", [str(state.path)])
                con.execute(f"COPY (SELECT * FROM read_parquet(getvariable('store_parquet'))) "
                            f"TO {sql_literal(snap)} (FORMAT csv, HEADER true)")
            except duckdb.Error as exc:
                shown = self._shown.get(unit.path, state.path)
                raise FinopsError(f"{shown}: cannot read the Parquet file: "
                                  f"{duckdb_message(exc)}") from None
            finally:
                con.close()
            self.report.new_bytes += state.size
            seg = self._ingest_snapshot(snap, unit, 0, state.size, 0, earlier)
        finally:
            snap.unlink(missing_ok=True)
        unit.segments.append(seg)
        unit.end = state.size
        self.report.ingest_seconds += time.perf_counter() - t0

    def _ingest_snapshot(self, snap: Path, unit: Unit, start: int, end: int, line_offset: int,
                         earlier: list[Unit]) -> Segment:
        """Run calls.sql's read stage on a snapshot; store its relations as one segment.

        snap holds the header and the range's lines; line_offset is how many
        data lines of the file come before them, so every stored line number
        is the file's physical line.
        """
        from .session import read_calls_range

        seg = Segment(id=f"{len(earlier):04d}-{start:015d}-{os.getpid()}-{time.time_ns() % 10**9}",
                      start=start, end=end)
        prior = [str(self._file(s, "calls")) for u in [*earlier, unit] for s in u.segments]
        con = self.connect()
        try:
            read_calls_range(con, snap, self._shown.get(unit.path, Path(unit.path)), line_offset,
                             self.settings)
            emitted, unreadable, gaps = con.execute(
                "SELECT getvariable('csv_emitted_lines'), (SELECT count(*) FROM csv_unreadable), "
                "(SELECT count(*) FROM csv_line_gaps)").fetchone()
            seg.data_lines = int(emitted) - 1  # the snapshot's header line
            last_line = line_offset + 1 + seg.data_lines + int(unreadable)
            # Each kept row's file line, so a later segment's repeat can name it.
            # (calls_loaded is written to Parquet as it is, with this column
            # added: no second copy of the range's rows in memory.)
            line_of = "file_line(rowid)" if gaps else "rowid + 1 + getvariable('line_offset')"
            # Lines left with an odd number of quotes, unpaired (calls.sql's
            # open_quote, on the whole line), within pairing reach of the end.
            open_lines = [int(n) for (n,) in con.execute(
                f"SELECT CAST({line_of} AS BIGINT) FROM calls_loaded WHERE open_quote "
                "UNION ALL SELECT CAST(line AS BIGINT) FROM calls_rule_rejects WHERE open_quote"
            ).fetchall()]
            # The one rule across segments: a call_id kept earlier makes the
            # one kept here a repeat (first occurrence in the file wins), and
            # this range's own repeats of it name that earlier line.
            id_range = con.execute("SELECT min(call_id), max(call_id) FROM calls_loaded").fetchone()
            if prior and id_range[0] is not None:
                con.execute("SET VARIABLE store_prior = ?", [prior])
                # The new range's ids are the hash table; the stored ids stream
                # past it. The constant range lets the Parquet reader skip the
                # row groups whose call_id statistics lie outside it (ids that
                # grow with time: a first build would otherwise re-scan every
                # earlier chunk's ids once per chunk).
                try:
                    con.execute("""
                        CREATE OR REPLACE TEMP TABLE store_prior_ids AS
                        SELECT p.call_id, min(p.store_line) AS first_line
                        FROM read_parquet(getvariable('store_prior')) AS p
                        WHERE p.call_id BETWEEN ? AND ?
                          AND p.call_id IN (SELECT call_id FROM calls_loaded)
                        GROUP BY p.call_id""", list(id_range))
                except duckdb.InterruptException:
                    raise
                except duckdb.Error as exc:  # a stored segment damaged since it was written
                    raise DamagedSegment(duckdb_message(exc)) from None
            else:
                con.execute("CREATE OR REPLACE TEMP TABLE store_prior_ids AS "
                            "SELECT call_id, CAST(0 AS BIGINT) AS first_line FROM calls_loaded LIMIT 0")
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE store_duplicates AS
                SELECT CAST(d.row_index AS BIGINT) AS row_index, CAST(d.line AS BIGINT) AS line,
                       d.call_id, CAST(coalesce(p.first_line, d.first_line) AS BIGINT) AS first_line
                FROM calls_duplicate_rows AS d LEFT JOIN store_prior_ids AS p USING (call_id)
                UNION ALL
                SELECT k.rowid, CAST({line_of.replace("rowid", "k.rowid")} AS BIGINT), k.call_id,
                       p.first_line
                FROM calls_loaded AS k JOIN store_prior_ids AS p USING (call_id)""")
            # (rowids stay as they were after a DELETE: line numbers hold.)
            con.execute("DELETE FROM calls_loaded "
                        "WHERE call_id IN (SELECT call_id FROM store_prior_ids)")
            out = {k: sql_literal(self._file(seg, k)) for k in _KINDS}
            con.execute(f"""COPY (SELECT * EXCLUDE (reject_reason, raw_line, open_quote, line_bytes),
                                         CAST({line_of} AS BIGINT) AS store_line
                                  FROM calls_loaded) TO {out['calls']} (FORMAT parquet)""")
            con.execute(f"""COPY (SELECT CAST(line AS BIGINT) AS line, reject_reason, rejected_content
                                  FROM calls_rule_rejects) TO {out['rule_rejects']} (FORMAT parquet)""")
            con.execute(f"""COPY (SELECT CAST(file_line + coalesce(getvariable('line_offset'), 0)
                                         AS BIGINT) AS file_line, reason, content
                                  FROM csv_unreadable) TO {out['unreadable']} (FORMAT parquet)""")
            con.execute(f"COPY (SELECT * FROM store_duplicates) TO {out['duplicates']} "
                        "(FORMAT parquet)")
            con.execute(f"""COPY (SELECT CAST(first_r AS BIGINT) AS first_r,
                                         CAST(last_r AS BIGINT) AS last_r, record
                                  FROM csv_multiline) TO {out['multiline']} (FORMAT parquet)""")
            con.execute(f"COPY (SELECT * FROM csv_header_fields) TO {out['header_fields']} "
                        "(FORMAT parquet)")
            seg.rows = con.execute("SELECT count(*) FROM calls_loaded").fetchone()[0]
            seg.stamp = self._stamp(seg)
            # A line left with an open quote near the end could pair with a
            # line appended later (calls.sql joins such pairs up to 200 lines
            # apart): then an append re-reads the file rather than guess.
            # (The unit's earlier segments count too: this range may be short.
            # Lines with broken quoting but an even count never pair.)
            unit.open_quote_lines = [n for n in [*unit.open_quote_lines, *open_lines]
                                     if n > last_line - PAIR_REACH - 1]
            unit.quotes_even = not unit.open_quote_lines
        except duckdb.Error as exc:
            raise FinopsError(f"cannot write the store {self.dir} ({duckdb_message(exc)}); "
                              "pass --no-cache to read the file directly") from None
        finally:
            con.close()
        return seg

    # upkeep
    def _compact(self) -> None:
        """Merge the two smallest neighbouring segments of a unit until few enough
        remain, never into one larger than a chunk: a first build's chunks stay as
        they are (merging them rewrote most of a 5 GB store, 26 of its 119 s of
        CPU), the small segments of appends are merged."""
        while sum(len(u.segments) for u in self.units) > MAX_SEGMENTS:
            best = None
            for unit in self.units:
                for i in range(len(unit.segments) - 1):
                    a, b = unit.segments[i], unit.segments[i + 1]
                    size = (a.end - a.start) + (b.end - b.start)
                    if size <= CHUNK_BYTES and (best is None or size < best[0]):
                        best = (size, unit, i)
            if best is None:
                return
            _, unit, i = best
            a, b = unit.segments[i], unit.segments[i + 1]
            merged = Segment(id=f"{a.id[:4]}-{a.start:015d}-m{time.time_ns()}", start=a.start,
                             end=b.end, rows=a.rows + b.rows,
                             data_lines=a.data_lines + b.data_lines)
            con = self.connect()
            try:
                for kind in _KINDS:
                    # One header per unit: its first segment's.
                    pair = [a] if kind == "header_fields" else [a, b]
                    con.execute("SET VARIABLE store_pair = ?",
                                [[str(self._file(x, kind)) for x in pair]])
                    con.execute(f"COPY (SELECT * FROM read_parquet(getvariable('store_pair'))) "
                                f"TO {sql_literal(self._file(merged, kind))} (FORMAT parquet)")
            except duckdb.InterruptException:
                raise
            except duckdb.Error as exc:  # a segment damaged since it was written (or no room)
                raise DamagedSegment(duckdb_message(exc)) from None
            finally:
                con.close()
            merged.stamp = self._stamp(merged)
            unit.segments[i:i + 2] = [merged]

    def _sweep(self) -> None:
        """Delete segment files the manifest no longer names, and cached tables a
        killed process left half-written (we hold the exclusive lock: no load
        is writing them now, finance_cache.py writes under a shared one)."""
        wanted = {self._file(s, k).name for u in self.units for s in u.segments for k in _KINDS}
        for p in self.dir.iterdir():
            if ((p.name.endswith(".parquet") and p.name not in wanted)
                    or re.fullmatch(r"\..+\.duckdb\..+\.tmp(\.wal)?", p.name)):
                p.unlink(missing_ok=True)

    # reading
    def files(self, kind: str) -> list[str]:
        return [str(self._file(s, kind)) for u in self.units for s in u.segments]

    def define_sql(self) -> str:
        """SQL creating the relations calls.sql's `views` stage reads, over the stored segments.

        The file lists are this store's own paths, as quoted literals (a
        DuckDB CLI session gets the same text through `.read`). Stored line
        numbers are already the file's, so line_offset is 0 here.
        """
        lists = "".join(
            f"SET VARIABLE store_{kind} = "
            f"[{', '.join(sql_literal(f) for f in self.files(kind))}];\n"
            for kind in _KINDS)
        headers = self.files("header_fields")
        header = sql_literal(headers[0]) if headers else "''"
        # data_quality counts csv_emitted_lines less one header line.
        emitted = 1 + sum(s.data_lines for u in self.units for s in u.segments)
        return lists + f"""
SET VARIABLE line_offset = 0;
SET VARIABLE csv_header = NULL;
SET VARIABLE csv_emitted_lines = {emitted};
CREATE OR REPLACE TEMP VIEW calls_loaded AS
SELECT * FROM read_parquet(getvariable('store_calls'));
CREATE OR REPLACE TEMP TABLE calls_rule_rejects AS
SELECT * FROM read_parquet(getvariable('store_rule_rejects'));
CREATE OR REPLACE TEMP TABLE csv_unreadable AS
SELECT * FROM read_parquet(getvariable('store_unreadable'));
CREATE OR REPLACE TEMP TABLE calls_duplicate_rows AS
SELECT * FROM read_parquet(getvariable('store_duplicates'));
CREATE OR REPLACE TEMP TABLE csv_multiline AS
SELECT * FROM read_parquet(getvariable('store_multiline'));
CREATE OR REPLACE TEMP TABLE csv_header_fields AS
SELECT * FROM read_parquet({header});
"""

    def define(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the relations calls.sql's `views` stage reads, in con's database."""
        from .session import shared

        con.execute(shared(self.define_sql()))


def _clean_cut(block: bytes, start: int, clean: int = 0, carry: int = 0,
               past_nul: bool = False) -> tuple[int | None, int, int, bool]:
    """(cut, clean, carry, past_nul): cut just past the first LF at or after
    start that ends more than PAIR_REACH lines with an even number of quotes
    each, or None; clean, carry (the quotes of the block's unfinished last
    line, mod 2) and past_nul (that line has a NUL byte) go into the call for
    the next block.

    calls.sql pairs two odd-quote lines at most PAIR_REACH lines apart (a
    quoted field spanning lines): no such line in reach before the cut, and
    nothing before it can pair with anything after, so the chunks read as
    the whole file does. (Not a parity count from the read's start: one
    stray quote would put every later cut inside a record.) Lines before
    the first block looked at count as unseen: they never qualify. A line's
    quotes are counted as calls.sql counts them: up to its first NUL byte
    (DuckDB's line reader splits the line there, and calls.sql's open_quote
    looks only at the text before it)."""
    has_nul = past_nul or b"\0" in block
    i = 0
    while True:
        j = block.find(b"\n", i)
        end = len(block) if j < 0 else j
        if past_nul:
            quotes = 0
        elif has_nul:
            nul = block.find(b"\0", i, end)
            quotes = block.count(b'"', i, end if nul < 0 else nul)
            past_nul = nul >= 0
        else:
            quotes = block.count(b'"', i, end)
        if j < 0:
            return None, clean, (carry + quotes) % 2, past_nul
        clean = clean + 1 if (carry + quotes) % 2 == 0 else 0
        carry, past_nul = 0, False
        if j >= start and clean > PAIR_REACH:
            return j + 1, clean, 0, False
        i = j + 1


def _hash_range(path: Path, start: int, end: int) -> str:
    hasher = xxhash.xxh3_128()
    for block in read_blocks(path, start, end):
        hasher.update(block)
    return hasher.hexdigest()


def open_store(csv_arg: str | os.PathLike, connect: ConnectFn, temp_dir: Path,
               store_dir: Path | None = None, log: Callable[[str], None] | None = None,
               settings: dict | None = None) -> CallsStore:
    """The store of csv_arg, up to date and share-locked (close() it when done).

    settings: calls.sql's settings (see session.load_calls); a store made
    under other settings is re-read from scratch."""
    store = CallsStore(csv_arg, store_dir or default_store_dir(csv_arg), connect, temp_dir, log,
                       settings)
    store.open()
    return store


def temporary_store(csv_arg: str | os.PathLike, connect: ConnectFn, temp_dir: Path,
                    log: Callable[[str], None] | None = None,
                    settings: dict | None = None) -> CallsStore:
    """A throwaway store in temp_dir, deleted on close (--no-cache through a store:
    a folder, glob or Parquet, and `finops shell`)."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(prefix="finops-store-", dir=temp_dir))
    store = CallsStore(csv_arg, where, connect, temp_dir, log, settings)
    store.scratch = True
    store.open()  # closes (and so deletes) itself on failure
    return store


__all__ = ["CallsStore", "StoreReport", "open_store", "temporary_store", "resolve_inputs",
           "default_store_dir", "calls_sql_stages", "complete_bytes", "NoDataError"]
