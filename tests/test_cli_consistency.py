"""The CLI defects of issue 8, one test each, through click's CliRunner (docs/cli.md)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from finops.engine.cli import main

from conftest import write_calls


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def csv(tmp_path):
    rows = [{"customer_id": "a", "latency_ms": "100", "cost_usd": "0.100000"},
            {"customer_id": "b", "latency_ms": "2500", "cost_usd": "0.250000"},
            {"customer_id": "b", "latency_ms": "300", "cost_usd": "0.050000"}]
    path = write_calls(tmp_path / "calls.csv", rows)
    with open(path, "a", encoding="utf-8") as fh:  # call_1 again: a duplicate, counted once
        fh.write(path.read_text().splitlines()[1] + "\n")
    return path


def test_dash_q_is_quiet_everywhere():
    for command in ("run-sql", "build", "simulate", "check"):
        params = {p.name: p for p in main.commands[command].params}
        assert "-q" in params["quiet"].opts, command
    assert main.commands["run-sql"].params  # --query keeps its long name only
    query = {p.name: p for p in main.commands["run-sql"].params}["query"]
    assert query.opts == ["--query"]


def test_run_sql_dash_q_silences_the_summary(csv):
    result = run("run-sql", "understanding", "--csv", csv, "--query", "summary", "-q")
    assert result.exit_code == 0 and result.stderr == ""
    assert "== understanding.summary" in result.stdout


@pytest.mark.parametrize("command", [["run-sql", "understanding"], ["build"], ["sql", "SELECT 1"],
                                     ["shell"]])
def test_a_missing_csv_is_a_usage_error_everywhere(tmp_path, command):
    result = run(*command, "--csv", tmp_path / "nope.csv",
                 *(["--out", tmp_path / "o"] if command == ["build"] else []))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"error: CSV not found: {tmp_path / 'nope.csv'}; run "
                                     "`finops simulate` first or pass --csv PATH")


def test_table_output_counts_are_integers_and_percentages_short(csv):
    result = run("run-sql", "understanding", "--csv", csv, "--query", "headline")
    lines = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert lines["Calls"].split()[-2:] == ["3", "count"]  # was 3.000000
    result = run("run-sql", "understanding", "--csv", csv, "--query", "by_provider")
    [row] = [line for line in result.stdout.splitlines() if line.startswith("openai")]
    assert row.split()[:4] == ["openai", "3", "0.400000", "100.00"]  # share_pct, 2 decimals


def test_summary_names_duplicates_apart_from_rejects(csv):
    result = run("run-sql", "understanding", "--csv", csv, "--query", "summary")
    assert "rejected 0" in result.stderr
    assert "duplicates 1 (repeated call_ids counted once)" in result.stderr


def test_a_parameter_below_its_declared_minimum_is_refused(csv):
    result = run("run-sql", "performance", "--csv", csv, "--param", "sla_ms=-5")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: performance: --param sla_ms=-5 is below its "
                                     "minimum 1 (default 2000, min 1)")
    result = run("run-sql", "optimization", "--csv", csv, "--param", "commitment_percentile=1.5")
    assert result.exit_code == 2 and "above its maximum 1.0" in result.stderr
    ok = run("run-sql", "performance", "--csv", csv, "--param", "sla_ms=1", "--query",
             "latency_by_model", "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["params"]["sla_ms"] == 1


def test_run_sql_all_json_is_a_list_of_the_documented_objects(csv):
    result = run("run-sql", "all", "--csv", csv, "--format", "json")
    assert result.exit_code == 0
    docs = json.loads(result.stdout)
    assert isinstance(docs, list) and len(docs) >= 8
    for doc in docs:  # docs/analyzers.md, "Machine-readable contract"
        assert list(doc) == ["analyzer", "version", "source", "params", "queries"]
    performance = next(d for d in docs if d["analyzer"] == "performance")
    assert performance["params"]["sla_ms"] == 2000


def test_analyzers_lists_parameters_with_their_bounds():
    result = run("analyzers")
    assert "sla_ms=2000 (min 1)" in result.stdout
    assert "commitment_percentile=0.1 (min 0.0, max 1.0)" in result.stdout


def test_log_lines_are_routed_by_level_not_by_wording(tmp_path, capsys):
    """serve used to send a line to stderr only if it started with "build error"."""
    import logging
    from types import SimpleNamespace

    from finops.engine import logs
    from finops.engine.watch import RebuildLoop, WatchPlan

    logs.configure(info_to_stderr=False, timestamps=True)
    results = iter([SimpleNamespace(status="error", error="disk full", seconds=0.1, manifest={},
                                    reports=[]),
                    SimpleNamespace(status="ok", error=None, seconds=0.1,
                                    manifest={"rows": 5}, reports=[])])
    loop = RebuildLoop(lambda: next(results), WatchPlan(tmp_path / "calls.csv"))
    loop.build_now(None)
    loop.build_now(None)
    logging.getLogger("finops.test").info("build error: only words, at INFO")
    logging.getLogger("finops.test").warning("a warning without the magic words")
    out, err = capsys.readouterr()
    assert "build error in 0.10s: disk full; keeping the last good reports" in err
    assert "build ok in 0.10s: 5 rows" in out and "build ok" not in err
    assert "only words, at INFO" in out and "only words" not in err
    assert "warning: a warning without the magic words" in err
    assert all(line[:8].count(":") == 2 for line in (out + err).splitlines())  # HH:MM:SS


def test_every_engine_module_says_what_it_is_for():
    import ast
    from pathlib import Path

    engine = Path(__file__).resolve().parent.parent / "engine"
    for path in sorted(engine.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc) > 40, f"engine/{path.name} has no module docstring"
