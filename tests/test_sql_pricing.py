"""Given/expect cases for sql/ubr/pricing.sql, worked out by hand."""

from __future__ import annotations

import pytest

from conftest import run_query, whole_day_time

MODEL_COLUMNS = ["model", "revenue", "cost", "margin", "margin_pct",
                 "customers_paying_more", "customers_paying_less"]


def call(customer, day, cost, tier):
    return {"customer_id": customer, "timestamp": f"2025-11-{day:02d}T{whole_day_time(day)}",
            "cost_usd": f"{cost:.6f}", "subscription_tier": tier}


# P: pro, Nov 1..30 (tenure 30): flat 99; AI cost 30 + 30 = 60.
# S: starter, Nov 1..15 (tenure 15): flat 29*15/30 = 14.50; AI cost 2.
#
# tiered = flat + 1.5 * max(0, cost - 0.5 * flat)
#   P: 99 + 1.5 * (60 - 49.5) = 99 + 15.75 = 114.75     S: 14.5 + 1.5 * max(0, 2 - 7.25) = 14.50
# usage_based = 2 * cost
#   P: 120                                              S: 4
# hybrid = 0.5 * flat + 1.3 * cost
#   P: 49.5 + 78 = 127.50                               S: 7.25 + 2.6 = 9.85
ROWS = [call("P", 1, 30, "pro"), call("P", 30, 30, "pro"),
        call("S", 1, 1, "starter"), call("S", 15, 1, "starter")]


@pytest.fixture
def csv_path(calls_csv):
    return calls_csv(ROWS)


def test_contract_columns_present(csv_path):
    rows = run_query("pricing", csv_path, "models")
    assert list(rows[0])[:len(MODEL_COLUMNS)] == MODEL_COLUMNS
    assert [r["model"] for r in rows] == ["flat", "tiered", "usage_based", "hybrid"]


def test_models_two_customers(csv_path):
    rows = {r["model"]: r for r in run_query("pricing", csv_path, "models")}
    cost = 62  # 60 + 2, the same under every model
    expected = {
        # model: (revenue, paying more, paying less) against flat P 99, S 14.5
        "flat": (99 + 14.5, 0, 0),
        "tiered": (114.75 + 14.5, 1, 0),      # P pays more, S the same
        "usage_based": (120 + 4, 1, 1),       # P 120 > 99, S 4 < 14.5
        "hybrid": (127.5 + 9.85, 1, 1),       # P 127.5 > 99, S 9.85 < 14.5
    }
    for model, (revenue, more, less) in expected.items():
        row = rows[model]
        assert row["revenue"] == pytest.approx(revenue), model
        assert row["cost"] == pytest.approx(cost), model
        assert row["margin"] == pytest.approx(revenue - cost), model
        assert row["margin_pct"] == pytest.approx(100 * (revenue - cost) / revenue), model
        assert (row["customers_paying_more"], row["customers_paying_less"]) == (more, less), model
    assert rows["usage_based"]["margin_pct"] == pytest.approx(50)  # 2x cost is always 50%


def test_each_plan_is_evaluated_with_its_migration_policy(csv_path):
    models = {r["model"]: r for r in run_query("pricing", csv_path, "models")}
    # churn threshold: a bill above current x 1.25. P's threshold 123.75: only hybrid's
    # 127.50 is above, so under hybrid P is grandfathered and keeps its 99 until the
    # grandfathering ends (180 days after Nov 30: 2026-05-29).
    hybrid = models["hybrid"]
    assert hybrid["grandfathered_customers"] == 1
    assert hybrid["grandfathered_until"] == "2026-05-29"
    assert hybrid["revenue_while_grandfathered"] == pytest.approx(99 + 9.85)
    assert hybrid["gain_now"] == pytest.approx(108.85 - 113.5)        # -4.65 while it lasts
    assert hybrid["gain_full"] == pytest.approx(137.35 - 113.5)       # +23.85 if P then stays
    assert hybrid["revenue_exposed"] == pytest.approx(99)             # P's current revenue
    assert hybrid["churn_severity"] == "high"                         # 99 of 113.50 revenue, 1 of 2 customers
    # tiered moves both at once: P 114.75 (+15.9%), S 14.50: +15.75
    assert models["tiered"]["grandfathered_customers"] == 0
    assert models["tiered"]["gain_now"] == pytest.approx(15.75)
    assert models["usage_based"]["gain_now"] == pytest.approx(124 - 113.5)


def test_the_recommended_plan_is_the_one_that_gains_under_its_policy(csv_path):
    # By margin alone hybrid would win (137.35 - 62); its gain comes from the customer
    # it grandfathers. Under the policy tiered gains 15.75 over the 30-day file, 15.75 a
    # month, above the $10 floor; hybrid loses 4.65 while grandfathering lasts.
    recs = run_query("pricing", csv_path, "recommendations")
    assert [(r["title"], r["kind"]) for r in recs] == [
        ("Move to tiered pricing, grandfathering 0 customer(s)", "revenue gain")]
    assert recs[0]["amount_usd"] == pytest.approx(15.75)
    headline = run_query("pricing", csv_path, "headline")
    assert headline[1]["label"] == "Gain per 30-day month while grandfathering, tiered"
    assert headline[1]["value"] == pytest.approx(15.75)
    plan = run_query("pricing", csv_path, "migration_plan")
    assert [(p["step"], p["to_model"], p["customers"]) for p in plan] == [
        (1, "tiered", 1), (2, "tiered", 1), (3, "tiered", 0)]
    risk = {r["model"]: r for r in run_query("pricing", csv_path, "churn_risk")}
    assert risk["hybrid"]["churn_risk_customers"] == 1
    assert risk["hybrid"]["revenue_exposed"] == pytest.approx(99)
    # hybrid is not adopted, so it raises no alert ("grandfathering ends on ..." would
    # describe a consequence of a plan nobody moves to)
    assert not any("hybrid" in a["title"] for a in run_query("pricing", csv_path, "alerts"))
    assert risk["hybrid"]["churn_risk_pct"] == pytest.approx(50)


def test_churn_severity_is_measured_against_revenue_and_customers(calls_csv):
    # 40 starter customers for 30 days (revenue 40 x 29 = 1,160). The heavy ones (B..)
    # cost 20, so usage-based (2 x cost) bills each 40 against 29: +38%, grandfathered.
    # Severity is the larger of the shares of revenue and of customers exposed, on the
    # alert policy's thresholds (high 10%, medium 3%, low from 1% and $10 a month):
    #   one heavy:  29 / 1,160 = 2.5% of revenue, 1 / 40 = 2.5% of customers -> low
    #   two heavy:  58 / 1,160 = 5.0%,            2 / 40 = 5.0%               -> medium
    # Against AI spend (39 x 0.02 + 20 = 20.78 a month) one heavy customer's 29 would
    # be 140%, "high": the rule is not measured on AI spend.
    for heavy, share, severity in ((1, 2.5, "low"), (2, 5.0, "medium")):
        rows = [call(f"c{n}", d, 0.01, "starter") for n in range(40 - heavy) for d in (1, 30)]
        rows += [call(f"B{n}", d, 10, "starter") for n in range(heavy) for d in (1, 30)]
        risk = {r["model"]: r for r in run_query("pricing", calls_csv(rows, name=f"h{heavy}.csv"),
                                                 "churn_risk")}
        assert risk["usage_based"]["churn_risk_customers"] == heavy
        assert risk["usage_based"]["revenue_exposed"] == pytest.approx(29 * heavy)
        assert risk["usage_based"]["revenue_exposed_pct"] == pytest.approx(share)
        assert risk["usage_based"]["churn_risk_pct"] == pytest.approx(share)
        assert risk["usage_based"]["churn_severity"] == severity, heavy
    # 5 of 20 customers exposed (25% of customers) but only 5 x 29 = 145 of 145 + 15 x
    # 299 = 4,630 of revenue (3.1%): the customer share makes it high.
    rows = [call(f"e{n}", d, 0.01, "enterprise") for n in range(15) for d in (1, 30)]
    rows += [call(f"B{n}", d, 10, "starter") for n in range(5) for d in (1, 30)]
    risk = {r["model"]: r for r in run_query("pricing", calls_csv(rows, name="e.csv"), "churn_risk")}
    assert risk["usage_based"]["revenue_exposed_pct"] == pytest.approx(100 * 145 / 4630, abs=0.01)
    assert risk["usage_based"]["churn_risk_pct"] == pytest.approx(25)
    assert risk["usage_based"]["churn_severity"] == "high"


def test_no_plan_worth_it_raises_no_churn_alert(calls_csv):
    # The one-heavy business above: no plan gains enough to be recommended
    # (usage-based loses 39 x 28.96), so nothing is alerted.
    rows = [call(f"c{n}", d, 0.01, "starter") for n in range(39) for d in (1, 30)]
    rows += [call("B", 1, 10, "starter"), call("B", 30, 10, "starter")]
    assert run_query("pricing", calls_csv(rows, name="b.csv"), "alerts") == []
    plan = run_query("pricing", calls_csv(rows, name="c.csv"), "migration_plan")
    assert {p["to_model"] for p in plan} == {"no plan recommended"}
    assert sum(p["customers"] for p in plan) == 0


def test_a_plan_whose_gain_does_not_cover_the_revenue_it_exposes_is_not_recommended(calls_csv):
    # 30 days. P (pro, 99 of revenue) costs 100: every other plan raises its bill over
    # 25% (tiered 99 + 1.5 x 50.5 = 174.75, usage 200, hybrid 49.5 + 130 = 179.5), so
    # it is grandfathered, exposing 99. Ten starter customers (29 each) cost 15.50 and
    # move: tiered 30.50 (+1.50 each, 15 in all), usage 31 (+2, 20), hybrid 14.50 +
    # 20.15 = 34.65 (+5.65, 56.50). The largest gain, hybrid's 56.50 a month, is above
    # the $10 floor, but 56.50 - 99 is a loss if P leaves when its grandfathering ends:
    # no plan is recommended.
    rows = [call("P", 1, 50, "pro"), call("P", 30, 50, "pro")]
    rows += [call(f"s{n}", d, 7.75, "starter") for n in range(10) for d in (1, 30)]
    models = {r["model"]: r for r in run_query("pricing", calls_csv(rows), "models")}
    assert models["hybrid"]["gain_now"] == pytest.approx(56.5)
    assert models["tiered"]["gain_now"] == pytest.approx(15)
    assert models["hybrid"]["revenue_exposed"] == pytest.approx(99)
    assert run_query("pricing", calls_csv(rows, name="b.csv"), "recommendations") == []
    headline = run_query("pricing", calls_csv(rows, name="c.csv"), "headline")
    assert headline[1]["label"] == "Gain per 30-day month while grandfathering, no plan worth it"


def test_segments_split_customers_by_daily_cost(csv_path):
    rows = run_query("pricing", csv_path, "segment_impact")
    # Two customers in three ntile groups: S (2/15 a day) is low, P (2 a day) medium.
    assert [(r["usage_segment"], r["customers"]) for r in rows] == [("low", 1), ("medium", 1)]
    assert rows[1]["tiered_revenue"] == pytest.approx(114.75)


def test_parameters_shown_and_overridable(csv_path):
    params = run_query("pricing", csv_path, "parameters")
    values = {(p["model"], p["parameter"]): p["value"] for p in params}
    assert values[("tiered", "AI-cost allowance (% of fee)")] == 50
    assert values[("tiered", "overage markup (x cost)")] == 1.5
    assert values[("usage_based", "markup (x cost)")] == 2
    assert values[("hybrid", "base fee (% of fee)")] == 50
    assert values[("hybrid", "markup (x cost)")] == 1.3
    rows = {r["model"]: r for r in run_query("pricing", csv_path, "models", usage_markup=3)}
    assert rows["usage_based"]["revenue"] == pytest.approx(3 * 62)
