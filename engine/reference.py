"""Reference facts read from sql/calls.sql: the contract's columns and the subscription tiers.

calls.sql is the one definition of these facts. This module runs the part
of it that needs no CSV (its macros and reference tables, every statement
before the first one that reads `csv_path`) in a throw-away in-memory
DuckDB and hands Python the rows. It must not hold copies of the values.
"""

from __future__ import annotations

import functools

import duckdb

from .paths import CALLS_SQL

# Contract 1.1's optional columns, written after the 19 in this order by
# finops's own writers (the exporter and `finops import`). sql/calls.sql
# matches them by header name.
OPTIONAL_COLUMNS = ("cache_read_input_tokens", "cache_write_input_tokens",
                    "reasoning_output_tokens", "status", "error_type", "cost_source")

# The environments the contract allows (calls.sql checks them in its row
# rules; it has no table of them).
ENVIRONMENTS = ("production", "staging", "development")


@functools.lru_cache(maxsize=1)
def _reference_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET python_enable_replacements = false")
    for statement in duckdb.extract_statements(CALLS_SQL.read_text(encoding="utf-8")):
        code = "\n".join(line for line in statement.query.splitlines()
                         if not line.lstrip().startswith("--"))
        if "csv_path" in code:
            break
        con.execute(statement.query)
    return con


@functools.lru_cache(maxsize=1)
def contract_columns() -> tuple[str, ...]:
    """The required columns in header order, from calls.sql's contract_columns."""
    con = _reference_connection()
    rows = con.execute("SELECT column_name FROM contract_columns ORDER BY position").fetchall()
    return tuple(r[0] for r in rows)


@functools.lru_cache(maxsize=1)
def written_header() -> tuple[str, ...]:
    """The header finops's writers use: the contract columns, then the 1.1 optional ones."""
    base = contract_columns()
    return base + tuple(c for c in OPTIONAL_COLUMNS if c not in base)


@functools.lru_cache(maxsize=1)
def subscription_tiers() -> tuple[str, ...]:
    """The tier names, cheapest first, from calls.sql's subscription_tiers."""
    con = _reference_connection()
    rows = con.execute("SELECT subscription_tier FROM subscription_tiers ORDER BY tier_rank").fetchall()
    return tuple(r[0] for r in rows)
