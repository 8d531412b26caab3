"""The reference facts, read from their one definition in sql/calls.sql.

The data contract's columns (`contract_columns`), the subscription tiers
(`subscription_tiers`) and the model list prices with their class and
economy model (`model_prices`) are defined once, as SQL tables in
sql/calls.sql. The simulator, the tests and the docs checks read them here
instead of typing them again.

Only the statements that create those tables (and the macros they may use)
run, in a private in-memory DuckDB, so no CSV is needed. Rows come back as
dicts keyed by column name, so a column added to a table breaks no reader.
This module holds no fact itself, and never changes the SQL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .paths import CALLS_SQL

REFERENCE_TABLES = ("contract_columns", "subscription_tiers", "model_prices")

_CREATE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(TABLE|MACRO)\s+(\w+)",
                     re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Reference:
    """The three reference tables, each a tuple of row dicts in a stable order."""

    contract_columns: tuple[dict, ...]  # by position
    subscription_tiers: tuple[dict, ...]  # by tier_rank
    model_prices: tuple[dict, ...]  # in the order calls.sql lists them

    def contract_header(self) -> tuple[str, ...]:
        """The columns every calls CSV must have, in order (optional ones left out)."""
        return tuple(c["column_name"] for c in self.contract_columns if c.get("required", True))

    def tier_fees(self) -> dict[str, object]:
        """Tier -> monthly fee (Decimal, USD), cheapest first."""
        return {t["subscription_tier"]: t["monthly_fee"] for t in self.subscription_tiers}

    def prices(self) -> dict[tuple[str, str], dict]:
        """(provider, model) -> its model_prices row."""
        return {(p["provider"], p["model"]): p for p in self.model_prices}


def _statements(text: str) -> list[str]:
    """The CREATE statements of the reference tables and of the macros, in file order."""
    keep = []
    for statement in duckdb.extract_statements(text):
        sql = "\n".join(line for line in statement.query.splitlines()
                        if not line.lstrip().startswith("--"))
        m = _CREATE.search(sql)
        if m and (m.group(1).upper() == "MACRO" or m.group(2).lower() in REFERENCE_TABLES):
            keep.append(statement.query)
    return keep


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[dict, ...]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return tuple(dict(zip(names, row)) for row in cur.fetchall())


def load(path: Path | str = CALLS_SQL) -> Reference:
    """The reference tables as defined by the calls SQL at `path`."""
    text = Path(path).read_text(encoding="utf-8")
    con = duckdb.connect(":memory:")
    try:
        for statement in _statements(text):
            con.execute(statement)
        found = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        missing = [t for t in REFERENCE_TABLES if t not in found]
        if missing:
            raise RuntimeError(f"{path} defines no table {', '.join(missing)}")
        return Reference(
            contract_columns=_rows(con, "SELECT * FROM contract_columns ORDER BY position"),
            subscription_tiers=_rows(con, "SELECT * FROM subscription_tiers ORDER BY tier_rank"),
            model_prices=_rows(con, "SELECT * FROM model_prices"),
        )
    finally:
        con.close()


@functools.cache
def reference() -> Reference:
    """The installed package's reference tables (read once per process)."""
    return load(CALLS_SQL)
