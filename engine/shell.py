"""`finops shell`: a DuckDB CLI with the calls views loaded."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .errors import FinopsError
from .paths import CALLS_SQL, EMPTY_BUDGETS, EMPTY_SUBSCRIPTIONS, FINANCE_SQL
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
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()),
               FINOPS_SUBSCRIPTIONS_PATH=str(EMPTY_SUBSCRIPTIONS),
               FINOPS_BUDGETS_PATH=str(EMPTY_BUDGETS))
    init = ("SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH'); "
            "SET VARIABLE subscriptions_path = getenv('FINOPS_SUBSCRIPTIONS_PATH'); "
            "SET VARIABLE budgets_path = getenv('FINOPS_BUDGETS_PATH');")
    # Single quotes in a path would end the .read argument; refuse clearly.
    if "'" in str(CALLS_SQL):
        raise FinopsError(f"the finops install path contains a quote: {CALLS_SQL}")
    argv = [duckdb_cli(), "-cmd", init, "-cmd", f".read '{CALLS_SQL}'",
            "-cmd", f".read '{FINANCE_SQL}'", "-cmd",
            ".print 'finops: calls, calls_rejected, data_quality, customer_economics, "
            "actions, actions_total, model_prices, subscription_tiers are loaded. "
            "Try: SELECT * FROM actions_total;'"]
    return argv, env
