"""Given/expect cases for sql/finops/alignment.sql, worked out by hand.

Every call below has 100 input + 100 output tokens (the default row), so
each call is 200 tokens.
"""

from __future__ import annotations

import pytest
from conftest import run_query

BY_ORGANIZATION_COLUMNS = ["organization_id", "calls", "cost", "share_pct", "customers",
                           "cost_per_call", "production_cost", "non_production_cost"]


def call(org, customer, env, cost, product="product_a", **extra):
    return {"organization_id": org, "customer_id": customer, "environment": env,
            "product_id": product, "cost_usd": f"{cost:.6f}", **extra}


@pytest.fixture
def orgs_csv(calls_csv):
    return calls_csv([
        # org_001: production 1.0 + 2.0, staging 1.0 (one customer)
        call("org_001", "cust_0001", "production", 1.0),
        call("org_001", "cust_0001", "production", 2.0),
        call("org_001", "cust_0001", "staging", 1.0),
        # org_002: production 1.0 (cust_0002, product_b), development 2.0 (cust_0003)
        call("org_002", "cust_0002", "production", 1.0, product="product_b"),
        call("org_002", "cust_0003", "development", 2.0),
        # org_003: development only, 0.5
        call("org_003", "cust_0004", "development", 0.5),
    ])
    # totals: cost 7.5, production 4.0, non-production pool 3.5, tokens 1,200


def test_by_organization(orgs_csv):
    rows = run_query("alignment", orgs_csv, "by_organization")
    assert list(rows[0])[:len(BY_ORGANIZATION_COLUMNS)] == BY_ORGANIZATION_COLUMNS
    got = [(r["organization_id"], r["calls"], r["cost"], r["customers"], r["production_cost"],
            r["non_production_cost"]) for r in rows]
    assert got == [
        ("org_001", 3, 4, 1, 3, 1),
        ("org_002", 2, 3, 2, 1, 2),
        ("org_003", 1, 0.5, 1, 0, 0.5),
    ]
    # shares of 7.5: 4 / 7.5, 3 / 7.5, 0.5 / 7.5
    assert [r["share_pct"] for r in rows] == [pytest.approx(53.333333), pytest.approx(40),
                                               pytest.approx(6.666667)]
    assert sum(r["share_pct"] for r in rows) == pytest.approx(100)
    # cost per call: 4 / 3, 3 / 2, 0.5 / 1
    assert [r["cost_per_call"] for r in rows] == [pytest.approx(1.333333), 1.5, 0.5]


def test_environment_split(orgs_csv):
    rows = run_query("alignment", orgs_csv, "environment_split")
    assert [(r["environment"], r["calls"], r["cost"]) for r in rows] == [
        ("production", 3, 4), ("staging", 1, 1), ("development", 2, 2.5)]
    assert [r["share_pct"] for r in rows] == [pytest.approx(100 * 4 / 7.5),
                                               pytest.approx(100 * 1 / 7.5),
                                               pytest.approx(100 * 2.5 / 7.5)]


def test_chargeback_spreads_non_production_by_production_cost(orgs_csv):
    rows = run_query("alignment", orgs_csv, "chargeback")
    # pool 3.5 split by production cost 3 : 1 : 0 of 4
    # org_001: 3 + 3.5 * 3/4 = 3 + 2.625 = 5.625
    # org_002: 1 + 3.5 * 1/4 = 1 + 0.875 = 1.875
    # org_003: 0 + 0 = 0 (its own 0.5 of development goes into the pool)
    got = [(r["organization_id"], r["direct_cost"], r["shared_cost"], r["chargeback_cost"])
           for r in rows]
    assert got == [("org_001", 3, 2.625, 5.625), ("org_002", 1, 0.875, 1.875),
                   ("org_003", 0, 0, 0)]
    assert [r["share_pct"] for r in rows] == [pytest.approx(75), pytest.approx(25), 0]
    assert sum(r["chargeback_cost"] for r in rows) == pytest.approx(7.5)   # = total cost
    assert rows[0]["invoice_number"] == "CB-20251101-org_001"


def test_chargeback_total_equals_total_cost_exactly_despite_rounding(calls_csv):
    # production 1 : 1 : 1, pool 1.0 -> 0.333333 each, 0.000001 left over;
    # the remainder goes to the largest production cost (tie: org_001).
    path = calls_csv([
        call("org_001", "cust_1", "production", 1.0),
        call("org_002", "cust_2", "production", 1.0),
        call("org_003", "cust_3", "production", 1.0),
        call("org_003", "cust_3", "staging", 1.0),
    ])
    rows = run_query("alignment", path, "chargeback")
    assert [(r["organization_id"], r["shared_cost"]) for r in rows] == [
        ("org_001", 0.333334), ("org_002", 0.333333), ("org_003", 0.333333)]
    # exact, in millionths: 1.333334 + 1.333333 + 1.333333 = 4.000000
    assert sum(round(r["chargeback_cost"] * 1_000_000) for r in rows) == 4_000_000


def test_chargeback_without_production_keeps_own_cost(calls_csv):
    path = calls_csv([call("org_001", "c1", "staging", 2.0),
                      call("org_002", "c2", "development", 1.0)])
    rows = run_query("alignment", path, "chargeback")
    assert [(r["organization_id"], r["chargeback_cost"]) for r in rows] == [
        ("org_001", 2), ("org_002", 1)]


def test_chargeback_lines_read_like_an_invoice(orgs_csv):
    rows = [r for r in run_query("alignment", orgs_csv, "chargeback_lines")
            if r["organization_id"] == "org_002"]
    assert [(r["line"], r["item"], r["amount_usd"]) for r in rows] == [
        (1, "Production usage: product_b", 1),
        (2, "Shared non-production (staging, development): 25.0% of $3.50", 0.875),
        (3, "Total", 1.875),
    ]


def test_showback_against_average_unit_cost(orgs_csv):
    rows = {r["organization_id"]: r for r in run_query("alignment", orgs_csv, "showback")}
    # average: 7.5 over 1,200 tokens = 6.25 per 1k tokens
    org = rows["org_001"]                      # 4.0 over 600 tokens
    assert org["tokens"] == 600
    assert org["cost_per_1k_tokens"] == pytest.approx(6.666667)
    assert org["avg_cost_per_1k_tokens"] == pytest.approx(6.25)
    assert org["unit_cost_vs_avg_pct"] == pytest.approx(100 * 6.666667 / 6.25, rel=1e-6)
    assert org["excess_cost"] == pytest.approx(0.25)          # 4.0 - 600 * 0.00625
    assert rows["org_002"]["excess_cost"] == pytest.approx(0.5)   # 3.0 - 400 * 0.00625
    assert rows["org_003"]["excess_cost"] == pytest.approx(-0.75)  # 0.5 - 200 * 0.00625
    assert sum(r["excess_cost"] for r in rows.values()) == pytest.approx(0)


def test_headline_recommendations_alerts(orgs_csv):
    headline = {r["label"]: r for r in run_query("alignment", orgs_csv, "headline")}
    assert 2 <= len(headline) <= 4
    assert headline["Total cost"]["value"] == pytest.approx(7.5)
    assert headline["Non-production share"]["value"] == pytest.approx(100 * 3.5 / 7.5)

    recs = run_query("alignment", orgs_csv, "recommendations")
    # non-production 3.5 against a 10% target of 7.5 = 0.75 -> 2.75 above target;
    # org_002 pays 120% of the average per token (>= 110%): its excess 0.5.
    # org_001 at 106.7% is under the 110% bar.
    assert [(r["priority"], r["title"], r["amount_usd"]) for r in recs] == [
        (1, "Cap staging and development spend", pytest.approx(2.75)),
        (2, "Review the model mix of org_002", pytest.approx(0.5)),
    ]
    assert "$2.75" in recs[0]["detail"]

    alerts = run_query("alignment", orgs_csv, "alerts")
    # non-production 46.7% > 2 x 10%: high; org_001 53.3% of spend: high;
    # org_002 40%: medium. High first, then by amount.
    assert [(r["severity"], r["title"], r["amount_usd"]) for r in alerts] == [
        ("high", "Spend concentrated in org_001", 4),
        ("high", "Non-production spend over target", 3.5),
        ("medium", "Spend concentrated in org_002", 3),
    ]


def test_non_production_target_parameter(orgs_csv):
    recs = run_query("alignment", orgs_csv, "recommendations", non_production_target_pct=50)
    assert [r["title"] for r in recs] == ["Review the model mix of org_002"]
