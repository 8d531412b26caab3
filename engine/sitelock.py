"""One build at a time per output folder.

A build holds an exclusive lock (flock) on `<out>/.finops-build.lock` from
before it reads the previous manifest until its last file is published. A
second build into the same folder (another `finops build`, or serve's next
rebuild) waits for it, saying once who holds the lock; it gives up with a
clear error after `timeout` seconds. The lock file is a dot-file, so the
server never serves it. The kernel drops the lock when its process dies,
so a crashed build never leaves the folder locked.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import FinopsError

LOCK_NAME = ".finops-build.lock"
DEFAULT_TIMEOUT = 600.0


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@contextmanager
def build_lock(out: Path, *, timeout: float = DEFAULT_TIMEOUT,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the output folder's build lock for the duration of the block."""
    path = Path(out) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise FinopsError(f"cannot lock {out} for the build ({exc.strerror or exc}); "
                          "pass --out with a writable folder") from None
    try:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if not said and on_wait is not None:
                on_wait(f"another finops build is writing to {out}{_holder(fd)}; "
                        "waiting for it to finish")
                said = True
            if time.monotonic() >= deadline:
                raise FinopsError(f"another finops build has held {out} for over {timeout:.0f} s"
                                  f"{_holder(fd)}; stop it or pass another --out")
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
