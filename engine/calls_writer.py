"""Appending rows to a calls file safely while others write and read it.

Shared by the OpenTelemetry exporter (finops.otel) and `finops import`:
several threads and processes may append to one file while `finops` reads
it. The rules that make that safe:

- every append is one whole block of complete lines, written while holding
  an exclusive lock on the file itself (portalocker: flock on POSIX,
  LockFileEx on Windows; no sidecar lock file for the watcher to see);
- a file whose last line was cut off (a writer killed mid-line) first gets
  its LF, so the broken line stays one rejected line and never swallows ours;
- a failed append is rolled back to the size the file had, so a reader sees
  all of a block or none of it (a reader only trusts complete lines anyway);
- the file's header must be the one we write (the contract's 19 columns and
  contract 1.1's six optional ones); another header is refused, never mixed.

It formats values, it does not judge them: the contract's rules live in
sql/calls.sql.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import portalocker

from .errors import FinopsError
from .reference import written_header


class HeaderMismatchError(FinopsError):
    """The target file exists with a header other than the one finops writes."""


def _clean(value) -> str:
    """A value as CSV text: None is empty; CR/LF inside a value become spaces."""
    if type(value) is str:
        if "\n" not in value and "\r" not in value:
            return value  # the common case, kept fast: a span exporter formats thousands a second
        text = value
    elif value is None:
        return ""
    else:
        text = str(value)
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text


def format_rows(rows: Iterable[Mapping[str, object]], columns: tuple[str, ...]) -> bytes:
    """Rows as CSV lines (LF, RFC 4180 quoting) in the order of columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_clean(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def header_line(columns: tuple[str, ...] | None = None) -> bytes:
    return (",".join(columns or written_header()) + "\n").encode("utf-8")


def _first_line(fd: int, limit: int = 65536) -> bytes:
    block = os.pread(fd, limit, 0)
    end = block.find(b"\n")
    line = block if end < 0 else block[:end]
    return line.rstrip(b"\r").removeprefix(b"\xef\xbb\xbf")


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class CallsWriter:
    """Appends contract rows to one calls CSV, creating it with its header if needed.

    Thread-safe; process-safe through the file lock. Each `append` is one
    whole block: all its lines land, contiguous, or none do.
    """

    def __init__(self, path: str | os.PathLike, *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.columns = written_header()
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()

    def check_target(self) -> None:
        """Create the file's folder and check its header now (an error early, not on the first span)."""
        with self._locked_fd() as fd:
            self._prepare(fd)

    def append(self, rows: Iterable[Mapping[str, object]]) -> int:
        """Append rows (dicts by column name); the number of lines written."""
        rows = list(rows)
        if not rows:
            return 0
        data = format_rows(rows, self.columns)
        self.append_bytes(data)
        return len(rows)

    def append_bytes(self, data: bytes) -> None:
        """Append ready CSV lines (each ending in LF) as one block."""
        if not data:
            return
        if not data.endswith(b"\n"):
            raise ValueError("append_bytes needs whole lines ending in LF")
        with self._locked_fd() as fd:
            self._prepare(fd)
            self._append_locked(fd, [data])

    def append_file(self, source: str | os.PathLike, *, chunk: int = 1 << 22) -> int:
        """Append the bytes of a file of ready CSV lines as one block; bytes appended."""
        with self._locked_fd() as fd:
            self._prepare(fd)
            return self._append_locked(fd, _chunks(Path(source), chunk))

    def locked(self):
        """Hold the file lock (header checked) for a read-then-append done by the caller."""
        return _LockedTarget(self)

    # -- internals ---------------------------------------------------------

    def _locked_fd(self):
        return _FileLock(self)

    def _prepare(self, fd: int) -> None:
        """Under the lock: write the header into an empty file, or check it; end with LF."""
        size = os.fstat(fd).st_size
        expected = header_line(self.columns)
        if size == 0:
            _write_all(fd, expected)
            return
        found = _first_line(fd)
        if found != expected.rstrip(b"\n"):
            shown = found[:300].decode("utf-8", "replace")
            raise HeaderMismatchError(
                f"{self.path} has another header than the one finops writes "
                f"({len(self.columns)} columns: the contract's 19 and contract 1.1's "
                f"{', '.join(self.columns[19:])}); found \"{shown}\"; "
                "write to a new file (--csv NEW.csv) or convert this one first")
        if os.pread(fd, 1, size - 1) != b"\n":
            # A writer died mid-line: close that line so it stays one rejected row.
            _write_all(fd, b"\n")

    def _append_locked(self, fd: int, blocks) -> int:
        start = os.fstat(fd).st_size
        total = 0
        try:
            for block in blocks:
                _write_all(fd, block)
                total += len(block)
        except BaseException:
            # All or nothing: take the partial block back out.
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            raise
        return total


def _chunks(path: Path, size: int):
    with open(path, "rb") as fh:
        while block := fh.read(size):
            yield block


class LockTimeoutError(FinopsError):
    """Another writer held the calls file's lock for longer than the timeout."""


def _lock_within(fh, timeout: float, path: Path) -> None:
    """Take the exclusive lock, polling, or raise LockTimeoutError after timeout seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        try:
            portalocker.lock(fh, portalocker.LOCK_EX | portalocker.LOCK_NB)
            return
        except portalocker.exceptions.LockException:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(f"{path} stayed locked by another writer for "
                                       f"{timeout:g} s; try again") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


class _FileLock:
    """Open the target for appending and hold an exclusive lock on it."""

    def __init__(self, writer: CallsWriter) -> None:
        self.writer = writer
        self.fd: int | None = None

    def __enter__(self) -> int:
        writer = self.writer
        writer._thread_lock.acquire()
        try:
            writer.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(writer.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            _lock_within(self.fd_file(), writer.lock_timeout, writer.path)
        except BaseException:
            self._close()
            writer._thread_lock.release()
            raise
        return self.fd

    def fd_file(self):
        # portalocker wants a file object; wrap the fd without taking ownership.
        self._fh = os.fdopen(self.fd, "ab", buffering=0, closefd=False)
        return self._fh

    def _close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)  # closing the descriptor releases the flock
            except OSError:
                pass
            self.fd = None

    def __exit__(self, *exc) -> None:
        try:
            try:
                portalocker.unlock(self._fh)
            except Exception:
                pass
            self._close()
        finally:
            self.writer._thread_lock.release()


class _LockedTarget:
    """`with writer.locked() as target:` read the file, then target.append_file(...)."""

    def __init__(self, writer: CallsWriter) -> None:
        self.writer = writer
        self._lock = _FileLock(writer)

    def __enter__(self) -> _LockedTarget:
        self.fd = self._lock.__enter__()
        try:
            self.writer._prepare(self.fd)
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def append_file(self, source: str | os.PathLike, *, chunk: int = 1 << 22) -> int:
        return self.writer._append_locked(self.fd, _chunks(Path(source), chunk))

    def __exit__(self, *exc) -> None:
        self._lock.__exit__(*exc)
