"""The temp-file rule: how finops writes a file atomically, and which names are its temp files.

Every file finops writes for a reader (reports, manifest, downloads) is
written to a dot-named temp file in the same folder, then renamed over the
target. The server never serves and the watcher never reacts to such names.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

BLOCK_BYTES = 1 << 22  # reads of big files go in blocks of this size


def is_hidden_name(name: str) -> bool:
    """Dot-files and the temporary files of atomic writes are never served."""
    return name.startswith(".") or name.endswith(".tmp") or name.endswith("~")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write path so readers see the old or the new file, never a mix.

    The temp file lives in the same folder (os.replace is atomic only within
    one file system) and starts with a dot so the server's listing and the
    watcher can ignore it.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_stamp(path: Path) -> str:
    """path's inode, size, mtime and ctime: a file finops wrote once and never
    again has the same stamp until something writes to it (a write that puts
    the old mtime back moves the ctime)."""
    st = Path(path).stat()
    return f"{st.st_ino}/{st.st_size}/{st.st_mtime_ns}/{st.st_ctime_ns}"


def complete_bytes(path: Path, size: int) -> int:
    """Offset just past the last LF: what a reader may trust of a live file."""
    chunk = 1 << 16
    with open(path, "rb") as fh:
        end = size
        while end > 0:
            start = max(0, end - chunk)
            fh.seek(start)
            block = fh.read(end - start)
            pos = block.rfind(b"\n")
            if pos >= 0:
                return start + pos + 1
            end = start
    return 0


def read_blocks(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes start..end of path, in blocks of 4 MB (fewer bytes when the file is shorter)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = end - start
        while remaining > 0:
            block = fh.read(min(remaining, BLOCK_BYTES))
            if not block:
                return
            remaining -= len(block)
            yield block


def copy_prefix(path: Path, length: int, temp_dir: Path, prefix: str,
                transform: Callable[[Iterator[bytes]], Iterable[bytes]] | None = None) -> Path:
    """A new file in temp_dir holding the first `length` bytes of path (through transform)."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".csv", dir=temp_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            blocks = read_blocks(path, 0, length)
            for block in (transform(blocks) if transform else blocks):
                out.write(block)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
