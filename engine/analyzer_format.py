"""The analyzer file format as data: every header key, query hint and allowed value.

One table, three readers: the parser (catalog.py) refuses a key that is not
listed here, the checker (check.py) validates values and column names
against it, and reference_markdown() writes the reference in
docs/analyzers.md and sql/README.md (tests/test_docs.py fails when those are
stale; `python -m finops.engine.analyzer_format --write` rewrites them).
Column display formats (money, pct, ...) by name live here too, so the
reports, the terminal and the docs agree. This module runs no SQL and
reads no files except when asked to write the docs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Key:
    """One `-- key: value` line an analyzer file may hold."""

    name: str
    values: str    # what it takes, as shown in the docs
    meaning: str
    required: bool = False
    repeatable: bool = False


CATEGORIES = {"finops": "FinOps", "ubr": "Usage-based revenue"}

HEADER_KEYS: tuple[Key, ...] = (
    Key("name", "a plain name, equal to the file name", "the analyzer's id", required=True),
    Key("title", "text", "the report's title", required=True),
    Key("category", " or ".join(f"`{c}`" for c in CATEGORIES), "where the report is listed",
        required=True),
    Key("version", "a whole number, 1 or more", "bump it whenever the output changes",
        required=True),
    Key("description", "text; continuation lines indented by two spaces after `--`",
        "one or two sentences under the title", required=True),
    Key("param", "`NAME = DEFAULT [min X] [max Y] \\| description`",
        "a parameter: the default's literal sets the type (integer, decimal, "
        "`YYYY-MM-DD` date, `true`/`false`, text); read in SQL with "
        "`getvariable('NAME')`; `min`/`max` bound what `--param` may set",
        repeatable=True),
)

CHART_TYPES = ("line", "bar", "hbar", "stacked", "doughnut", "pie", "scatter", "none")

# Display formats a column may take (`-- format: col=kind`), and what each shows.
FORMATS = {
    "money": "an amount: dollars and cents with thousands separators, half a cent rounded up as cents() in sql/finance.sql; a non-zero amount under half a cent is < $0.01",
    "price": "a unit price (per call, per 1K tokens): dollars and cents, four significant digits under a dollar",
    "pct": "a percentage (the value is 0-100) with one decimal",
    "ms": "milliseconds",
    "number": "a count or measure, compact when large",
    "text": "the value as it is, never formatted as a number",
}

HINT_KEYS: tuple[Key, ...] = (
    Key("title", "text", "section heading"),
    Key("description", "text", "one line under the heading"),
    Key("chart", ", ".join(f"`{c}`" for c in CHART_TYPES),
        "chart type (a table is always shown too)"),
    Key("x", "a column", "labels / x axis"),
    Key("y", "columns, comma separated (numeric)", "series"),
    Key("band", "`low_col, high_col` (numeric)", "a shaded band around a line (forecast interval)"),
    Key("label", "a column", "point labels (scatter)"),
    Key("limit", "a whole number, 1 or more", "rows shown in the page's table "
        "(the rest is in the download)"),
    Key("format", "`col=kind, col2=kind`, kind one of " + ", ".join(f"`{k}`" for k in FORMATS),
        "how a column is shown, where its name would mislead the naming rules below"),
)

HEADER_KEY_NAMES = tuple(k.name for k in HEADER_KEYS)
REQUIRED_HEADER_KEYS = tuple(k.name for k in HEADER_KEYS if k.required)
HINT_KEY_NAMES = tuple(k.name for k in HINT_KEYS)
# Hints whose values name columns of the query's result.
COLUMN_HINTS = ("x", "y", "band", "label")

# Variables the engine sets itself; an analyzer may read them without declaring them
# (check.py adds every variable sql/calls.sql reads).
ENGINE_VARIABLES = ("csv_path",)

# Standard queries: their columns, in order (more may follow), from docs/analyzers.md.
HEADLINE_UNITS = ("usd", "count", "pct", "ms", "days", "text")
SEVERITIES = ("high", "medium", "low")
STANDARD_QUERIES: dict[str, tuple[str, ...]] = {
    "headline": ("label", "value", "unit"),
    "recommendations": ("priority", "title", "detail", "amount_usd"),
    "alerts": ("severity", "title", "detail", "amount_usd"),
}
# Standard queries whose columns must be exactly the listed ones.
EXACT_SHAPE = ("headline",)
# Columns of standard queries that must be numbers.
NUMERIC_COLUMNS = {"recommendations": ("priority", "amount_usd"), "alerts": ("amount_usd",)}

# --- column names -> display format --------------------------------------------

MONEY_NAMES = ("cost", "revenue", "margin", "savings", "baseline", "allocation",
               "revenue_at_risk", "revenue_exposed", "amount", "fee")
MONEY_SUFFIXES = ("_cost", "_usd", "_revenue", "_margin", "_savings", "_fee", "_burn")
MONEY_PREFIXES = ("cost_", "projected_", "gain_")
# Unit prices (a price, or cost per call, per 1K tokens, per customer ...): compared,
# not added, so they keep four significant digits under a dollar.
PRICE_NAMES = ("price",)
PRICE_SUFFIXES = ("_price",)


def column_kind(name: str, formats: dict[str, str] | None = None) -> str:
    """How a column is shown: its `-- format:` hint if any, else guessed from its name."""
    if formats and name in formats:
        return formats[name]
    n = name.lower()
    if n.endswith("_pct") or n == "pct":
        return "pct"
    if n.endswith("_ms"):
        return "ms"
    if n in PRICE_NAMES or n.endswith(PRICE_SUFFIXES) or "cost_per_" in n:
        return "price"
    if n in MONEY_NAMES or n.endswith(MONEY_SUFFIXES) or n.startswith(MONEY_PREFIXES):
        return "money"
    return "number"


def parse_formats(text: str) -> dict[str, str]:
    """`col=money, col2=pct` as {col: kind}; ValueError with the fix for a bad item."""
    out: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        column, sep, kind = (s.strip() for s in item.partition("="))
        if not sep or not column or not kind:
            raise ValueError(f"format item {item!r} is not `column=kind`")
        if kind not in FORMATS:
            raise ValueError(f"unknown format {kind!r} for {column}; use one of "
                             + ", ".join(FORMATS))
        out[column] = kind
    if not out:
        raise ValueError("empty format hint; write `-- format: column=kind`")
    return out


def split_columns(text: str | None) -> list[str]:
    """A hint's comma-separated column list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


# --- the generated reference ----------------------------------------------------

BEGIN = "<!-- BEGIN generated by finops.engine.analyzer_format: do not edit -->"
END = "<!-- END generated -->"


def _table(keys: tuple[Key, ...], with_required: bool) -> list[str]:
    head = "| key | values | meaning |" if not with_required else "| key | values | meaning | required |"
    rule = "|---|---|---|" if not with_required else "|---|---|---|---|"
    rows = [head, rule]
    for k in keys:
        cells = [f"`{k.name}`", k.values, k.meaning]
        if with_required:
            cells.append("yes" if k.required else ("repeatable" if k.repeatable else "no"))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def reference_markdown() -> str:
    """The reference of header keys, hints, formats and standard queries (markdown)."""
    lines = ["#### Header keys (before the first `-- query:`)", "",
             *_table(HEADER_KEYS, with_required=True), "",
             "Any other `-- key:` line in the header is an error; so is a key given twice "
             "(but `param`).", "",
             "#### Query hints (the `-- key: value` lines right under `-- query: NAME`)", "",
             *_table(HINT_KEYS, with_required=False), "",
             "The hint block ends at the first line that is not `-- key: value`; an unknown "
             "key in it is an error (a misspelt hint is never read as a comment). A comment "
             "may follow, starting with a sentence rather than `word:`. `x`, `y`, `band`, "
             "`label` and `format` must name columns the query returns.", "",
             "#### Formats (`-- format: col=kind`)", "",
             "| kind | shown as |", "|---|---|",
             *[f"| `{kind}` | {meaning} |" for kind, meaning in FORMATS.items()], "",
             "Without a `format` hint a column's format follows its name: `*_pct` and `pct` "
             "are pct; `*_ms` is ms; price is "
             + ", ".join(f"`{n}`" for n in PRICE_NAMES) + ", any name ending in "
             + ", ".join(f"`{s}`" for s in PRICE_SUFFIXES) + " or containing `cost_per_`; money is "
             + ", ".join(f"`{n}`" for n in MONEY_NAMES) + ", any name ending in "
             + ", ".join(f"`{s}`" for s in MONEY_SUFFIXES) + " or starting with "
             + ", ".join(f"`{p}`" for p in MONEY_PREFIXES)
             + "; a `band` takes the format of the first `y`; "
             "anything else is a number.", "",
             "#### Standard queries (checked by `finops check`)", "",
             "| query | columns, in order |", "|---|---|",
             *[f"| `{q}` | {', '.join(f'`{c}`' for c in cols)}"
               f"{' (exactly)' if q in EXACT_SHAPE else ' (more may follow)'} |"
               for q, cols in STANDARD_QUERIES.items()], "",
             f"`unit` is one of {', '.join(f'`{u}`' for u in HEADLINE_UNITS)}; `severity` one "
             f"of {', '.join(f'`{s}`' for s in SEVERITIES)}; "
             + "; ".join(f"{q}: {', '.join(f'`{c}`' for c in cols)} numeric"
                         for q, cols in NUMERIC_COLUMNS.items()) + ".", "",
             "Variables every analyzer may read without declaring them: "
             + ", ".join(f"`{v}`" for v in ENGINE_VARIABLES)
             + ", and any other variable `sql/calls.sql` reads."]
    return "\n".join(lines) + "\n"


def replace_generated(text: str, block: str) -> str:
    """text with the part between BEGIN and END replaced by block."""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError("no generated block (BEGIN/END markers) found")
    return pattern.sub(lambda _: f"{BEGIN}\n{block}{END}", text, count=1)


def generated_docs() -> list[Path]:
    """The files that carry the generated reference."""
    root = Path(__file__).resolve().parent.parent
    return [p for p in (root / "docs" / "analyzers.md", root / "sql" / "README.md") if p.exists()]


def main(argv: list[str]) -> int:
    """`python -m finops.engine.analyzer_format [--write]`: print or rewrite the reference."""
    block = reference_markdown()
    if "--write" not in argv:
        sys.stdout.write(block)
        return 0
    for path in generated_docs():
        text = path.read_text(encoding="utf-8")
        new = replace_generated(text, block)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
