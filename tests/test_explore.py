"""Reports people explore (issue 13): filters, previous-period comparison,
statement pages, links, the filter route of `finops serve`, and the report
defects (targets, internal columns, quadrant split)."""

from __future__ import annotations

import csv
import http.client
import json
import re
import threading
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from conftest import write_calls
from finops.engine import analyze, catalog, filters as flt, render, statements
from finops.engine.cli import main
from finops.engine.errors import FinopsError
from finops.engine.explore import ExploreService, prepare, report
from finops.engine.server import filter_route, make_server, start_in_thread
from finops.engine.session import QueryStop, Stopped, open_session
from finops.engine.site import build_site
from test_build_support import Page, sample_rows


def rows_over(days: int = 24, per_day: int = 20) -> list[dict]:
    """Calls over `days` days from 2025-11-01, four organizations, three environments."""
    rows = sample_rows(days * per_day)
    for i, row in enumerate(rows):
        day = i // per_day
        row["timestamp"] = f"2025-11-{1 + day:02d}T{(i * 5) % 24:02d}:{i % 60:02d}:00"
        row["session_id"] = f"sess_{i % 17}"
    return rows


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    return write_calls(tmp / "calls.csv", rows_over())


# --- filters -------------------------------------------------------------------

def test_filters_parse_typed_values_and_refuse_anything_else():
    f = flt.parse([("from", "2025-11-03"), ("to", "2025-11-09"), ("organization", "org_001"),
                   ("model", ""), ("customer", " cust_0001 ")])
    assert f.date_from == date(2025, 11, 3) and f.customer == "cust_0001" and f.model is None
    assert f.query_string() == "from=2025-11-03&to=2025-11-09&organization=org_001&customer=cust_0001"
    assert flt.parse([("organization", "org_001")]).items() == [("organization", "org_001")]
    for bad, message in [([("sql", "SELECT 1")], "unknown filter key"),
                         ([("from", "2025-11-31")], "not a real date"),
                         ([("from", "yesterday")], "must be a date"),
                         ([("to", "2025-11-01"), ("from", "2025-11-02")], "before from"),
                         ([("customer", "x" * 201)], "longer than"),
                         ([("customer", "a\x00b")], "control character"),
                         ([("model", "a"), ("model", "b")], "given twice")]:
        with pytest.raises(FinopsError, match=message):
            flt.parse(bad)
    with pytest.raises(FinopsError, match="KEY=VALUE"):
        flt.parse_where(["organization"])
    with pytest.raises(FinopsError, match="use --from"):
        flt.parse_where(["from=2025-11-01"])


def test_a_value_that_looks_like_sql_is_only_ever_a_value(calls):
    session = open_session(calls)
    try:
        prepare(session.con, flt.parse([("customer", "x' OR '1'='1")]))
        assert session.con.execute("SELECT count(*) FROM calls").fetchone()[0] == 0
        assert session.con.execute("SELECT count(*) FROM calls_unfiltered").fetchone()[0] == 480
    finally:
        session.close()


FILTER_CASES = [
    [("from", "2025-11-05"), ("to", "2025-11-16")],
    [("organization", "org_002")],
    [("from", "2025-11-10"), ("environment", "production"), ("provider", "openai")],
]


@pytest.mark.parametrize("pairs", FILTER_CASES)
def test_every_analyzer_on_the_filtered_view_equals_run_sql_on_a_filtered_file(calls, tmp_path,
                                                                               pairs):
    """The analyzers run unchanged: narrowed in place, they return exactly what
    run-sql returns on a file holding only the matching rows."""
    f = flt.parse(pairs)
    with open(calls, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    keep = [r for r in rows
            if (not f.date_from or r["timestamp"][:10] >= f.date_from.isoformat())
            and (not f.date_to or r["timestamp"][:10] <= f.date_to.isoformat())
            and all(getattr(f, k) is None or r[col] == getattr(f, k)
                    for k, col in flt.TEXT_KEYS.items())]
    assert 0 < len(keep) < len(rows)
    narrowed = write_calls(tmp_path / "narrowed.csv", keep)
    _, expected = analyze.run_sql("all", narrowed)
    session = open_session(calls)
    try:
        prepare(session.con, f)
        for want in expected:
            got = analyze.run_analyzer(session.con, want.analyzer)
            assert got.to_json()["queries"] == want.to_json()["queries"], want.analyzer.name
    finally:
        session.close()


# --- period comparison ------------------------------------------------------------

def test_headlines_compare_with_the_previous_period_of_the_same_length(calls, tmp_path):
    analyzers = catalog.discover()
    understanding = analyzers["understanding"]
    session = open_session(calls)
    try:
        scope = prepare(session.con, flt.parse([("from", "2025-11-13"), ("to", "2025-11-24")]))
        assert (scope["previous_start"], scope["previous_end"], scope["has_previous"]) == \
            (date(2025, 11, 1), date(2025, 11, 12), True)
        result, changes = report(session.con, understanding, scope)
        # joined by position: a money card names its period, so labels differ
        now = [r[1] for r in result.queries["headline"].rows]
        prepare(session.con, flt.parse([("from", "2025-11-01"), ("to", "2025-11-12")]))
        before = [r[1] for r in analyze.run_analyzer(session.con, understanding,
                                                     only="headline").queries["headline"].rows]
        assert len(now) == len(before) == len(changes)
        for label, change in enumerate(changes):
            if now[label] is None or before[label] is None:
                # a figure with no value in one period (e.g. a forecast with
                # not enough history) has no change
                assert change["change"] is None, label
                continue
            assert change["compared"]
            assert Decimal(str(change["change"])) == (Decimal(str(now[label])) - Decimal(str(before[label]))
                                                       ).quantize(Decimal("0.000001")), label
            if before[label]:
                assert change["change_pct"] == pytest.approx(
                    100 * (float(now[label]) - float(before[label])) / abs(float(before[label])))
        # The first 12 days have nothing before them; the whole file never does.
        for pairs in ([("from", "2025-11-01"), ("to", "2025-11-12")], []):
            scope = prepare(session.con, flt.parse(pairs))
            assert not scope["has_previous"]
            _, changes = report(session.con, understanding, scope)
            assert changes and not any(c["compared"] for c in changes)
    finally:
        session.close()


def test_built_pages_show_the_change_or_no_previous_period(calls, tmp_path):
    whole = build_site(calls, tmp_path / "whole", statements=False)
    page = (whole.out_dir / "understanding.html").read_text(encoding="utf-8")
    assert page.count("no previous period") >= 3 and "No previous period" in page
    narrow = build_site(calls, tmp_path / "narrow", statements=False,
                        filters=flt.parse([("from", "2025-11-13"), ("to", "2025-11-24")]))
    page = (narrow.out_dir / "understanding.html").read_text(encoding="utf-8")
    assert "changes are against the previous 12 days, 2025-11-01 → 2025-11-12" in page
    assert re.search(r'class="metric-change trend-(up|down|flat)"', page)
    assert "Filtered: " in page and narrow.manifest["filters"] == {"from": "2025-11-13",
                                                                   "to": "2025-11-24"}


# --- statements -------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(calls, tmp_path_factory):
    result = build_site(calls, tmp_path_factory.mktemp("site") / "reports")
    assert result.status == "ok", result.error
    return result


def test_one_statement_page_per_organization_and_customer(site, calls):
    out = site.out_dir
    assert site.manifest["statements"]["pages"] == {"org": 4, "customer": 12}
    assert sorted(p.name for p in (out / "org").glob("*.html")) == [f"org_{i:03d}.html" for i in range(4)]
    assert len(list((out / "customer").glob("*.html"))) == 12
    for index in ("organizations.html", "customers.html"):
        assert (out / index).exists()


def test_organization_statements_match_the_alignment_chargeback(site, calls):
    _, results = analyze.run_sql("alignment", calls, query="chargeback")
    for row in results[0].to_json()["queries"]["chargeback"]:
        page = Page((site.out_dir / "org" / f"{row['organization_id']}.html").read_text(encoding="utf-8"))
        figures = summary_figures(page)
        assert figures["chargeback_cost"] == pytest.approx(row["chargeback_cost"], abs=1e-6)
        # tagged cost stays with its owner; only untagged cost is shared
        assert figures["showback_cost"] == pytest.approx(row["direct_cost"], abs=1e-6)
        assert figures["allocated_shared_cost"] == pytest.approx(row["shared_cost"], abs=1e-6)
        headers, cells = page.table("table-organization-monthly")
        at = headers.index("chargeback_cost")
        assert sum(r[at] for r in cells) == pytest.approx(row["chargeback_cost"], abs=1e-5)


def test_organization_months_add_up_to_the_statement_across_months(tmp_path):
    rows = rows_over()
    for i, row in enumerate(rows):  # 2025-10-20 .. 2025-11-12: two calendar months
        day = date(2025, 10, 20).toordinal() + i // 20
        row["timestamp"] = date.fromordinal(day).isoformat() + row["timestamp"][10:]
        if date.fromordinal(day).month == 10 and row["environment"] == "staging":
            row["environment"] = "production"  # a different pool in each month
    calls = write_calls(tmp_path / "two_months.csv", rows)
    session = open_session(calls)
    try:
        prepare(session.con, flt.Filters())
        pages = {st.id: st for st in statements.run(session.con, statements.ORGANIZATION)}
    finally:
        session.close()
    assert len(pages) == 4
    for st in pages.values():
        summary = st.summary()
        months = st.queries["monthly"]
        index = months.columns.index
        assert [r[index("month")] for r in months.rows] == ["2025-10", "2025-11"]
        assert sum(r[index("chargeback_cost")] for r in months.rows) == summary["chargeback_cost"]
        assert sum(r[index("allocated_shared_cost")] for r in months.rows) == \
            summary["allocated_shared_cost"]


def test_customer_statements_match_profitability(site, calls):
    _, results = analyze.run_sql("profitability", calls, query="customers")
    for row in results[0].to_json()["queries"]["customers"]:
        page = Page((site.out_dir / "customer" / f"{row['customer_id']}.html").read_text(encoding="utf-8"))
        figures = summary_figures(page)
        for column, theirs in (("subscription_revenue", "revenue"), ("ai_cost", "cost"),
                               ("margin", "margin"), ("calls", "calls"),
                               ("billed_days", "tenure_days")):
            assert figures[column] == pytest.approx(row[theirs], abs=1e-6), column
        # no budgets file: no budget, said so; the fee-based allocation is over exactly
        # when the customer loses money
        assert figures["budget_risk"] == "no budget"
        assert (figures["allocation_risk"] == "high") == (row["status"] == "unprofitable")
        _, sessions = page.table("table-customer-top_sessions")
        assert 1 <= len(sessions) <= 5


def test_every_named_organization_and_customer_links_to_an_existing_statement(site):
    out = site.out_dir
    seen = 0
    for page_file in [*out.glob("*.html"), *out.glob("org/*.html"), *out.glob("customer/*.html")]:
        page = Page(page_file.read_text(encoding="utf-8"))
        for link in page.find("a"):
            href = link["attrs"].get("href", "")
            if re.match(r"(\.\./)?(org|customer)/", href):
                assert (page_file.parent / href).resolve().exists(), (page_file.name, href)
                seen += 1
    assert seen > 100
    alignment = Page((out / "alignment.html").read_text(encoding="utf-8"))
    hrefs = {a["attrs"].get("href") for a in alignment.find("a")}
    assert "org/org_000.html" in hrefs and "profitability.html" in hrefs and "customers.html" in hrefs


def test_statement_file_names_are_safe_for_any_id():
    assert statements.slug("org_001") == "org_001"
    for hostile in ("../../etc/passwd", "<b>x</b>", "a" * 300, ".hidden", "ORG 1"):
        name = statements.slug(hostile)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name) and len(name) <= 80
    assert statements.slug("Org_1 ") != statements.slug("Org_1")


# --- the filter route of serve -------------------------------------------------------

@pytest.fixture
def served(site, calls):
    service = ExploreService(calls, site.out_dir, max_waiting=1, wait_seconds=0.5)
    server = make_server(site.out_dir, "127.0.0.1", 0, routes=[filter_route(service)])
    start_in_thread(server)
    yield server, service
    server.shutdown()
    server.server_close()
    service.close()


def get(server, target):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
    conn.request("GET", target)
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace"), response.headers


def test_serve_renders_a_filtered_report_whose_figures_match_run_sql(served, calls, tmp_path):
    server, _ = served
    status, body, headers = get(server, "/understanding.html?organization=org_001&from=2025-11-05")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    page = Page(body)
    cards = [json.loads(el["attrs"]["data-value"]) for el in page.find("p")
             if "metric-value" in el["attrs"].get("class", "")]
    with open(calls, encoding="utf-8", newline="") as fh:
        keep = [r for r in csv.DictReader(fh)
                if r["organization_id"] == "org_001" and r["timestamp"][:10] >= "2025-11-05"]
    _, expected = analyze.run_sql("understanding", write_calls(tmp_path / "f.csv", keep),
                                  query="headline")
    assert cards == [r["value"] for r in expected[0].to_json()["queries"]["headline"]]
    assert 'value="org_001"' in body and 'href="understanding-by_model.csv?' in body
    status, text, _ = get(server, "/understanding-by_model.csv?organization=org_001")
    assert status == 200 and text.startswith('"provider","model"')
    status, text, _ = get(server, "/understanding.json?organization=org_001")
    assert status == 200 and json.loads(text)["source"]["filters"] == {"organization": "org_001"}


def test_stopping_interrupts_the_session_query_and_nothing_loads_after(site, calls):
    """serve's stop: a query running on the service's session ends at once
    (interrupted), close() waits only for that, and a
    request after that loads nothing (no thread may be inside DuckDB at exit)."""
    stop = QueryStop()
    service = ExploreService(calls, site.out_dir, stop=stop)
    assert service.handle("understanding.json", [("organization", "org_001")]).status == 200
    con = service._session.con
    errors = []

    def slow():  # a request's query (under the service's lock): minutes unless interrupted
        with service._lock:
            try:
                con.execute("SELECT sum(hash(i)) FROM range(100000000000) t(i)").fetchall()
            except Exception as exc:
                errors.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        threading.Event().wait(0.5)
        stop.stop()
        assert service.close(5.0)
        thread.join(5)
        assert not thread.is_alive() and "INTERRUPT" in str(errors[0])
        reply = service.handle("understanding.json", [("organization", "org_001")])
        assert reply.status == 503 and b"stopping" in reply.body
        assert service._session is None
        with pytest.raises(Stopped):
            open_session(calls, stop=stop)
    finally:
        stop.stop()
        thread.join(10)


def test_serve_filters_with_the_subscriptions_and_budgets_serve_was_given(site, calls, tmp_path):
    """A filtered page bills from --subscriptions and compares with --budgets, as the
    unfiltered build does: equal to run-sql on a filtered file with the same files."""
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,organization_id,subscription_tier,start_date,end_date,"
                    "monthly_price,discount_pct\n"
                    "cust_0001,org_001,enterprise,2025-11-01,,450,10\n", encoding="utf-8")
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n2025-11,organization,org_001,0.5\n",
                       encoding="utf-8")
    service = ExploreService(calls, site.out_dir, subscriptions=subs, budgets=budgets)
    try:
        got = {name: json.loads(service.handle(f"{name}.json", [("organization", "org_001")]).body)
               for name in ("profitability", "alignment")}
    finally:
        service.close()
    with open(calls, encoding="utf-8", newline="") as fh:
        keep = [r for r in csv.DictReader(fh) if r["organization_id"] == "org_001"]
    filtered = write_calls(tmp_path / "org_001.csv", keep)
    for name, query in (("profitability", "customers"), ("alignment", "budget_vs_actual")):
        _, expected = analyze.run_sql(name, filtered, query=query, subscriptions=subs,
                                      budgets=budgets)
        assert got[name]["queries"][query] == expected[0].to_json()["queries"][query]
    customers = {r["customer_id"]: r for r in got["profitability"]["queries"]["customers"]}
    assert customers["cust_0001"]["revenue_source"] == "subscriptions"
    assert customers["cust_0001"]["subscription_tier"] == "enterprise"
    [budget] = got["alignment"]["queries"]["budget_vs_actual"]
    assert budget["scope_id"] == "org_001" and budget["budget_usd"] == 0.5


@pytest.mark.parametrize("target, status", [
    ("/understanding.html?sql=SELECT%201", 400),
    ("/understanding.html?from=2025-02-30", 400),
    ("/nope.html?organization=x", 404),
    ("/understanding-nope.csv?organization=x", 404),
    ("/understanding.html?customer=" + "x" * 3000, 414),
    ("/../understanding.html?organization=x", 400),
])
def test_serve_accepts_only_typed_filters(served, target, status):
    server, _ = served
    assert get(server, target)[0] == status


def test_serve_runs_one_filter_request_at_a_time_and_refuses_beyond_the_queue(served):
    server, service = served
    assert service._lock.acquire()
    try:
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            get(server, "/understanding.html?organization=org_001")[0])) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results.count(503) == 4  # queue of 1 waits 0.5 s then gives up; the rest at once
    finally:
        service._lock.release()
    assert get(server, "/understanding.html?organization=org_001")[0] == 200


def test_the_static_files_are_served_as_before_without_a_query(served, site):
    server, _ = served
    status, body, _ = get(server, "/understanding.html")
    assert status == 200 and body == (site.out_dir / "understanding.html").read_text(encoding="utf-8")


# --- defects ---------------------------------------------------------------------

def test_static_index_says_nothing_of_targets(site):
    index = (site.out_dir / "index.html").read_text(encoding="utf-8")
    assert site.manifest["target_size_mb"] is None
    assert "No target size set" not in index and " MB of " not in index
    assert "reached" not in index


def test_serve_without_target_mb_has_no_target_unless_simulating(tmp_path, calls):
    from finops.engine import live

    seen = {}

    def fake_loop(*args, **kwargs):
        seen["target_bytes"] = kwargs.get("target_bytes")
        raise KeyboardInterrupt

    original = live.RebuildLoop
    live.RebuildLoop = fake_loop
    try:
        with pytest.raises(KeyboardInterrupt):
            live.serve(calls, tmp_path / "out", port=0, log=lambda line: None)
    finally:
        live.RebuildLoop = original
    assert seen["target_bytes"] is None
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "Default: 50 with --simulate, none otherwise" in help_text


def test_internal_label_columns_are_not_shown_but_stay_in_the_download(site):
    for report_id, query in (("optimization", "model_switching"), ("alignment", "org_product")):
        page = Page((site.out_dir / f"{report_id}.html").read_text(encoding="utf-8"))
        headers, _ = page.table(f"table-{report_id}-{query}")
        assert "Label" not in headers, (report_id, headers)
        first = (site.out_dir / f"{report_id}-{query}.csv").read_text(encoding="utf-8").splitlines()[0]
        # the chart's label column (`label`, or `_label` by the underscore rule)
        assert {'"label"', '"_label"'} & set(first.split(",")), first


def test_the_quadrant_scatter_carries_its_split_and_corner_names(site):
    page = Page((site.out_dir / "features.html").read_text(encoding="utf-8"))
    spec = next(s for s in (json.loads(b["text"]) for b in page.json_blocks())
                if s.get("type") == "scatter")
    split = spec["split"]
    _, rows = page.table("table-features-quadrant")
    assert split["x"] == rows[0][-2] and split["y"] == rows[0][-1]
    assert set(split["corners"].values()) <= {"invest", "optimize", "maintain", "sunset"}
    assert split["corners"]


def test_cli_build_where_writes_the_filtered_site(calls, tmp_path):
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["build", "--csv", str(calls), "--out", str(out),
                                       "--from", "2025-11-05", "--where", "organization=org_001"])
    assert result.exit_code == 0, result.output
    assert "filtered: 2025-11-05 → end · organization org_001 (" in result.output
    empty = CliRunner().invoke(main, ["build", "--csv", str(calls), "--out", str(tmp_path / "none"),
                                      "--where", "customer=nobody"])
    assert empty.exit_code == 0 and "no calls match the filters" in empty.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["statements"]["pages"]["org"] == 1
    bad = CliRunner().invoke(main, ["build", "--csv", str(calls), "--out", str(out),
                                    "--where", "tier=pro"])
    assert bad.exit_code == 2 or bad.exit_code == 1
    assert "unknown --where key 'tier'" in bad.output


def test_index_links_to_the_statement_lists(site):
    page = Page((site.out_dir / "index.html").read_text(encoding="utf-8"))
    hrefs = {a["attrs"].get("href") for a in page.find("a")}
    assert {"organizations.html", "customers.html"} <= hrefs
    listing = Page((site.out_dir / "customers.html").read_text(encoding="utf-8"))
    links = [a["attrs"]["href"] for a in listing.find("a") if a["attrs"].get("href", "").startswith("customer/")]
    assert len(links) == 12 and all((site.out_dir / h).exists() for h in links)


def test_underscore_columns_never_reach_the_page_table():
    from finops.engine.results import QueryResult

    result = QueryResult("q", ["customer_id", "cost", "_rank", "label"], ["VARCHAR", "DECIMAL(18,6)",
                         "BIGINT", "VARCHAR"], [("c1", Decimal("1.5"), 1, "c1 / x")],
                         {"chart": "bar", "x": "label", "y": "cost"})
    sec = render.section(result, links=True)
    assert [c.name for c in sec.columns] == ["customer_id", "cost"]
    assert sec.rows[0][0] == ("c1", '"c1"', "customer/c1.html")
    assert sec.chart["data"]["label"] == ["c1 / x"]  # the chart still names its bars


def _statement_pages(out):
    """Every statement page's text, without the build stamp the live script reads."""
    return {str(p.relative_to(out)): re.sub(r'data-generated-at="[^"]*"', "", p.read_text("utf-8"))
            for folder in ("org", "customer") for p in (out / folder).glob("*.html")}


def test_a_rebuild_writes_only_the_statement_pages_whose_inputs_changed(calls, tmp_path):
    """A serve rebuild at thousands of customers must not rewrite every page, yet
    never leave one stale: after any sequence of rebuilds the pages equal those
    of a fresh build, and only the pages whose figures changed were written."""
    out = tmp_path / "live"
    with open(calls, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    calls = write_calls(tmp_path / "calls.csv", rows)  # grown in place below
    first = build_site(calls, out, live=True)
    pages = sorted((out / "org").glob("*.html")) + sorted((out / "customer").glob("*.html"))
    assert first.manifest["statements"]["rewritten"] == len(pages) == 16
    stamps = {p: p.stat().st_mtime_ns for p in pages}
    # A build with nothing new would leave the folder alone (uptodate.py): one
    # report removed by hand makes this one run, over unchanged calls.
    (out / "understanding.html").unlink()
    again = build_site(calls, out, live=True)
    assert not again.unchanged and (out / "understanding.html").is_file()
    assert again.manifest["statements"]["rewritten"] == 0
    assert again.manifest["statements"]["pages"] == first.manifest["statements"]["pages"]
    assert all(p.stat().st_mtime_ns == stamps[p] for p in pages)
    # One more call, inside the period, for one customer of org_001: its page and its
    # organization's change (and the organizations whose share of the shared pool
    # moves); the other customers' pages stay as they are.
    extra = dict(rows[1], call_id="extra_1", timestamp="2025-11-10T12:00:00",
                 cost_usd="1.500000")
    grown = write_calls(calls, [*rows, extra])
    (out / "customer" / "cust_0005.html").unlink()  # a page removed by hand comes back
    third = build_site(grown, out, live=True)
    written = {p for p in pages if not p.exists() or p.stat().st_mtime_ns != stamps[p]}
    names = {f"{p.parent.name}/{p.name}" for p in written}
    assert {f"customer/{extra['customer_id']}.html", f"org/{extra['organization_id']}.html",
            "customer/cust_0005.html"} <= names
    assert len([n for n in names if n.startswith("customer/")]) == 2
    assert third.manifest["statements"]["rewritten"] == len(names)
    fresh = build_site(grown, tmp_path / "fresh" / "live", live=True)
    assert fresh.manifest["statements"]["rewritten"] == 16
    assert _statement_pages(out) == _statement_pages(tmp_path / "fresh" / "live")


def test_statement_pages_follow_the_filters_and_the_page_code(calls, tmp_path):
    """The same rows under another scope, or another template, are other inputs."""
    from finops.engine import statements as st_mod

    out = tmp_path / "site"
    build_site(calls, out)
    narrowed = build_site(calls, out, filters=flt.parse([("from", "2025-11-02")]))
    assert narrowed.manifest["statements"]["rewritten"] == 16
    scope = {"start": date(2025, 11, 1), "end": date(2025, 11, 24), "days": 24}
    base = st_mod.context_digest(source={"csv_path": "calls.csv"}, scope=scope, nav=[])
    assert base != st_mod.context_digest(source={"csv_path": "calls.csv"},
                                         scope=dict(scope, end=date(2025, 11, 25)), nav=[])
    assert st_mod.TEMPLATES_DIR / "statement.html" in st_mod._PAGE_CODE


def test_ids_named_in_alerts_and_recommendations_link_to_their_statements(site):
    linker = render.IdLinker(["org_001"], ["cust_0001", "acme.eu"])
    html = str(linker("Cap cust_0001 (org_001); not cust_00011 nor x.org_001; acme.eu. <b>"))
    assert html.count("<a ") == 3 and 'href="customer/cust_0001.html"' in html
    assert 'href="org/org_001.html"' in html and ">acme.eu</a>." in html and "&lt;b&gt;" in html
    realtime = Page((site.out_dir / "realtime.html").read_text(encoding="utf-8"))
    alert_links = [a["attrs"]["href"] for a in realtime.find("a")
                   if a["attrs"].get("href", "").startswith("customer/")]
    assert alert_links and all((site.out_dir / h).exists() for h in alert_links)


def test_serve_renders_a_filtered_statement_and_links_keep_the_filters(served, calls):
    server, _ = served
    status, body, _ = get(server, "/alignment.html?from=2025-11-05")
    assert status == 200 and 'href="org/org_001.html?from=2025-11-05"' in body
    status, body, _ = get(server, "/org/org_001.html?from=2025-11-05")
    assert status == 200
    page = Page(body)
    figures = summary_figures(page)
    with open(calls, encoding="utf-8", newline="") as fh:
        expected = sum(1 for r in csv.DictReader(fh)
                       if r["organization_id"] == "org_001" and r["timestamp"][:10] >= "2025-11-05")
    assert figures["calls"] == expected and figures["period_start"] == "2025-11-05"
    assert 'href="../customer/' in body and "?from=2025-11-05" in body
    assert get(server, "/org/org_999.html?from=2025-11-05")[0] == 404
    assert get(server, "/org/org_001.html?organization=org_002")[0] == 404
    assert get(server, "/org/sub/x.html?from=2025-11-05")[0] in (400, 404)


def test_statement_pages_are_staged_and_only_gone_ids_are_deleted(calls, tmp_path):
    """The statements go through the staged build (issue 12's publish): nothing
    is left in a staging folder, and a rebuild on data without an organization
    deletes that organization's page and keeps the others."""
    out = tmp_path / "site"
    build_site(calls, out)
    with open(calls, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    gone = rows[0]["organization_id"]
    assert (out / "org" / f"{gone}.html").exists()
    kept = sorted(p.name for p in (out / "org").glob("*.html") if p.stem != gone)
    fewer = write_calls(tmp_path / "fewer.csv", [r for r in rows if r["organization_id"] != gone])
    result = build_site(fewer, out)
    assert result.status == "ok"
    assert not (out / "org" / f"{gone}.html").exists()
    assert sorted(p.name for p in (out / "org").glob("*.html")) == kept
    assert not list(out.glob(".staging-*"))
    assert result.manifest["statements"]["pages"]["org"] == len(kept)


def test_analyzers_may_not_take_a_statement_page_name():
    from finops.engine.site import RESERVED_NAMES

    assert {"org", "customer", "organizations", "customers"} <= RESERVED_NAMES


def test_the_filter_route_answers_head_and_refuses_other_methods(served):
    server, _ = served
    for method, expected in (("HEAD", 200), ("POST", 405)):
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
        conn.request(method, "/understanding.html?organization=org_001")
        response = conn.getresponse()
        body = response.read()
        assert response.status == expected, method
        if method == "HEAD":
            assert body == b"" and response.headers["content-type"].startswith("text/html")
        conn.close()
    # Host check of issue 12 covers the route too.
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
    conn.putrequest("GET", "/understanding.html?organization=org_001", skip_host=True)
    conn.putheader("Host", "evil.example")
    conn.endheaders()
    assert conn.getresponse().status == 421


def test_money_is_labelled_and_a_fee_is_never_called_a_budget(site):
    """What a finance reader rejected in the screenshots (issue 13 point 5)."""
    out = site.out_dir
    for report in ("understanding", "pricing"):
        page = Page((out / f"{report}.html").read_text(encoding="utf-8"))
        kinds = {(el["attrs"].get("data-column")): el["attrs"].get("data-kind")
                 for el in page.find("th") if el["attrs"].get("data-column")}
        for column in {"understanding": ("low", "high"),
                       "pricing": ("gain_now", "gain_full", "revenue_while_grandfathered")}[report]:
            assert kinds.get(column) == "money", (report, column)
    # Every cell of a money column says dollars; every alert amount says what it is.
    for path in out.glob("*.html"):
        page = Page(path.read_text(encoding="utf-8"))
        for table in page.find("table"):
            inside = list(_descendants(table))
            kinds = [el["attrs"].get("data-kind") for el in inside if el["tag"] == "th"]
            for row in (el for el in inside if el["tag"] == "tr"):
                cells = [c for c in row["children"] if c["tag"] == "td"]
                for kind, td in zip(kinds, cells):
                    text = td["text"].strip()
                    if kind in ("money", "price") and text not in ("", "—"):
                        assert "$" in text, (path.name, table["attrs"].get("id"), text)
                    if kind == "money":  # an amount to the cent, never "$0.004"
                        assert re.fullmatch(r"(-?\$[\d,]+\.\d\d|< \$0\.01|> -\$0\.01|—|)", text), \
                            (path.name, table["attrs"].get("id"), text)
        for alert in page.find("li"):
            if "alert" in alert["attrs"].get("class", "").split():
                amounts = [c for c in alert["children"] if c["tag"] == "span"
                           and c["attrs"].get("class") == "amount"]
                # what the money is and for what period (the alerts' amount_label)
                assert all(re.search(r"(a 30-day month|in the period|over the \d+ days|\d{4}-\d{2})$",
                                     a["text"].strip()) and "at stake" not in a["text"]
                           for a in amounts), path.name
    customer = (out / "customer" / "cust_0001.html").read_text(encoding="utf-8")
    labels = [el["text"].strip() for el in Page(customer).find("dt")]
    # the fee-based allocation is never called a budget: only the budgets file's columns are
    budget_labels = {render.column_label(n) for n in (
        "budget_month", "budget_usd", "budget_month_cost", "forecast_month_end_cost",
        "budget_used_pct", "budget_risk")}
    assert render.column_label("allocation") in labels
    assert {t for t in labels if "budget" in t.lower()} <= budget_labels
    org = Page((out / "org" / "org_001.html").read_text(encoding="utf-8"))
    labels = [el["text"].strip() for el in org.find("dt")]
    assert "Shared share\u00a0%" not in labels and "Allocation share\u00a0%" in labels
    assert labels.index("Showback cost") < labels.index("Allocated shared cost") \
        < labels.index("Chargeback cost")
    assert render.column_label("backtest_mape_pct") == "Backtest MAPE\u00a0%"
    assert render.column_label("own_non_production_cost") == "Own non-production cost"


def summary_figures(page: Page) -> dict:
    """A statement page's summary figures, by column, from their exact data-value."""
    return {el["attrs"]["data-column"]: json.loads(el["attrs"]["data-value"])
            for el in page.find("dd") if "data-column" in el["attrs"]}


def _descendants(el):
    for child in el["children"]:
        yield child
        yield from _descendants(child)
