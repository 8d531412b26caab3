"""`finops shell`: a DuckDB CLI with the calls views loaded, and nothing else in sight.

sql/calls.sql builds `calls` from staging tables (the raw rows, reject
lists, the header check). The shell loads it quietly, keeps the objects a
user queries (USER_OBJECTS) as plain tables in `main`, drops the staging
ones, and prints a banner that lists the tables and the macros. The DuckDB
CLI comes with the `shell` extra: `pip install 'finops[shell]'`.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import FinopsError
from .paths import CALLS_SQL
from .session import connect, require_csv

# What a user queries in the shell (README "Ad-hoc questions"); the rest is staging.
USER_OBJECTS = ("calls", "calls_rejected", "data_quality", "period", "customer_economics",
                "model_prices", "subscription_tiers", "contract_columns",
                "list_prices", "calls_list_cost", "price_coverage")
# Of those, the ones calls.sql and sql/prices/ define as views.
_VIEWS = ("calls", "calls_rejected", "data_quality", "calls_list_cost", "price_coverage")
# Staging tables of sql/prices/ (calls.sql's are found by loaded_objects).
_PRICE_STAGING = ("list_price_models", "list_price_providers", "call_list_models",
                  "calls_daily_tokens")
INSTALL_HINT = "pip install 'finops[shell]'"


def duckdb_cli() -> str:
    """The DuckDB CLI of the `shell` extra (duckdb-cli), or one on PATH."""
    beside = Path(sys.executable).parent / "duckdb"
    if beside.exists():
        return str(beside)
    found = shutil.which("duckdb")
    if not found:
        raise FinopsError(f"`finops shell` needs the DuckDB CLI: run `{INSTALL_HINT}` "
                          "(or install duckdb on PATH) and try again")
    return found


@functools.lru_cache(maxsize=1)
def loaded_objects() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(staging tables, staging views, macro signatures) that calls.sql defines.

    Found by running calls.sql over a header-only CSV, so a table added to
    calls.sql is hidden (or listed) without editing this module.
    """
    from .check import header_only_csv

    con = connect(memory_limit="256MB", threads=1)
    try:
        with tempfile.TemporaryDirectory(prefix="finops-shell-") as folder:
            con.execute("SET VARIABLE csv_path = ?", [str(header_only_csv(con, Path(folder)))])
            con.execute(CALLS_SQL.read_text(encoding="utf-8"))
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name").fetchall()]
        views = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal "
            "ORDER BY view_name").fetchall()]
        macros = [f"{name}({', '.join(params)})" for name, params in con.execute(
            "SELECT function_name, parameters FROM duckdb_functions() "
            "WHERE database_name = 'temp' AND function_type = 'macro' "
            "ORDER BY function_name").fetchall()]
    finally:
        con.close()
    return (tuple(t for t in tables if t not in USER_OBJECTS),
            tuple(v for v in views if v not in USER_OBJECTS), tuple(macros))


def banner() -> str:
    _, _, macros = loaded_objects()
    return (f"finops: tables {', '.join(USER_OBJECTS)}; macros {', '.join(macros)}. "
            "Try: SELECT * FROM data_quality;")


def init_commands() -> list[str]:
    """The shell's start-up commands: load quietly, keep user objects, drop staging."""
    staging_tables, staging_views, _ = loaded_objects()
    keep = " ".join(f"CREATE TABLE main.{name} AS SELECT * FROM temp.{name};"
                    for name in USER_OBJECTS)
    drop = " ".join([*(f"DROP VIEW IF EXISTS temp.{v};" for v in staging_views),
                     *(f"DROP VIEW IF EXISTS temp.{n};" for n in _VIEWS),
                     *(f"DROP TABLE IF EXISTS temp.{n};" for n in USER_OBJECTS
                       if n not in _VIEWS),
                     *(f"DROP TABLE IF EXISTS temp.{t};" for t in (*staging_tables,
                                                                   *_PRICE_STAGING))])
    # Single quotes in a path would end the .read argument; refuse clearly.
    if "'" in str(CALLS_SQL):
        raise FinopsError(f"the finops install path contains a quote: {CALLS_SQL}")
    prices = CALLS_SQL.parent / "prices"
    settings = ("SET VARIABLE min_call_date = CAST(nullif(getenv('FINOPS_MIN_CALL_DATE'), '') AS DATE); "
                "SET VARIABLE max_call_date = CAST(nullif(getenv('FINOPS_MAX_CALL_DATE'), '') AS DATE); "
                "SET VARIABLE ignore_extra_columns = "
                "lower(getenv('FINOPS_IGNORE_EXTRA_COLUMNS')) IN ('1', 'true', 'yes', 'on'); "
                "SET VARIABLE list_prices_dir = getenv('FINOPS_PRICES_DIR');")
    # List prices (list_prices, calls_list_cost, price_coverage) load after
    # calls.sql and stay in temp, beside the user objects.
    return [f".output {os.devnull}",  # calls.sql's header check prints a one-row table
            "SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH');", settings,
            f".read '{CALLS_SQL}'", f".read '{prices / 'list_prices.sql'}'",
            f".read '{prices / 'calls_list_prices.sql'}'", keep, drop, ".output",
            f".print '{banner()}'"]


def shell_invocation(csv_path: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a DuckDB shell with the calls views loaded.

    The CSV path reaches SQL through an environment variable and getenv(),
    never pasted into SQL text.
    """
    path = Path(csv_path)
    require_csv(path)
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()),
               FINOPS_PRICES_DIR=str(CALLS_SQL.parent / "prices"))
    argv = [duckdb_cli()]
    for command in init_commands():
        argv += ["-cmd", command]
    return argv, env
