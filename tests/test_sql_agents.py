"""Given/expect cases for sql/finops/agents.sql (agent runs and sessions), worked out by hand."""

from __future__ import annotations

from conftest import run_query, whole_day_time
from finops.engine import analyze


def _calls():
    rows = []
    # research: five one-call runs at $0.01 and one four-call run at 4 x $0.05
    for n in range(1, 6):
        rows.append({"trace_id": f"r{n}", "session_id": f"s{n}", "feature_id": "research",
                     "cost_usd": "0.010000", "timestamp": f"2025-11-0{n}T{whole_day_time(n)}"})
    for step in range(4):
        rows.append({"trace_id": "r6", "session_id": "s_big", "feature_id": "research",
                     "customer_id": "cust_heavy", "cost_usd": "0.050000",
                     "model": "gpt-4o" if step < 2 else "gpt-4o-mini", "latency_ms": "1000",
                     "timestamp": f"2025-11-06T10:00:0{step * 2}"})
    # chat: two two-call runs at $0.03 a call, too few runs for a norm
    for run in ("c1", "c2"):
        for step in range(2):
            rows.append({"trace_id": run, "session_id": "s_chat", "feature_id": "chat",
                         "cost_usd": "0.030000", "timestamp": f"2025-11-07T1{step}:00:00"})
    # untraced and unattributed: not a run, $2 nobody is billed for
    rows.append({"trace_id": "", "session_id": "", "customer_id": "unattributed",
                 "cost_usd": "2.000000", "timestamp": "2025-11-08T23:30:00"})
    return rows


def test_runs_norms_and_outliers(calls_csv):
    path = calls_csv(_calls())
    headline = {r["label"]: r["value"] for r in run_query("agents", path, "headline")}
    # money cards name their period (the file: Nov 1 00:30 .. Nov 8 23:30)
    assert headline == {"Cost of traced runs for the 8 days 2025-11-01..2025-11-08": 0.37, "Runs (traces)": 8,
                        "Runs far above the norm of their feature and model": 1,
                        "Unattributed spend for the 8 days 2025-11-01..2025-11-08": 2.0}
    top = run_query("agents", path, "most_expensive_runs")
    assert [(r["trace_id"], r["calls"], r["models"], r["cost"]) for r in top[:3]] == \
        [("r6", 4, 2, 0.2), ("c1", 2, 1, 0.06), ("c2", 2, 1, 0.06)]
    # first call at 10:00:00, last starts 10:00:06 and lasts 1 s
    assert top[0]["duration_ms"] == 7000 and top[0]["customer_id"] == "cust_heavy"
    sizes = run_query("agents", path, "calls_per_run")
    assert [(r["calls_per_run"], r["runs"], r["cost"]) for r in sizes] == \
        [("1", 5, 0.05), ("2", 2, 0.12), ("3-5", 1, 0.2)]
    outliers = run_query("agents", path, "outlier_runs")
    assert [(r["trace_id"], r["baseline"], r["times_norm"], r["excess_cost"]) for r in outliers] \
        == [("r6", 0.01, 20.0, 0.19)]
    norms = {r["feature_id"]: r for r in run_query("agents", path, "feature_norms")}
    assert norms["research"]["median_run_cost"] == 0.01 and norms["research"]["has_norm"]
    assert norms["chat"]["has_norm"] is False and norms["chat"]["outlier_runs"] == 0
    sessions = run_query("agents", path, "top_sessions")
    assert (sessions[0]["session_id"], sessions[0]["runs"], sessions[0]["calls"],
            sessions[0]["cost"]) == ("s_big", 1, 4, 0.2)
    attribution = run_query("agents", path, "attribution")
    assert [(r["attribution"], r["calls"], r["cost"]) for r in attribution] == \
        [("attributed", 13, 0.37), ("unattributed", 1, 2.0)]


def test_alerts_and_recommendations_follow_the_policy_and_stay_out_of_the_total(calls_csv):
    path = calls_csv(_calls())
    # Nov 1 - 8: monthly spend 2.37 x 30 / 8 = 8.89. The $2 unattributed is 7.50 a
    # 30-day month, under the $10 floor of the one alert policy: no alert (the old
    # own $1 rule raised it).
    assert run_query("agents", path, "alerts") == []
    recs = run_query("agents", path, "recommendations", materiality_usd="0.05")
    # r6's 0.19 excess: half its cost (2 gpt-4o calls on chat, premium on a simple
    # task) is repriced by the ledger's model switches, so 0.095 is open: 0.35625 a
    # 30-day month. Targets, never savings: not counted.
    assert [(r["priority"], r["title"], r["amount_usd"], r["kind"], r["counted"]) for r in recs] == [
        (1, "Attribute the untagged calls", 7.5, "target", False),
        (2, "Review the costliest research runs", 0.35625, "target", False)]
    assert "They average 4.0 calls per run against 1.5 for the feature" in recs[1]["detail"]
    assert "saves" not in recs[1]["detail"]


def test_a_file_without_traces_has_no_runs(calls_csv):
    path = calls_csv([{"trace_id": "", "session_id": ""}, {"trace_id": "", "session_id": ""}])
    _, results = analyze.run_sql("agents", path)
    queries = results[0].queries
    assert queries["most_expensive_runs"].rows == [] and queries["top_sessions"].rows == []
    headline = {r[0].split(" for the ")[0]: float(r[1]) for r in queries["headline"].rows}
    assert headline["Runs (traces)"] == 0 and headline["Cost of traced runs"] == 0
