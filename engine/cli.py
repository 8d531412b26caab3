"""The `finops` command: thin click wrappers over engine and simulator functions."""

from __future__ import annotations

import click

from . import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="finops")
def main() -> None:
    """finops: SQL-first analytics for AI API spend."""


if __name__ == "__main__":
    main()
