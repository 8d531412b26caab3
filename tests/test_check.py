"""`finops check`: each mistake in an analyzer file fails with `file:line`, message and fix.

The file format and the standard query shapes are docs/analyzers.md ("Analyzer
files"); the eight built-in analyzers pass (test_golden.py checks that too).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from finops.engine import check, render
from finops.engine.cli import main
from finops.engine.results import QueryResult

from conftest import write_calls

GOOD = """\
-- name: probe
-- title: Probe
-- category: finops
-- version: 1
-- description: A small analyzer that passes the check.
-- param: sla_ms = 2000 min 1 | Latency threshold

-- query: _slow
CREATE OR REPLACE TEMP VIEW probe_slow AS
SELECT * FROM calls WHERE latency_ms > getvariable('sla_ms');

-- query: headline
SELECT 'Slow calls' AS label, CAST(count(*) AS DECIMAL(18, 0)) AS value, 'count' AS unit
FROM probe_slow;

-- query: by_model
-- title: Cost by model
-- chart: bar
-- x: model
-- y: cost
-- limit: 10
-- format: calls=number
SELECT model, count(*) AS calls, sum(cost_usd) AS cost FROM calls GROUP BY ALL ORDER BY cost DESC;

-- query: alerts
SELECT 'high' AS severity, 'Slow' AS title, 'detail' AS detail, sum(cost_usd) AS amount_usd
FROM probe_slow;

-- query: recommendations
SELECT 1 AS priority, 'Route' AS title, 'detail' AS detail, sum(cost_usd) AS amount_usd,
       'extra columns may follow' AS note
FROM probe_slow;
"""


def problems_for(tmp_path, text: str) -> list[str]:
    folder = tmp_path / "sql"
    folder.mkdir(exist_ok=True)
    (folder / "probe.sql").write_text(text, encoding="utf-8")
    result = check.check_analyzers([folder], use_cache=False)
    return [str(p) for p in result.problems]


def test_a_sound_analyzer_passes(tmp_path):
    assert problems_for(tmp_path, GOOD) == []


# (mutation of GOOD, line the problem is on, words of the message, words of the fix)
MISTAKES = [
    ("-- chart: bar", "-- chart: pyramid", 18, "unknown chart type 'pyramid'", "use one of: line"),
    ("-- chart: bar", "-- chrt: bar", 18, "unknown hint `chrt:`", "use one of: title"),
    ("-- limit: 10", "-- limit: lots", 21, "limit must be a whole number", "-- limit: 25"),
    ("-- y: cost", "-- y: costs", 20, "`y: costs` names no column of query by_model",
     "use one of: model, calls, cost"),
    ("-- x: model", "-- x: modle", 19, "`x: modle` names no column", "use one of"),
    ("-- y: cost", "-- y: model", 20, "`y: model` is VARCHAR, not a number", "numeric"),
    ("-- format: calls=number", "-- format: calls=dollars", 22, "unknown format 'dollars'",
     "kind one of: money"),
    ("-- format: calls=number", "-- format: call=number", 22, "`format: call=...` names no column",
     "use one of"),
    ("getvariable('sla_ms')", "getvariable('sla_msec')", 10,
     "getvariable('sla_msec') in query _slow is not a declared parameter", "declare it"),
    ("-- category: finops", "-- category: money", 3, "unknown category 'money'", "finops, ubr"),
    ("-- version: 1", "-- version: one", 4, "version must be a whole number", "-- version: 1"),
    ("-- title: Probe\n", "-- title: Probe\n-- owner: me\n", 3, "unknown header key `owner:`",
     "use one of: name"),
    ("'count' AS unit\n", "'count' AS units\n", 12,
     "standard query headline returns (label, value, units); it must return (label, value, unit)",
     "rename or reorder"),
    ("'high' AS severity, 'Slow' AS title", "'Slow' AS title, 'high' AS severity", 25,
     "standard query alerts returns (title, severity", "rename or reorder"),
    ("sum(cost_usd) AS amount_usd,\n", "'a lot' AS amount_usd,\n", 29,
     "recommendations.amount_usd is VARCHAR, not a number", "cast amount_usd"),
    ("FROM calls GROUP BY ALL", "FROM callz GROUP BY ALL", 23, "query by_model:",
     "fix the SQL"),
    ("-- param: sla_ms = 2000 min 1 | Latency threshold",
     "-- param: sla_ms = 2000 min 1 | Latency threshold\n-- param: unused = 3 | Never read", 7,
     "parameter unused is declared but never read", "getvariable('unused')"),
    ("-- param: sla_ms = 2000 min 1", "-- param: sla_ms = -5 min 1", 6,
     "the default -5 is below its minimum 1", "change the default"),
    ("SELECT model, count(*)", "SELECT 1;\nSELECT model, count(*)", 23,
     "query by_model holds 2 statements", "its own `-- query: NAME`"),
    # Analyzers run side by side: one may not change what another reads.
    ("CREATE OR REPLACE TEMP VIEW probe_slow", "CREATE OR REPLACE VIEW probe_slow", 9,
     "query _slow runs `CREATE OR REPLACE ...`: an analyzer may only SELECT and create TEMP",
     "CREATE OR REPLACE TEMP"),
    ("-- query: _slow\n", "-- query: _gone\nDROP TABLE IF EXISTS finance_period;\n\n-- query: _slow\n",
     9, "query _gone runs `DROP TABLE IF ...`", "must not change what another reads"),
]


@pytest.mark.parametrize("old, new, line, message, fix", MISTAKES,
                         ids=[m[3][:40] for m in MISTAKES])
def test_each_mistake_is_reported_with_file_line_and_fix(tmp_path, old, new, line, message, fix):
    assert old in GOOD
    found = problems_for(tmp_path, GOOD.replace(old, new, 1))
    path = tmp_path / "sql" / "probe.sql"
    matching = [p for p in found if message in p]
    assert matching, found
    assert matching[0].startswith(f"{path}:{line}: ") and " — " in matching[0]
    assert fix in matching[0].split(" — ", 1)[1]


def test_a_misspelt_hint_no_longer_turns_later_hints_into_comments(tmp_path):
    # Before: the hint block ended at `chrt:`, so x, y and limit were read as comments.
    text = GOOD.replace("-- chart: bar", "-- chrt: bar")
    found = problems_for(tmp_path, text)
    assert len(found) == 1 and "unknown hint `chrt:`" in found[0]


def test_a_hint_after_a_comment_is_reported(tmp_path):
    text = GOOD.replace("-- title: Cost by model\n", "-- title: Cost by model\n-- A comment.\n")
    text = text.replace("-- x: model\n", "").replace("-- chart: bar\n", "")
    text = text.replace("-- A comment.\n", "-- A comment.\n-- chart: bar\n")
    found = problems_for(tmp_path, text)
    assert any("hint `chart:` after a comment is read as a comment" in p for p in found), found


def test_a_comment_after_the_hints_is_fine(tmp_path):
    text = GOOD.replace("-- format: calls=number\n",
                        "-- format: calls=number\n-- Calls and cost per model: the optimizer's input.\n")
    assert problems_for(tmp_path, text) == []


def test_calls_sql_variables_may_be_read_undeclared(tmp_path):
    text = GOOD.replace("SELECT model, count(*) AS calls",
                        "SELECT model, getvariable('csv_path') AS source, count(*) AS calls")
    assert problems_for(tmp_path, text) == []


def test_the_builtin_analyzers_pass_quickly():
    result = check.check_analyzers(use_cache=False)
    assert result.ok, [str(p) for p in result.problems]
    assert len(result.analyzers) >= 8
    # It runs before every build: figures are in the report, not asserted here
    # beyond a generous bound that only catches running the SQL over real data.
    assert result.seconds < 10


def test_check_command_exit_codes_and_json(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["check"])
    assert ok.exit_code == 0 and ok.stdout == ""
    assert "checked" in ok.stderr and ": ok" in ok.stderr
    problems_for(tmp_path, GOOD.replace("-- limit: 10", "-- limit: lots"))
    bad = runner.invoke(main, ["check", "--sql-dir", str(tmp_path / "sql")])
    assert bad.exit_code == 1
    assert bad.stdout.startswith(f"{tmp_path / 'sql' / 'probe.sql'}:21: limit must be")
    doc = json.loads(runner.invoke(main, ["check", "--sql-dir", str(tmp_path / "sql"),
                                          "--format", "json"]).stdout)
    assert doc["ok"] is False and doc["problems"][0]["line"] == 21
    assert set(doc["problems"][0]) == {"file", "line", "message", "fix"}


@pytest.fixture
def csv_and_broken(tmp_path):
    csv = write_calls(tmp_path / "calls.csv", [{"customer_id": "a"}, {"customer_id": "b"}])
    problems_for(tmp_path, GOOD.replace("-- chart: bar", "-- chart: pyramid"))
    return csv, tmp_path / "sql"


def test_run_sql_skips_a_broken_file_it_was_not_asked_for(csv_and_broken):
    csv, folder = csv_and_broken
    result = CliRunner().invoke(main, ["run-sql", "understanding", "--csv", str(csv),
                                       "--sql-dir", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["analyzer"] == "understanding"
    assert "warning: skipped probe" in result.stderr and "probe.sql:18" in result.stderr


def test_run_sql_of_a_broken_analyzer_lists_its_problems(csv_and_broken):
    csv, folder = csv_and_broken
    result = CliRunner().invoke(main, ["run-sql", "probe", "--csv", str(csv),
                                       "--sql-dir", str(folder)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {folder / 'probe.sql'}:18: unknown chart type")


def test_build_fails_only_the_broken_analyzer(csv_and_broken, tmp_path):
    csv, folder = csv_and_broken
    result = CliRunner().invoke(main, ["build", "--csv", str(csv), "--sql-dir", str(folder),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "FAILED probe" in result.stdout and "unknown chart type" in result.stderr
    assert (tmp_path / "out" / "understanding.html").is_file()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    [probe] = [r for r in manifest["reports"] if r["id"] == "probe"]
    assert probe["ok"] is False and "probe.sql:18" in probe["error"]


def test_format_hint_replaces_the_name_guess_in_reports():
    # `calls_fee_pct` would be guessed as a percentage; the hint says money.
    result = QueryResult("q", ["model", "fee_pct", "n"], ["VARCHAR", "DOUBLE", "BIGINT"],
                         [("a", 1234.5, 3)], {"format": "fee_pct=money, n=text"})
    section = render.section(result)
    kinds = {c.name: c.kind for c in section.columns}
    assert kinds == {"model": "number", "fee_pct": "money", "n": "text"}
    assert [cell[0] for cell in section.rows[0]] == ["a", "$1,234.50", "3"]
    plain = render.section(QueryResult("q", ["fee_pct"], ["DOUBLE"], [(12.34,)]))
    assert plain.rows[0][0][0] == "12.3%"


def test_a_text_parameter_may_default_to_empty(tmp_path):
    text = GOOD.replace("-- param: sla_ms = 2000 min 1 | Latency threshold",
                        "-- param: sla_ms = 2000 min 1 | Latency threshold\n"
                        "-- param: customer = | One customer (empty: all)")
    text = text.replace("FROM probe_slow;\n\n-- query: by_model",
                        "FROM probe_slow WHERE getvariable('customer') = '';\n\n-- query: by_model")
    assert problems_for(tmp_path, text) == []
