"""Run analyzers on a loaded connection and turn their rows into plain values.

Parameters are bound as DuckDB variables (`getvariable('name')` in the SQL),
never pasted into SQL text. No business arithmetic happens here.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from decimal import Decimal

import duckdb

from .catalog import Analyzer, Query
from .errors import FinopsError
from .source import duckdb_message


_NUMERIC_TYPES = ("DECIMAL", "DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "HUGEINT",
                  "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT",
                  "UHUGEINT", "INT")


def is_numeric_type(type_name: str) -> bool:
    """A DuckDB column type shown as a number (right-aligned, formatted)."""
    return str(type_name).upper().startswith(_NUMERIC_TYPES)


@dataclass
class QueryResult:
    name: str
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    meta: dict[str, str] = field(default_factory=dict)
    title: str = ""

    def records(self) -> list[dict]:
        """Rows as JSON-ready dicts keyed by column name."""
        return [{c: jsonable(v) for c, v in zip(self.columns, row)} for row in self.rows]


@dataclass
class AnalyzerResult:
    analyzer: Analyzer
    params: dict[str, object]
    queries: dict[str, QueryResult]
    seconds: float

    def to_json(self, source: dict | None = None) -> dict:
        """The machine-readable contract of analyzers.md."""
        out: dict = {"analyzer": self.analyzer.name, "version": self.analyzer.version}
        if source is not None:
            out["source"] = source
        out["params"] = {k: jsonable(v) for k, v in self.params.items()}
        out["queries"] = {name: q.records() for name, q in self.queries.items()}
        return out


def jsonable(value):
    """One SQL value as a JSON value: exact money, ISO times, NULL for non-finite."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 \
            else float(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def resolve_params(analyzer: Analyzer, overrides: dict[str, str] | None) -> dict[str, object]:
    """The analyzer's parameters: defaults, then --param overrides, typed."""
    values = {name: p.default for name, p in analyzer.params.items()}
    for key, text in (overrides or {}).items():
        if key not in analyzer.params:
            known = ", ".join(analyzer.params) or "none"
            raise FinopsError(f"analyzer {analyzer.name} has no parameter {key!r} "
                              f"(its parameters: {known})")
        values[key] = analyzer.params[key].coerce(text, analyzer.name)
    return values


def _locate(analyzer: Analyzer, query: Query, exc: duckdb.Error) -> FinopsError:
    """A SQL error as `file:line: query NAME: message`."""
    message = duckdb_message(exc)
    line = query.line
    m = re.search(r"LINE (\d+):", str(exc))
    if m:
        line = query.line + int(m.group(1)) - 1
        message = message.split(" LINE ")[0]
    return FinopsError(f"{analyzer.path}:{line}: query {query.name}: {message}", exit_code=1)


def run_analyzer(con: duckdb.DuckDBPyConnection, analyzer: Analyzer,
                 overrides: dict[str, str] | None = None,
                 only: str | None = None) -> AnalyzerResult:
    """Run an analyzer's queries (or just `only`) on con, which holds `calls`."""
    params = resolve_params(analyzer, overrides)
    wanted = [analyzer.query(only)] if only else analyzer.visible_queries
    started = time.perf_counter()
    results: dict[str, QueryResult] = {}
    for name, value in params.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])
    try:
        for query in analyzer.queries:
            if not query.hidden and query not in wanted:
                continue
            try:
                cursor = con.execute(query.sql)
                # Setup statements (hidden queries) run but are not reported.
                rows = None if query.hidden else cursor.fetchall()
            except duckdb.Error as exc:
                raise _locate(analyzer, query, exc) from None
            if rows is None:
                continue
            columns = [d[0] for d in cursor.description]
            types = [str(d[1]) for d in cursor.description]
            results[query.name] = QueryResult(query.name, columns, types, rows,
                                              dict(query.meta), query.title)
    finally:
        for name in params:
            con.execute(f"RESET VARIABLE {name}")
    return AnalyzerResult(analyzer, params, results, time.perf_counter() - started)
