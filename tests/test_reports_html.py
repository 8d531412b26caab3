"""The HTML reports, parsed: sections, numbers, provenance, no network, hostile values."""

from __future__ import annotations

import csv
import io
import json

import pytest

from finops.engine import analyze, catalog, render
from finops.engine.site import build_site
from finops.engine.render import fmt_count, fmt_money, fmt_ms, fmt_pct, fmt_price, fmt_value
from test_build_support import (HOSTILE_CUSTOMER, HOSTILE_FEATURE, HOSTILE_MODEL, Page,
                                external_references, probe_dir, sample_rows)


PAGE_ROWS = 100  # rows a report table shows when its query sets no smaller limit


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import write_calls

    tmp = tmp_path_factory.mktemp("site")
    csv_path = write_calls(tmp / "calls.csv", sample_rows(240))
    sql_dir = probe_dir(tmp)
    result = build_site(csv_path, tmp / "reports", sql_dirs=[sql_dir], target_mb=1)
    return csv_path, sql_dir, result


def _page(result, report_id) -> tuple[str, Page]:
    html = (result.out_dir / f"{report_id}.html").read_text(encoding="utf-8")
    return html, Page(html)


def test_every_analyzer_gets_a_report(site):
    csv_path, sql_dir, result = site
    assert result.status == "ok", result.error
    expected = list(catalog.discover([sql_dir]))
    assert [r.id for r in result.reports] == [
        r for r in expected if r in {x.id for x in result.reports}]
    assert {r.id for r in result.reports} == set(expected)
    for r in result.reports:
        assert r.ok and (result.out_dir / r.file).is_file()


@pytest.mark.parametrize("report_id", ["probe"])
def test_tables_hold_the_numbers_of_run_sql(site, report_id):
    csv_path, sql_dir, result = site
    html, page = _page(result, report_id)
    _, results = analyze.run_sql(report_id, csv_path, sql_dirs=[sql_dir])
    queries = results[0].to_json()["queries"]
    for name, rows in queries.items():
        if name in ("headline", "alerts", "recommendations"):
            continue
        columns, cells = page.table(f"table-{report_id}-{name}")
        assert columns == (list(rows[0]) if rows else columns)
        limit = 5 if name == "customers" else 100
        assert cells == [list(r.values()) for r in rows[:limit]], name


def test_all_reports_sections_match_run_sql(site):
    """Built-in analyzers too: one section per visible query, same raw numbers."""
    csv_path, sql_dir, result = site
    source, results = analyze.run_sql("all", csv_path, sql_dirs=[sql_dir])
    for analyzer_result in results:
        doc = analyzer_result.to_json()
        _, page = _page(result, doc["analyzer"])
        sections = [el["attrs"]["data-query"] for el in page.find("section")
                    if "data-query" in el["attrs"]]
        visible = [q for q in doc["queries"] if q not in ("headline", "alerts", "recommendations")]
        assert sections == visible, doc["analyzer"]
        for name in visible:
            _, cells = page.table(f"table-{doc['analyzer']}-{name}")
            # The page leaves out internal columns (render.hidden_columns); the rest match.
            hidden = render.hidden_columns(analyzer_result.queries[name])
            rows = [[v for k, v in r.items() if k not in hidden] for r in doc["queries"][name]]
            # the page shows the query's `-- limit:` rows (at most 100), the rest is in the download
            limit = min(int(analyzer_result.queries[name].meta.get("limit", PAGE_ROWS)), PAGE_ROWS)
            assert cells == rows[:limit], (doc["analyzer"], name, len(cells), len(rows), limit)


def test_headline_cards_and_manifest(site):
    csv_path, sql_dir, result = site
    _, page = _page(result, "probe")
    cards = page.find("p", **{"class": "metric-value"})
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    probe = next(r for r in manifest["reports"] if r["id"] == "probe")
    rows = analyze.run_sql("probe", csv_path, sql_dirs=[sql_dir], query="headline")[1][0] \
        .to_json()["queries"]["headline"]
    assert [c["text"] for c in cards] == [h["display"] for h in probe["headlines"]]
    assert [h["value"] for h in probe["headlines"]] == [r["value"] for r in rows]
    assert probe["headlines"][0]["display"] == fmt_money(rows[0]["value"])
    assert probe["headlines"][1]["display"] == fmt_count(rows[1]["value"])
    assert probe["headlines"][2]["display"] == fmt_pct(rows[2]["value"])


def test_capped_table_has_a_note_and_full_csv_download(site):
    csv_path, sql_dir, result = site
    html, page = _page(result, "probe")
    _, cells = page.table("table-probe-customers")
    assert len(cells) == 5
    assert "Showing the first 5 of 12 rows" in " ".join(html.split())
    download = result.out_dir / "probe-customers.csv"
    links = page.find("a", href="probe-customers.csv")
    assert links and "download" in links[0]["attrs"]
    full = list(csv.DictReader(io.StringIO(download.read_text())))
    rows = analyze.run_sql("probe", csv_path, sql_dirs=[sql_dir], query="customers")[1][0] \
        .to_json()["queries"]["customers"]
    assert len(full) == len(rows) == 12
    assert [r["customer_id"] for r in full] == [r["customer_id"] for r in rows]


def test_no_external_urls_anywhere(site):
    _, _, result = site
    for path in [*result.out_dir.glob("*.html"), *result.out_dir.glob("assets/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert external_references(text) == [], path.name
        page = Page(text)
        for el in page.elements:
            for attr in ("src", "href"):
                value = el["attrs"].get(attr) or ""
                assert not value.startswith(("http:", "https:", "//")), (path.name, value)
    scripts = {el["attrs"]["src"] for p in result.out_dir.glob("*.html")
               for el in Page(p.read_text()).find("script") if "src" in el["attrs"]}
    assert scripts <= {"assets/chart.umd.min.js", "assets/report.js", "assets/viewer.js",
                       "assets/live.js"}
    assert "sourceMappingURL" not in (result.out_dir / "assets/chart.umd.min.js").read_text()


def test_headings_in_order_and_lang(site):
    _, _, result = site
    for path in result.out_dir.glob("*.html"):
        page = Page(path.read_text(encoding="utf-8"))
        assert page.find("html")[0]["attrs"].get("lang") == "en"
        levels = [level for level, _ in page.headings]
        assert levels[0] == 1 and levels.count(1) == 1, path.name
        for before, after in zip(levels, levels[1:]):
            assert after <= before + 1, (path.name, page.headings)


def _provenance(page: Page) -> dict[str, str]:
    return {" ".join(dt["text"].split()): " ".join(dd["text"].split())
            for dt, dd in zip(page.find("dt"), page.find("dd"))}


def test_footer_provenance(site):
    csv_path, _, result = site
    _, page = _page(result, "probe")
    facts = _provenance(page)
    assert facts["Analyzer"].startswith("probe v2")
    # The file name only: served pages never show where it lives on this machine.
    assert facts["Source"].startswith(csv_path.name + " ")
    assert str(csv_path.parent) not in facts["Source"]
    assert facts["Rows"] == "240"
    assert facts["Rows rejected as malformed"] == "0"
    assert facts["Time range"] == "2025-11-01 00:00 → 2025-11-12 19:59 UTC"
    assert facts["Built"].endswith(" s") and "UTC" in facts["Built"]


def test_rejected_rows_and_their_reasons_in_footer(tmp_path, calls_csv):
    rows = sample_rows(60) + [{"cost_usd": "-1"}, {"environment": "prod"}]
    result = build_site(calls_csv(rows), tmp_path / "out", sql_dirs=[probe_dir(tmp_path)])
    rejected = _provenance(Page((tmp_path / "out/probe.html").read_text()))[
        "Rows rejected as malformed"]
    assert rejected.startswith("2")
    assert "cost_usd is not a non-negative amount" in rejected
    assert "unknown environment: prod" in rejected
    assert result.manifest["rows_rejected"] == 2
    assert len(result.manifest["reject_samples"]) == 2


def test_charts_have_labels_and_json(site):
    _, _, result = site
    _, page = _page(result, "probe")
    canvases = page.find("canvas")
    blocks = [b for b in page.json_blocks() if "chart-data" in b["attrs"].get("class", "")]
    # no_rows has no chart: nothing to draw
    assert len(canvases) == len(blocks) == 4
    for canvas in canvases:
        assert canvas["attrs"]["role"] == "img" and canvas["attrs"]["aria-label"]
    specs = {json.loads(b["text"])["type"] for b in blocks}
    assert specs == {"line", "doughnut", "scatter", "hbar"}
    line = next(json.loads(b["text"]) for b in blocks if json.loads(b["text"])["type"] == "line")
    assert line["band"] == ["low", "high"] and line["kinds"]["low"] == "money"


def test_money_rounds_half_a_cent_up_as_the_sql_cents():
    """A table cell says what cents() (sql/finance.sql) and the SQL's prose say:
    half away from zero on the amount as written, never on its binary double
    (198.315 as a float is 198.31499..., which :,.2f printed as $198.31)."""
    from decimal import Decimal
    assert fmt_money(Decimal("198.315000")) == "$198.32" and fmt_money(198.315) == "$198.32"
    assert fmt_money(Decimal("-198.315")) == "-$198.32" and fmt_money(-198.315) == "-$198.32"
    assert fmt_money(2.675) == "$2.68" and fmt_money("1.005") == "$1.01"
    # half a cent rounds to a cent, as cents() does; under it is still "< $0.01"
    assert fmt_money(0.005) == "$0.01" and fmt_money(-0.005) == "-$0.01"
    assert fmt_money(Decimal("0.004999")) == "< $0.01" and fmt_money(-0.0049) == "> -$0.01"
    assert fmt_value(Decimal("198.315"), "money") == "$198.32" and fmt_price(2.675) == "$2.68"
    assert fmt_money(float("nan")) == "—" and fmt_money(True) == "—"


def test_formats_by_column_name():
    assert fmt_money(1234.5) == "$1,234.50"
    assert fmt_money(0.004213) == "< $0.01" and fmt_money(-0.004) == "> -$0.01"
    assert fmt_money(0) == "$0.00" and fmt_money(0.01) == "$0.01"
    assert fmt_price(0.004213) == "$0.004213" and fmt_price(12.5) == "$12.50"
    assert fmt_value(0.004, "money") == "< $0.01" and fmt_value(0.004, "price") == "$0.004"
    assert fmt_money(-2) == "-$2.00"
    assert fmt_pct(12.345) == "12.3%"
    assert fmt_ms(1234.4) == "1,234 ms"
    assert fmt_count(12345) == "12.3K" and fmt_count(4_500_000) == "4.5M" and fmt_count(999) == "999"
    assert fmt_value(None) == "—"
    from finops.engine.render import column_kind
    assert [column_kind(c) for c in ("cost", "projected_cost", "cost_per_1k_tokens", "margin_pct",
                                     "p95_ms", "calls", "revenue_at_risk", "monthly_fee",
                                     "revenue_exposed", "gain_now", "revenue_exposed_pct",
                                     "revenue_source", "avg_cost_per_call", "input_price")] == \
        ["money", "money", "price", "pct", "ms", "number", "money", "money", "money", "money", "pct",
         "number", "price", "price"]


def test_hostile_values_are_escaped_and_round_trip(tmp_path, calls_csv):
    csv_path = calls_csv(sample_rows(120, hostile=True))
    result = build_site(csv_path, tmp_path / "out", sql_dirs=[probe_dir(tmp_path)])
    assert result.status in ("ok", "partial")
    probe = next(r for r in result.reports if r.id == "probe")
    assert probe.ok, probe.error
    html = (tmp_path / "out/probe.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "</script><img" not in html
    page = Page(html)
    assert not page.find("img")
    # Round trip through the JSON blocks and the data-value attributes.
    blocks = [json.loads(b["text"]) for b in page.json_blocks()]
    customers = next(b for b in blocks if b["type"] == "hbar")["data"]["customer_id"]
    assert HOSTILE_CUSTOMER in customers
    models = next(b for b in blocks if b["type"] == "doughnut")["data"]["model"]
    assert HOSTILE_MODEL in models
    labels = next(b for b in blocks if b["type"] == "scatter")["data"]["feature_id"]
    assert HOSTILE_FEATURE in labels
    for block in page.json_blocks():
        assert "</" not in block["text"] and "\u2028" not in block["text"]
    _, cells = page.table("table-probe-by_model")
    assert HOSTILE_MODEL in [row[0] for row in cells]
    tds = [el["text"] for el in page.find("td")]
    assert HOSTILE_FEATURE in tds and HOSTILE_CUSTOMER in tds
    # the alert title carries the hostile customer as text
    assert any(HOSTILE_CUSTOMER in el["text"] for el in page.find("h3"))
    # and the viewer's embedded manifest round-trips too
    index = Page((tmp_path / "out/index.html").read_text(encoding="utf-8"))
    embedded = json.loads(index.by_id("manifest-data")["text"])
    assert embedded == json.loads((tmp_path / "out/manifest.json").read_text())
