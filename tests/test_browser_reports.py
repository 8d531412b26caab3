"""The reports in a real headless Chromium (Playwright), opened from file:// with no server.

Each page must run without a console error, draw every chart (each canvas
has real pixels, not a blank box), show its title and headline figures, and
fit a phone's width without sideways scrolling. Screenshots at desktop and
phone width go to tests/artifacts/ for a human to look at; they are not
compared with a stored image (fonts and anti-aliasing differ between
Chromium builds, so a pixel baseline would fail for the wrong reasons).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finops.engine import analyze
from finops.engine.site import build_site
from test_build_support import HOSTILE_CUSTOMER, external_references, probe_dir, sample_rows

ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = pytest.mark.browser

# Per canvas: how many pixels are painted, and in how many distinct colours.
CANVAS_INK = """() => [...document.querySelectorAll('canvas')].map(c => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0; const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0) { painted += 1; colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]); }
  }
  return {id: c.id, width: c.width, height: c.height, painted, colours: colours.size};
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import write_calls

    tmp = tmp_path_factory.mktemp("browser")
    csv_path = write_calls(tmp / "calls.csv", sample_rows(360, hostile=True))
    sql_dir = probe_dir(tmp)
    result = build_site(csv_path, tmp / "reports", sql_dirs=[sql_dir], target_mb=0.2)
    assert result.status == "ok", result.error
    _, runs = analyze.run_sql("all", csv_path, sql_dirs=[sql_dir])
    return result, {r.analyzer.name: r for r in runs}


def wait_for_charts(page) -> int:
    """report.js sets data-charts-drawn on <body> when it has drawn every chart."""
    page.wait_for_function("() => document.body.hasAttribute('data-charts-drawn')", timeout=10_000)
    return int(page.get_attribute("body", "data-charts-drawn"))


def assert_charts_painted(page, where: str) -> None:
    canvases = page.evaluate(CANVAS_INK)
    for c in canvases:
        area = c["width"] * c["height"]
        assert area > 0, (where, c)
        # axes, labels and data: a drawn chart paints a good part of its box in many colours
        assert c["painted"] > 0.02 * area and c["colours"] >= 3, (where, c)


WIDTHS = {1280: "desktop", 390: "phone"}

# The headline cards whose right edge passes their .cards row's content edge.
CARDS_OUTSIDE_THEIR_ROW = """() => [...document.querySelectorAll('.cards > .card')].filter(card => {
  const row = card.parentElement.getBoundingClientRect();
  return card.getBoundingClientRect().right > row.right + 0.5;
}).map(card => card.innerText.slice(0, 60))"""


def screenshot(page, name: str, width: int) -> None:
    """A full-page screenshot in tests/artifacts/ for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{WIDTHS[width]}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_report_runs_clean_and_draws_every_chart(open_page, site, width):
    result, runs = site
    shots = {"probe", *[r.id for r in result.reports if r.id != "probe"][:2]}
    for report in result.reports:
        path = result.out_dir / report.file
        assert external_references(path.read_text(encoding="utf-8")) == []
        page = open_page(path.resolve().as_uri(), width=width, height=900)
        drawn = wait_for_charts(page)
        where = f"{report.id} at {width}px"
        assert drawn == page.locator("canvas").count() and drawn > 0, where
        assert page.get_attribute("body", "data-js-errors") is None, where
        assert_charts_painted(page, where)
        assert page.locator("h1").inner_text() == runs[report.id].analyzer.title, where
        # the headline cards show the figures the analyzer's headline query returns
        headline = runs[report.id].queries.get("headline")
        if headline is not None:
            labels = [t.strip() for t in page.locator(".metric-card .metric-label").all_text_contents()]
            assert labels == [row["label"] for row in headline.records()], where
        # a hostile value stays text: no element was made from it
        assert page.locator("img").count() == 0, where
        if report.id == "probe":  # its alert names min(customer_id): the hostile one
            assert HOSTILE_CUSTOMER in page.inner_text("body"), where
        # nothing wider than the screen: a phone reads it without scrolling sideways
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, (where, scroll_width)
        # each headline card within its row: a long word in a label does not
        # push a card past the row's edge (and over its panel's padding)
        assert page.evaluate(CARDS_OUTSIDE_THEIR_ROW) == [], where
        assert not page.errors, (where, page.errors)
        if report.id in shots:
            screenshot(page, report.id, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_index_lists_every_report_from_its_embedded_manifest(open_page, site, width):
    result, _ = site
    page = open_page((result.out_dir / "index.html").resolve().as_uri(), width=width)
    embedded = json.loads(page.locator("#manifest-data").text_content())
    assert embedded["generated_at"] == result.manifest["generated_at"]
    cards = page.locator("[data-report-id]")
    assert sorted(cards.evaluate_all("els => els.map(e => e.dataset.reportId)")) == \
        sorted(r.id for r in result.reports)
    for report in result.reports:
        assert report.title in page.locator(f"[data-report-id='{report.id}']").text_content()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not page.errors, page.errors
    screenshot(page, "index", width)


def test_on_a_phone_the_lever_table_shows_its_money_without_scrolling(open_page, site):
    """At 390 px the optimization lever table (what the ledger counts, lever by lever)
    keeps its monthly savings on screen: the amount follows the lever, and a table
    still wider than the screen scrolls inside its own box, never the page. A lever's
    name wraps between words, never inside one."""
    result, _ = site
    page = open_page((result.out_dir / "optimization.html").resolve().as_uri(), width=390, height=900)
    box = page.evaluate("""() => {
        const t = document.querySelector('#table-optimization-total_potential');
        const wrap = t.closest('.table-wrap').getBoundingClientRect();
        const money = [...t.querySelectorAll('th[data-column="monthly_savings"], td')]
            .filter(el => el.tagName === 'TH' || el.cellIndex === 1).map(el => el.getBoundingClientRect().right);
        const lever = [...t.querySelectorAll('tbody td:first-child')].map(td => td.className);
        return {right: wrap.right, money, lever, page: document.documentElement.scrollWidth};
    }""")
    assert box["money"] and max(box["money"]) <= box["right"] + 1, box
    assert all("words" in c for c in box["lever"] if c), box
    assert box["page"] <= 390


def test_on_a_phone_a_wide_tables_first_column_stays_while_the_amounts_scroll_in(open_page, site):
    """At 390 px the customers' margin table is wider than the screen: scrolled
    sideways to its money columns, each row still shows whose they are (the first
    column stays at the box's left edge, over the cells that scroll under it)."""
    result, _ = site
    page = open_page((result.out_dir / "profitability.html").resolve().as_uri(), width=390, height=900)
    box = page.evaluate("""() => {
        const t = document.querySelector('#table-profitability-customers');
        const wrap = t.closest('.table-wrap');
        wrap.scrollLeft = wrap.scrollWidth;
        const left = wrap.getBoundingClientRect().left;
        const first = [...t.querySelectorAll('tr > :first-child')].map(c => c.getBoundingClientRect().left - left);
        const second = t.querySelector('tbody tr > :nth-child(2)').getBoundingClientRect().left - left;
        return {scrolls: wrap.classList.contains('scrolls'), scrolled: wrap.scrollLeft, first, second};
    }""")
    assert box["scrolls"] and box["scrolled"] > 100, box
    assert all(abs(x) <= 2 for x in box["first"]), box  # header and every row, at the edge
    assert box["second"] < 0, box  # the next column did scroll away under it


def test_on_a_phone_an_alerts_long_amount_label_wraps_inside_the_alert(open_page, site):
    """At 390 px an alert's amount moves under its text and its label (what the
    money is and its period, the alerts query's amount_label) sits left, under the
    figure; a label longer than the phone's alert ("their margin (revenue less
    cost), a 30-day month" is one) wraps instead of pushing the alert past its
    panel and the page sideways."""
    result, _ = site
    pages = [r.file for r in result.reports]
    for file in pages:
        page = open_page((result.out_dir / file).resolve().as_uri(), width=390, height=900)
        if page.locator(".alert .amount small").count():
            break
    else:
        pytest.fail("no report of the test site has an alert with an amount")
    box = page.evaluate("""() => {
        const small = document.querySelector('.alert .amount small');
        small.textContent = 'their margin (revenue less cost), a 30-day month, ' +
                            'over the 100 days 2025-10-01..2026-01-08';
        const alert = small.closest('.alert').getBoundingClientRect();
        const panel = small.closest('.alert').parentElement.getBoundingClientRect();
        const amount = small.closest('.amount').getBoundingClientRect();
        return {alert: alert.right, panel: panel.right, label: small.getBoundingClientRect().left,
                amount: amount.left, align: getComputedStyle(small).textAlign,
                page: document.documentElement.scrollWidth};
    }""")
    assert box["alert"] <= box["panel"] + 0.5, box
    assert box["page"] <= 390, box
    assert box["align"] in ("left", "start") and abs(box["label"] - box["amount"]) < 60, box


def test_on_a_phone_an_empty_tables_no_rows_is_on_screen(open_page, site):
    """At 390 px "No rows." of an empty table wider than the phone starts at the
    table's left edge, where the reader is, not centred across columns that lie
    off-screen until the box is scrolled sideways."""
    result, _ = site
    seen = 0
    for report in result.reports:
        page = open_page((result.out_dir / report.file).resolve().as_uri(), width=390, height=900)
        cells = page.evaluate("""() => [...document.querySelectorAll('td.empty')].map(td => {
            const range = document.createRange();
            range.selectNodeContents(td);
            const text = range.getBoundingClientRect();
            const wrap = td.closest('.table-wrap').getBoundingClientRect();
            return {id: td.closest('table').id, left: text.left, right: text.right,
                    box: [wrap.left, wrap.right], wide: td.closest('table').scrollWidth > wrap.width};
        })""")
        for cell in cells:
            seen += cell["wide"]
            assert cell["box"][0] - 1 <= cell["left"] and cell["right"] <= cell["box"][1] + 1, \
                (report.file, cell)
    assert seen, "no report of the test site has an empty table wider than a phone"
