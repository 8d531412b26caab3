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


def test_chargeback_keeps_tagged_cost_with_its_owner(orgs_csv):
    rows = run_query("alignment", orgs_csv, "chargeback")
    # every call is tagged to an organization: nothing is shared, each pays its own
    # production and non-production cost (4, 3, 0.5); the old rule re-spread the
    # non-production cost already tagged to each.
    got = [(r["organization_id"], r["direct_cost"], r["shared_cost"], r["chargeback_cost"])
           for r in rows]
    assert got == [("org_001", 4, 0, 4), ("org_002", 3, 0, 3), ("org_003", 0.5, 0, 0.5)]
    assert sum(r["chargeback_cost"] for r in rows) == pytest.approx(7.5)   # = total cost
    assert rows[0]["invoice_number"] == "CB-20251101-org_001"


def test_chargeback_spreads_only_untagged_cost(calls_csv):
    # org_001 own 3.0, org_002 own 1.0; 2.0 of calls tagged "shared" (untagged):
    # spread 3 : 1 -> 1.5 and 0.5.
    path = calls_csv([
        call("org_001", "c1", "production", 2.0), call("org_001", "c1", "staging", 1.0),
        call("org_002", "c2", "production", 1.0),
        call("shared", "c3", "production", 2.0),
    ])
    rows = run_query("alignment", path, "chargeback")
    assert [(r["organization_id"], r["direct_cost"], r["shared_cost"], r["chargeback_cost"])
            for r in rows] == [("org_001", 3, 1.5, 4.5), ("org_002", 1, 0.5, 1.5)]


def test_chargeback_total_equals_total_cost_exactly_despite_rounding(calls_csv):
    # own cost 1 : 1 : 1, untagged pool 1.0 -> $0.33 each in cents, $0.01 left
    # over; the remainder goes to the largest own cost (tie: org_001).
    path = calls_csv([
        call("org_001", "cust_1", "production", 1.0),
        call("org_002", "cust_2", "production", 1.0),
        call("org_003", "cust_3", "production", 1.0),
        call("unallocated", "cust_3", "staging", 1.0),
    ])
    rows = run_query("alignment", path, "chargeback")
    assert [(r["organization_id"], r["shared_cost"]) for r in rows] == [
        ("org_001", 0.34), ("org_002", 0.33), ("org_003", 0.33)]
    # in cents: 1.34 + 1.33 + 1.33 = 4.00
    assert sum(round(r["chargeback_cost"] * 100) for r in rows) == 400


def test_chargeback_without_production_keeps_own_cost(calls_csv):
    path = calls_csv([call("org_001", "c1", "staging", 2.0),
                      call("org_002", "c2", "development", 1.0)])
    rows = run_query("alignment", path, "chargeback")
    assert [(r["organization_id"], r["chargeback_cost"]) for r in rows] == [
        ("org_001", 2), ("org_002", 1)]


def test_chargeback_lines_read_like_an_invoice(orgs_csv):
    rows = [r for r in run_query("alignment", orgs_csv, "chargeback_lines")
            if r["organization_id"] == "org_002"]
    # no untagged cost: no shared line
    assert [(r["line"], r["item"], r["amount_usd"]) for r in rows] == [
        (1, "Own usage: product_a", 2),
        (2, "Own usage: product_b", 1),
        (3, "Total", 3),
    ]


def test_showback_variance_nets_to_zero_and_is_no_saving(orgs_csv):
    rows = {r["organization_id"]: r for r in run_query("alignment", orgs_csv, "showback")}
    # average: 7.5 over 1,200 tokens = 6.25 per 1k tokens
    org = rows["org_001"]                      # 4.0 over 600 tokens
    assert org["tokens"] == 600
    assert org["cost_per_1k_tokens"] == pytest.approx(6.666667)
    assert org["avg_cost_per_1k_tokens"] == pytest.approx(6.25)
    assert org["unit_cost_vs_avg_pct"] == pytest.approx(100 * 6.666667 / 6.25, rel=1e-6)
    assert org["variance_cost"] == pytest.approx(0.25)          # 4.0 - 600 * 0.00625
    assert rows["org_002"]["variance_cost"] == pytest.approx(0.5)   # 3.0 - 400 * 0.00625
    assert rows["org_003"]["variance_cost"] == pytest.approx(-0.75)  # 0.5 - 200 * 0.00625
    assert sum(r["variance_cost"] for r in rows.values()) == pytest.approx(0)
    recs = run_query("alignment", orgs_csv, "recommendations")
    assert not any(r["kind"] == "saving" for r in recs)


def test_headline_recommendations_alerts(orgs_csv):
    headline = {r["label"].split(" for the ")[0]: r for r in run_query("alignment", orgs_csv, "headline")}
    assert 2 <= len(headline) <= 4
    assert headline["Total cost charged back"]["value"] == pytest.approx(7.5)
    assert headline["Non-production share (target 10.0%)"]["value"] == pytest.approx(100 * 3.5 / 7.5)

    recs = run_query("alignment", orgs_csv, "recommendations")
    # non-production 3.5 against a 10% target of 7.5 = 0.75: 2.75 above target in the
    # one-day file, 82.5 a 30-day month: a target, never counted as a saving.
    assert [(r["priority"], r["kind"], r["counted"], r["amount_usd"]) for r in recs] == [
        (1, "target", False, pytest.approx(82.5))]
    assert recs[0]["title"] == "Hold staging and development to 10.0% of spend"

    assert recs[0]["severity"] is None  # a gap to a target has no severity
    alerts = run_query("alignment", orgs_csv, "alerts")
    # The non-production gap is that target, not an alert (severity is never a gap to
    # a target). org_001 holds 53.3% of spend, but a share is no money at stake: no
    # alert. (No unit-cost alert either: a variance between organizations nets to zero.)
    assert alerts == []


def test_non_production_target_parameter(orgs_csv):
    recs = run_query("alignment", orgs_csv, "recommendations", non_production_target_pct=50)
    assert recs == []  # 46.7% non-production is under a 50% target: no target to hold
