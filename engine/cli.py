"""The `finops` command: thin click wrappers over engine and simulator functions.

Each command parses its options and calls one function. User errors arrive as
FinopsError and leave as one line on stderr with a non-zero exit code.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from . import __version__
from .errors import FinopsError


def user_errors(fn):
    """Turn FinopsError (and Ctrl-C) into a one-line message, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FinopsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="finops")
def main() -> None:
    """finops: SQL-first analytics for AI API spend.

    \b
    Quick start:
      finops simulate --target-mb 50     # write data/simulated_calls.csv
      finops run-sql understanding       # run one analyzer
      finops build                       # write HTML reports to reports/
      finops serve --simulate            # the live demo on 127.0.0.1:8000
    """


# --- simulate -------------------------------------------------------------
# (owned by the simulator work; see simulator/)


if __name__ == "__main__":
    main()
