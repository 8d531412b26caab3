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

    def records(self, public: bool = False) -> Records:
        """Rows as JSON-ready dicts keyed by column name. A headline row whose unit
        is `count` holds a whole number in a DECIMAL value column: it is an integer.
        public: leave out the internal columns (a name starting with `_`, such as a
        chart's `_label`), as the analyzers' JSON contract does."""
        names = self.columns
        rows = self.rows
        if public and any(name.startswith("_") for name in names):
            keep = [i for i, name in enumerate(names) if not name.startswith("_")]
            names = [names[i] for i in keep]
            rows = [tuple(row[i] for i in keep) for row in rows]
        columns = list(zip(*rows)) if rows else []
        # Converted a column at a time, by the kinds of value it holds (json of
        # run-sql all was mostly this conversion, value by value).
        kinds = [set(map(type, values)) for values in columns]
        converted = [_json_column(values, k) for values, k in zip(columns, kinds)]
        out = Records(dict(zip(names, row)) for row in zip(*converted)) if converted else \
            Records({} for _ in rows)
        out.flat = not any(k & _NESTED_IN for k in kinds)
        if "unit" in self.columns and "value" in self.columns:
            for record in out:
                record["value"] = headline_value(record["value"], record["unit"])
        return out


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
        out["queries"] = {name: q.records(public=True) for name, q in self.queries.items()}
        return out


class Records(list):
    """A query's rows as JSON-ready dicts; flat: no value is a list or an object
    (console.dumps prints each such row on one line without looking inside)."""

    flat = False


_PLAIN = frozenset((type(None), bool, int, str))
_NESTED_IN = frozenset((list, tuple, dict))  # jsonable() makes them JSON arrays and objects
_TIMES = frozenset((type(None), datetime, date, dtime))


def _json_decimal(value):
    """jsonable() of a Decimal or None, read off its text (as_tuple() is slow):
    a negative exponent shows as a point in plain notation or as E- in
    scientific notation (E+ is a positive one); float(Decimal) parses that text too."""
    if value is None or not value.is_finite():
        return None
    text = str(value)
    if "E" in text:
        return float(text) if "E-" in text else int(value)
    return float(text) if "." in text else int(value)


def _json_float(value):
    return value if value is None or math.isfinite(value) else None


def _json_column(values: tuple, kinds: set) -> tuple | list:
    """jsonable() of every value of one column (kinds: their types): as is when
    they are all plain."""
    if kinds <= _PLAIN:
        return values
    if kinds <= {type(None), float}:
        # filter(None, ...) skips None (and 0.0, finite anyway)
        return values if all(map(math.isfinite, filter(None, values))) \
            else list(map(_json_float, values))
    if kinds <= {type(None), Decimal}:
        return list(map(_json_decimal, values))
    if kinds <= _TIMES:
        return [None if v is None else v.isoformat() for v in values]
    return list(map(jsonable, values))


def headline_value(value, unit):
    """A headline's JSON value (jsonable) by its unit: a count is a whole number."""
    value = jsonable(value)
    if unit == "count" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def jsonable(value):
    """One SQL value as a JSON value: exact money, ISO times, NULL for non-finite."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return _json_decimal(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


