"""Reports people explore, in a real headless Chromium against the serve route.

Set a filter in the filter bar: every headline figure and every table cell
changes to what run-sql returns on a file of only the matching calls; the
URL holds the filters and a reload gives the same page; a table links to an
organization statement and back; an open page refreshes in place when a new
build lands (scroll kept) and says so when the build failed. Screenshots of
every report and statement page at 1280 and 390 px go to tests/artifacts/.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from conftest import write_calls
from finops.engine import analyze, catalog, render
from finops.engine.explore import ExploreService
from finops.engine.server import filter_route, make_server, start_in_thread
from finops.engine.site import build_site
from test_explore import rows_over

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"


class Tab:
    """A Playwright page driven with JavaScript expressions: evaluate, wait for
    one to hold (across navigations), navigate; console errors in .errors."""

    def __init__(self, browser, width: int = 1280, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "assert")
                     and self.errors.append(f"console.{m.type}: {m.text}"))
        self.page.on("pageerror", lambda exc: self.errors.append(f"exception: {exc}"))

    def navigate(self, url: str) -> None:
        self.page.goto(url)

    def evaluate(self, expression: str):
        return self.page.evaluate(expression)

    def wait_for(self, expression: str, timeout: float = 10.0):
        end = time.monotonic() + timeout
        while True:
            try:
                value = self.page.evaluate(expression)
            except Exception:  # noqa: BLE001 - a navigation replaced the document mid-call
                value = None
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"waited {timeout}s for {expression}")
            time.sleep(0.2)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


class Tabs:
    def __init__(self, browser):
        self.browser, self.open = browser, []

    def new_page(self, url: str | None = None, width: int = 1280, height: int = 900) -> Tab:
        tab = Tab(self.browser, width, height)
        self.open.append(tab)
        if url:
            tab.navigate(url)
        return tab

    def stop(self) -> None:
        for tab in self.open:
            tab.close()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory, browser):
    tmp = tmp_path_factory.mktemp("browser-explore")
    calls = write_calls(tmp / "calls.csv", rows_over())
    out = tmp / "reports"
    result = build_site(calls, out, live=True, poll_seconds=1)
    assert result.status == "ok", result.error
    service = ExploreService(calls, out)
    server = make_server(out, "127.0.0.1", 0, routes=[filter_route(service)])
    start_in_thread(server)
    tabs = Tabs(browser)
    yield {"calls": calls, "out": out, "browser": tabs, "tmp": tmp,
           "url": f"http://127.0.0.1:{server.server_address[1]}/"}
    tabs.stop()
    server.shutdown()
    server.server_close()
    service.close()


PAGE_FIGURES = """(() => {
  const cards = [...document.querySelectorAll('.metric-value')].map(e => JSON.parse(e.dataset.value));
  const tables = {};
  document.querySelectorAll('table.data-table[data-query]').forEach(t => {
    tables[t.dataset.query] = [...t.tBodies[0].rows].filter(r => !r.querySelector('.empty'))
      .map(r => [...r.cells].map(c => JSON.parse(c.dataset.value)));
  });
  return JSON.stringify({cards, tables, search: location.search, path: location.pathname});
})()"""


def expected_figures(calls: Path, tmp: Path, analyzer: str, keep) -> tuple[list, dict]:
    with open(calls, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if keep(r)]
    _, results = analyze.run_sql(analyzer, write_calls(tmp / f"{analyzer}-narrowed.csv", rows))
    result = results[0]
    doc = result.to_json()["queries"]
    tables = {}
    for name, query in result.queries.items():
        if name in render.STANDARD_QUERIES:
            continue
        hidden = render.hidden_columns(query)
        limit = render.table_limit(query)
        tables[name] = [[v for k, v in r.items() if k not in hidden] for r in doc[name][:limit]]
    return [r["value"] for r in doc["headline"]], tables


def test_a_filter_changes_every_figure_and_the_url_keeps_it(live_site):
    page = live_site["browser"].new_page(live_site["url"] + "understanding.html")
    before = json.loads(page.evaluate(PAGE_FIGURES))
    page.evaluate("window.__before_submit = 1;"
                  "document.getElementById('f-organization').value = 'org_001';"
                  "document.getElementById('f-from').value = '2025-11-05';"
                  "document.querySelector('#filter-bar button[type=submit]').click(); true")
    page.wait_for("!window.__before_submit && location.search.includes('organization=org_001') &&"
                  " document.readyState === 'complete' && document.body.hasAttribute('data-charts-drawn')",
                  timeout=20)
    after = json.loads(page.evaluate(PAGE_FIGURES))
    assert after["search"] == "?from=2025-11-05&organization=org_001"  # empty fields left out
    cards, tables = expected_figures(live_site["calls"], live_site["tmp"], "understanding",
                                     lambda r: r["organization_id"] == "org_001"
                                     and r["timestamp"][:10] >= "2025-11-05")
    assert after["cards"] == cards and after["cards"] != before["cards"]
    assert after["tables"] == tables
    page.evaluate("window.__before_reload = 1; location.reload(); true")
    page.wait_for("!window.__before_reload && document.readyState === 'complete' && "
                  "document.body.hasAttribute('data-charts-drawn')", timeout=20)
    again = json.loads(page.evaluate(PAGE_FIGURES))
    assert again == after
    assert page.evaluate("document.getElementById('f-organization').value") == "org_001"
    assert not page.errors, page.errors


def test_from_a_table_to_an_organization_statement_and_back(live_site):
    page = live_site["browser"].new_page(live_site["url"] + "alignment.html?environment=production")
    page.wait_for("document.body.hasAttribute('data-charts-drawn')", timeout=20)
    href = page.evaluate("(() => { const a = document.querySelector('#table-alignment-by_organization a');"
                         " const h = a.getAttribute('href'); a.click(); return h; })()")
    assert href.startswith("org/") and href.endswith("?environment=production")  # filters kept
    page.wait_for(f"location.pathname + location.search === '/{href}' && "
                  "document.readyState === 'complete'", timeout=20)
    assert page.evaluate("document.querySelector('h1').textContent").startswith("Organization statement")
    assert "environment production" in page.evaluate("document.querySelector('.hero-meta').textContent")
    assert page.evaluate("document.querySelectorAll('.statement-figures dd').length") >= 8
    page.evaluate("history.back(); true")
    page.wait_for("location.pathname === '/alignment.html' && document.readyState === 'complete'",
                  timeout=20)
    assert page.evaluate("location.search") == "?environment=production"
    assert not page.errors, page.errors


def test_an_open_report_refreshes_in_place_and_says_when_a_build_failed(live_site):
    page = live_site["browser"].new_page(live_site["url"] + "profitability.html?organization=org_002")
    page.wait_for("document.body.hasAttribute('data-charts-drawn')", timeout=20)
    page.evaluate("window.scrollTo(0, 900); window.__marker = 1; true")
    stamp = page.evaluate("document.body.dataset.generatedAt")
    # A new build lands (one more day of calls).
    calls, out = live_site["calls"], live_site["out"]
    with open(calls, "a", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["2025-11-25T10:00:00", "call_extra_1", "openai", "gpt-4o", "100", "100",
                         "0.500000", "400", "cust_0002", "pro", "org_002", "product_a", "chat",
                         "chat", "production", "", "", "", ""])
    time.sleep(1.1)  # generated_at has one-second resolution
    assert build_site(calls, out, live=True, poll_seconds=1).status == "ok"
    page.wait_for(f"document.body.dataset.generatedAt !== {json.dumps(stamp)}", timeout=20)
    assert page.evaluate("window.__marker") == 1            # same page, not a reload
    assert page.evaluate("location.search") == "?organization=org_002"
    assert abs(page.evaluate("window.scrollY") - 900) < 5
    assert "25" in page.evaluate("document.querySelector('.hero-meta, .period-note').textContent + "
                                 "document.querySelector('.period-note').textContent")
    # A failed build: the page stays and says so.
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(status="error", error="simulated failure", generated_at="2099-01-01T00:00:00Z")
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    page.wait_for("document.getElementById('live-status').textContent.includes('failed')", timeout=20)
    assert "showing the last good report" in page.evaluate(
        "document.getElementById('live-status').textContent")
    assert page.evaluate("window.__marker") == 1
    assert not page.errors, page.errors


def test_screenshots_of_every_report_and_statement_page(live_site):
    out = live_site["out"]
    pages = sorted(p.name for p in out.glob("*.html"))
    pages += ["org/" + sorted(p.name for p in (out / "org").glob("*.html"))[0],
              "customer/" + sorted(p.name for p in (out / "customer").glob("*.html"))[0]]
    many_bars = 0
    for width in (1280, 390):
        for name in pages:
            page = live_site["browser"].new_page(live_site["url"] + name, width=width)
            try:
                page.wait_for("document.readyState === 'complete'", timeout=20)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, (name, width, overflow)
                # No heading is clipped inside its cell ("Savin…"): headings wrap.
                clipped = page.evaluate("[...document.querySelectorAll('th')].filter("
                                        "th => th.scrollWidth > th.clientWidth + 1).length")
                assert clipped == 0, (name, width)
                # Many vertical bars on a phone: one row each, names readable.
                bars = json.loads(page.evaluate("""JSON.stringify([...document.querySelectorAll(
                    'script.chart-data')].map(b => { const s = JSON.parse(b.textContent);
                    const c = document.getElementById(b.dataset.canvas)._chart;
                    return [s.type, s.data[s.x].length, c.options.indexAxis]; }))"""))
                for kind, count, axis in bars:
                    if kind in ("bar", "stacked") and count > 12:
                        many_bars += 1
                        assert axis == ("y" if width == 390 else "x"), (name, width, kind, count)
                if name == "features.html":  # the quadrant split is drawn
                    assert page.evaluate("!!document.getElementById('chart-features-quadrant')"
                                         "._chart.options.plugins.quadrants.split")
                page.screenshot(ARTIFACTS / "explore" / f"{name.replace('/', '_')[:-5]}-{width}.png")
                assert not page.errors, (name, page.errors)
            finally:
                page.close()
    assert many_bars >= 2  # the phone rule above was exercised


def test_every_report_filtered_by_url_shows_run_sql_figures_of_a_filtered_file(live_site):
    query = "?to=2025-11-18&environment=production"
    keep = lambda r: r["timestamp"][:10] <= "2025-11-18" and r["environment"] == "production"  # noqa: E731
    reports = sorted(p.stem for p in live_site["out"].glob("*.html")
                     if p.stem not in ("index", "organizations", "customers"))
    assert reports == sorted(catalog.discover())  # every analyzer has its report
    page = live_site["browser"].new_page()
    for name in reports:
        page.navigate(live_site["url"] + name + ".html" + query)
        page.wait_for(f"location.pathname === '/{name}.html' && document.readyState === 'complete'"
                      " && document.body.hasAttribute('data-charts-drawn')", timeout=20)
        shown = json.loads(page.evaluate(PAGE_FIGURES))
        cards, tables = expected_figures(live_site["calls"], live_site["tmp"], name, keep)
        assert shown["cards"] == cards, name
        assert shown["tables"] == tables, name
    assert not page.errors, page.errors
