"""Shared by the build tests: a varied small dataset, a test analyzer, an HTML reader.

No tests here; pytest collects the module and finds none.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from finops.engine.reference import reference

HOSTILE_CUSTOMER = "</script><img src=x onerror=alert(1)>"
HOSTILE_FEATURE = "say \"hi\" & 'bye' <b>"
HOSTILE_MODEL = "gpt\u2028evil\u2029model"

# An analyzer of our own that uses every display hint, so the build is
# tested whatever analyzers the repository holds today.
PROBE_SQL = """\
-- name: probe
-- title: Probe report
-- category: ubr
-- version: 2
-- description: Test analyzer exercising every display hint.

-- query: headline
SELECT label, value, unit FROM (VALUES
  (1, 'Total cost', CAST((SELECT sum(cost_usd) FROM calls) AS DOUBLE), 'usd'),
  (2, 'Calls', CAST((SELECT count(*) FROM calls) AS DOUBLE), 'count'),
  (3, 'Production share',
   (SELECT pct(count(*) FILTER (environment = 'production'), count(*)) FROM calls), 'pct')
) AS t(n, label, value, unit) ORDER BY n;

-- query: alerts
SELECT 'high' AS severity, 'Spend on ' || min(customer_id) AS title, 'detail' AS detail,
       sum(cost_usd) AS amount_usd FROM calls ORDER BY 1;

-- query: recommendations
SELECT 1 AS priority, 'Switch ' || model AS title, 'Same tokens' AS detail,
       money(sum(cost_usd) / 2) AS amount_usd
FROM calls GROUP BY model ORDER BY amount_usd DESC, title;

-- query: daily
-- title: Daily cost
-- description: Cost per day with a band.
-- chart: line
-- x: call_date
-- y: cost
-- band: low, high
SELECT call_date, sum(cost_usd) AS cost, money(sum(cost_usd) * 0.8) AS low,
       money(sum(cost_usd) * 1.2) AS high
FROM calls GROUP BY call_date ORDER BY call_date;

-- query: by_model
-- title: Cost by model
-- chart: doughnut
-- x: model
-- y: cost
SELECT model, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER ()) AS share_pct,
       quantile_cont(latency_ms, 0.95) AS p95_ms
FROM calls GROUP BY model ORDER BY cost DESC, model;

-- query: features
-- title: Feature quadrant
-- chart: scatter
-- x: calls
-- y: cost
-- label: feature_id
SELECT feature_id, count(*) AS calls, sum(cost_usd) AS cost
FROM calls GROUP BY feature_id ORDER BY feature_id;

-- query: customers
-- title: Customers by cost
-- chart: hbar
-- x: customer_id
-- y: cost
-- limit: 5
SELECT customer_id, count(*) AS calls, sum(cost_usd) AS cost,
       money(safe_div(sum(cost_usd), count(*))) AS cost_per_call
FROM calls GROUP BY customer_id ORDER BY cost DESC, customer_id;

-- query: no_rows
-- title: Nothing here
-- chart: bar
-- x: model
-- y: cost
SELECT model, sum(cost_usd) AS cost FROM calls WHERE false GROUP BY model ORDER BY model;
"""

BROKEN_SQL = """\
-- name: broken
-- title: Broken analyzer
-- category: finops
-- version: 1
-- description: Fails at run time.

-- query: headline
SELECT no_such_column FROM calls ORDER BY 1;
"""

# Five models at their list prices (from sql/calls.sql's model_prices).
_MODELS = [(p, m, float(r["input_per_1k"]), float(r["output_per_1k"]))
           for (p, m), r in reference().prices().items()
           if m in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-4", "gemini-1.5-flash")]


def sample_rows(n: int = 240, hostile: bool = False) -> list[dict]:
    """A deterministic, varied set of calls over 12 days, 12 customers, 4 features."""
    rows = []
    features = ["chat", "search", "summarize", "translate"]
    tasks = ["chat", "qa", "summarization", "code"]
    tiers = list(reference().tier_fees())
    for i in range(n):
        provider, model, pin, pout = _MODELS[(i * 7) % len(_MODELS)]
        tin, tout = 100 + (i * 37) % 1900, (i * 53) % 900
        customer = f"cust_{i % 12:04d}"
        feature = features[(i * 3) % 4]
        if hostile and i % 5 == 0:
            customer, feature, model = HOSTILE_CUSTOMER, HOSTILE_FEATURE, HOSTILE_MODEL
        rows.append({
            "timestamp": f"2025-11-{1 + i % 12:02d}T{(i * 5) % 24:02d}:{i % 60:02d}:00",
            "provider": provider, "model": model,
            "input_tokens": str(tin), "output_tokens": str(tout),
            "cost_usd": f"{round((tin * pin + tout * pout) / 1000, 6):.6f}",
            "latency_ms": str(150 + (i * 97) % 4000), "customer_id": customer,
            "subscription_tier": tiers[(i % 12) % 3], "organization_id": f"org_{i % 12 % 4:03d}",
            "product_id": "product_a", "feature_id": feature, "task_type": tasks[i % 4],
            "environment": ["production", "production", "staging", "development"][i % 4],
        })
    return rows


def probe_dir(tmp_path: Path, *, broken: bool = False) -> Path:
    folder = tmp_path / "extra_sql"
    folder.mkdir(exist_ok=True)
    (folder / "probe.sql").write_text(PROBE_SQL, encoding="utf-8")
    if broken:
        (folder / "broken.sql").write_text(BROKEN_SQL, encoding="utf-8")
    return folder


class Page(HTMLParser):
    """A parsed page: elements with attributes and text, headings, scripts, tables."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.headings: list[tuple[int, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": "", "children": []}
        if self._open:
            self._open[-1]["children"].append(el)
        self.elements.append(el)
        if tag not in self.VOID:
            self._open.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                closed = self._open[i:]
                del self._open[i:]
                for el in closed:
                    if re.fullmatch(r"h[1-6]", el["tag"]):
                        self.headings.append((int(el["tag"][1]), el["text"].strip()))
                return

    def handle_data(self, data):
        for el in self._open:
            el["text"] += data

    def find(self, tag=None, **attrs) -> list[dict]:
        out = []
        for el in self.elements:
            if tag and el["tag"] != tag:
                continue
            if all(el["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(el)
        return out

    def by_id(self, element_id: str) -> dict | None:
        found = [el for el in self.elements if el["attrs"].get("id") == element_id]
        return found[0] if found else None

    def json_blocks(self) -> list[dict]:
        return [el for el in self.find("script", type="application/json")]

    def table(self, table_id: str) -> tuple[list[str], list[list[object]]]:
        """Column names and the raw (data-value) cells of a report table."""
        table = self.by_id(table_id)
        assert table is not None, f"no table {table_id}"
        columns, rows = [], []

        def walk(el):
            if el["tag"] == "th":
                columns.append(el["attrs"]["data-column"])
            if el["tag"] == "tr":
                cells = [json.loads(c["attrs"]["data-value"]) for c in el["children"]
                         if c["tag"] == "td" and "data-value" in c["attrs"]]
                if cells:
                    rows.append(cells)
            for child in el["children"]:
                walk(child)

        walk(table)
        return columns, rows


EXTERNAL = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:|//)|url\(\s*["']?(?:https?:|//)""",
                      re.I)


def external_references(text: str) -> list[str]:
    """src/href/url() pointing off the machine (http:, https:, protocol-relative //)."""
    return [m.group(0) for m in EXTERNAL.finditer(text)]
