"""Given/expect cases for sql/finops/realtime.sql, numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from conftest import run_query
from finops.engine import analyze

CONTRACT = {
    "anomalous_calls": ["call_id", "customer_id", "model", "cost_usd", "z_score"],
    "daily_spikes": ["customer_id", "call_date", "cost", "baseline", "ratio"],
    "budget_status": ["customer_id", "subscription_tier", "monthly_cost", "allocation",
                      "used_pct", "risk", "revenue_at_risk"],
    "headline": ["label", "value", "unit"],
    "recommendations": ["priority", "title", "detail", "amount_usd"],
    "alerts": ["severity", "title", "detail", "amount_usd"],
}


def calls_of(model: str, costs: list[str], provider: str = "openai", **extra) -> list[dict]:
    return [{"provider": provider, "model": model, "cost_usd": cost, **extra} for cost in costs]


def day_calls(customer: str, costs_by_day: dict[int, str], **extra) -> list[dict]:
    """One call per November day for a customer."""
    return [{"customer_id": customer, "timestamp": f"2025-11-{day:02d}T12:00:00", "cost_usd": cost,
             **extra} for day, cost in costs_by_day.items()]


def test_every_contract_query_has_the_contract_columns_in_order(calls_csv):
    _, results = analyze.run_sql("realtime", calls_csv(calls_of("gpt-4o", ["0.01", "0.02"])))
    queries = results[0].queries
    for name, columns in CONTRACT.items():
        assert name in queries, name
        assert queries[name].columns[:len(columns)] == columns, name


def test_z_scores_flag_only_calls_over_three_sigma(calls_csv):
    rows = (
        # gpt-4o: 11 calls at 0.01 and one at 0.13 (d = 0.12): mean = 0.01 + d/12,
        # sample sd = d / sqrt(12), the outlier's z = (11/12 d) / (d / sqrt(12)) = 11 / sqrt(12) = 3.175
        calls_of("gpt-4o", ["0.010000"] * 11 + ["0.130000"], customer_id="cust_big")
        # gpt-4: 9 equal calls and one outlier: z = 9 / sqrt(10) = 2.846, not over 3.
        + calls_of("gpt-4", ["0.010000"] * 9 + ["0.500000"])
        # claude-opus-4: one call, NULL sample sd, never anomalous.
        + calls_of("claude-opus-4", ["9.000000"], provider="anthropic")
    )
    found = run_query("realtime", calls_csv(rows), "anomalous_calls")
    assert len(found) == 1
    [row] = found
    assert row["call_id"] == "call_12" and row["customer_id"] == "cust_big"
    assert row["model"] == "gpt-4o" and row["cost_usd"] == 0.13
    assert row["z_score"] == pytest.approx(11 / math.sqrt(12))
    assert row["model_avg_cost"] == 0.02  # 0.01 + 0.12 / 12


def test_sigma_parameter_lowers_the_bar(calls_csv):
    rows = calls_of("gpt-4", ["0.010000"] * 9 + ["0.500000"])
    found = run_query("realtime", calls_csv(rows), "anomalous_calls", sigma=2.5)
    assert [r["z_score"] for r in found] == [pytest.approx(9 / math.sqrt(10))]


def test_daily_spikes(calls_csv):
    rows = (
        # cust_a: 1, 1, 6 -> on Nov 3 baseline (1 + 1) / 2 = 1, ratio 6: a spike.
        day_calls("cust_a", {1: "1", 2: "1", 3: "6"})
        # cust_b: 1, 1, 4 -> ratio 4: not a spike.
        + day_calls("cust_b", {1: "1", 2: "1", 3: "4"})
        # cust_c: 1, 1, 5 -> ratio exactly 5: not over 5.
        + day_calls("cust_c", {1: "1", 2: "1", 3: "5"})
        # cust_d: one active day, no baseline.
        + day_calls("cust_d", {3: "100"})
        # cust_e: 2 on Nov 1, no calls Nov 2..9 (not active days), 14 on Nov 10:
        # baseline over the other active day = 2, ratio 7.
        + day_calls("cust_e", {1: "2", 10: "14"})
    )
    spikes = run_query("realtime", calls_csv(rows), "daily_spikes")
    assert [(r["customer_id"], r["call_date"], r["cost"], r["baseline"], r["ratio"])
            for r in spikes] == [
        ("cust_e", "2025-11-10", 14, 2, pytest.approx(7)),
        ("cust_a", "2025-11-03", 6, 1, pytest.approx(6)),
    ]


def test_budget_status_window_and_risk_thresholds(calls_csv):
    rows = [
        # The file's last call date is 2025-11-30; the window is Nov 1 .. Nov 30.
        # cust_s (starter, 29): 100 on Oct 31 (30 days before: out), 10 on Nov 1 (29 days: in).
        {"customer_id": "cust_s", "subscription_tier": "starter",
         "timestamp": "2025-10-31T23:59:59", "cost_usd": "100.000000"},
        {"customer_id": "cust_s", "subscription_tier": "starter",
         "timestamp": "2025-11-01T00:00:00", "cost_usd": "10.000000"},
        # cust_p (pro, 99): 79.20 = exactly 80% -> medium.
        {"customer_id": "cust_p", "subscription_tier": "pro",
         "timestamp": "2025-11-15T10:00:00", "cost_usd": "79.200000"},
        # cust_q (pro, 99): 79.19 = 79.99% -> low.
        {"customer_id": "cust_q", "subscription_tier": "pro",
         "timestamp": "2025-11-15T10:00:00", "cost_usd": "79.190000"},
        # cust_e: starter earlier, enterprise (299) now; 299 = exactly 100% -> high.
        {"customer_id": "cust_e", "subscription_tier": "starter",
         "timestamp": "2025-11-20T10:00:00", "cost_usd": "200.000000"},
        {"customer_id": "cust_e", "subscription_tier": "enterprise",
         "timestamp": "2025-11-30T10:00:00", "cost_usd": "99.000000"},
    ]
    status = {r["customer_id"]: r for r in run_query("realtime", calls_csv(rows), "budget_status")}
    s, p, q, e = status["cust_s"], status["cust_p"], status["cust_q"], status["cust_e"]
    assert (s["subscription_tier"], s["monthly_cost"], s["allocation"]) == ("starter", 10, 29)
    assert s["used_pct"] == pytest.approx(100 * 10 / 29) and s["risk"] == "low"
    assert p["used_pct"] == pytest.approx(80) and p["risk"] == "medium"
    assert p["revenue_at_risk"] == 0
    assert q["used_pct"] == pytest.approx(100 * 79.19 / 99) and q["risk"] == "low"
    assert (e["subscription_tier"], e["allocation"], e["monthly_cost"]) == ("enterprise", 299, 299)
    assert e["used_pct"] == pytest.approx(100) and e["risk"] == "high"
    assert e["revenue_at_risk"] == 299
    # Highest use first.
    assert [r["customer_id"] for r in run_query("realtime", calls_csv(rows, name="b.csv"),
                                                "budget_status")] == ["cust_e", "cust_p", "cust_q", "cust_s"]


def test_allocation_parameter_scales_the_fee(calls_csv):
    rows = [{"customer_id": "cust_p", "subscription_tier": "pro", "cost_usd": "49.500000"}]
    [row] = run_query("realtime", calls_csv(rows), "budget_status", allocation_pct=50)
    assert row["allocation"] == 49.5 and row["risk"] == "high"  # 99 x 50%, used 100%
    assert row["revenue_at_risk"] == 99  # the fee, not the allocation


def test_alerts_and_actions_carry_the_fee_at_risk(calls_csv):
    # cust_e: 400 of a 299 allocation -> high; cust_p: 80 of 99 = 80.8% -> medium.
    rows = [{"customer_id": "cust_e", "subscription_tier": "enterprise", "cost_usd": "400.000000",
             "task_type": "analysis"},
            {"customer_id": "cust_p", "subscription_tier": "pro", "cost_usd": "80.000000",
             "task_type": "analysis"}]
    path = calls_csv(rows)
    alerts = run_query("realtime", path, "alerts")
    assert alerts[0]["severity"] == "high"
    assert alerts[0]["title"] == "Customers over their AI allocation"
    assert alerts[0]["detail"].startswith("1 customer(s) spent $400.00 on AI")
    assert alerts[0]["amount_usd"] == 299
    medium = next(a for a in alerts if a["title"] == "Customers at 80-100% of their AI allocation")
    assert medium["severity"] == "medium" and medium["amount_usd"] == 99
    actions = run_query("realtime", path, "recommendations")
    assert actions[0]["priority"] == 1
    assert actions[0]["title"] == "Upgrade or cap cust_e (enterprise)"
    assert actions[0]["amount_usd"] == 299


def test_alert_rule_for_cost_over_30_pct_of_revenue(calls_csv):
    # cust_s: starter, one day of tenure -> revenue 29 / 30 = 0.966667;
    # 30% of it is 0.29; cost 1.29 is 1.00 over.
    rows = [{"customer_id": "cust_s", "subscription_tier": "starter", "cost_usd": "1.290000"}]
    rules = run_query("realtime", calls_csv(rows), "alert_rules")
    first = rules[0]
    assert first["rule"] == "AI cost over 30% of revenue"
    assert first["status"] == "triggered" and first["customers"] == 1
    assert first["amount_usd"] == pytest.approx(1.29 - 0.29)
    assert {r["status"] for r in rules[1:]} == {"ok"}


def test_inefficient_patterns_reprice_premium_models_on_simple_tasks(calls_csv):
    # claude-opus-4 chat, 1,000 in + 1,000 out = 0.015 + 0.075 = 0.09; on
    # claude-haiku-4: 0.00025 + 0.00125 = 0.0015; saves 0.0885. Code generation is not simple.
    rows = [{"provider": "anthropic", "model": "claude-opus-4", "task_type": "chat",
             "input_tokens": "1000", "output_tokens": "1000", "cost_usd": "0.090000"},
            {"provider": "anthropic", "model": "claude-opus-4", "task_type": "code_generation",
             "input_tokens": "1000", "output_tokens": "1000", "cost_usd": "0.090000"}]
    [row] = run_query("realtime", calls_csv(rows), "inefficient_patterns")
    assert (row["model"], row["task_type"], row["economy_model"]) == ("claude-opus-4", "chat",
                                                                     "claude-haiku-4")
    assert row["economy_cost"] == 0.0015 and row["savings"] == 0.0885
    assert row["savings_pct"] == pytest.approx(100 * 0.0885 / 0.09)
