"""What a query returns: result types and the conversion of DuckDB values to plain JSON values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from decimal import Decimal

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalog import Analyzer



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

    @property
    def formats(self) -> dict[str, str]:
        """The query's `-- format: col=kind` hint as {column: kind}."""
        from .analyzer_format import parse_formats

        try:
            return parse_formats(self.meta["format"]) if self.meta.get("format") else {}
        except ValueError:
            return {}

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


