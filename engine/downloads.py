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
import re
from decimal import Decimal

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
    for row in result.rows:
        writer.writerow([fix(cell_text(v)) if isinstance(v, str) else cell_text(v) for v in row])
    return buf.getvalue()


def analyzer_json(result: AnalyzerResult, source: dict | None = None) -> str:
    """The whole analyzer as run-sql's JSON contract (exact values, not for spreadsheets)."""
    return json.dumps(result.to_json(source), ensure_ascii=False, allow_nan=False,
                      indent=1) + "\n"


def csv_name(analyzer: str, query: str) -> str:
    return f"{analyzer}-{query}.csv"


def json_name(analyzer: str) -> str:
    return f"{analyzer}.json"
