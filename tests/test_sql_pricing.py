"""Given/expect cases for sql/ubr/pricing.sql, worked out by hand."""

from __future__ import annotations

import pytest

from conftest import run_query

MODEL_COLUMNS = ["model", "revenue", "cost", "margin", "margin_pct",
                 "customers_paying_more", "customers_paying_less"]


def call(customer, day, cost, tier):
    return {"customer_id": customer, "timestamp": f"2025-11-{day:02d}T10:00:00",
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


def test_churn_risk_and_migration_plan(csv_path):
    risk = {r["model"]: r for r in run_query("pricing", csv_path, "churn_risk")}
    # churn risk: bill above flat * 1.25. P's threshold 123.75: only hybrid's 127.50 is above.
    assert risk["tiered"]["churn_risk_customers"] == 0
    assert risk["usage_based"]["churn_risk_customers"] == 0
    assert risk["hybrid"]["churn_risk_customers"] == 1
    assert risk["hybrid"]["revenue_at_risk"] == pytest.approx(127.5)
    assert risk["hybrid"]["churn_risk_pct"] == pytest.approx(50)
    # Best non-flat margin: hybrid 137.35 - 62 = 75.35 (tiered 67.25, usage 62).
    plan = run_query("pricing", csv_path, "migration_plan")
    assert [(p["step"], p["to_model"], p["customers"]) for p in plan] == [
        (1, "hybrid", 1), (2, "hybrid", 0), (3, "hybrid", 1)]
    assert plan[0]["new_revenue"] == pytest.approx(9.85)
    assert plan[2]["extra_revenue"] == pytest.approx(127.5 - 99)
    recs = run_query("pricing", csv_path, "recommendations")
    assert recs[0]["title"] == "Move to hybrid pricing"
    assert recs[0]["amount_usd"] == pytest.approx(75.35 - 51.5)  # margin gain over flat
    assert "$23.85" in recs[0]["detail"]


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
