"""`finops shell`: a DuckDB CLI with the calls views loaded."""

from __future__ import annotations

import os
import shutil
import sys
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
    prices = CALLS_SQL.parent / "prices"
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()), FINOPS_PRICES_DIR=str(prices))
    init = ("SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH'); "
            "SET VARIABLE list_prices_dir = getenv('FINOPS_PRICES_DIR'); "
            "SET VARIABLE min_call_date = CAST(nullif(getenv('FINOPS_MIN_CALL_DATE'), '') AS DATE); "
            "SET VARIABLE max_call_date = CAST(nullif(getenv('FINOPS_MAX_CALL_DATE'), '') AS DATE); "
            "SET VARIABLE ignore_extra_columns = "
            "lower(getenv('FINOPS_IGNORE_EXTRA_COLUMNS')) IN ('1', 'true', 'yes', 'on');")
    # Single quotes in a path would end the .read argument; refuse clearly.
    if "'" in str(CALLS_SQL):
        raise FinopsError(f"the finops install path contains a quote: {CALLS_SQL}")
    argv = [duckdb_cli(), "-cmd", init, "-cmd", f".read '{CALLS_SQL}'",
            "-cmd", f".read '{prices / 'list_prices.sql'}'",
            "-cmd", f".read '{prices / 'calls_list_prices.sql'}'", "-cmd",
            ".print 'finops: calls, calls_rejected, data_quality, customer_economics, "
            "model_prices, subscription_tiers, list_prices, calls_list_cost, price_coverage "
            "are loaded. Try: SELECT * FROM data_quality;'"]
    return argv, env
