"""Filters: narrow every report by date range, organization, customer, provider, model, environment.

The analyzers run unchanged: sql/filters.sql renames the loaded `calls` view
to `calls_unfiltered` and defines `calls` again as a view that reads the
filter values through getvariable(). This module validates what a user or a
browser asks for (typed dates, known keys, bounded lengths: no SQL from
anywhere), binds the values as DuckDB variables, recomputes calls.sql's
shared tables (period, customer_economics) for the narrowed calls, and
compares headline figures with the previous period of the same length (the
arithmetic is SQL in sql/filters.sql). It renders nothing and serves nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import duckdb

from .errors import FinopsError, duckdb_message
from .paths import CALLS_SQL, FILTERS_SQL, SQL_DIR
from .results import QueryResult, jsonable
from .session import shared

# The keys a user may filter on, in the order they are shown, and the
# contract column each text key matches exactly.
TEXT_KEYS = {"organization": "organization_id", "customer": "customer_id",
             "provider": "provider", "model": "model", "environment": "environment"}
DATE_KEYS = ("from", "to")
KEYS = (*DATE_KEYS, *TEXT_KEYS)
MAX_VALUE_LENGTH = 200
_SHARED_MARKER = "-- Shared definitions"
# Tables of per-call list prices, computed from `calls` at load (session.py).
CALLS_LIST_PRICES_SQL = SQL_DIR / "prices" / "calls_list_prices.sql"
FINANCE_SQL = SQL_DIR / "finance.sql"


@dataclass(frozen=True)
class Filters:
    """What the reports are narrowed to; None means not filtered on that key."""

    date_from: date | None = None
    date_to: date | None = None
    organization: str | None = None
    customer: str | None = None
    provider: str | None = None
    model: str | None = None
    environment: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def items(self) -> list[tuple[str, str]]:
        """(key, value) pairs as the URL and the CLI spell them, in KEYS order."""
        out = []
        if self.date_from:
            out.append(("from", self.date_from.isoformat()))
        if self.date_to:
            out.append(("to", self.date_to.isoformat()))
        out += [(key, getattr(self, key)) for key in TEXT_KEYS if getattr(self, key) is not None]
        return out

    def query_string(self) -> str:
        """`from=2025-10-01&organization=org_003`: a shareable URL's query."""
        return urlencode(self.items())

    def describe(self) -> str:
        """One line for a banner: `2025-10-01 → 2025-10-31 · organization org_003`."""
        parts = []
        if self.date_from or self.date_to:
            parts.append(f"{self.date_from or 'start'} → {self.date_to or 'end'}")
        parts += [f"{key} {getattr(self, key)}" for key in TEXT_KEYS if getattr(self, key)]
        return " · ".join(parts) or "all calls"

    def variables(self) -> dict[str, object]:
        return {"filter_from": self.date_from, "filter_to": self.date_to,
                **{f"filter_{key}": getattr(self, key) for key in TEXT_KEYS}}


def _clean_text(key: str, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_VALUE_LENGTH:
        raise FinopsError(f"filter {key} is longer than {MAX_VALUE_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise FinopsError(f"filter {key} contains a control character")
    return value


def _parse_date(key: str, value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise FinopsError(f"filter {key} must be a date YYYY-MM-DD, not {value[:40]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FinopsError(f"filter {key} is not a real date: {value}") from None


def parse(pairs, *, source: str = "filter") -> Filters:
    """Filters from (key, value) pairs (a URL's query, --where KEY=VALUE, --from/--to).

    Unknown keys, a key given twice, bad dates, over-long or control-character
    values and a range that ends before it starts are each a FinopsError with
    one line that says what to fix. Empty values mean "not filtered".
    """
    seen: dict[str, str] = {}
    for key, value in pairs:
        key = str(key).strip().lower()
        if key not in KEYS:
            known = TEXT_KEYS if source == "--where" else KEYS
            raise FinopsError(f"unknown {source} key {key[:40]!r}; use one of: {', '.join(known)}")
        if key in seen and str(value).strip() and seen[key].strip():
            raise FinopsError(f"{source} {key} is given twice; give each key once")
        if len(str(value)) > MAX_VALUE_LENGTH:
            raise FinopsError(f"filter {key} is longer than {MAX_VALUE_LENGTH} characters")
        if str(value).strip() or key not in seen:
            seen[key] = str(value)
    result = Filters(
        date_from=_parse_date("from", seen.get("from", "")),
        date_to=_parse_date("to", seen.get("to", "")),
        **{key: _clean_text(key, seen.get(key, "")) for key in TEXT_KEYS})
    if result.date_from and result.date_to and result.date_to < result.date_from:
        raise FinopsError(f"filter to ({result.date_to}) is before from ({result.date_from})")
    return result


def parse_where(where: tuple[str, ...] | list[str], date_from: str | None = None,
                date_to: str | None = None) -> Filters:
    """The CLI's `--from DATE --to DATE --where KEY=VALUE ...`."""
    pairs = [("from", date_from or ""), ("to", date_to or "")]
    for item in where:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise FinopsError(f"--where {item!r} must be KEY=VALUE, e.g. --where organization=org_003 "
                              f"(keys: {', '.join(TEXT_KEYS)})")
        if key.strip().lower() in DATE_KEYS:
            raise FinopsError(f"use --{key.strip().lower()} DATE for dates, not --where")
        pairs.append((key, value))
    return parse(pairs, source="--where")


# --- in DuckDB ---------------------------------------------------------------

def _shared_definitions() -> str:
    """The SQL that computes tables from `calls` at load time, run again
    whenever the filters change: calls.sql's shared part (period,
    customer_economics) and the per-call list prices (sql/prices/)."""
    text = CALLS_SQL.read_text(encoding="utf-8")
    at = text.find(_SHARED_MARKER)
    if at < 0:
        raise FinopsError(f"{CALLS_SQL}: no '{_SHARED_MARKER}' section; filters need it")
    derived = [text[at:]]
    if CALLS_LIST_PRICES_SQL.is_file():
        derived.append(CALLS_LIST_PRICES_SQL.read_text(encoding="utf-8"))
    # sql/finance.sql (revenue by day, the ledger, budgets) reads `calls` too.
    derived.append(FINANCE_SQL.read_text(encoding="utf-8"))
    return "\n;\n".join(derived)


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the filtered `calls` view over the loaded calls (once per session)."""
    # `calls` is a view over the loaded rows today; a store may make it a table.
    kind = "TABLE" if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'calls'"
                                  ).fetchone()[0] else "VIEW"
    try:
        con.execute(f"ALTER {kind} calls RENAME TO calls_unfiltered")
        con.execute(shared(FILTERS_SQL.read_text(encoding="utf-8")))
    except duckdb.Error as exc:
        raise FinopsError(f"{FILTERS_SQL}: {duckdb_message(exc)}") from None


def apply(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    """Bind the filter values and recompute the shared tables for them."""
    for name, value in filters.variables().items():
        if value is None:
            con.execute(f"RESET VARIABLE {name}")
        else:
            con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute(shared(_shared_definitions()))


def installed(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() "
                            "WHERE view_name = 'calls_unfiltered'").fetchone()[0])


@dataclass(frozen=True)
class Window:
    """The dates the reports cover, and the previous period of the same length."""

    start: date | None
    end: date | None
    days: int
    previous_start: date | None
    previous_end: date | None
    has_previous: bool

    def previous_filters(self, filters: Filters) -> Filters:
        return replace(filters, date_from=self.previous_start, date_to=self.previous_end)


def window(con: duckdb.DuckDBPyConnection) -> Window:
    row = con.execute("SELECT start_date, end_date, days, previous_start, previous_end, "
                      "has_previous FROM filter_window").fetchone()
    start, end, days, pstart, pend, has = row
    return Window(start, end, int(days or 0), pstart, pend, bool(has))


def choices(con: duckdb.DuckDBPyConnection, limit: int = 500) -> dict[str, list[str]]:
    """Values each text key takes in the whole file (most used first, capped), for the filter bar."""
    out: dict[str, list[str]] = {key: [] for key in TEXT_KEYS}
    for key, value, _calls in con.execute("SELECT * FROM filter_choices(?)", [limit]).fetchall():
        out[key].append(value)
    return out


def _text(value) -> str | None:
    """A headline value as exact text (Decimal keeps every digit) for the SQL join."""
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(jsonable(value))


def previous_headlines(con: duckdb.DuckDBPyConnection, analyzers, filters: Filters,
                       win: Window) -> dict[str, QueryResult | None]:
    """Each analyzer's headline query run on the previous period (same filters
    otherwise); empty when the data does not reach back that far."""
    from .analyze import run_analyzer

    if not win.has_previous:
        return {}
    out: dict[str, QueryResult | None] = {}
    apply(con, win.previous_filters(filters))
    try:
        for analyzer in analyzers:
            if any(q.name == "headline" for q in analyzer.visible_queries):
                out[analyzer.name] = run_analyzer(con, analyzer, only="headline").queries["headline"]
    finally:
        apply(con, filters)
    return out


def headline_changes(con: duckdb.DuckDBPyConnection, current: QueryResult | None,
                     previous: QueryResult | None) -> list[dict]:
    """Each current headline row's change against the previous period, joined by position in SQL.

    Returns one dict per current row, in order: label, change, change_pct,
    previous_value, compared (False: no previous figure at that position).
    """
    if current is None:
        return []
    for table, result in (("headline_current", current), ("headline_previous", previous)):
        con.execute(f"DELETE FROM {table}")  # tables made by sql/filters.sql
        if result is None:
            continue
        index = {c: i for i, c in enumerate(result.columns)}
        if not {"label", "value", "unit"} <= index.keys():
            continue
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", [
            [n, str(row[index["label"]]),
             _text(row[index["value"]]),
             str(row[index["unit"]] or "text")]
            for n, row in enumerate(result.rows)])
    cursor = con.execute("SELECT * FROM headline_changes()")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
