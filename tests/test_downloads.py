"""Downloads: every table as a spreadsheet-safe CSV with all its rows, the whole
analyzer as JSON, and run-sql's CSV exact unless --safe-csv asks otherwise."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from conftest import write_calls
from finops.engine import analyze
from finops.engine.cli import main
from finops.engine.downloads import csv_text, is_formula_risk, neutralize
from finops.engine.site import build_site
from test_build_support import sample_rows

# Names a spreadsheet would run: OWASP's examples and each formula character.
FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
            "-2+3", "\tTAB", "\rCR"]


def hostile_rows(n: int = 240) -> list[dict]:
    rows = sample_rows(n)
    for i, row in enumerate(rows):
        if i % 4 == 0:
            row["customer_id"] = FORMULAS[0]
            row["model"] = FORMULAS[1]
        if i % 6 == 1:
            row["feature_id"] = FORMULAS[2]
            row["organization_id"] = FORMULAS[3]
        if i % 9 == 2:
            row["product_id"] = FORMULAS[4]
            row["session_id"] = FORMULAS[2]  # (a CR inside a field: issue 9 reads those)
    return rows


@pytest.mark.parametrize("text, risky", [
    ("=1+1", True), ("+cmd", True), ("-2+3", True), ("@SUM(A1)", True), ("\tx", True),
    ("\rx", True), ("-12.5", False), ("+3", False), ("1e5", False), ("cust_0001", False),
    ("", False), ("a=b", False),
])
def test_formula_cells_are_recognised_and_numbers_are_not(text, risky):
    assert is_formula_risk(text) is risky
    assert neutralize(text) == ("'" + text if risky else text)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("downloads")
    csv_path = write_calls(tmp / "calls.csv", hostile_rows())
    result = build_site(csv_path, tmp / "reports")
    assert result.status == "ok", result.error
    return csv_path, result


def test_every_table_has_a_safe_csv_with_all_rows_and_every_cell_checked(hostile_site):
    csv_path, result = hostile_site
    _, runs = analyze.run_sql("all", csv_path)
    by_name = {r.analyzer.name: r for r in runs}
    checked_cells = neutralized = 0
    for report in result.reports:
        run = by_name[report.id]
        sections = [q for q in run.queries if q not in ("headline", "alerts", "recommendations")]
        csvs = [n for n in report.downloads if n.endswith(".csv")]
        assert sorted(csvs) == sorted(f"{report.id}-{q}.csv" for q in sections)
        for query in sections:
            text = (result.out_dir / f"{report.id}-{query}.csv").read_text(encoding="utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0] == run.queries[query].columns
            assert len(rows) - 1 == len(run.queries[query].rows), (report.id, query)
            for row, raw in zip(rows[1:], run.queries[query].rows):
                for cell, value in zip(row, raw):
                    checked_cells += 1
                    assert not is_formula_risk(cell), (report.id, query, cell)
                    if isinstance(value, str) and is_formula_risk(value):
                        neutralized += 1
                        assert cell == "'" + value
            # Every field quoted, so a CR or tab inside a cell cannot split it.
            assert all(line.startswith('"') for line in text.splitlines() if line)
    assert checked_cells > 1000 and neutralized > 10


def test_the_whole_analyzer_as_json_is_exact_and_linked(hostile_site):
    csv_path, result = hostile_site
    _, runs = analyze.run_sql("profitability", csv_path)
    data = json.loads((result.out_dir / "profitability.json").read_text(encoding="utf-8"))
    expected = runs[0].to_json()
    assert data["queries"] == expected["queries"]
    assert data["source"]["rows"] == 240
    assert FORMULAS[0] in {r["customer_id"] for r in data["queries"]["customers"]}
    html = (result.out_dir / "profitability.html").read_text(encoding="utf-8")
    assert 'href="profitability.json"' in html
    assert 'href="profitability-customers.csv"' in html
    entry = next(r for r in result.manifest["reports"] if r["id"] == "profitability")
    assert "profitability.json" in entry["downloads"]


def test_run_sql_csv_is_exact_and_safe_csv_neutralizes(tmp_path):
    csv_path = write_calls(tmp_path / "calls.csv", hostile_rows(60))
    runner = CliRunner()
    args = ["run-sql", "profitability", "--query", "customers", "--format", "csv", "--csv", str(csv_path)]
    exact = runner.invoke(main, args)
    assert exact.exit_code == 0, exact.output
    assert FORMULAS[0] in {r["customer_id"] for r in csv.DictReader(io.StringIO(exact.stdout))}
    safe = runner.invoke(main, [*args, "--safe-csv"])
    assert safe.exit_code == 0, safe.output
    cells = [c for row in csv.reader(io.StringIO(safe.stdout)) for c in row]
    assert "'" + FORMULAS[0] in cells and not any(is_formula_risk(c) for c in cells)
    bad = runner.invoke(main, ["run-sql", "profitability", "--safe-csv", "--csv", str(csv_path)])
    assert bad.exit_code != 0 and "--safe-csv only applies with --format csv" in bad.output
    help_text = runner.invoke(main, ["run-sql", "--help"]).output
    assert "exact for machines" in help_text and "--safe-csv" in help_text


def test_downloads_module_keeps_exact_money_in_the_safe_form(hostile_site):
    csv_path, _ = hostile_site
    _, runs = analyze.run_sql("understanding", csv_path, query="by_model")
    text = csv_text(runs[0].queries["by_model"], safe=True)
    assert "'+cmd|' /C calc'!A0" in text
    exact = csv_text(runs[0].queries["by_model"])
    assert "+cmd|' /C calc'!A0" in exact and "'+cmd" not in exact
