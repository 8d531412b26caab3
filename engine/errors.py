"""The one error type the engine and simulator raise for user mistakes.

A FinopsError carries a one-line message that says what is wrong and how to
fix it. The CLI prints it to stderr and exits with `exit_code`; it never
shows a traceback for one.
"""

from __future__ import annotations


class FinopsError(Exception):
    """A user-facing error: bad input, missing file, bad option."""

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NoDataError(FinopsError):
    """The CSV exists but holds no complete data row yet."""

    exit_code = 1


class MissingCSVError(NoDataError):
    """The CSV does not exist (yet): a usage error for a command, "no data" for the viewer."""

    exit_code = 2

def folder_error(action: str, folder, exc: OSError) -> FinopsError:
    """The one-line error for an output folder the system refused (cannot
    create it, cannot write to it): what, where, why, and the fix."""
    return FinopsError(f"{action} {folder} ({exc.strerror or exc}); pass --out with a writable folder")


def duckdb_message(exc: BaseException) -> str:
    """DuckDB's message without its 'Xxx Error: ' prefix, on one line."""
    text = str(exc).strip()
    first, _, rest = text.partition(": ")
    if first.endswith("Error") and rest:
        text = rest
    return " ".join(text.split())


def sql_error_line(first_line: int, exc: BaseException) -> tuple[int, str]:
    """The file line a DuckDB error points at in a statement starting at
    first_line, and its message without the LINE part."""
    import re

    message = duckdb_message(exc)
    m = re.search(r"LINE (\d+):", str(exc))
    if not m:
        return first_line, message
    return first_line + int(m.group(1)) - 1, message.split(" LINE ")[0]
