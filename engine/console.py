"""Print query results as aligned text, JSON or CSV for `run-sql` and `sql`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from .results import QueryResult, is_numeric_type, jsonable


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _flat(value) -> bool:
    """A dict or list of scalars only: one line of JSON (a result row)."""
    items = value.values() if isinstance(value, dict) else value
    return not any(isinstance(v, (dict, list)) for v in items)


def dumps(data, indent: str = "  ", _level: int = 0) -> str:
    """Strict JSON (no NaN or infinity), indented, with each row on one line.

    json's indent= falls back to its pure-Python encoder, five times slower
    on a full run-sql; rows go through the C encoder here instead.
    """
    if not isinstance(data, (dict, list)) or not data or _flat(data):
        return _compact(data)
    pad, inner = indent * _level, indent * (_level + 1)
    if isinstance(data, dict):
        body = ",\n".join(f"{inner}{_compact(str(k))}: {dumps(v, indent, _level + 1)}"
                          for k, v in data.items())
        return "{\n" + body + "\n" + pad + "}"
    body = ",\n".join(inner + dumps(v, indent, _level + 1) for v in data)
    return "[\n" + body + "\n" + pad + "]"


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.6e}"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(jsonable(value))


def text_table(result: QueryResult, max_rows: int | None = None) -> str:
    """An aligned text table, numbers right-aligned."""
    rows = result.rows if max_rows is None else result.rows[:max_rows]
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [is_numeric_type(t) for t in result.types]
    widths = [len(c) for c in result.columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    def fmt(row):
        return "  ".join(c.rjust(w) if n else c.ljust(w)
                         for c, w, n in zip(row, widths, numeric)).rstrip()
    lines = [fmt(result.columns), "  ".join("-" * w for w in widths)]
    lines += [fmt(row) for row in cells]
    if max_rows is not None and len(result.rows) > max_rows:
        lines.append(f"... {len(result.rows) - max_rows} more rows (use --format csv for all)")
    if not result.rows:
        lines.append("(no rows)")
    return "\n".join(lines)


def csv_text(result: QueryResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if v is None else _csv_value(v) for v in row])
    return buf.getvalue()


def _csv_value(value) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    value = jsonable(value)
    return "" if value is None else str(value)
