"""Turn analyzer results into HTML: the Jinja environment, display formats, JSON for scripts.

This module is presentation only. It formats numbers by column kind (a
query's `-- format:` hint, else the column's name: analyzer_format.py), shapes query results into what the templates
show, and never computes a business figure: every number comes from SQL.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import analyzer_format
from .analyzer_format import column_kind  # noqa: F401 (re-exported: the reports' formats)
from .results import QueryResult, headline_value, is_numeric_type, jsonable
from .paths import TEMPLATES_DIR, VIEWER_DIR

# Queries every analyzer may have that get their own components, not a section.
STANDARD_QUERIES = ("headline", "alerts", "recommendations")
DEFAULT_TABLE_ROWS = 100
# A line or scatter chart shows the whole series (a year of days fits); bars
# and doughnuts show the rows of the page's table.
MAX_SERIES_POINTS = 5000
CHART_TYPES = {c for c in analyzer_format.CHART_TYPES if c != "none"}

# --- formats ---------------------------------------------------------------

# Words of a column name shown differently in headings: units as symbols,
# abbreviations in capitals (cost_per_1k_tokens -> "Cost per 1K tokens").
_LABEL_WORDS = {"pct": "%", "usd": "($)", "ms": "(ms)", "id": "ID", "sla": "SLA",
                "p50": "p50", "p95": "p95", "p99": "p99", "1k": "1K", "ai": "AI",
                "vs": "vs", "per": "per", "avg": "avg.", "qa": "QA", "mape": "MAPE"}


def column_label(name: str) -> str:
    """A readable heading for a column name: margin_pct -> "Margin %", p95_ms -> "p95 (ms)"."""
    words = [w for w in name.split("_") if w]
    out = [_LABEL_WORDS.get(w.lower(), w) for w in words]
    if not out:
        return name
    first = out[0]
    if words[0].lower() not in _LABEL_WORDS or first == "avg.":
        first = first[:1].upper() + first[1:]
    # A unit stays on the line of the word before it ("Share %", never "Share" / "%").
    text = " ".join([first, *out[1:]]).replace(" %", "\u00a0%").replace(" (", "\u00a0(")
    # Words that are one term in finance prose: "own non-production cost".
    return text.replace("non production", "non-production").replace("Non production",
                                                                      "Non-production")

def _number(value):
    """A float for display, or None when the value is not a finite number."""
    number = _decimal(value)
    if number is None:
        return None
    number = float(number)
    return number if math.isfinite(number) else None


def _decimal(value) -> Decimal | None:
    """An amount as the Decimal it stands for, or None when it is not a finite
    number: a Decimal as it is, a float by its shortest text (198.315, not the
    binary 198.31499999...), so rounding it is rounding what the SQL wrote."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, (int, float)):
            number = Decimal(str(value))
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            return None
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_CENT = Decimal("0.01")


def _to_cents(number: Decimal) -> Decimal:
    """Half away from zero, as sql/finance.sql's cents() (DuckDB's round)."""
    return number.quantize(_CENT, rounding=ROUND_HALF_UP)


def fmt_money(value) -> str:
    """An amount of money to the cent as cents() in sql/finance.sql rounds it
    (half away from zero: 198.315 is $198.32, as the SQL's prose says it);
    $0.38, $1,234.56, -$2.00. A non-zero amount that rounds to nothing is
    "< $0.01" ("> -$0.01" below zero), never "$0.00" or "$0.004"."""
    number = _decimal(value)
    if number is None:
        return "—"
    cents = _to_cents(number)
    if cents == 0 and number != 0:
        return "< $0.01" if number > 0 else "> -$0.01"
    return f"{'-' if cents < 0 else ''}${abs(cents):,.2f}"


def fmt_price(value) -> str:
    """A unit price (per call, per 1K tokens): $1,234.56, and under a dollar four
    significant digits ($0.004213): a price is compared, not added."""
    number = _number(value)
    if number is None:
        return "—"
    sign = "-" if number < 0 else ""
    number = abs(number)
    if number == 0 or number >= 1:
        return f"{sign}${_to_cents(_decimal(number)):,.2f}"
    decimals = min(8, max(2, 3 - math.floor(math.log10(number))))
    whole, frac = f"{number:.{decimals}f}".split(".")
    return f"{sign}${whole}.{frac.rstrip('0').ljust(2, '0')}"


def fmt_pct(value) -> str:
    number = _number(value)
    return "—" if number is None else f"{number:,.1f}%"


def fmt_ms(value) -> str:
    number = _number(value)
    if number is None:
        return "—"
    return f"{number:,.0f} ms" if abs(number) >= 100 else f"{number:,.1f} ms"


def fmt_count(value) -> str:
    """Large numbers compact (12.3K, 4.5M), small ones exact with separators."""
    number = _number(value)
    if number is None:
        return "—"
    size = abs(number)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e4, "K")):
        if size >= limit:
            scaled = number / limit if suffix != "K" else number / 1e3
            return f"{scaled:,.1f}{suffix}"
    if float(number).is_integer():
        return f"{number:,.0f}"
    return f"{number:,.2f}" if size >= 1 else f"{number:.3g}"


def fmt_cell_number(value) -> str:
    """A number in a table: exact with separators below a million (151,104;
    averages 9,069 or 12.35), compact from a million up (179.6M), so one
    column never mixes "9,069.46" and "12.2K"."""
    number = _number(value)
    if number is None:
        return "—"
    if abs(number) >= 1e6:
        return fmt_count(number)
    if float(number).is_integer() or abs(number) >= 100:
        return f"{number:,.0f}"
    return fmt_count(number)


def fmt_value(value, kind: str = "number") -> str:
    """One cell as text: NULL as an em dash, numbers by kind, times in ISO."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.second or value.microsecond
                                                    or value.hour or value.minute) \
            else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "text":
        return str(jsonable(value))
    if isinstance(value, (int, float, Decimal)):
        return {"money": fmt_money, "price": fmt_price, "pct": fmt_pct,
                "ms": fmt_ms}.get(kind, fmt_cell_number)(value)
    return str(jsonable(value))


def fmt_time(value) -> str:
    """An ISO timestamp shown to the minute: 2025-09-01 00:04."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else fmt_value(value)


def fmt_headline(value, unit: str) -> str:
    """A headline figure by its unit: usd, count, pct, ms, days, text."""
    unit = (unit or "").lower()
    if unit == "usd":
        return fmt_money(value)
    if unit == "pct":
        return fmt_pct(value)
    if unit == "ms":
        return fmt_ms(value)
    if unit == "days":
        number = _number(value)
        if number is None:
            return "—" if value is None else str(value)
        return f"{fmt_count(number)} day" + ("" if number == 1 else "s")
    if unit == "count":
        number = _number(value)
        return fmt_count(number) if number is not None else ("—" if value is None else str(value))
    return fmt_value(value)


def tojson(value, indent=None) -> Markup:
    """JSON safe inside <script> and HTML attributes: SQL values converted first.

    jsonable() turns Decimal into numbers, times into ISO strings and
    non-finite numbers into null; `<`, `>`, `&`, `'` and U+2028/2029 are
    escaped so a value can never end the script block.
    """
    text = json.dumps(jsonable(value), ensure_ascii=True, allow_nan=False, indent=indent,
                      separators=(",", ":") if indent is None else None)
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("'", "\\u0027"))
    return Markup(text)


def raw_value(value) -> str:
    """A cell's exact value as JSON text, for data-value attributes (sorting, tests)."""
    return json.dumps(jsonable(value), ensure_ascii=False, allow_nan=False)


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """One Jinja environment per process: serve's rebuilds reuse compiled
    templates, and auto_reload (Jinja's default) still picks up edits."""
    env = Environment(
        loader=FileSystemLoader([str(TEMPLATES_DIR), str(VIEWER_DIR)]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=fmt_money, pct=fmt_pct, ms=fmt_ms, count=fmt_count,
                       cell=fmt_value, headline=fmt_headline, when=fmt_time, tojson=tojson, raw=raw_value)
    return env


# --- shaping results for the templates -------------------------------------

@dataclass
class Column:
    name: str
    kind: str
    numeric: bool

    @property
    def label(self) -> str:
        return column_label(self.name)


@dataclass
class Section:
    """One visible query: heading, chart spec, a capped table, maybe a download."""

    name: str
    title: str
    description: str
    columns: list[Column]
    rows: list[list[tuple[str, str, str | None]]]   # (display text, raw JSON, link) per cell
    total_rows: int
    chart: dict | None
    download: str | None = None

    @property
    def capped(self) -> bool:
        return len(self.rows) < self.total_rows


@dataclass
class ReportView:
    headlines: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    recommendations: list[dict] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def _columns(result: QueryResult) -> list[Column]:
    """Columns with their display kind: the `-- format:` hint where given, else the name's."""
    formats = result.formats
    return [Column(name, column_kind(name, formats), is_numeric_type(t))
            for name, t in zip(result.columns, result.types)]


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def table_limit(result: QueryResult) -> int:
    try:
        limit = int(result.meta.get("limit", DEFAULT_TABLE_ROWS))
    except ValueError:
        limit = DEFAULT_TABLE_ROWS
    return max(1, min(limit, DEFAULT_TABLE_ROWS))


def chart_spec(result: QueryResult, columns: list[Column], shown: int) -> dict | None:
    """What report.js needs to draw the query's chart, from its display hints."""
    kind = (result.meta.get("chart") or "none").strip().lower()
    if kind not in CHART_TYPES or not result.rows:
        return None
    names = [c.name for c in columns]
    x = (result.meta.get("x") or names[0]).strip()
    ys = _split(result.meta.get("y")) or [c.name for c in columns if c.numeric and c.name != x][:1]
    band = _split(result.meta.get("band"))[:2]
    label = (result.meta.get("label") or "").strip() or None
    wanted = [x, *ys, *band] + ([label] if label else [])
    if not ys or any(name not in names for name in wanted):
        return None  # a hint naming a missing column: show the table only
    if kind in ("doughnut", "pie"):
        ys = ys[:1]
    rows = result.rows[:MAX_SERIES_POINTS] if kind in ("line", "scatter") else result.rows[:shown]
    index = {name: names.index(name) for name in wanted}
    kinds = {c.name: c.kind for c in columns}
    spec = {
        "type": kind, "x": x, "y": ys, "band": band if len(band) == 2 else None, "label": label,
        "kinds": {name: kinds[name] for name in wanted},
        "titles": {name: column_label(name) for name in wanted},
        "data": {name: [jsonable(row[index[name]]) for row in rows] for name in wanted},
    }
    if kind == "scatter":
        spec["split"] = scatter_split(result, x, ys[0])
    return spec


def scatter_split(result: QueryResult, x: str, y: str) -> dict | None:
    """Where a quadrant scatter splits, from the query's own columns.

    The SQL returns the split as columns `median_<x>` and `median_<y>` (the
    same value on every row) and each point's quadrant name in `quadrant`;
    this only reads them, so the page can draw the lines and name each corner.
    """
    names = result.columns
    mx, my = f"median_{x}", f"median_{y}"
    if not result.rows or mx not in names or my not in names:
        return None
    first = result.rows[0]
    at_x, at_y = _number(first[names.index(mx)]), _number(first[names.index(my)])
    if at_x is None or at_y is None:
        return None
    corners: dict[str, str] = {}
    if "quadrant" in names:
        ix, iy, iq = names.index(x), names.index(y), names.index("quadrant")
        for row in result.rows:
            px, py = _number(row[ix]), _number(row[iy])
            if px is None or py is None or row[iq] is None:
                continue
            key = ("top" if py >= at_y else "bottom") + "-" + ("right" if px >= at_x else "left")
            corners.setdefault(key, str(row[iq]))
    return {"x": at_x, "y": at_y, "corners": corners}


def _records(result: QueryResult) -> list[dict]:
    return [dict(zip(result.columns, row)) for row in result.rows]


def hidden_columns(result: QueryResult) -> set[str]:
    """Columns the page's table leaves out (the download keeps them): names
    starting with `_` (internal by convention), and a `label` column that only
    names chart points or bars (it repeats the columns it is made of)."""
    hidden = {c for c in result.columns if c.startswith("_")}
    if "label" in result.columns and "label" in {(result.meta.get("x") or "").strip(),
                                                 (result.meta.get("label") or "").strip()}:
        hidden.add("label")
    return hidden


def section(result: QueryResult, *, links: bool = False, root: str = "",
            query: str = "") -> Section:
    """A query as a page section. links=True makes each organization_id and
    customer_id cell a link to its statement page (root: the site root from
    the page, "" or "../")."""
    from .statements import page_path  # statements renders with this module

    columns = _columns(result)
    # A band (forecast low/high) is in the unit of the series it surrounds.
    band, ys = _split(result.meta.get("band")), _split(result.meta.get("y"))
    if band and ys:
        kinds = {c.name: c.kind for c in columns}
        for c in columns:
            if c.name in band and ys[0] in kinds and c.name not in result.formats:
                c.kind = kinds[ys[0]]
    shown = table_limit(result)
    hidden = hidden_columns(result)
    keep = [i for i, c in enumerate(columns) if c.name not in hidden]
    def href(name, value):
        path = page_path(name, value) if links and isinstance(value, str) else None
        return root + path + ("?" + query if query else "") if path else None

    rows = [[(fmt_value(row[i], columns[i].kind), raw_value(row[i]), href(columns[i].name, row[i]))
             for i in keep]
            for row in result.rows[:shown]]
    return Section(result.name, result.title, result.meta.get("description", ""),
                   [columns[i] for i in keep], rows, len(result.rows),
                   chart_spec(result, columns, shown))


def _amount_rows(result: QueryResult | None) -> list[dict]:
    if result is None:
        return []
    out = []
    for record in _records(result):
        amount = record.get("amount_usd")
        out.append({**{k: v for k, v in record.items()},
                    "amount_display": fmt_money(amount) if amount is not None else None,
                    "amount_label": record.get("amount_label"),
                    "severity": str(record.get("severity") or "").lower() or None,
                    "kind": str(record.get("kind") or "").lower() or None,
                    "confidence": record.get("confidence"),
                    "counted": record.get("counted"),
                    "title": record.get("title") or "", "detail": record.get("detail") or ""})
    return out


def headline_rows(result: QueryResult | None) -> list[dict]:
    """The headline query's rows as {label, value, unit, display}."""
    if result is None:
        return []
    out = []
    for record in _records(result):
        unit = str(record.get("unit") or "text")
        value = record.get("value")
        out.append({"label": str(record.get("label") or ""), "value": headline_value(value, unit),
                    "unit": unit, "display": fmt_headline(value, unit)})
    return out


class IdLinker:
    """Links the organization and customer ids named in free text (alert and
    recommendation titles and details) to their statement pages."""

    def __init__(self, organizations, customers, root: str = "", query: str = ""):
        self.organizations = {str(v) for v in organizations}
        self.customers = {str(v) for v in customers}
        self.root, self.tail = root, ("?" + query if query else "")

    def target(self, name: str) -> str | None:
        from .statements import page_path

        column = ("organization_id" if name in self.organizations
                  else "customer_id" if name in self.customers else None)
        return self.root + page_path(column, name) + self.tail if column else None

    # Word-like tokens (cust_0033, org-7, acme.eu); an id with other characters
    # is still linked in tables, just not inside prose. A dict lookup per token
    # keeps this fast with thousands of ids.
    _TOKEN = re.compile(r"(?<![\w.-])[\w-]+(?:\.[\w-]+)*")

    def __call__(self, text) -> Markup:
        text = "" if text is None else str(text)
        out, at = [], 0
        for m in self._TOKEN.finditer(text):
            target = self.target(m.group(0))
            if target is None:
                continue
            out.append(Markup.escape(text[at:m.start()]))
            out.append(Markup('<a href="{}">{}</a>').format(target, m.group(0)))
            at = m.end()
        out.append(Markup.escape(text[at:]))
        return Markup("").join(out)


def report_view(queries: dict[str, QueryResult], *, links: bool = False,
                changes: list[dict] | None = None,
                linker: IdLinker | None = None, query: str = "") -> ReportView:
    headlines = headline_rows(queries.get("headline"))
    for h, change in zip(headlines, changes or []):
        h.update(change_display(change, h["unit"]))
    alerts = _amount_rows(queries.get("alerts"))
    recommendations = _amount_rows(queries.get("recommendations"))
    for item in (*alerts, *recommendations):
        if linker is not None:
            item["title"], item["detail"] = linker(item["title"]), linker(item["detail"])
    return ReportView(
        headlines=headlines,
        alerts=alerts,
        recommendations=recommendations,
        sections=[section(q, links=links, query=query) for name, q in queries.items()
                  if name not in STANDARD_QUERIES],
    )


def _signed(text: str, number: float) -> str:
    return ("+" + text) if number > 0 and not text.startswith("-") else text


def change_display(change: dict, unit: str) -> dict:
    """A headline's change against the previous period, as text: "+$251.77
    (+79.4%)", "-10.3 pts" for a percentage, "no change". The figures come
    from SQL (filters.headline_changes); this only formats them."""
    unit = (unit or "").lower()
    if unit == "text" or not change.get("compared"):
        return {"change": None, "previous_display": None}
    delta = _number(change.get("change"))
    if delta is None:
        return {"change": None, "previous_display": None}
    previous = fmt_headline(change.get("previous_value"), unit)
    if delta == 0:
        return {"change": "no change", "trend": "flat", "previous_display": previous}
    if unit == "pct":
        text = _signed(f"{delta:,.1f} pts", delta)
    else:
        text = _signed(fmt_headline(delta, unit), delta)
    share = _number(change.get("change_pct"))
    if share is not None:
        text += f" ({_signed(f'{share:,.1f}%', share)})"
    return {"change": text, "trend": "up" if delta > 0 else "down", "previous_display": previous}


def asset_sources() -> dict[str, Path]:
    """Static files copied into out_dir/assets/: name there -> source file."""
    assets = {
        "chart.umd.min.js": TEMPLATES_DIR / "vendor" / "chart.umd.min.js",
        "report.css": TEMPLATES_DIR / "report.css",
        "report.js": TEMPLATES_DIR / "report.js",
        "live.js": TEMPLATES_DIR / "live.js",
        "viewer.css": VIEWER_DIR / "viewer.css",
        "viewer.js": VIEWER_DIR / "viewer.js",
    }
    return {name: path for name, path in assets.items() if path.is_file()}
