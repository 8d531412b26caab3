"""Given/expect cases for sql/finops/realtime.sql, numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from conftest import run_query, whole_day_time
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


def gpt4o_calls(costs: list[str], **extra) -> list[dict]:
    """gpt-4o qa calls of 100 in / 100 out tokens: 0.00125 at list price."""
    return [{"model": "gpt-4o", "task_type": "qa", "cost_usd": c, **extra} for c in costs]


def test_robust_z_flags_a_price_off_its_model_and_task(calls_csv):
    # 20 calls at list price (log ratio 0) plus 0.0015 (x1.2: ln 1.2 = 0.1823) and
    # 0.00145 (ln 1.16 = 0.1484). Median 0, MAD 0, so the spread floor 0.05 applies:
    # z = 3.646 (flagged, > 3.5) and 2.968 (not).
    rows = gpt4o_calls(["0.001250"] * 20 + ["0.001500", "0.001450"], customer_id="cust_big")
    found = run_query("realtime", calls_csv(rows), "anomalous_calls")
    assert [r["call_id"] for r in found] == ["call_21"]
    [row] = found
    assert row["z_score"] == pytest.approx(math.log(1.2) / 0.05)
    assert row["expected_cost"] == pytest.approx(0.00125)
    assert row["excess_cost"] == pytest.approx(0.00025)


def test_a_long_prompt_at_list_price_is_no_anomaly(calls_csv):
    # 10,000 input tokens at list price: 0.025 + 0.001 = 0.026, twenty times the others'
    # cost, yet its price per (weighted) token is the same: z = 0. (A z-score on raw
    # cost would flag it.)
    rows = gpt4o_calls(["0.001250"] * 20) + [{"model": "gpt-4o", "task_type": "qa",
                                              "input_tokens": "10000", "cost_usd": "0.026000"}]
    assert run_query("realtime", calls_csv(rows), "anomalous_calls") == []


def test_too_few_calls_are_not_scored(calls_csv):
    rows = gpt4o_calls(["0.001250"] * 18 + ["0.012500"])        # 19 calls
    assert run_query("realtime", calls_csv(rows), "anomalous_calls") == []
    assert len(run_query("realtime", calls_csv(rows, name="b.csv"), "anomalous_calls", min_calls=19)) == 1


def test_daily_spikes_need_a_baseline_and_money(calls_csv):
    week = {d: "1" for d in range(1, 8)}
    rows = (
        # cust_a: 1 a day on Nov 1-7, 10 on Nov 8: baseline 1, ratio 10, $9 above: a spike.
        day_calls("cust_a", {**week, 8: "10"})
        # cust_b: 0.01 a day, then 0.50: ratio 50 but only $0.49 above: not material.
        + day_calls("cust_b", {**{d: "0.01" for d in range(1, 8)}, 8: "0.5"})
        # cust_c: six other days only: no baseline.
        + day_calls("cust_c", {**{d: "1" for d in range(1, 7)}, 8: "10"})
        # cust_e: ratio exactly 5: not over 5.
        + day_calls("cust_e", {**week, 8: "5"})
    )
    spikes = run_query("realtime", calls_csv(rows), "daily_spikes")
    assert [(r["customer_id"], r["call_date"], r["cost"], r["baseline"], r["ratio"], r["excess_cost"])
            for r in spikes] == [("cust_a", "2025-11-08", 10, 1, pytest.approx(10), 9)]


def test_only_spikes_above_the_dollar_floor_alert_on_their_one_off_excess(calls_csv):
    # Nov 1..8, whole days (8 covered days). cust_a: 1 a day, 10 on Nov 8: a spike
    # $9 above its baseline, under the $10 floor: listed, not alerted. cust_b: 2 a day,
    # 40 on Nov 8: $38 above, alerted. cust_c: a steady 20 a day. Spend 17 + 54 + 160 =
    # 231, a month 231 x 30 / 8 = 866.25. The alert's amount is the one-off excess, 38
    # (not 38 x 30 / 8 = 142.50 a month, nor 47 with cust_a's): 38 / 866.25 = 4.4% of
    # monthly spend, medium.
    def days(customer, costs):
        return [{"customer_id": customer, "timestamp": f"2025-11-{d:02d}T{whole_day_time(d)}",
                 "cost_usd": c} for d, c in costs.items()]
    rows = (days("cust_a", {**{d: "1" for d in range(1, 8)}, 8: "10"})
            + days("cust_b", {**{d: "2" for d in range(1, 8)}, 8: "40"})
            + days("cust_c", {d: "20" for d in range(1, 9)}))
    spikes = run_query("realtime", calls_csv(rows), "daily_spikes")
    assert [(r["customer_id"], r["excess_cost"], r["alerted"]) for r in spikes] == [
        ("cust_b", 38, True), ("cust_a", 9, False)]
    rules = {r["rule"]: r for r in run_query("realtime", calls_csv(rows, name="b.csv"), "alert_rules")}
    spike = rules["Daily spike over 5x the customer average"]
    assert (spike["triggered"], spike["customers"]) == (1, 1)
    assert spike["amount_usd"] == pytest.approx(38)
    assert spike["amount_period"] == "one-off, over the period"
    assert spike["severity"] == "medium"
    [alert] = run_query("realtime", calls_csv(rows, name="c.csv"), "alerts")
    assert (alert["severity"], alert["amount_usd"]) == ("medium", pytest.approx(38))
    assert "$38.00 of one-off excess over the baseline in the 8 days 2025-11-01..2025-11-08, not a monthly rate" \
        in alert["detail"]


def test_budget_status_is_per_30_day_month_of_billed_days(calls_csv):
    rows = [
        # The file runs Nov 1 00:30 .. Nov 30 23:30 (30 complete days). Each customer's cost and its fee are
        # both put on a 30-day month of its billed days (first to last call date).
        # cust_s (starter, 29): 1 on Nov 1, 2 on Nov 10: 10 billed days, cost 3 ->
        # 9 a month against 29: 31.0%, low (revenue 29 x 10 / 30 = 9.666667).
        {"customer_id": "cust_s", "subscription_tier": "starter",
         "timestamp": "2025-11-01T00:30:00", "cost_usd": "1.000000"},
        {"customer_id": "cust_s", "subscription_tier": "starter",
         "timestamp": "2025-11-10T10:00:00", "cost_usd": "2.000000"},
        # cust_p (pro, 99): 39.60 on Nov 1 and on Nov 30: 79.20 a month, 80% -> medium.
        {"customer_id": "cust_p", "subscription_tier": "pro",
         "timestamp": "2025-11-01T10:00:00", "cost_usd": "39.600000"},
        {"customer_id": "cust_p", "subscription_tier": "pro",
         "timestamp": "2025-11-30T10:00:00", "cost_usd": "39.600000"},
        # cust_b (pro): one day, 3.30 = its revenue 99 / 30: 99 a month, exactly 100%,
        # break-even: medium, not over.
        {"customer_id": "cust_b", "subscription_tier": "pro",
         "timestamp": "2025-11-30T09:00:00", "cost_usd": "3.300000"},
        # cust_h (pro): one day, 3.31: 99.30 a month, 100.3% -> high (a loss of 0.01).
        {"customer_id": "cust_h", "subscription_tier": "pro",
         "timestamp": "2025-11-15T10:00:00", "cost_usd": "3.310000"},
        # cust_e: starter Nov 21 .. 29 (9 days), enterprise on Nov 30: fees
        # 9 x 29 + 299 = 560 over 10 days, 56 a month on average (revenue 18.666667);
        # cost 100 -> 300 a month: 535.7% -> high.
        {"customer_id": "cust_e", "subscription_tier": "starter",
         "timestamp": "2025-11-21T10:00:00", "cost_usd": "10.000000"},
        {"customer_id": "cust_e", "subscription_tier": "enterprise",
         "timestamp": "2025-11-30T23:30:00", "cost_usd": "90.000000"},
    ]
    status = {r["customer_id"]: r for r in run_query("realtime", calls_csv(rows), "budget_status")}
    s, p, b, h, e = (status[c] for c in ("cust_s", "cust_p", "cust_b", "cust_h", "cust_e"))
    assert (s["monthly_cost"], s["allocation"], s["billed_days"]) == (9, 29, 10)
    assert s["used_pct"] == pytest.approx(100 * 3 / (29 * 10 / 30), abs=1e-4) and s["risk"] == "low"
    assert (p["monthly_cost"], p["allocation"]) == (79.2, 99)
    assert p["used_pct"] == pytest.approx(80) and p["risk"] == "medium"
    assert (b["monthly_cost"], b["used_pct"], b["risk"]) == (99, pytest.approx(100), "medium")
    assert h["monthly_cost"] == pytest.approx(99.3) and h["risk"] == "high"
    assert (e["subscription_tier"], e["allocation"], e["monthly_cost"]) == ("enterprise", 56, 300)
    assert e["used_pct"] == pytest.approx(100 * 100 / 18.666667, abs=1e-3) and e["risk"] == "high"
    # Revenue at risk is churn evidence, not heavy use: cust_e (over its fee, active on
    # the last day) has none. cust_s (starter, silent 20 days) and cust_h (pro, 15
    # days) are billed only to their last call: lapsed, so their whole monthly fee is
    # at risk (29 and 99), and the evidence says they are billed only to their last call.
    assert e["revenue_at_risk"] == 0
    assert (s["revenue_at_risk"], h["revenue_at_risk"]) == (29, 99)
    assert h["churn_evidence"] == ("no calls in the last 15 days: lapsed, billed only to its"
                                   " last call (confirm whether it cancelled)")
    # Highest use first.
    assert [r["customer_id"] for r in run_query("realtime", calls_csv(rows, name="b.csv"),
                                                "budget_status")] == ["cust_e", "cust_h", "cust_b", "cust_p", "cust_s"]
    # "Over their allocation" are exactly the customers profitability finds losing money.
    path = calls_csv(rows, name="c.csv")
    headline = {r["label"]: r["value"] for r in run_query("realtime", path, "headline")}
    assert headline["Customers over their fee-based allocation"] == 2
    losing = {r["customer_id"] for r in run_query("profitability", path, "customers")
              if r["status"] == "unprofitable"}
    assert losing == {"cust_h", "cust_e"}
    # The 80% alert fires for cust_p, cust_b, cust_h, cust_e; the money at stake is what
    # they lose (cost above revenue), not the gap to 80%: cust_h 3.31 - 3.30 = 0.01,
    # cust_e 100 - 18.67 = 81.33 (in cents, as its statement): 81.34 over the 30 days,
    # a 30-day month.
    rules = {r["rule"]: r for r in run_query("realtime", path, "alert_rules")}
    over = rules["AI cost over 80% of the fee-based allocation"]
    assert over["customers"] == 4 and over["amount_usd"] == pytest.approx(81.34)


def test_allocation_parameter_scales_the_fee(calls_csv):
    # one billed day: 1.66 -> 49.80 a month against 99 x 50% = 49.50: 100.6%, high
    rows = [{"customer_id": "cust_p", "subscription_tier": "pro", "cost_usd": "1.660000"}]
    [row] = run_query("realtime", calls_csv(rows), "budget_status", allocation_pct=50)
    assert row["allocation"] == 49.5 and row["monthly_cost"] == pytest.approx(49.8)
    assert row["used_pct"] == pytest.approx(100 * 49.8 / 49.5) and row["risk"] == "high"
    assert row["revenue_at_risk"] == 0  # heavy use is a margin finding, not churn


def test_heavy_users_get_caps_not_upgrade_advice_above_the_top_tier(calls_csv):
    # cust_e: enterprise, one day, 400 of AI cost against 299 / 30 = 9.966667 of
    # revenue; cust_p: pro, 80 against 3.3 (an upgrade's 6.67 would not cover it).
    rows = [{"customer_id": "cust_e", "subscription_tier": "enterprise", "cost_usd": "400.000000",
             "task_type": "analysis"},
            {"customer_id": "cust_p", "subscription_tier": "pro", "cost_usd": "80.000000",
             "task_type": "analysis"}]
    path = calls_csv(rows)
    actions = run_query("realtime", path, "recommendations")
    assert [a["action_id"] for a in actions] == ["cap:cust_e", "cap:cust_p"]
    # cap at 80% of revenue: 400 - 7.973333 = 392.026667 in its one billed day, x 30
    assert actions[0]["amount_usd"] == pytest.approx(11760.8)
    assert not any(a["title"].startswith("Upgrade") for a in actions)
    rules = {r["rule"]: r for r in run_query("realtime", path, "alert_rules")}
    # over 80% of the fee-based allocation; at stake is what they lose over the one
    # billed day, in cents as their statements, (400 - 9.97) + (80 - 3.30) = 466.73,
    # x 30 = 14,001.90 against 480 x 30 = 14,400 of monthly spend: 97.2%, high
    over = rules["AI cost over 80% of the fee-based allocation"]
    assert over["amount_usd"] == pytest.approx(14001.9, abs=1e-4) and over["severity"] == "high"


def test_alert_rule_for_cost_over_30_pct_of_revenue(calls_csv):
    # One day. cust_s: starter, revenue 29 / 30 = 0.966667, cost 2.00: over 30%
    # (0.29) by 1.71, and losing 1.033333. cust_p: pro, revenue 3.30, cost 1.50: 45% of
    # revenue, over 30% (0.99) by 0.51, profitable. The rule's amount is its own measure
    # over both customers it counts: (1.71 + 0.51) x 30 = 66.60 a month (not the loss
    # of cust_s alone, 30.90), against a monthly spend of 3.50 x 30 = 105: 63.4%, high.
    rows = [{"customer_id": "cust_s", "subscription_tier": "starter", "cost_usd": "2.000000"},
            {"customer_id": "cust_p", "subscription_tier": "pro", "cost_usd": "1.500000"}]
    rules = run_query("realtime", calls_csv(rows), "alert_rules")
    first = rules[0]
    assert first["rule"] == "AI cost over 30% of revenue"
    assert first["status"] == "triggered: its losing customers alerted in profitability"
    assert first["customers"] == 2
    assert first["amount_usd"] == pytest.approx(66.6)
    assert first["severity"] == "high"
    # cust_s is also over its fee-based allocation (2.00 x 30 = 60 a month against 29):
    # the same loss, the same severity (one finding, one severity); the loss as its
    # statement shows it, in cents: 2.00 - 0.97 = 1.03, x 30 = 30.90 a month
    assert (rules[2]["status"], rules[2]["customers"]) == ("triggered: alerted in profitability", 1)
    assert rules[2]["amount_usd"] == pytest.approx(30.9) and rules[2]["severity"] == "high"
    assert {rules[1]["status"], rules[3]["status"]} == {"ok"}
    # profitability's loss alert carries the same amount and severity, and is the one
    # alert for that loss: realtime raises none of its own for it
    path = calls_csv(rows, name="b.csv")
    [loss] = [a for a in run_query("profitability", path, "alerts") if "unprofitable" in a["title"]]
    assert (loss["severity"], loss["amount_usd"]) == ("high", pytest.approx(30.9))
    assert run_query("realtime", path, "alerts") == []


def test_an_alert_below_the_dollar_floor_is_not_raised(calls_csv):
    # 0.31 of cost against 0.966667 of revenue: 0.02 over 30%, 0.6 a month: under $10
    rows = [{"customer_id": "cust_s", "subscription_tier": "starter", "cost_usd": "0.310000"}]
    rules = run_query("realtime", calls_csv(rows), "alert_rules")
    assert rules[0]["status"] == "below materiality"
    assert run_query("realtime", calls_csv(rows, name="b.csv"), "alerts") == []


def test_revenue_at_risk_is_the_fee_of_a_customer_likely_to_leave_or_lapsed(calls_csv):
    # File Nov 1 .. 30. cust_d: enterprise Nov 1, downgraded to pro Nov 30 and active
    # on the last day: still billed, likely to leave: its current fee, 99, is at risk.
    # cust_q: pro, last call Nov 20: silent 10 days, billed Nov 1 .. 20 only (lapsed):
    # its fee, 99, is at risk too, with evidence saying it is billed only to its last call.
    rows = [{"customer_id": "cust_d", "subscription_tier": "enterprise", "timestamp": "2025-11-01T10:00:00"},
            {"customer_id": "cust_d", "subscription_tier": "pro", "timestamp": "2025-11-30T10:00:00"},
            {"customer_id": "cust_q", "subscription_tier": "pro", "timestamp": "2025-11-01T10:00:00"},
            {"customer_id": "cust_q", "subscription_tier": "pro", "timestamp": "2025-11-20T10:00:00"}]
    path = calls_csv(rows)
    at_risk = run_query("realtime", path, "revenue_at_risk")
    assert [(r["customer_id"], r["revenue_at_risk"], r["churn_evidence"]) for r in at_risk] == [
        ("cust_d", 99, "downgraded to pro"),
        ("cust_q", 99, "no calls in the last 10 days: lapsed, billed only to its last call"
                       " (confirm whether it cancelled)")]
    revenue = {r["customer_id"]: r for r in run_query("profitability", path, "customers")}
    assert revenue["cust_q"]["tenure_days"] == 20            # billed to its last call
    headline = {r["label"]: r["value"] for r in run_query("realtime", path, "headline")}
    assert headline["Revenue at risk per 30-day month"] == 198
