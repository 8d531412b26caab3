"""`finops run-sql`, `sql`, `analyzers`, `shell` through click's CliRunner, errors included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from finops.engine import shell
from finops.engine.cli import main

from conftest import write_calls

ROWS = [
    {"timestamp": "2025-11-01T10:00:00", "cost_usd": "0.100000", "customer_id": "a", "latency_ms": "100"},
    {"timestamp": "2025-11-02T10:00:00", "cost_usd": "0.250000", "customer_id": "b", "latency_ms": "300"},
    {"timestamp": "2025-11-02T11:00:00", "cost_usd": "0.050000", "customer_id": "b", "latency_ms": "200"},
]

MINI = """\
-- name: mini
-- title: A tiny analyzer
-- category: finops
-- version: 2
-- description: Cost per customer, for tests.
--   Continued description.
-- param: min_cost = 0.0 | Smallest cost shown
-- param: label = hello

-- query: _setup
CREATE OR REPLACE TEMP VIEW mini_costs AS
SELECT customer_id, sum(cost_usd) AS cost, count(*) AS calls FROM calls GROUP BY ALL;

-- query: by_customer
-- title: Cost by customer
-- chart: bar
SELECT customer_id, cost, calls, getvariable('label') AS label
FROM mini_costs
WHERE cost >= getvariable('min_cost')
ORDER BY cost DESC, customer_id;

-- query: ratio
SELECT safe_div(1, 0) AS nothing, 1.0 / 0 AS raw_division;
"""


@pytest.fixture
def env(tmp_path):
    csv = write_calls(tmp_path / "calls.csv", ROWS)
    sql_dir = tmp_path / "mysql"
    sql_dir.mkdir()
    (sql_dir / "mini.sql").write_text(MINI)
    return csv, sql_dir


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_run_sql_json_contract(env):
    csv, sql_dir = env
    result = run("run-sql", "mini", "--csv", csv, "--sql-dir", sql_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["analyzer"] == "mini" and doc["version"] == 2
    assert set(doc["source"]) >= {"csv_path", "rows", "rows_rejected", "first_call", "last_call"}
    assert doc["source"]["rows"] == 3
    assert doc["queries"]["by_customer"] == [
        {"customer_id": "b", "cost": 0.3, "calls": 2, "label": "hello"},
        {"customer_id": "a", "cost": 0.1, "calls": 1, "label": "hello"},
    ]
    # Division by zero: NULL, never NaN or infinity, even without safe_div.
    assert doc["queries"]["ratio"] == [{"nothing": None, "raw_division": None}]
    assert "_setup" not in doc["queries"]


def test_run_sql_params_are_bound_and_typed(env):
    csv, sql_dir = env
    result = run("run-sql", "mini", "--csv", csv, "--sql-dir", sql_dir, "--format", "json",
                 "--query", "by_customer", "--param", "min_cost=0.2", "--param", "label=it's; DROP")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["queries"]["by_customer"]
    assert rows == [{"customer_id": "b", "cost": 0.3, "calls": 2, "label": "it's; DROP"}]


def test_run_sql_csv_and_table_formats(env):
    csv, sql_dir = env
    result = run("run-sql", "mini", "--csv", csv, "--sql-dir", sql_dir, "--format", "csv",
                 "--query", "by_customer")
    assert result.output.splitlines() == ["customer_id,cost,calls,label", "b,0.300000,2,hello",
                                          "a,0.100000,1,hello"]
    result = run("run-sql", "mini", "--csv", csv, "--sql-dir", sql_dir)
    assert result.exit_code == 0
    assert "== mini.by_customer: Cost by customer ==" in result.output
    assert "0.300000" in result.output


def test_show_sql_prints_the_statements(env):
    csv, sql_dir = env
    result = CliRunner().invoke(main, ["run-sql", "mini", "--csv", str(csv), "--sql-dir",
                                       str(sql_dir), "--show-sql", "--query", "by_customer"])
    assert result.exit_code == 0
    assert "getvariable('min_cost')" in result.stderr
    assert "mini.sql:17" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["run-sql", "nope"], "unknown analyzer 'nope'"),
    (["run-sql", "mini", "--query", "nope"], "has no query 'nope'"),
    (["run-sql", "mini", "--param", "nope=1"], "has no parameter 'nope'"),
    (["run-sql", "mini", "--param", "min_cost=abc"], "is not a valid float"),
    (["run-sql", "mini", "--param", "novalue"], "must be KEY=VALUE"),
    (["run-sql", "all", "--query", "by_customer"], "--query needs one analyzer"),
])
def test_run_sql_user_errors_are_one_line(env, args, message):
    csv, sql_dir = env
    result = run(*args, "--csv", csv, "--sql-dir", sql_dir)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_csv_and_bad_header(tmp_path, env):
    _, sql_dir = env
    result = run("run-sql", "mini", "--csv", tmp_path / "nope.csv", "--sql-dir", sql_dir)
    assert result.exit_code == 2 and "CSV not found" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    result = run("run-sql", "mini", "--csv", bad, "--sql-dir", sql_dir)
    assert result.exit_code == 2 and "header is not the finops contract" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run("run-sql", "mini", "--csv", empty, "--sql-dir", sql_dir)
    assert result.exit_code == 1 and "no data yet" in result.output


def test_a_sql_error_names_the_file_and_line(env):
    csv, sql_dir = env
    (sql_dir / "mini.sql").write_text(MINI.replace("FROM mini_costs\nWHERE", "FROM mini_costs\nWHERE nosuchcol > 0 AND"))
    result = run("run-sql", "mini", "--csv", csv, "--sql-dir", sql_dir)
    assert result.exit_code == 1
    assert f"{sql_dir / 'mini.sql'}:19: query by_customer:" in result.output
    assert "nosuchcol" in result.output


@pytest.mark.parametrize("mutation, message", [
    (lambda s: s.replace("-- version: 2", "-- version: two"), ":4: version must be a whole number"),
    (lambda s: s.replace("-- title: A tiny analyzer\n", ""), "lacks `-- title: ...`"),
    (lambda s: s.replace("-- name: mini", "-- name: other"), "must equal the file name"),
    (lambda s: s.replace("-- param: label = hello", "-- param: label"), ":8: malformed parameter"),
    (lambda s: s.replace("-- query: ratio", "-- query: by_customer"), ":22: query 'by_customer' is defined twice"),
    (lambda s: "SELECT 1;\n" + s, ":1: SQL before the first"),
])
def test_a_malformed_header_names_the_file_and_line(env, mutation, message):
    csv, sql_dir = env
    (sql_dir / "mini.sql").write_text(mutation(MINI))
    result = run("analyzers", "--sql-dir", sql_dir)
    assert result.exit_code == 1  # the other analyzers are still listed
    assert "understanding" in result.stdout and "mini" not in result.stdout
    assert "mini.sql" in result.stderr and message in result.stderr


def test_analyzers_lists_name_title_version_queries(env):
    _, sql_dir = env
    result = run("analyzers", "--sql-dir", sql_dir, "--format", "json")
    assert result.exit_code == 0
    mini = [a for a in json.loads(result.output) if a["name"] == "mini"][0]
    assert mini["title"] == "A tiny analyzer" and mini["version"] == 2
    assert mini["description"] == "Cost per customer, for tests. Continued description."
    assert mini["queries"] == ["by_customer", "ratio"]
    assert mini["params"] == {"min_cost": "0.0", "label": "hello"}
    result = run("analyzers", "--sql-dir", sql_dir)
    assert "mini" in result.output and "v2" in result.output


def test_adhoc_sql(env):
    csv, _ = env
    result = run("sql", "SELECT customer_id, sum(cost_usd) AS cost FROM calls GROUP BY ALL ORDER BY 1",
                 "--csv", csv, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["rows"] == [{"customer_id": "a", "cost": 0.1},
                                                 {"customer_id": "b", "cost": 0.3}]
    result = run("sql", "SELECT nope FROM calls", "--csv", csv)
    assert result.exit_code == 1 and "query failed" in result.output
    assert "Traceback" not in result.output


def test_csv_from_environment(env, monkeypatch):
    csv, _ = env
    result = CliRunner(env={"FINOPS_CSV": str(csv)}).invoke(main, ["sql", "SELECT count(*) AS n FROM calls"])
    assert result.exit_code == 0 and "3" in result.output


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Example" in result.output or "example" in result.output, name


@pytest.mark.skipif(not (shutil.which("duckdb") or (shell.Path(sys.executable).parent / "duckdb").exists()),
                    reason="the DuckDB CLI (pip install duckdb-cli) is not installed")
def test_shell_loads_the_views(env):
    csv, _ = env
    argv, environ = shell.shell_invocation(csv)
    out = subprocess.run(argv + ["-csv", "-c", "SELECT count(*) AS n, sum(cost_usd) AS cost FROM calls"],
                         env=environ, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["n,cost", "3,0.400000"]
    # the shared finance definitions are loaded too
    out = subprocess.run(argv + ["-csv", "-c", "SELECT count(*) AS n FROM actions_total"],
                         env=environ, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["n", "9"]


@pytest.mark.skipif(not (shutil.which("duckdb") or (shell.Path(sys.executable).parent / "duckdb").exists()),
                    reason="the DuckDB CLI (pip install duckdb-cli) is not installed")
def test_shell_is_quiet_and_shows_only_what_a_user_queries(env):
    csv, _ = env
    argv, environ = shell.shell_invocation(csv)
    out = subprocess.run(argv + ["-list", "-c", "SELECT table_name FROM duckdb_tables() "
                                 "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                 "ORDER BY 1"],
                         env=environ, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    banner, *rest = out.stdout.splitlines()
    assert "header_check" not in out.stdout  # calls.sql's own check prints nothing
    assert sorted(rest[1:]) == sorted(shell.USER_OBJECTS)  # staging tables are gone
    for name in ("calls", "period", "customer_economics", "money(x)", "pct(part, whole)",
                 "safe_div(a, b)", "token_cost("):
        assert name in banner


def test_shell_without_the_cli_names_the_extra(env, monkeypatch):
    csv, _ = env
    monkeypatch.setattr(shell.shutil, "which", lambda name: None)
    monkeypatch.setattr(shell.sys, "executable", str(csv.parent / "no-venv" / "python"))
    result = run("shell", "--csv", csv)
    assert result.exit_code == 2
    assert "pip install 'finops[shell]'" in result.output and "Traceback" not in result.output


def test_shell_without_csv_is_a_one_line_error(tmp_path):
    result = run("shell", "--csv", tmp_path / "nope.csv")
    assert result.exit_code == 2 and "CSV not found" in result.output


def test_run_sql_quiet_and_verbose(env):
    csv, sql_dir = env
    quiet = CliRunner().invoke(main, ["run-sql", "mini", "--csv", str(csv), "--sql-dir",
                                      str(sql_dir), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    loud = CliRunner().invoke(main, ["run-sql", "mini", "--csv", str(csv), "--sql-dir",
                                     str(sql_dir), "--format", "json", "--verbose"])
    assert loud.exit_code == 0
    assert json.loads(loud.stdout)["analyzer"] == "mini"  # stdout stays pure JSON
    assert "mini v2: 2 queries in" in loud.stderr and "source: " in loud.stderr


def test_unusable_spill_folder_is_a_one_line_error(env, tmp_path):
    csv, _ = env
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner(env={"FINOPS_TEMP_DIR": str(blocker / "sub")}).invoke(
        main, ["sql", "SELECT 1", "--csv", str(csv)])
    assert result.exit_code == 2
    assert "spill folder" in result.output and "FINOPS_TEMP_DIR" in result.output


def test_simulate_refuses_a_negative_rate_and_a_damaged_plan_file(tmp_path):
    out = tmp_path / "calls.csv"
    result = run("simulate", "--continuous", "--rate", "-5", "--out", out)
    assert result.exit_code == 2 and "--rate -5 is negative" in result.output
    assert run("simulate", "--rows", "50", "--out", out, "--quiet").exit_code == 0
    plan = tmp_path / "calls.csv.plan.json"
    assert plan.exists()
    plan.write_text('{"seed": 1}')
    result = run("simulate", "--append", "--rows", "10", "--out", out)
    assert result.exit_code == 2 and "is damaged" in result.output
    assert "Traceback" not in result.output


def test_what_duckdb_raises_for_a_ctrl_c_reads_as_the_interrupt():
    """A Ctrl-C DuckDB caught: its error, bare or wrapped in a FinopsError."""
    import click
    import duckdb

    from finops.engine import cli
    from finops.engine.errors import FinopsError

    def command(raise_it):
        @click.command()
        @cli.user_errors
        def run():
            raise_it()
        return run

    def script():
        raise RuntimeError("Query interrupted")  # a multi-statement script's form

    def wrapped():
        try:
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        except duckdb.Error as exc:
            raise FinopsError(f"query failed: {exc}") from None

    for raise_it in (script, wrapped):
        result = CliRunner().invoke(command(raise_it), [])
        assert result.exit_code == 130, result.output
        assert "interrupted" in result.output


def test_an_error_without_ctrl_c_is_not_called_an_interrupt():
    import click

    from finops.engine import cli

    @click.command()
    @cli.user_errors
    def broken():
        raise RuntimeError("a real bug")

    result = CliRunner().invoke(broken, [])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_an_unknown_param_for_all_is_refused_on_either_engine(env, engine):
    """Both engines check run-sql's --query and --param the same way (one
    function), before any file is read or Spark is started."""
    if engine == "spark":
        pytest.importorskip("pyspark")
    csv, _ = env
    result = run("run-sql", "all", "--engine", engine, "--param", "nosuch=1", "--csv", csv)
    assert result.exit_code == 2, result.output
    assert "no analyzer has parameter(s) nosuch" in result.output
