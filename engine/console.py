"""Print query results as aligned text, JSON or CSV for `run-sql` and `sql`.

Terminal formatting only: what the user reads or pipes. HTML formatting is
render.py's; both take column kinds from analyzer_format.column_kind.
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal

from .analyzer_format import column_kind
from .results import QueryResult, is_numeric_type, jsonable


# One encoder for every call: json.dumps with options builds a new one each time.
_compact = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

_NESTED = (dict, list)


def _flat(value) -> bool:
    """A dict or list of scalars only: one line of JSON (a result row)."""
    items = value.values() if isinstance(value, dict) else value
    return not any(isinstance(v, _NESTED) for v in items)


def dumps(data, indent: str = "  ", _level: int = 0) -> str:
    """Strict JSON (no NaN or infinity), indented, with each row on one line.

    json's indent= falls back to its pure-Python encoder, five times slower
    on a full run-sql; rows go through the C encoder here instead.
    """
    if not isinstance(data, _NESTED) or not data or _flat(data):
        return _compact(data)
    pad, inner = indent * _level, indent * (_level + 1)
    if isinstance(data, dict):
        body = ",\n".join(f"{inner}{_compact(str(k))}: {dumps(v, indent, _level + 1)}"
                          for k, v in data.items())
        return "{\n" + body + "\n" + pad + "}"
    if getattr(data, "flat", False):
        # A query's rows, none holding a list or an object (results.Records): each on one line.
        body = (",\n" + inner).join(map(_compact, data))
        return "[\n" + inner + body + "\n" + pad + "]"
    body = ",\n".join(inner + dumps(v, indent, _level + 1) for v in data)
    return "[\n" + body + "\n" + pad + "]"


def _cell(value, kind: str = "number") -> str:
    """One value for the terminal: counts as integers, percentages to two decimals,
    exact money (trailing zeros dropped), other numbers to six significant digits."""
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(jsonable(value))
    if kind == "text":
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NULL"
    if kind == "pct":
        return f"{float(value):.2f}"
    if isinstance(value, int) or (value == int(value) and kind not in ("money", "price")):
        return str(int(value))
    if isinstance(value, Decimal):
        text = format(value, "f")  # money stays exact, to the micro-dollar
        return text if kind in ("money", "price") or "." not in text else text.rstrip("0").rstrip(".")
    return f"{value:.6g}" if abs(value) < 1e15 else f"{value:.6e}"


_UNIT_KINDS = {"usd": "money", "pct": "pct", "ms": "number", "count": "number",
               "days": "number", "text": "text"}


def text_table(result: QueryResult, max_rows: int | None = None,
               formats: dict[str, str] | None = None) -> str:
    """An aligned text table, numbers right-aligned and formatted by column kind
    (the `format` hint, else the column's name; a headline's value by its unit)."""
    rows = result.rows if max_rows is None else result.rows[:max_rows]
    kinds = [column_kind(c, formats) for c in result.columns]
    unit_at = result.columns.index("unit") if "unit" in result.columns else None
    value_at = result.columns.index("value") if "value" in result.columns else None

    def row_cells(row):
        cells = []
        for n, (v, kind) in enumerate(zip(row, kinds)):
            if n == value_at and unit_at is not None:
                kind = _UNIT_KINDS.get(str(row[unit_at]).lower(), "number")
            cells.append(_cell(v, kind))
        return cells

    cells = [row_cells(row) for row in rows]
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


def source_summary(source) -> str:
    """One line on what was read: rows kept, rows rejected, duplicates dropped, time range."""
    parts = [f"source: {source.csv_path}", f"rows {source.rows:,}",
             f"rejected {source.rows_rejected:,}"]
    if source.duplicate_call_ids:
        parts.append(f"duplicates {source.duplicate_call_ids:,} (repeated call_ids counted once)")
    parts.append(f"{source.first_call} .. {source.last_call}")
    return "  ".join(parts)


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
