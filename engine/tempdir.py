"""The private folder for finops's temporary files (the CSV snapshot, DuckDB's spill files).

Shared temp folders (/tmp) are writable by every user: a fixed name there
could be created first, or swapped for a symlink, by someone else. So the
folder is `$FINOPS_TEMP_DIR` or `<system temp>/finops-<uid>`, created 0700,
and refused when it is a symlink, not a folder, or owned by another user.
Each process works in its own `run-<pid>` folder inside (DuckDB names its
spill files by a counter, so two processes must not share one folder),
removed at exit; folders of processes that are gone are removed on the way.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import FinopsError

_made: set[Path] = set()  # run folders this process made


def private_root() -> Path:
    """$FINOPS_TEMP_DIR or <system temp>/finops-<uid>, checked (and made) private."""
    explicit = os.environ.get("FINOPS_TEMP_DIR")
    path = Path(explicit) if explicit else Path(tempfile.gettempdir()) / f"finops-{os.getuid()}"
    return ensure_private(path, fix_mode=not explicit)


def ensure_private(path: Path, *, fix_mode: bool = True) -> Path:
    hint = "set FINOPS_TEMP_DIR to a folder of your own"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise FinopsError(f"cannot use {path} as the temporary folder (DuckDB's spill folder "
                          f"and the CSV snapshot) ({exc.strerror or exc}); {hint}") from None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise FinopsError(f"the temporary folder {path} is a symlink or not a folder; {hint}")
    if st.st_uid != os.getuid():
        raise FinopsError(f"the temporary folder {path} belongs to another user (uid {st.st_uid}); "
                          f"{hint}")
    if fix_mode and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_dir() -> Path:
    """This process's own folder inside the private root (made once, removed at exit).

    The root is looked up on every call, so a changed FINOPS_TEMP_DIR is obeyed."""
    root = private_root()
    path = root / f"run-{os.getpid()}"
    if path not in _made:
        for old in root.glob("run-*"):
            pid = old.name.removeprefix("run-")
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        if not _made:
            atexit.register(lambda: [shutil.rmtree(p, ignore_errors=True) for p in _made])
        _made.add(path)
    return ensure_private(path)
