"""Given/expect cases for sql/ubr/features.sql, worked out by hand."""

from __future__ import annotations

import pytest

from conftest import run_query

FEATURE_COLUMNS = ["feature_id", "calls", "cost", "customers", "adoption_pct", "cost_per_customer",
                   "attributed_revenue", "margin", "margin_pct", "quadrant"]


def call(customer, day, cost, tier, feature):
    return {"customer_id": customer, "timestamp": f"2025-11-{day:02d}T10:00:00",
            "cost_usd": f"{cost:.6f}", "subscription_tier": tier, "feature_id": feature}


# X: pro, Nov 1..30: revenue 99; 3 chat calls (cost 1 each) + 1 code_generation (cost 10):
#    chat gets 99 * 3/4 = 74.25, code_generation 99 * 1/4 = 24.75.
# Y: starter, Nov 1..30: revenue 29; 1 chat (0.5) + 1 qa (0.5): 14.50 each.
# Z: starter, Nov 10 only: revenue 29/30 = 0.966667; 1 summarization (cost 2).
SPLIT_ROWS = [
    call("X", 1, 1, "pro", "chat"), call("X", 15, 1, "pro", "chat"), call("X", 30, 1, "pro", "chat"),
    call("X", 2, 10, "pro", "code_generation"),
    call("Y", 1, 0.5, "starter", "chat"), call("Y", 30, 0.5, "starter", "qa"),
    call("Z", 10, 2, "starter", "summarization"),
]


def test_contract_columns_present(calls_csv):
    rows = run_query("features", calls_csv(SPLIT_ROWS), "features")
    assert list(rows[0])[:len(FEATURE_COLUMNS)] == FEATURE_COLUMNS


def test_adoption_and_revenue_split_by_call_share(calls_csv):
    rows = {r["feature_id"]: r for r in run_query("features", calls_csv(SPLIT_ROWS), "features")}
    chat = rows["chat"]
    assert (chat["calls"], chat["customers"]) == (4, 2)
    assert chat["cost"] == pytest.approx(3.5)
    assert chat["adoption_pct"] == pytest.approx(100 * 2 / 3)   # 2 of the file's 3 customers
    assert chat["cost_per_customer"] == pytest.approx(1.75)
    assert chat["attributed_revenue"] == pytest.approx(74.25 + 14.5)
    assert chat["margin"] == pytest.approx(88.75 - 3.5)
    assert chat["margin_pct"] == pytest.approx(100 * 85.25 / 88.75)

    code = rows["code_generation"]
    assert code["adoption_pct"] == pytest.approx(100 / 3)
    assert code["attributed_revenue"] == pytest.approx(24.75)
    assert code["margin"] == pytest.approx(14.75)

    assert rows["qa"]["attributed_revenue"] == pytest.approx(14.5)
    summ = rows["summarization"]
    assert summ["attributed_revenue"] == pytest.approx(0.966667)
    assert summ["margin"] == pytest.approx(0.966667 - 2)
    # Attribution splits revenue without losing any: 99 + 29 + 0.966667.
    assert sum(r["attributed_revenue"] for r in rows.values()) == pytest.approx(128.966667)
    # Quadrants: adoption [66.7, 33.3, 33.3, 33.3] -> median 33.3, so every
    # feature is high adoption (33.3 is at the median); margin_pct
    # [-106.9, 59.6, 96.1, 96.6] -> median (59.6 + 96.1) / 2.
    assert {f: r["quadrant"] for f, r in rows.items()} == {
        "chat": "invest", "qa": "invest", "code_generation": "optimize", "summarization": "optimize"}


def quadrant_rows():
    """Nine starter customers, Nov 1..30 (revenue 29 each), each using one feature.

    feature  customers  adoption     revenue  cost   margin_pct
    A        3          33.3%        87       2.9    96.67
    B        2          22.2%        58       29     50.00
    C        2          22.2%        58       46.4   20.00
    D        1          11.1%        29       2.9    90.00
    E        1          11.1%        29       29      0.00
    median adoption = 22.2% (B and C are at it: high);
    median margin_pct = 50 (B is at it: high).
    """
    spec = {"A": [1.0, 1.0, 0.9], "B": [14.5, 14.5], "C": [23.2, 23.2], "D": [2.9], "E": [29.0]}
    rows, n = [], 0
    for feature, costs in spec.items():
        for cost in costs:
            n += 1
            cust = f"cust_{n}"
            rows += [call(cust, 1, cost, "starter", feature), call(cust, 30, 0, "starter", feature)]
    return rows


def test_quadrants_split_at_the_median(calls_csv):
    rows = {r["feature_id"]: r for r in run_query("features", calls_csv(quadrant_rows()), "features")}
    assert rows["B"]["margin_pct"] == pytest.approx(50)
    assert rows["C"]["margin_pct"] == pytest.approx(20)
    assert rows["B"]["adoption_pct"] == pytest.approx(100 * 2 / 9)
    assert {f: r["quadrant"] for f, r in rows.items()} == {
        "A": "invest", "B": "invest", "C": "optimize", "D": "maintain", "E": "sunset"}
    scatter = run_query("features", calls_csv(quadrant_rows(), name="q.csv"), "quadrant")
    assert scatter[0]["median_margin_pct"] == pytest.approx(50)
    assert scatter[0]["median_adoption_pct"] == pytest.approx(100 * 2 / 9)


def test_recommendation_amounts(calls_csv):
    recs = run_query("features", calls_csv(quadrant_rows()), "recommendations")
    by_title = {r["title"]: r for r in recs}
    # C optimize: reach the median 50% margin -> cost 58 * 0.5 = 29; saves 46.4 - 29 = 17.40
    assert by_title["Optimize C"]["amount_usd"] == pytest.approx(17.4)
    # E sunset: at 50% margin cost would be 14.5; saves 29 - 14.5 = 14.50
    assert by_title["Rework or sunset E"]["amount_usd"] == pytest.approx(14.5)
    assert "$29.00" in by_title["Rework or sunset E"]["detail"]
    assert recs[0]["priority"] == 1


def test_feature_pairs(calls_csv):
    rows = run_query("features", calls_csv(SPLIT_ROWS), "feature_pairs")
    # X uses chat + code_generation, Y chat + qa; Z one feature only.
    assert [(r["feature_a"], r["feature_b"], r["customers"]) for r in rows] == [
        ("chat", "code_generation", 1), ("chat", "qa", 1)]
    # lift = 1 * 3 / (2 * 1) = 1.5; revenue of the pair: X 74.25 + 24.75 = 99
    assert rows[0]["lift"] == pytest.approx(1.5)
    assert rows[0]["pair_revenue"] == pytest.approx(99)
