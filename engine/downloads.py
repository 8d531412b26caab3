"""Downloads of report data: CSV meant for spreadsheets, and JSON of a whole analyzer.

A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula, so a model or customer name such as
`=HYPERLINK(...)` or `+cmd|...` in the data becomes code on the reader's
machine (CSV injection). Following the OWASP advice, every download meant
for a spreadsheet prefixes such a text cell with a single quote and quotes
every field; numbers (including negative ones) are left as they are.
Machine output (`run-sql --format csv` without `--safe-csv`, the JSON
download) stays exact. This module formats files; it computes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from decimal import Decimal
from json.encoder import encode_basestring

from .results import AnalyzerResult, QueryResult, jsonable

# OWASP "CSV Injection": the characters that start a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def is_formula_risk(text: str) -> bool:
    """A text cell a spreadsheet would evaluate: starts with a formula character
    and is not simply a number such as -12.5."""
    return text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text)


def neutralize(text: str) -> str:
    """The OWASP neutralization: a leading single quote makes the cell text."""
    return "'" + text if is_formula_risk(text) else text


def cell_text(value) -> str:
    """One SQL value as exact CSV text: money with all its decimals, ISO times, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def csv_text(result: QueryResult, *, safe: bool = False) -> str:
    """The query as CSV with a header row; safe=True neutralizes formula cells
    and quotes every field (for a spreadsheet), otherwise exact (for machines)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n",
                        quoting=csv.QUOTE_ALL if safe else csv.QUOTE_MINIMAL)
    fix = neutralize if safe else (lambda text: text)
    writer.writerow([fix(c) for c in result.columns])
    # A column at a time (cell_text() value by value was most of the time).
    columns = [_csv_column(values, fix) for values in zip(*result.rows)]
    writer.writerows(zip(*columns))
    return buf.getvalue()


def _csv_column(values: tuple, fix) -> list | tuple:
    """cell_text() of a column's values, text cells through fix."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return list(map(fix, values))
    if kinds <= {int, type(None)}:  # bool is not int here: type() is exact
        return ["" if v is None else int.__repr__(v) for v in values]
    if kinds <= {Decimal, type(None)}:
        return ["" if v is None else format(v, "f") for v in values]
    return [fix(cell_text(v)) if isinstance(v, str) else cell_text(v) for v in values]


def analyzer_json(result: AnalyzerResult, source: dict | None = None) -> str:
    """The whole analyzer as run-sql's JSON contract (exact values, not for spreadsheets)."""
    return indented_json(result.to_json(source)) + "\n"


def _json_float(value: float) -> str:
    if value != value or value in (math.inf, -math.inf):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)


# Scalars as json writes them (json.encoder: float.__repr__, int.__repr__).
_SCALARS = {str: encode_basestring, int: int.__repr__, float: _json_float,
            bool: lambda v: "true" if v else "false", type(None): lambda v: "null"}


def indented_json(data, indent: int = 1, _level: int = 0) -> str:
    """json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False), the
    same text, without json's pure-Python encoder (which indent= falls back to:
    most of a build's time went into writing the JSON downloads).
    Strings, numbers, booleans and null go through json's own scalar encoders."""
    encode = _SCALARS.get(type(data))
    if encode is not None:
        return encode(data)
    if not isinstance(data, (dict, list)):  # anything else: json's own rules
        return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent)
    if not data:
        return "{}" if isinstance(data, dict) else "[]"
    inner = "\n" + " " * (indent * (_level + 1))
    outer = "\n" + " " * (indent * _level)
    level = _level + 1
    if isinstance(data, dict):
        if not all(type(k) is str for k in data):
            return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent)
        items = [encode_basestring(k) + ": " + indented_json(v, indent, level)
                 for k, v in data.items()]
        return "{" + inner + ("," + inner).join(items) + outer + "}"
    if getattr(data, "flat", False) and all(type(v) is dict for v in data):
        items = _flat_rows(data, inner, indent, level)
    else:
        items = [indented_json(v, indent, level) for v in data]
    return "[" + inner + ("," + inner).join(items) + outer + "]"


def _flat_rows(rows, outer: str, indent: int, level: int) -> list[str]:
    """A query's rows (results.Records, no list or object inside), each key
    encoded once for all rows that share the columns."""
    inner = "\n" + " " * (indent * (level + 1))
    out, prefixes, keys = [], [], None
    for row in rows:
        if not row:
            out.append("{}")
            continue
        if keys != (keys := list(row)):
            prefixes = [inner + encode_basestring(k) + ": " for k in keys]
        out.append("{" + ",".join([p + (_SCALARS.get(type(v)) or indented_json)(v)
                                   for p, v in zip(prefixes, row.values())])
                   + outer + "}")
    return out


def csv_name(analyzer: str, query: str) -> str:
    return f"{analyzer}-{query}.csv"


def json_name(analyzer: str) -> str:
    return f"{analyzer}.json"
