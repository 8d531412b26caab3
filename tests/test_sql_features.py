"""Given/expect cases for sql/ubr/features.sql, worked out by hand."""

from __future__ import annotations

import pytest

from conftest import run_query, whole_day_time

FEATURE_COLUMNS = ["feature_id", "calls", "cost", "customers", "adoption_pct", "cost_per_customer",
                   "attributed_revenue", "margin", "margin_pct", "quadrant"]


def call(customer, day, cost, tier, feature):
    return {"customer_id": customer, "timestamp": f"2025-11-{day:02d}T{whole_day_time(day)}",
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


def test_cost_targets_are_targets_not_savings(calls_csv):
    recs = run_query("features", calls_csv(quadrant_rows()), "recommendations")
    by_id = {r["action_id"]: r for r in recs}
    # C optimize: the median 50% margin means cost 58 * 0.5 = 29: 17.40 over the
    # 30-day file, 17.40 a month; E sunset: 29 * 0.5 = 14.5, a gap of 14.50.
    c, e = by_id["target:feature/C"], by_id["target:feature/E"]
    assert c["title"] == "Bring C's AI cost to $29.00 over the period"
    assert c["amount_usd"] == pytest.approx(17.4) and e["amount_usd"] == pytest.approx(14.5)
    assert {(r["kind"], r["counted"]) for r in recs} == {("target", False)}
    # attributed revenue is an allocation: nothing claims revenue lost per feature
    assert not any("at risk" in r["detail"] or "lost" in r["detail"] for r in recs)
    assert recs[0]["priority"] == 1


def test_feature_pairs_need_significance_and_support(calls_csv):
    rows = run_query("features", calls_csv(SPLIT_ROWS), "feature_pairs")
    # X uses chat + code_generation, Y chat + qa; Z one feature only.
    assert [(r["feature_a"], r["feature_b"], r["customers"]) for r in rows] == [
        ("chat", "code_generation", 1), ("chat", "qa", 1)]
    # lift = 1 * 3 / (2 * 1) = 1.5. 2x2 table of 3 customers for chat / code_generation:
    # both 1, chat only 1, code only 0, neither 1: z = (1*1 - 1*0) * sqrt(3) /
    # sqrt(2 * 1 * 1 * 2) = 0.866, p = 1 - Phi(0.866) = 0.1932: not significant.
    assert rows[0]["lift"] == pytest.approx(1.5)
    assert rows[0]["p_value"] == pytest.approx(0.19323, abs=1e-4)
    assert rows[0]["bundle_candidate"] is False


def test_a_significant_pair_with_support_is_a_bundle_candidate(calls_csv):
    # 20 customers use both chat and qa, 20 others only summarization: n = 40,
    # z = (20 * 20 - 0) * sqrt(40) / sqrt(20 * 20 * 20 * 20) = 6.32, p < 1e-9.
    rows = []
    for n in range(20):
        rows += [call(f"b{n}", 1, 0.1, "pro", "chat"), call(f"b{n}", 2, 0.1, "pro", "qa")]
        rows += [call(f"s{n}", 1, 0.1, "pro", "summarization")]
    pairs = {(r["feature_a"], r["feature_b"]): r for r in run_query("features", calls_csv(rows), "feature_pairs")}
    pair = pairs[("chat", "qa")]
    assert pair["customers"] == 20 and pair["lift"] == pytest.approx(2)
    assert pair["p_value"] < 1e-9 and pair["bundle_candidate"] is True


def test_a_pair_with_small_expected_counts_is_not_a_candidate(calls_csv):
    # 10 customers use chat and qa, 90 others only summarization: n = 100. The test
    # is one-sided significant (z = (10 * 90 - 0) * 10 / sqrt(10 * 90 * 10 * 90) = 10)
    # with 10 customers using both, but the expected count of "both" is 10 * 10 / 100
    # = 1, under the 5 the chi-square needs: not a bundle candidate.
    rows = []
    for n in range(10):
        rows += [call(f"b{n}", 1, 0.1, "pro", "chat"), call(f"b{n}", 2, 0.1, "pro", "qa")]
    rows += [call(f"s{n}", 1, 0.1, "pro", "summarization") for n in range(90)]
    pair, = run_query("features", calls_csv(rows), "feature_pairs")
    assert (pair["customers"], pair["lift"]) == (10, pytest.approx(10))
    assert pair["p_value"] < 1e-9
    assert pair["min_expected_count"] == pytest.approx(1)
    assert pair["bundle_candidate"] is False


def test_bundle_significance_is_corrected_for_the_pairs_tested(calls_csv):
    # n = 40: 13 use chat and qa, 7 chat only, 7 qa only, 13 summarization only, one
    # of whom also uses translation. chat + qa: z = (13 * 13 - 7 * 7) * sqrt(40) /
    # sqrt(20 * 20 * 20 * 20) = 120 * 6.3246 / 400 = 1.8974, p = 1 - Phi(1.8974) =
    # 0.0289 < 0.05, lift 13 * 40 / (20 * 20) = 1.3, 13 customers, least expected
    # count 20 * 20 / 40 = 10. Two pairs are tested (summarization + translation
    # too), so the Bonferroni level is 0.05 / 2 = 0.025: not a candidate.
    rows = []
    for n in range(13):
        rows += [call(f"b{n}", 1, 0.1, "pro", "chat"), call(f"b{n}", 2, 0.1, "pro", "qa")]
        rows += [call(f"s{n}", 1, 0.1, "pro", "summarization")]
    for n in range(7):
        rows += [call(f"c{n}", 1, 0.1, "pro", "chat"), call(f"q{n}", 1, 0.1, "pro", "qa")]
    rows += [call("s0", 2, 0.1, "pro", "translation")]
    pairs = {(r["feature_a"], r["feature_b"]): r for r in run_query("features", calls_csv(rows), "feature_pairs")}
    pair = pairs[("chat", "qa")]
    assert pair["customers"] == 13 and pair["lift"] == pytest.approx(1.3)
    assert pair["p_value"] == pytest.approx(0.02889, abs=1e-4)
    assert pair["min_expected_count"] == pytest.approx(10)
    assert pair["pairs_tested"] == 2
    assert pair["bundle_candidate"] is False
    # with only this pair tested (no translation user) the level is 0.05: a candidate
    one = {(r["feature_a"], r["feature_b"]): r
           for r in run_query("features", calls_csv(rows[:-1], name="one.csv"), "feature_pairs")}
    assert one[("chat", "qa")]["pairs_tested"] == 1
    assert one[("chat", "qa")]["bundle_candidate"] is True
