"""`finops shell`: a DuckDB CLI with the calls views loaded, and nothing else in sight.

sql/calls.sql builds `calls` from staging tables (the raw rows, reject
lists, the header check). The shell loads it quietly, keeps the objects a
user queries (USER_OBJECTS) as plain tables in `main`, drops the staging
ones, and prints a banner that lists the tables and the macros. The DuckDB
CLI comes with the `shell` extra: `pip install 'finops[shell]'`. By default
the rows come from the calls store (engine/store.py): shell_session().
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import linefix
from .errors import FinopsError
from .paths import CALLS_SQL, EMPTY_BUDGETS, EMPTY_SUBSCRIPTIONS, FINANCE_SQL
from .session import connect, load_list_prices, require_csv

# What a user queries in the shell (README "Ad-hoc questions"); the rest is staging.
USER_OBJECTS = ("calls", "calls_rejected", "data_quality", "period", "customer_economics",
                "model_prices", "subscription_tiers", "contract_columns",
                "list_prices", "calls_list_cost", "price_coverage",
                # sql/finance.sql: revenue by day, the ledger of actions and what it rests on
                "revenue_days", "actions", "actions_total", "churn_signals", "alert_policy",
                "sla_targets", "finance_assumptions", "budget_vs_actual")
# Of those, the ones calls.sql, sql/prices/ and sql/finance.sql define as views.
_VIEWS = ("calls", "calls_rejected", "data_quality", "calls_list_cost", "price_coverage",
          "actions_total", "churn_signals", "budget_vs_actual")  # actions: a table (stored ledger)
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
            before = set(_temp_tables(con))
            load_list_prices(con)  # finance.sql's ledger reads them, as the shell loads them
            prices = set(_temp_tables(con)) - before  # not staging: they stay in the shell
            con.execute("SET VARIABLE subscriptions_path = ?", [str(EMPTY_SUBSCRIPTIONS)])
            con.execute("SET VARIABLE budgets_path = ?", [str(EMPTY_BUDGETS)])
            con.execute(FINANCE_SQL.read_text(encoding="utf-8"))
        tables = [t for t in _temp_tables(con) if t not in prices]
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


def _temp_tables(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY table_name").fetchall()]


def banner() -> str:
    _, _, macros = loaded_objects()
    return (f"finops: tables {', '.join(USER_OBJECTS)}; macros {', '.join(macros)}. "
            "Try: SELECT * FROM data_quality;")


def init_commands(load: list[str] | None = None,
                  staging_views: tuple[str, ...] = ()) -> list[str]:
    """The shell's start-up commands: load quietly, keep user objects, drop staging.

    load: the commands that define the objects (default: calls.sql on
    $FINOPS_CSV_PATH); staging_views: views of theirs to drop besides.
    """
    staging_tables, calls_sql_views, _ = loaded_objects()
    staging_views = tuple(staging_views) + calls_sql_views
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
                "lower(getenv('FINOPS_IGNORE_EXTRA_COLUMNS')) IN ('1', 'true', 'yes', 'on');")
    if load is None:
        load = ["SET VARIABLE csv_path = getenv('FINOPS_CSV_PATH');",
                "SET VARIABLE csv_buffer_size = "
                "CAST(nullif(getenv('FINOPS_CSV_BUFFER_SIZE'), '') AS BIGINT);",
                "SET VARIABLE csv_max_line_size = getvariable('csv_buffer_size');", settings,
                f".read '{CALLS_SQL}'"]
    # List prices (list_prices, calls_list_cost, price_coverage) load after
    # the calls (from calls.sql or the store) and stay in temp, beside the
    # user objects.
    return [f".output {os.devnull}",  # calls.sql's header check prints a one-row table
            *load, "SET VARIABLE list_prices_dir = getenv('FINOPS_PRICES_DIR');",
            "SET VARIABLE subscriptions_path = getenv('FINOPS_SUBSCRIPTIONS_PATH');",
            "SET VARIABLE budgets_path = getenv('FINOPS_BUDGETS_PATH');",
            f".read '{prices / 'list_prices.sql'}'",
            f".read '{prices / 'calls_list_prices.sql'}'", f".read '{FINANCE_SQL}'",
            keep, drop, ".output",
            f".print '{banner()}'"]


def shell_invocation(csv_path: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """argv and environment for a DuckDB shell with the calls views loaded.

    The CSV path reaches SQL through an environment variable and getenv(),
    never pasted into SQL text.
    """
    path = Path(csv_path)
    require_csv(path)
    size = path.stat().st_size
    env = dict(os.environ, FINOPS_CSV_PATH=str(path.resolve()),
               FINOPS_CSV_BUFFER_SIZE=str(linefix.safe_buffer_size(path, size)),
               FINOPS_PRICES_DIR=str(CALLS_SQL.parent / "prices"),
               FINOPS_SUBSCRIPTIONS_PATH=str(EMPTY_SUBSCRIPTIONS),
               FINOPS_BUDGETS_PATH=str(EMPTY_BUDGETS))
    argv = [duckdb_cli()]
    for command in init_commands():
        argv += ["-cmd", command]
    return argv, env


@contextmanager
def shell_session(csv_path: str | os.PathLike, cache: bool = True):
    """(argv, env) of a DuckDB shell over the store of csv_path, held open while in the block.

    The store is brought up to date first and share-locked until the block
    ends, so no build deletes a segment the shell is reading. cache=False:
    a throwaway store in the temp folder, read by the same reader as the
    store (so a damaged file's rejects, and a line over the 2 MB limit,
    are what `run-sql --no-cache` sees); the plain shell_invocation
    (calls.sql on the file) only when calls.sql has no stages.
    """
    from . import store as store_mod

    if store_mod.is_single_csv(csv_path) and not store_mod.has_stages():
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
        argv = [duckdb_cli()]
        # calls_loaded is a view over the store's Parquet here (a table when
        # calls.sql reads the file itself).
        for command in init_commands(load=[f".read '{init}'"], staging_views=("calls_loaded",)):
            argv += ["-cmd", command]
        yield argv, dict(os.environ, FINOPS_PRICES_DIR=str(CALLS_SQL.parent / "prices"),
                         FINOPS_SUBSCRIPTIONS_PATH=str(EMPTY_SUBSCRIPTIONS),
                         FINOPS_BUDGETS_PATH=str(EMPTY_BUDGETS))
    finally:
        store.close()
        Path(init).unlink(missing_ok=True)
