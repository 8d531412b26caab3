"""Named queries (sql/queries/*.sql) run by `finops sql --name`, parameters bound."""

from __future__ import annotations

import json

from click.testing import CliRunner

from finops.engine.cli import main
from finops.engine.query_patterns import named_queries

ROWS = [
    {"customer_id": "cust_a", "timestamp": "2025-10-30T10:00:00", "cost_usd": "1.000000",
     "trace_id": "t1", "session_id": "s1"},
    {"customer_id": "cust_a", "timestamp": "2025-11-02T10:00:00", "cost_usd": "0.250000",
     "trace_id": "t2", "session_id": "s1", "model": "gpt-4o-mini"},
    {"customer_id": "cust_a", "timestamp": "2025-11-03T10:00:00", "cost_usd": "0.500000",
     "trace_id": "t2", "session_id": "s1"},
    {"customer_id": "cust_b", "timestamp": "2025-11-04T10:00:00", "cost_usd": "3.000000",
     "trace_id": "t3", "session_id": "s2"},
    {"customer_id": "unattributed", "timestamp": "2025-11-04T11:00:00", "cost_usd": "0.125000",
     "trace_id": "", "session_id": "", "feature_id": "search"},
]


def _run(args, csv):
    result = CliRunner().invoke(main, ["sql", *args, "--csv", str(csv), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["rows"]


def test_every_named_query_is_documented_and_runs(calls_csv):
    csv = calls_csv(ROWS)
    required = {"customer_month": ["-p", "customer_id=cust_a"], "trace_cost": ["-p", "trace_id=t2"]}
    queries = named_queries()
    assert {"customer_month", "trace_cost", "top_sessions", "unpriced_models",
            "unattributed"} <= set(queries)
    for name, query in queries.items():
        assert query.title and query.description, name
        assert f"finops sql --name {name}" in query.description, name
        _run(["--name", name, *required.get(name, [])], csv)


def test_customer_month_trace_and_sessions(calls_csv):
    csv = calls_csv(ROWS)
    month = _run(["--name", "customer_month", "-p", "customer_id=cust_a"], csv)
    # the latest month in the file is 2025-11: October's $1 is not in it
    assert [(r["month"], r["model"], r["cost"], r["month_cost"]) for r in month] == \
        [("2025-11", "gpt-4o", 0.5, 0.75), ("2025-11", "gpt-4o-mini", 0.25, 0.75)]
    october = _run(["--name", "customer_month", "-p", "customer_id=cust_a", "-p", "month=2025-10"],
                   csv)
    assert [(r["cost"], r["month_cost"]) for r in october] == [(1.0, 1.0)]
    trace = _run(["--name", "trace_cost", "-p", "trace_id=t2"], csv)
    assert [r["running_cost"] for r in trace] == [0.25, 0.75]
    sessions = _run(["--name", "top_sessions", "-p", "top=1"], csv)
    assert [(r["session_id"], r["runs"], r["calls"], r["cost"]) for r in sessions] == \
        [("s2", 1, 1, 3.0)]
    untagged = _run(["--name", "unattributed"], csv)
    assert [(r["feature_id"], r["calls"], r["cost"]) for r in untagged] == [("search", 1, 0.125)]


def test_parameters_are_bound_and_checked(calls_csv):
    csv = calls_csv(ROWS)
    # a quote in a value is data, not SQL
    assert _run(["--name", "customer_month", "-p", "customer_id=x' OR '1'='1"], csv) == []
    runner = CliRunner()
    missing = runner.invoke(main, ["sql", "--name", "trace_cost", "--csv", str(csv)])
    assert missing.exit_code == 2 and "needs --param trace_id" in missing.output
    unknown = runner.invoke(main, ["sql", "--name", "top_sessions", "-p", "limit=3", "--csv", str(csv)])
    assert unknown.exit_code == 2 and "has no parameter(s) limit" in unknown.output
    bad_month = runner.invoke(main, ["sql", "--name", "customer_month", "-p", "customer_id=a",
                                     "-p", "month=oct", "--csv", str(csv)])
    assert bad_month.exit_code == 1 and "YYYY-MM" in bad_month.output
    listing = runner.invoke(main, ["sql", "--list"])
    assert "customer_month" in listing.output and "--param customer_id" in listing.output
