"""Given/expect cases for sql/ubr/profitability.sql, worked out by hand."""

from __future__ import annotations

import pytest

from conftest import run_query, whole_day_time

CONTRACT = {
    "customers": ["customer_id", "subscription_tier", "organization_id", "calls", "tenure_days",
                  "revenue", "cost", "margin", "margin_pct", "status"],
    "by_tier": ["subscription_tier", "customers", "revenue", "cost", "margin", "margin_pct",
                "unprofitable_customers"],
    "margin_buckets": ["bucket", "customers"],
}


def call(customer, day, cost, tier, **extra):
    return {"customer_id": customer, "timestamp": f"2025-11-{day:02d}T{whole_day_time(day)}",
            "cost_usd": f"{cost:.6f}", "subscription_tier": tier, **extra}


# Six customers, each built to land on an edge:
#   A pro, calls on Nov 1 and Nov 15: tenure 15 days, revenue 99*15/30 = 49.50;
#     cost 10 + 20 = 30 -> margin 19.50, margin_pct 100*19.5/49.5 = 39.3939 (20-50%)
#   B starter on Nov 1, upgraded to pro on Nov 10: latest tier pro, tenure 10,
#     each day billed at its own tier: 9 starter days and 1 pro day,
#     revenue (9*29 + 1*99)/30 = 12.00; cost 1 + 2 = 3 -> margin 9, 75% (over 50%)
#   C starter, one day: revenue 29*1/30 = 0.966667; cost 1.934 ->
#     margin -0.967333 (negative, unprofitable); shown in cents as its
#     statement: revenue $0.97, cost $1.93, margin -$0.96
#   D starter, Nov 1..30: revenue 29; cost 14.5 -> margin 14.5 = exactly 50% (over 50%)
#   E enterprise, Nov 1..30: revenue 299; cost 239.2 -> margin 59.8 = exactly 20% (20-50%)
#   F starter, Nov 1..30: revenue 29; cost 29 -> margin 0 = 0% (0-20%, profitable)
# A, B and C are silent 15, 20 and 29 days before Nov 30 (7 or more: lapsed), so each
# is billed to its last call; D, E and F call on Nov 30.
ROWS = [
    call("A", 1, 10, "pro"), call("A", 15, 20, "pro"),
    call("B", 1, 1, "starter", organization_id="org_002"), call("B", 10, 2, "pro", organization_id="org_002"),
    call("C", 1, 1.934, "starter"),
    call("D", 1, 14.5, "starter"), call("D", 30, 0, "starter"),
    call("E", 1, 239.2, "enterprise"), call("E", 30, 0, "enterprise"),
    call("F", 1, 20, "starter"), call("F", 30, 9, "starter"),
]


@pytest.fixture
def csv_path(calls_csv):
    return calls_csv(ROWS)


def test_contract_columns_present(csv_path):
    for query, columns in CONTRACT.items():
        rows = run_query("profitability", csv_path, query)
        assert rows, query
        assert list(rows[0])[:len(columns)] == columns, query


def test_customers_prorated_revenue_latest_tier_margin_and_status(csv_path):
    rows = {r["customer_id"]: r for r in run_query("profitability", csv_path, "customers")}
    a = rows["A"]
    assert (a["subscription_tier"], a["calls"], a["tenure_days"]) == ("pro", 2, 15)
    assert a["revenue"] == pytest.approx(49.50)
    assert a["cost"] == pytest.approx(30)
    assert a["margin"] == pytest.approx(19.50)
    assert a["margin_pct"] == pytest.approx(100 * 19.5 / 49.5)
    assert a["status"] == "profitable"

    b = rows["B"]  # upgraded on day 10: nine starter days, one pro day
    assert (b["subscription_tier"], b["tenure_days"], b["organization_id"]) == ("pro", 10, "org_002")
    assert b["revenue"] == pytest.approx(12.0)
    assert b["margin_pct"] == pytest.approx(100 * 9 / 12)

    c = rows["C"]
    assert c["tenure_days"] == 1
    assert c["revenue"] == pytest.approx(0.97)  # 29/30 in cents, as its statement
    assert c["cost"] == pytest.approx(1.93)
    assert c["margin"] == pytest.approx(0.97 - 1.93)
    assert c["status"] == "unprofitable"

    assert rows["D"]["margin_pct"] == pytest.approx(50)
    assert rows["E"]["revenue"] == pytest.approx(299) and rows["E"]["margin_pct"] == pytest.approx(20)
    assert rows["F"]["margin"] == 0 and rows["F"]["status"] == "profitable"


def test_customers_worst_margin_first(csv_path):
    ids = [r["customer_id"] for r in run_query("profitability", csv_path, "customers")]
    # margins: C -0.967333, F 0, B 9, D 14.5, A 19.5, E 59.8
    assert ids == ["C", "F", "B", "D", "A", "E"]


def test_by_tier(csv_path):
    rows = run_query("profitability", csv_path, "by_tier")
    assert [r["subscription_tier"] for r in rows] == ["starter", "pro", "enterprise"]
    starter, pro, enterprise = rows
    # starter: C, D, F in cents -> revenue 0.97 + 29 + 29, cost 1.93 + 14.5 + 29
    assert starter["customers"] == 3
    assert starter["revenue"] == pytest.approx(58.97)
    assert starter["cost"] == pytest.approx(45.43)
    assert starter["margin"] == pytest.approx(13.54)
    assert starter["margin_pct"] == pytest.approx(100 * 13.54 / 58.97)
    assert starter["unprofitable_customers"] == 1
    # pro (latest tier): A, B -> 49.5 + 12 = 61.5 revenue, 30 + 3 = 33 cost,
    # margin 28.5 = 46.3415%
    assert (pro["customers"], pro["unprofitable_customers"]) == (2, 0)
    assert pro["revenue"] == pytest.approx(61.5) and pro["cost"] == pytest.approx(33)
    assert pro["margin"] == pytest.approx(28.5) and pro["margin_pct"] == pytest.approx(100 * 28.5 / 61.5)
    # enterprise: E -> 299 - 239.2 = 59.8 = 20%
    assert enterprise["customers"] == 1
    assert enterprise["margin"] == pytest.approx(59.8) and enterprise["margin_pct"] == pytest.approx(20)


def test_margin_buckets_edges(csv_path):
    rows = run_query("profitability", csv_path, "margin_buckets")
    # over 50%: B (75), D (exactly 50); 20-50%: A (39.4), E (exactly 20);
    # 0-20%: F (exactly 0); negative: C.
    assert [(r["bucket"], r["customers"]) for r in rows] == [
        ("over 50%", 2), ("20-50%", 2), ("0-20%", 1), ("negative", 1)]


def test_margin_buckets_list_empty_buckets_and_by_tier_lists_every_tier(calls_csv):
    path = calls_csv([call("A", 1, 10, "pro"), call("A", 15, 20, "pro")])
    rows = run_query("profitability", path, "margin_buckets")
    assert [(r["bucket"], r["customers"]) for r in rows] == [
        ("over 50%", 0), ("20-50%", 1), ("0-20%", 0), ("negative", 0)]
    tiers = run_query("profitability", path, "by_tier")
    assert [(t["subscription_tier"], t["customers"], t["revenue"]) for t in tiers] == [
        ("starter", 0, 0), ("pro", 1, 49.5), ("enterprise", 0, 0)]
    assert tiers[0]["margin_pct"] is None  # no revenue: NULL, never NaN


def test_interventions_and_recommendation_amounts(csv_path):
    rows = run_query("profitability", csv_path, "interventions")
    assert len(rows) == 1
    c = rows[0]
    # C on starter: pro instead would bring (99 - 29) * 1 / 30 = 2.333333 more,
    # enough to cover the 0.967333 loss; but the fee rises (99 - 29) / 29 = 241.4%,
    # over the 25% at which pricing's churn rule expects a customer to leave: the cap.
    assert c["customer_id"] == "C" and c["upgrade_tier"] == "pro"
    assert c["upgrade_revenue"] == pytest.approx(2.333333)
    assert c["upgrade_rise_pct"] == pytest.approx(100 * 70 / 29)
    # cap at 80% of its current (starter) fee over its 1 billed day:
    # 1.934 - 0.8 x 29 x 1 / 30 = 1.934 - 0.7733333 = 1.1606667 -> 1.160667
    assert c["cap_savings"] == pytest.approx(1.160667, abs=1e-7)
    assert c["intervention"] == "cap AI cost at 80% of its current fee"
    recs = {r["action_id"]: r for r in run_query("profitability", csv_path, "recommendations")}
    # the ledger's actions, per 30-day month: the cap counts (1.160667 over 1 day,
    # 34.82001 a month); the upgrade (pro pays 70 a month more) is listed, low
    # confidence, not counted
    cap = recs["cap:C"]
    assert (cap["kind"], cap["confidence"], cap["counted"]) == ("avoided cost", "medium", True)
    assert cap["amount_usd"] == pytest.approx(34.82001)
    up = recs["upgrade:C"]
    assert up["title"] == "Considered, not recommended: upgrade C from starter to pro"
    assert (up["kind"], up["confidence"], up["counted"]) == ("revenue gain", "low", False)
    assert up["amount_usd"] == pytest.approx(70)
    assert "$2.33 over 1 days" in up["detail"] and "likely to leave" in up["detail"]


def test_the_cap_is_sized_on_the_current_tier_not_on_revenue_billed_at_an_earlier_one(calls_csv):
    """U: enterprise Nov 1-15, starter from Nov 16 (a downgrade), calls Nov 1, 16, 30
    costing 100 + 0 + 100 = 200. Revenue (15 x 299 + 15 x 29) / 30 = 164.00, margin
    -36. The cap holds cost to 80% of the starter fee it pays now: 0.8 x 29 = 23.20 a
    month, so it avoids 200 - 23.20 = 176.80 over its 30 days, 176.80 a 30-day month
    (80% of the period's revenue, 131.20, would say 68.80). The pro upgrade (+70) would
    cover the loss, but its fee rise (241%) is over the churn rule's 25%: the cap.
    V: starter Nov 1-20, enterprise from Nov 21 (an upgrade), 3 x 50 = 150 against
    (20 x 29 + 10 x 299) / 30 = 119.00 of revenue: a loss, but at the enterprise fee it
    pays now its cost is within the cap (0.8 x 299 = 239.20 a month): no cap, and on
    the top tier no upgrade either."""
    path = calls_csv([call("U", 1, 100, "enterprise"), call("U", 16, 0, "starter"), call("U", 30, 100, "starter"),
                      call("V", 1, 50, "starter"), call("V", 21, 50, "enterprise"), call("V", 30, 50, "enterprise")])
    rows = {r["customer_id"]: r for r in run_query("profitability", path, "interventions")}
    assert rows["U"]["revenue"] == pytest.approx(164.0) and rows["V"]["revenue"] == pytest.approx(119.0)
    assert rows["U"]["cap_savings"] == pytest.approx(176.8)
    assert rows["U"]["intervention"] == "cap AI cost at 80% of its current fee"
    assert rows["V"]["cap_savings"] == 0 and rows["V"]["amount_usd"] == 0
    assert rows["V"]["intervention"] == "none: its cost is within the cap at its current fee"
    recs = {r["action_id"]: r for r in run_query("profitability", path, "recommendations")}
    assert recs["cap:U"]["amount_usd"] == pytest.approx(176.8)
    assert "current fee of $29.00 a month" in recs["cap:U"]["detail"]
    assert "cap:V" not in recs


def test_no_upgrade_above_the_top_tier(calls_csv):
    # T: enterprise, Nov 1..30, revenue 299, cost 400: no tier above, so a cap: AI cost
    # held to 80% of 299 = 239.2 avoids 160.80 over its 30 billed days, 160.80 a month.
    path = calls_csv([call("T", 1, 200, "enterprise"), call("T", 30, 200, "enterprise")])
    recs = run_query("profitability", path, "recommendations")
    # (and the overlap line: what the cap loses if T's calls move to an economy model)
    assert [r["action_id"] for r in recs] == ["cap:T", "overlap:caps"]
    assert recs[0]["kind"] == "avoided cost" and recs[1]["kind"] == "overlap"
    assert recs[0]["amount_usd"] == pytest.approx(160.8)
    assert "no upgrade exists" in recs[0]["detail"]
    [row] = run_query("profitability", path, "interventions")
    assert row["upgrade_tier"] is None and row["intervention"].startswith("cap")


def test_headline(csv_path):
    rows = {r["label"].split(" for the ")[0]: r for r in run_query("profitability", csv_path, "headline")}
    # total margin, in cents as the statements: 19.5 + 9 - 0.96 + 14.5 + 59.8 + 0 = 101.84
    assert rows["Total margin"]["value"] == pytest.approx(101.84)
    assert rows["Lapsed customers (silent 7+ days: billed to their last call)"]["value"] == 3  # A, B, C
    assert rows["Loss on unprofitable customers"]["value"] == pytest.approx(0.96)
    assert all(r["unit"] in {"usd", "count", "pct"} for r in rows.values())
