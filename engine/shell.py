"""`finops shell`: a DuckDB CLI with the calls views loaded (through the store by default)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import FinopsError
from .paths import CALLS_SQL
from .session import require_csv


def duckdb_cli() -> str:
    """The DuckDB CLI the project's set-up installed (duckdb-cli), or one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    if beside.exists():
        return str(beside)
    found = shutil.which("duckdb")
    if not found:
        raise FinopsError("the DuckDB CLI is not installed; run `pip install duckdb-cli` "
                          "(make install does this) and try again")
    return found


def shell_invocation(csv_path: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a DuckDB shell with the calls views loaded.

    The CSV path reaches SQL through an environment variable and getenv(),
    never pasted into SQL text.
    """
    path = Path(csv_path)
    require_csv(path)
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()))
    init = "SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH');"
    # Single quotes in a path would end the .read argument; refuse clearly.
    if "'" in str(CALLS_SQL):
        raise FinopsError(f"the finops install path contains a quote: {CALLS_SQL}")
    argv = [duckdb_cli(), "-cmd", init, "-cmd", f".read '{CALLS_SQL}'", "-cmd",
            ".print 'finops: calls, calls_rejected, data_quality, customer_economics, "
            "model_prices, subscription_tiers are loaded. Try: SELECT * FROM data_quality;'"]
    return argv, env


@contextmanager
def shell_session(csv_path: str | os.PathLike, cache: bool = True):
    """(argv, env) of a DuckDB shell over the store of csv_path, held open while in the block.

    The store is brought up to date first and share-locked until the block
    ends, so no build deletes a segment the shell is reading. cache=False
    with one CSV: the plain shell_invocation (calls.sql on the file).
    """
    from . import store as store_mod
    from .session import connect

    text = str(csv_path)
    single_csv = (not store_mod.is_pattern(text) and not Path(text).is_dir()
                  and Path(text).suffix.lower() not in store_mod.PARQUET_SUFFIXES)
    if not cache and single_csv:
        yield shell_invocation(csv_path)
        return
    con = connect()
    temp_dir = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    con.close()
    if cache:
        store = store_mod.open_store(csv_path, connect, temp_dir)
    else:
        store = store_mod.temporary_store(csv_path, connect, temp_dir)
    fd, init = tempfile.mkstemp(prefix="finops-shell-", suffix=".sql", dir=temp_dir)
    try:
        stages = store_mod.calls_sql_stages()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(stages["prelude"] + store.define_sql() + stages["views"])
        if "'" in init:
            raise FinopsError(f"the temp folder's path contains a quote: {init}; set FINOPS_TEMP_DIR")
        argv = [duckdb_cli(), "-cmd", f".read '{init}'", "-cmd",
                ".print 'finops: calls, calls_rejected, data_quality, customer_economics, "
                "model_prices, subscription_tiers are loaded. Try: SELECT * FROM data_quality;'"]
        yield argv, dict(os.environ)
    finally:
        store.close()
        Path(init).unlink(missing_ok=True)
