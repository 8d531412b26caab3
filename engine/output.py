"""Print query results as aligned text, JSON or CSV for `run-sql` and `sql`."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from .runner import QueryResult, jsonable


def dumps(data) -> str:
    """Strict JSON: NaN and infinity can never appear (jsonable made them null)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


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
    numeric = [t.startswith(("DECIMAL", "DOUBLE", "FLOAT", "INT", "BIGINT", "HUGEINT", "SMALLINT",
                             "TINYINT", "UBIGINT", "UINTEGER", "NUMBER"))
               for t in result.types]
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
