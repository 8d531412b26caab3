"""Given/expect cases for sql/finops/optimization.sql, worked out by hand.

List prices (USD per 1,000 tokens, input/output) used below:
gpt-4 0.03/0.06, gpt-4o-mini 0.00015/0.0006, claude-sonnet-4 0.003/0.015,
claude-haiku-4 0.00025/0.00125, titan-text-lite 0.00015/0.0002.
"""

from __future__ import annotations

import pytest
from conftest import run_query, whole_day_time

MODEL_SWITCHING_COLUMNS = ["from_model", "to_model", "task_type", "calls", "current_cost",
                           "projected_cost", "savings", "savings_pct"]


def call(provider, model, task, inp, out, cost, **extra):
    return {"provider": provider, "model": model, "task_type": task, "feature_id": task,
            "input_tokens": str(inp), "output_tokens": str(out), "cost_usd": f"{cost:.6f}", **extra}


@pytest.fixture
def switching_csv(calls_csv):
    return calls_csv([
        # gpt-4 qa: 1000 in / 500 out = 0.03 + 0.03 = 0.06 paid
        call("openai", "gpt-4", "qa", 1000, 500, 0.06),
        # gpt-4 qa: 2000 in / 1000 out = 0.06 + 0.06 = 0.12 paid
        call("openai", "gpt-4", "qa", 2000, 1000, 0.12),
        # gpt-4 translation, paid 0.10 (cost_usd is the truth, not the list price)
        call("openai", "gpt-4", "translation", 1000, 0, 0.10),
        # claude-sonnet-4 chat: 1000/1000 = 0.003 + 0.015 = 0.018
        call("anthropic", "claude-sonnet-4", "chat", 1000, 1000, 0.018),
        # Not in scope: a premium model on a complex task, economy and
        # standard models on simple tasks, a premium model on analysis.
        call("openai", "gpt-4", "code_generation", 1000, 1000, 0.09),
        call("openai", "gpt-4o-mini", "qa", 1000, 1000, 0.00075),
        call("openai", "gpt-3.5-turbo", "chat", 1000, 1000, 0.002),
        call("google", "gemini-1.5-pro", "analysis", 1000, 1000, 0.005),
    ])


def test_model_switching_reprices_premium_models_on_simple_tasks(switching_csv):
    rows = run_query("optimization", switching_csv, "model_switching")
    assert [(r["from_model"], r["to_model"], r["task_type"]) for r in rows] == [
        ("gpt-4", "gpt-4o-mini", "qa"),
        ("gpt-4", "gpt-4o-mini", "translation"),
        ("claude-sonnet-4", "claude-haiku-4", "chat"),
    ]
    qa, translation, chat = rows
    # qa: tokens 3000 in / 1500 out at gpt-4o-mini:
    # (3000 * 0.00015 + 1500 * 0.0006) / 1000 = (0.45 + 0.9) / 1000 = 0.00135
    assert qa["calls"] == 2
    assert qa["current_cost"] == pytest.approx(0.18)
    assert qa["projected_cost"] == pytest.approx(0.00135)
    assert qa["savings"] == pytest.approx(0.17865)             # 0.18 - 0.00135
    assert qa["savings_pct"] == pytest.approx(99.25)           # 0.17865 / 0.18
    # translation: paid 0.10; 1000 in at gpt-4o-mini = 0.00015
    assert translation["current_cost"] == pytest.approx(0.10)
    assert translation["projected_cost"] == pytest.approx(0.00015)
    assert translation["savings"] == pytest.approx(0.09985)
    assert translation["savings_pct"] == pytest.approx(99.85)
    # chat: 1000/1000 at claude-haiku-4 = 0.00025 + 0.00125 = 0.0015
    assert chat["projected_cost"] == pytest.approx(0.0015)
    assert chat["savings"] == pytest.approx(0.0165)            # 0.018 - 0.0015
    assert chat["savings_pct"] == pytest.approx(100 * 0.0165 / 0.018)  # 91.666...


def test_model_switching_contract_columns(switching_csv):
    rows = run_query("optimization", switching_csv, "model_switching")
    assert list(rows[0])[:len(MODEL_SWITCHING_COLUMNS)] == MODEL_SWITCHING_COLUMNS


def test_simple_tasks_parameter_narrows_the_scope(switching_csv):
    rows = run_query("optimization", switching_csv, "model_switching", simple_tasks="qa")
    assert [(r["from_model"], r["task_type"], r["savings"]) for r in rows] == [
        ("gpt-4", "qa", pytest.approx(0.17865))]


def test_recommendations_list_small_switches_together(switching_csv):
    rows = run_query("optimization", switching_csv, "recommendations")
    # one-day file: qa 0.17865, translation 0.09985, chat 0.0165 a day, each under the
    # $10-a-month floor (x 30: 5.3595, 2.9955, 0.495): one line for the three, 8.85 a month
    [rec] = [r for r in rows if r["action_id"] == "model-switching:smaller"]
    assert rec["title"] == "3 smaller model switching actions"
    assert rec["amount_usd"] == pytest.approx(8.85)
    assert "Move qa calls from gpt-4 to gpt-4o-mini" in rec["detail"]
    assert (rec["kind"], rec["confidence"]) == ("saving", "low")
    amounts = [r["amount_usd"] for r in rows]
    assert amounts == sorted(amounts, reverse=True)
    assert [r["priority"] for r in rows] == list(range(1, len(rows) + 1))


def daily(costs_by_day: dict[str, float]) -> list[dict]:
    # One gemini-pro call per day on code_generation: out of the switching
    # scope and already the cheapest of its class, so only the commitment acts.
    return [call("google", "gemini-pro", "code_generation", 100, 100, cost,
                 timestamp=f"{day}T{whole_day_time(int(day[-2:]))}") for day, cost in costs_by_day.items()]


def test_commitment_worked_example(calls_csv):
    # cents a day, so the customer (pro, 99 x 5 / 30 = 16.50 of revenue) is
    # profitable: no cap, and the spend after the caps is the spend
    path = calls_csv(daily({"2025-11-01": 0.10, "2025-11-02": 0.20, "2025-11-03": 0.30,
                            "2025-11-04": 0.40, "2025-11-05": 0.50}))
    (row,) = run_query("optimization", path, "commitment")
    # p10 of [0.1 .. 0.5]: position 0.1 * (5 - 1) = 0.4 -> 0.1 + 0.4 * 0.1 = 0.14
    assert row["percentile"] == pytest.approx(0.1)
    assert row["commit_daily_cost"] == pytest.approx(0.14)
    assert row["days"] == 5
    # committed: 0.14 a day * 5 days * (1 - 20%) = 0.56
    assert row["committed_cost"] == pytest.approx(0.56)
    # on demand: above 0.14 each day = 0 + 0.06 + 0.16 + 0.26 + 0.36 = 0.84
    assert row["on_demand_cost"] == pytest.approx(0.84)
    assert row["cost_with_commitment"] == pytest.approx(1.40)
    assert row["current_cost"] == pytest.approx(1.50)
    assert row["savings"] == pytest.approx(0.10)               # 1.50 - 1.40
    assert row["savings_pct"] == pytest.approx(100 * 0.1 / 1.5)
    assert row["monthly_savings"] == pytest.approx(0.60)       # 0.10 / 5 days * 30
    # used of the commitment: 0.10 + 0.14 * 4 = 0.66 of 0.70
    assert row["utilization_pct"] == pytest.approx(100 * 0.66 / 0.70)
    assert row["breakeven_utilization_pct"] == pytest.approx(80)
    assert row["breakeven_daily_cost"] == pytest.approx(0.112)  # 0.14 * 0.8
    # The table's chosen row, the chart's line and the ledger's action are one figure.
    [chosen] = [r for r in run_query("optimization", path, "commitment_scenarios") if r["chosen"]]
    assert chosen["commit_daily_cost"] == row["commit_daily_cost"]
    assert {r["commit_daily_cost"] for r in run_query("optimization", path, "daily_commitment")} == {0.14}
    [action] = [r for r in run_query("optimization", path, "recommendations") if r["action_id"] == "commitment"]
    assert action["amount_usd"] == row["monthly_savings"]
    assert action["title"] == "Commit to $0.14 a day of reserved capacity"


def test_commitment_is_sized_after_the_caps(calls_csv):
    # One enterprise customer (299 x 5 / 30 = 49.833333 of revenue) costing 100 over 5
    # days (10, 15, 20, 25, 30), on a model with no cheaper model of its class: no
    # switch, no arbitrage. Cap: 100 - 80% x 49.833333 = 60.133333, spread over the
    # days by cost: each day keeps 39.866667% of its cost: 3.986667 .. 11.96.
    costs = {"2025-11-01": 10, "2025-11-02": 15, "2025-11-03": 20, "2025-11-04": 25, "2025-11-05": 30}
    path = calls_csv([{**c, "subscription_tier": "enterprise"} for c in daily(costs)])
    (row,) = run_query("optimization", path, "commitment")
    # p10: 3.986667 + 0.4 x (5.98 - 3.986667) = 4.784
    assert row["commit_daily_cost"] == pytest.approx(4.784, abs=1e-6)
    assert row["current_cost"] == pytest.approx(39.866667, abs=1e-6)
    headline = run_query("optimization", path, "headline")
    assert headline[0]["value"] == pytest.approx(row["monthly_savings"], abs=0.005)  # in cents


def test_commitment_percentile_and_discount_parameters(calls_csv):
    path = calls_csv(daily({"2025-11-01": 0.10, "2025-11-02": 0.20, "2025-11-03": 0.30,
                            "2025-11-04": 0.40, "2025-11-05": 0.50}))
    (row,) = run_query("optimization", path, "commitment",
                       commitment_percentile=0.5, commitment_discount_pct=10)
    # median 0.30; committed 0.30 * 5 * 0.9 = 1.35; on demand 0.10 + 0.20 = 0.30
    assert row["commit_daily_cost"] == pytest.approx(0.30)
    assert row["committed_cost"] == pytest.approx(1.35)
    assert row["on_demand_cost"] == pytest.approx(0.30)
    assert row["savings"] == pytest.approx(-0.15)              # 1.50 - 1.65: loses money


def test_commitment_zero_fills_days_without_calls(calls_csv):
    # 2025-11-03 has no call: the series is [0.10, 0.20, 0, 0.30]
    path = calls_csv(daily({"2025-11-01": 0.10, "2025-11-02": 0.20, "2025-11-04": 0.30}))
    (row,) = run_query("optimization", path, "commitment")
    # sorted [0, 0.1, 0.2, 0.3], p10 position 0.3 -> 0 + 0.3 * 0.1 = 0.03
    assert row["days"] == 4
    assert row["commit_daily_cost"] == pytest.approx(0.03)
    assert row["committed_cost"] == pytest.approx(0.096)       # 0.03 * 4 * 0.8
    assert row["on_demand_cost"] == pytest.approx(0.51)        # 0.07 + 0.17 + 0 + 0.27
    assert row["savings"] == pytest.approx(-0.006)             # 0.60 - 0.606
    recs = run_query("optimization", path, "recommendations")
    assert not any(r["title"].startswith("Commit") for r in recs)


def test_volume_discount_tiers(calls_csv):
    # One day, $10 at openai: run-rate 10 / 1 day * 30 = $300 a month,
    # in the $250 tier (3%), $700 short of the $1,000 tier (5%).
    path = calls_csv([call("openai", "gpt-4o-mini", "code_generation", 100, 100, 10)])
    (row,) = run_query("optimization", path, "volume_discounts")
    assert row["provider"] == "openai"
    assert row["monthly_cost"] == pytest.approx(300)
    assert row["discount_pct"] == pytest.approx(3)
    assert row["tier_savings"] == pytest.approx(0.3)           # 10 * 3%
    assert row["next_threshold_usd"] == 1000
    assert row["next_tier_gap_usd"] == pytest.approx(700)
    assert row["next_discount_pct"] == pytest.approx(5)
    assert row["next_tier_savings"] == pytest.approx(0.5)      # 10 * 5%


@pytest.fixture
def levers_csv(calls_csv):
    return calls_csv([
        # switching: 0.06 paid, 0.00045 at gpt-4o-mini -> saves 0.05955
        call("openai", "gpt-4", "qa", 1000, 500, 0.06),
        # arbitrage: gpt-3.5-turbo 1000/1000 = 0.0005 + 0.0015 = 0.002; the
        # cheapest standard model elsewhere is gemini-pro:
        # 0.00025 + 0.0005 = 0.00075 -> saves 0.00125 (no cache price: no caching)
        call("openai", "gpt-3.5-turbo", "code_generation", 1000, 1000, 0.002),
    ])


def test_provider_arbitrage_picks_cheapest_same_class_model(levers_csv):
    (row,) = run_query("optimization", levers_csv, "provider_arbitrage")
    assert (row["from_model"], row["to_provider"], row["to_model"]) == \
        ("gpt-3.5-turbo", "google", "gemini-pro")
    assert row["current_cost"] == pytest.approx(0.002)
    assert row["projected_cost"] == pytest.approx(0.00075)
    assert row["savings"] == pytest.approx(0.00125)
    assert row["savings_pct"] == pytest.approx(100 * 0.00125 / 0.002)


def test_arbitrage_never_moves_work_out_of_a_switch_target(calls_csv):
    # gpt-4o-mini is openai's switch target (model_prices.economy_model): its own
    # calls are not sent to another provider while gpt-4 qa calls are sent to it
    path = calls_csv([call("openai", "gpt-4", "qa", 1000, 500, 0.06),
                      call("openai", "gpt-4o-mini", "code_generation", 1000, 1000, 0.00075)])
    assert run_query("optimization", path, "provider_arbitrage") == []


def test_total_potential_stacks_levers_without_double_counting(levers_csv):
    rows = run_query("optimization", levers_csv, "total_potential")
    by_lever = {r["lever"]: r for r in rows}
    # one-day file, per 30-day month: switching 0.05955 x 30 = 1.7865; arbitrage
    # 0.00125 x 30 = 0.0375; the commitment (a sure lever) on the day's spend, 0.062
    # at 80%: 0.0124, 0.372 a month; sized on what remains after the switch and
    # arbitrage, 0.062 - 0.05955 - 0.00125 = 0.0012 at 80%: 0.00024, 0.0072 a month:
    # the overlap line is 0.0072 - 0.372 = -0.3648. The table is in cents, each
    # action rounded (half away from zero) before it is added, as the index adds.
    assert by_lever["model switching"]["monthly_savings"] == 1.79
    assert by_lever["provider arbitrage"]["monthly_savings"] == 0.04
    assert "prompt caching" not in by_lever
    assert by_lever["reserved commitment"]["monthly_savings"] == 0.37
    assert by_lever["overlap with the sure levers"]["monthly_savings"] == -0.36
    assert sum(r["monthly_savings"] for r in rows) == pytest.approx(1.84)
    assert sum(r["monthly_savings"] for r in rows) <= 0.062 * 30


def test_headline_and_alerts(levers_csv):
    headline = run_query("optimization", levers_csv, "headline")
    assert 2 <= len(headline) <= 4
    # the sure part (medium confidence: caching and the commitment, standalone) leads,
    # then what depends on quality (with the overlap line); see the test above
    assert headline[0]["label"] == "Rate-optimization savings per 30-day month, high or medium confidence"
    assert headline[0]["value"] == 0.37  # in cents, as the lever table under it
    assert headline[1]["label"] == "Rate-optimization savings per 30-day month that depend on quality"
    assert headline[1]["value"] == pytest.approx(1.79 + 0.04 - 0.36, abs=1e-9)
    assert headline[2]["value"] == pytest.approx(1.86, abs=1e-6)      # 0.062 x 30
    # 1.7865 a month of avoidable spend is under the $10 floor: no alert
    assert run_query("optimization", levers_csv, "alerts") == []


def test_avoidable_spend_alert_severity_follows_the_policy(calls_csv):
    # gpt-4 qa, 100,000 input tokens at $3.00 a day for 2 days, and $60 a day of
    # gemini-1.5-pro analysis: monthly spend (6 + 120) x 15 = 1,890; avoidable
    # 2 x (3 - 0.015) = 5.97, 89.55 a month = 4.7% of spend: medium (3-10%)
    rows = [call("openai", "gpt-4", "qa", 100000, 0, 3.0, timestamp=f"2025-11-0{d}T{whole_day_time(d)}")
            for d in (1, 2)]
    rows += [call("google", "gemini-1.5-pro", "analysis", 1000000, 0, 1.25,
                  timestamp=f"2025-11-0{d}T1{k % 10}:00:00") for d in (1, 2) for k in range(48)]
    (alert,) = run_query("optimization", calls_csv(rows), "alerts")
    assert alert["severity"] == "medium"
    assert alert["amount_usd"] == pytest.approx(89.55)


def test_models_missing_from_the_price_table_are_an_alert(calls_csv):
    path = calls_csv([call("openai", "gpt-9", "qa", 100, 100, 1.5)])
    assert run_query("optimization", path, "model_switching") == []
    (alert,) = run_query("optimization", path, "alerts")
    assert alert["severity"] == "low"
    assert alert["amount_usd"] == pytest.approx(1.5)


def test_json_has_no_internal_columns(levers_csv):
    # model_switching's chart label (_label) stays in the CSV download, not in the
    # JSON contract (issue 11: no internal columns)
    (row,) = run_query("optimization", levers_csv, "model_switching")
    assert row["from_model"] == "gpt-4" and not [c for c in row if c.startswith("_")]
