"""Where the finops command's log lines go: `logging`, routed by level, not by wording.

Engine modules only call `logging.getLogger(__name__)`; the CLI calls
configure() once. Warnings and errors go to stderr; informational lines
(serve's "build ok ...") go to stdout, or to stderr for commands whose
stdout is data (run-sql, sql). --quiet shows warnings and errors only,
--verbose adds debug lines. Lines go through click.echo, so click's
CliRunner captures them in tests.
"""

from __future__ import annotations

import logging
from datetime import datetime

import click

ROOT = "finops"


class _EchoHandler(logging.Handler):
    """One line per record: warnings and errors on stderr, the rest where asked."""

    def __init__(self, info_to_stderr: bool, timestamps: bool) -> None:
        super().__init__()
        self.info_to_stderr = info_to_stderr
        self.timestamps = timestamps

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
            if record.levelno >= logging.WARNING and not line.startswith(("warning", "error")):
                line = f"{'error' if record.levelno >= logging.ERROR else 'warning'}: {line}"
            if self.timestamps:
                line = f"{datetime.now():%H:%M:%S} {line}"
            to_stderr = record.levelno >= logging.WARNING or self.info_to_stderr
            click.echo(line, err=to_stderr)
        except Exception:  # a broken pipe must not raise from inside logging
            self.handleError(record)


def configure(*, quiet: bool = False, verbose: bool = False, info_to_stderr: bool = True,
              timestamps: bool = False) -> None:
    """Send the `finops` loggers' records to the terminal (replacing an earlier set-up)."""
    logger = logging.getLogger(ROOT)
    for handler in list(logger.handlers):
        if isinstance(handler, _EchoHandler):
            logger.removeHandler(handler)
    logger.addHandler(_EchoHandler(info_to_stderr, timestamps))
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
