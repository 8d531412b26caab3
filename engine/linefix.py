"""A damaged CSV made readable line for line: what DuckDB's line reader cannot take.

DuckDB reads a file as lines fast, but a lone CR (not part of CRLF) breaks
its line count, and an empty line or a line longer than its buffer
vanishes without a reject. When sql/calls.sql's byte count shows either (session.py checks),
the file is copied here with exactly one output line per input line:
CRLF becomes LF, a lone CR inside a quoted field becomes U+E000 (turned
back into CR by the SQL), and a line that cannot be read becomes a marker
line the SQL rejects with its reason — so every line keeps its number.
This module does bytes only; what a valid row is stays in SQL.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from pathlib import Path

from .files import copy_prefix

# A line of up to this many bytes (without its LF or CRLF) is read; a longer
# one is rejected as "longer than 2 MB", on every path and engine: the fast
# read sends a file with a longer line here (session.py), and the copy's read
# lets DuckDB take every line this module passes (max_line_size above it).
MAX_LINE_BYTES = 2_000_000
MARKER = b"\x01finops-unreadable:"
CR_IN_QUOTES = "\ue000".encode()
_LONE_CR = re.compile(rb"\r(?!\n)")
# The first buffer size safe_buffer_size tries, and how many after it.
FIRST_BUFFER_BYTES = 8_000_000
_BUFFER_TRIES = 100_000


def has_lone_cr(path: Path, length: int) -> bool:
    """True when the first `length` bytes hold a CR that does not end a CRLF."""
    if length == 0:
        return False
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm.find(b"\r", 0, length) < 0:  # memchr: the common LF-only file costs ~nothing
            return False
        return _LONE_CR.search(mm, 0, length) is not None


def safe_buffer_size(path: Path, length: int) -> int:
    """A read_csv buffer_size for the first `length` bytes of path whose buffer
    boundaries all fall inside lines.

    DuckDB 2.0's parallel reader skips, unsaid, the line after an LF that is
    the first byte of one of its buffers (buffer k starts at byte
    k * buffer_size): at the default size, two lines of the seed-7 500 MB
    file. The byte count in session.py caught that, but the readable copy it
    fell back to has the same bytes and lost the same lines. Sizes from
    FIRST_BUFFER_BYTES up are tried until no boundary has a CR or LF on it or
    beside it (a few tries; each look is one byte). (With max_line_size
    below the buffer size it skipped other lines too: session.py leaves the
    limit at the buffer size, and reads a copy on one thread.)
    """
    size = FIRST_BUFFER_BYTES
    if length <= size:
        return size
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        length = min(length, len(mm))
        for size in range(FIRST_BUFFER_BYTES, FIRST_BUFFER_BYTES + _BUFFER_TRIES):
            if not any(b"\n" in mm[k - 1:k + 2] or b"\r" in mm[k - 1:k + 2]
                       for k in range(size, length, size)):
                return size
    return FIRST_BUFFER_BYTES  # unlucky beyond belief: the byte count still catches a loss


def count_cr(path: Path, length: int) -> int:
    """CR bytes in the first `length` bytes (0 at memchr speed when there are none)."""
    if length == 0:
        return 0
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if mm.find(b"\r", 0, length) < 0:
            return 0
        count, pos = 0, 0
        while pos < length:
            block = mm[pos:min(length, pos + (1 << 24))]
            count += block.count(b"\r")
            pos += len(block)
        return count


def _fixed(line: bytes) -> bytes:
    if not line:
        return MARKER + b"empty line"  # DuckDB skips an empty line: keep its number
    if len(line) > MAX_LINE_BYTES:
        return MARKER + b"line longer than 2 MB"
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return MARKER + f"not valid UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})".encode()
    if b"\r" in line:
        out = bytearray()
        inside = False
        for byte in line:
            if byte == 0x22:
                inside = not inside
            if byte == 0x0D:
                if not inside:
                    return MARKER + b"a carriage return (CR) outside quotes splits the line"
                out += CR_IN_QUOTES
            else:
                out.append(byte)
        return bytes(out)
    return line


def _readable_lines(blocks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for block in blocks:
        parts = (pending + block).split(b"\n")
        pending = parts.pop()
        if len(pending) > MAX_LINE_BYTES + 2:
            # keep the too-long line's size, not its bytes
            pending = pending[:MAX_LINE_BYTES + 2]
        yield b"".join(_fixed(p[:-1] if p.endswith(b"\r") else p) + b"\n" for p in parts)
    if pending:
        yield _fixed(pending.rstrip(b"\r")) + b"\n"


def readable_copy(path: Path, length: int, temp_dir: Path) -> Path:
    """The first `length` bytes of path, one output line per input line (see module doc)."""
    return copy_prefix(path, length, temp_dir, "calls-lines-", _readable_lines)
