"""Given/expect cases for sql/finance.sql: revenue by day, the subscriptions file,
the ledger of actions and its reconciled total, the forecast's coverage and the
anomaly rule's false-alarm rate on simulated data. Numbers worked out by hand."""

from __future__ import annotations

import csv
import math
import random
from decimal import Decimal

import pytest

from conftest import run_query, whole_day_time, write_calls
from finops.engine import analyze, catalog
from finops.engine.errors import FinopsError
from finops.engine.session import open_session, store_ledger

SUBSCRIPTIONS_HEADER = ["customer_id", "organization_id", "subscription_tier", "start_date",
                        "end_date", "monthly_price", "discount_pct"]


def write_subscriptions(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SUBSCRIPTIONS_HEADER)
        writer.writerows(rows)
    return path


def rows_of(con, sql):
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


# -- revenue ----------------------------------------------------------------------

def test_revenue_bills_each_day_at_that_days_tier(calls_csv):
    # P: pro Nov 1-14, enterprise from a call on Nov 15 to Nov 30: 14 x 99 + 16 x 299
    #    = 1386 + 4784 = 6170 / 30 = 205.666667 (the latest tier over all 30 days
    #    would say 299, the mistake the issue names)
    # G: starter Nov 1, no calls Nov 2-9 (still starter), pro from Nov 10 to Nov 12:
    #    9 x 29 + 3 x 99 = 261 + 297 = 558 / 30 = 18.6
    path = calls_csv([
        {"customer_id": "P", "timestamp": "2025-11-01T00:30:00", "subscription_tier": "pro"},
        {"customer_id": "P", "timestamp": "2025-11-14T10:00:00", "subscription_tier": "pro"},
        {"customer_id": "P", "timestamp": "2025-11-15T10:00:00", "subscription_tier": "enterprise"},
        {"customer_id": "P", "timestamp": "2025-11-30T23:30:00", "subscription_tier": "enterprise"},
        {"customer_id": "G", "timestamp": "2025-11-01T10:00:00", "subscription_tier": "starter"},
        {"customer_id": "G", "timestamp": "2025-11-10T10:00:00", "subscription_tier": "pro"},
        {"customer_id": "G", "timestamp": "2025-11-12T10:00:00", "subscription_tier": "pro"},
    ])
    rows = {r["customer_id"]: r for r in run_query("profitability", path, "customers")}
    assert rows["P"]["revenue"] == pytest.approx(205.67)  # in cents, as its statement
    assert rows["P"]["tenure_days"] == 30 and rows["P"]["tier_changes"] == 1
    assert rows["G"]["revenue"] == pytest.approx(18.6)
    assert rows["G"]["tenure_days"] == 12


def test_subscriptions_file_overrides_what_the_calls_imply(calls_csv, tmp_path):
    # A: calls say pro every day; the file says pro Nov 1-5 at 10% off, then
    #    enterprise at $250 from Nov 6 (open-ended): 5 x 89.1 / 30 + 5 x 250 / 30
    #    = 14.85 + 41.666667 = 56.516667 over the file's period Nov 1-10.
    # B: not in the file: billed from its calls, 99 x 10 / 30 = 33.
    path = calls_csv([
        {"customer_id": "A", "timestamp": "2025-11-01T00:30:00"},
        {"customer_id": "A", "timestamp": "2025-11-10T23:30:00"},
        {"customer_id": "B", "timestamp": "2025-11-01T10:00:00"},
        {"customer_id": "B", "timestamp": "2025-11-10T10:00:00"},
    ])
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["A", "org_001", "pro", "2025-11-01", "2025-11-05", "", "10"],
        ["A", "org_001", "enterprise", "2025-11-06", "", "250", ""],
    ])
    _, results = analyze.run_sql("profitability", path, query="customers", subscriptions=subs)
    rows = {r["customer_id"]: r for r in results[0].to_json()["queries"]["customers"]}
    assert rows["A"]["revenue"] == pytest.approx(56.52)  # in cents, as its statement
    assert rows["A"]["subscription_tier"] == "enterprise" and rows["A"]["revenue_source"] == "subscriptions"
    assert rows["B"]["revenue"] == pytest.approx(33.0) and rows["B"]["revenue_source"] == "calls"


def test_a_subscriber_is_billed_to_the_period_end_unless_it_has_lapsed(calls_csv, tmp_path):
    """The file runs Nov 1 00:30 .. Nov 30 23:30 (30 whole days). A customer is billed
    from its first call to Nov 30 unless silent 7 days (quiet_days) or more before it:
    Q  starter, calls Nov 1 and Nov 24 (silent 6 days): Nov 1-30, 30 x 29 / 30 = 29.00
    L7 starter, calls Nov 1 and Nov 23 (silent 7 days): lapsed, Nov 1-23, 23 x 29 / 30
       = 22.233333
    L  pro, calls Nov 1 and Nov 20 (silent 10): lapsed, 20 x 99 / 30 = 66.00
    S  pro, calls Nov 1 and Nov 10 (silent 20), but the subscriptions file says pro
       from Nov 1, open-ended: the file wins, Nov 1-30 = 99.00, not lapsed
    E  pro, calls to Nov 29, the file says pro Nov 1-15: its end date wins, 15 x 99 / 30
       = 49.50, not lapsed.
    The headline counts the 2 lapsed customers (tests/test_contract_crosscheck.py
    recomputes every customer's revenue day by day, independently)."""
    rows = [{"customer_id": c, "timestamp": f"2025-11-{d:02d}T{t}", "subscription_tier": tier,
             "cost_usd": "1.000000"}
            for c, tier, days in (("Q", "starter", (1, 24)), ("L7", "starter", (1, 23)), ("L", "pro", (1, 20)),
                                  ("S", "pro", (1, 10)), ("E", "pro", (1, 29)))
            for d, t in zip(days, ("10:00:00", "10:00:00"))]
    rows += [{"customer_id": "Q", "timestamp": "2025-11-01T00:30:00", "subscription_tier": "starter"},
             {"customer_id": "E", "timestamp": "2025-11-30T23:30:00", "subscription_tier": "pro"}]
    path = calls_csv(rows)
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["S", "org_001", "pro", "2025-11-01", "", "", ""],
        ["E", "org_001", "pro", "2025-11-01", "2025-11-15", "", ""],
    ])
    _, results = analyze.run_sql("profitability", path, subscriptions=subs)
    queries = results[0].to_json()["queries"]
    got = {r["customer_id"]: (r["revenue"], r["tenure_days"], r["lapsed"]) for r in queries["customers"]}
    # shown in cents, as each customer's statement (L7: $22.23)
    assert got == {"Q": (pytest.approx(29.0), 30, False), "L7": (pytest.approx(22.23), 23, True),
                   "L": (pytest.approx(66.0), 20, True), "S": (pytest.approx(99.0), 30, False),
                   "E": (pytest.approx(49.5), 15, False)}
    card = next(r for r in queries["headline"] if r["label"].startswith("Lapsed customers"))
    assert card["value"] == 2 and card["unit"] == "count"
    assert "silent 7+ days" in card["label"]


def test_usage_after_a_subscription_ends_is_sized_on_the_fee_not_billed(calls_csv, tmp_path):
    """X: enterprise (299 a month), subscribed Nov 1-10, but calls on Nov 1, 11 and 30
    (the file runs Nov 1 00:30 .. Nov 30 23:30: 30 covered days). Nov 11..30 are 20
    days no row covers: $2.00 of AI cost, and 20 x 299 / 30 = 199.333333 of fee not
    billed, per 30-day month the same (30 covered days): the alert's amount."""
    rows = [{"customer_id": "X", "subscription_tier": "enterprise", "cost_usd": "1.000000",
             "timestamp": f"2025-11-{d}"} for d in ("01T00:30:00", "11T10:00:00", "30T23:30:00")]
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["X", "org_001", "enterprise", "2025-11-01", "2025-11-10", "", ""]])
    _, results = analyze.run_sql("profitability", calls_csv(rows), query="alerts", subscriptions=subs)
    (alert,) = [r for r in results[0].to_json()["queries"]["alerts"]
                if r["title"].startswith("Usage outside the subscription")]
    assert alert["amount_usd"] == pytest.approx(199.333333)
    assert "X after its end 2025-11-10 (2 calls over 20 days" in alert["detail"]
    assert "$2.00 of AI cost, $199.33 unbilled" in alert["detail"]


def test_a_bad_subscriptions_row_is_an_error_with_its_line(calls_csv, tmp_path):
    path = calls_csv([{"customer_id": "A"}])
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["A", "org_001", "pro", "2025-11-01", "", "", ""],
        ["B", "org_001", "gold", "2025-11-01", "", "", ""],
    ])
    with pytest.raises(FinopsError, match=r"subscriptions file line 3: unknown subscription_tier: gold"):
        analyze.run_sql("profitability", path, query="customers", subscriptions=subs)
    with pytest.raises(FinopsError, match="subscriptions file not found"):
        analyze.run_sql("profitability", path, query="customers", subscriptions=tmp_path / "none.csv")



def test_a_partial_last_day_counts_for_the_part_the_calls_cover(calls_csv):
    # A (pro, 99): $10 on Nov 1 at 00:30 and on Nov 2 at 23:30 (complete days), $5 on
    # Nov 3 up to 12:00, when the file ends: Nov 3 is half covered, the file covers
    # 2.5 days. Spend $25 is $300 a 30-day month (25 x 30 / 2.5), not 25 x 30 / 3 = 250;
    # revenue bills Nov 3 for the half covered: 99 x 2.5 / 30 = 8.25, so the monthly
    # revenue is the fee, 99, and cost and revenue cover the same time.
    path = calls_csv([
        {"customer_id": "A", "timestamp": "2025-11-01T00:30:00", "cost_usd": "10.000000"},
        {"customer_id": "A", "timestamp": "2025-11-02T23:30:00", "cost_usd": "10.000000"},
        {"customer_id": "A", "timestamp": "2025-11-03T12:00:00", "cost_usd": "5.000000"},
    ])
    session = open_session(path, cache=False)
    try:
        (fp,) = rows_of(session.con, "SELECT * FROM finance_period")
        (allocation,) = rows_of(session.con, "SELECT * FROM customer_allocation")
    finally:
        session.close()
    assert (fp["period_days"], fp["covered_days"]) == (3, pytest.approx(2.5))
    assert float(fp["monthly_spend"]) == pytest.approx(300.0)
    assert float(fp["total_revenue"]) == pytest.approx(8.25)
    assert float(fp["monthly_revenue"]) == pytest.approx(99.0)
    assert fp["period_label"] == "the 3 days 2025-11-01..2025-11-03 (2.50 days covered)"
    # the customer's allocation on the same basis: $25 over 2.5 covered billed days
    # is $300 a month against its $99 fee (303.0%); 3 billed days still listed
    assert (allocation["billed_days"], float(allocation["monthly_cost"])) == (3, pytest.approx(300.0))
    assert float(allocation["allocation"]) == pytest.approx(99.0)
    assert float(allocation["used_pct"]) == pytest.approx(100 * 25 / 8.25)


# -- the ledger ---------------------------------------------------------------------

def ledger_rows(day_count=10):
    """Each day (complete: 01:00 to 23:30): one gpt-4 qa call of 100,000 input tokens at its list price ($3.00);
    gemini-1.5-pro analysis calls of 1,000,000 input tokens ($1.25 each, the cheapest
    premium model, so no arbitrage): 10 a day on days 1-5, 20 a day on days 6-10."""
    rows = []
    for day in range(1, day_count + 1):
        ts = f"2025-11-{day:02d}T"
        rows.append({"timestamp": ts + "23:30:00", "provider": "openai", "model": "gpt-4",
                     "task_type": "qa", "feature_id": "qa", "input_tokens": "100000",
                     "output_tokens": "0", "cost_usd": "3.000000"})
        for k in range(10 if day <= 5 else 20):
            rows.append({"timestamp": ts + f"{1 + k:02d}:00:00", "provider": "google",
                         "model": "gemini-1.5-pro", "task_type": "analysis", "feature_id": "analysis",
                         "input_tokens": "1000000", "output_tokens": "0", "cost_usd": "1.250000"})
    return rows


@pytest.fixture
def ledger_session(tmp_path):
    path = write_calls(tmp_path / "calls.csv", ledger_rows())
    # a subscription large enough that the customer is profitable (no cap, no upgrade)
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["cust_0001", "org_001", "enterprise", "2025-11-01", "", "10000", ""]])
    session = open_session(path, subscriptions=subs)
    yield session.con
    session.close()


def test_levers_apply_in_sequence_and_count_once(ledger_session):
    con = ledger_session
    actions = {r["action_id"]: r for r in rows_of(con, "SELECT * FROM actions")}
    # switch: 10 x (3.00 - 100,000 x 0.00015 / 1000 = 0.015) = 29.85 over 10 days,
    # 89.55 a 30-day month
    switch = actions["switch:openai/gpt-4/qa"]
    assert (switch["kind"], switch["confidence"], switch["counted"]) == ("saving", "low", True)
    assert float(switch["monthly_usd"]) == pytest.approx(89.55)
    assert "check a sample" in switch["quality_risk"]
    # The commitment (a sure lever) is sized on today's spend (no caps here): days 1-5
    # cost 15.5, days 6-10 28.0; the 10th percentile is 15.5; committed 15.5 x 10 x 0.8
    # = 124, on demand 5 x 12.5 = 62.5, against 217.5: saves 31.00, 93.00 a month.
    commit = actions["commitment"]
    assert commit["confidence"] == "medium" and commit["counted"]
    assert float(commit["monthly_usd"]) == pytest.approx(93.0)
    # If the switch is made the commitment is sized on what remains: days 1-5 12.515,
    # days 6-10 25.015; committed 12.515 x 10 x 0.8 = 100.12, on demand 62.5, against
    # 187.65: saves 25.03, 75.09 a month. The overlap line (low confidence) is the
    # difference, 75.09 - 93.00 = -17.91.
    assert "$12.52 a day instead" in commit["detail"]
    overlap = actions["overlap:rate-levers"]
    assert (overlap["kind"], overlap["confidence"], overlap["domain"]) == ("overlap", "low", "optimization")
    assert float(overlap["counted_monthly_usd"]) == pytest.approx(-17.91)
    # money in prose is signed as in the amount column: -17.91 a month, -5.97 over
    # the 10 days (25.03 - 31.00), never "$-17.91"
    assert "Changes the total by -$17.91 a month (30-day month; -$5.97 over 10 days)." in overlap["detail"]
    assert "$-" not in overlap["detail"]
    assert "overlap:caps" not in actions  # no cap: nothing for the caps to lose
    total = {r["position"]: float(r["monthly_usd"]) for r in rows_of(con, "SELECT * FROM actions_total")}
    assert total[1] == pytest.approx(652.5)            # (5 x 15.5 + 5 x 28) x 30 / 10
    assert total[2] == pytest.approx(93.0)             # high or medium: standalone
    assert total[3] == pytest.approx(89.55 - 17.91)    # depends on quality, with the overlap
    # all savings: the levers in sequence, switch then commitment on what remains
    assert total[4] == pytest.approx(89.55 + 75.09) and total[4] <= total[1]
    assert total[5] == pytest.approx(652.5 - 164.64)


def test_sure_savings_do_not_depend_on_the_quality_levers(tmp_path):
    """Caps and the commitment are counted as if no model switch were made; the
    overlap line takes back what they lose when the switches are made."""
    # cust_0001, enterprise (299, the top tier): 10 days, 4 gpt-4 qa calls a day at
    # 3.00 (100,000 input tokens; 0.015 each at gpt-4o-mini). Revenue 299 x 10 / 30 =
    # 99.666667, cost 120: it loses money, and no upgrade exists, so a cap.
    rows = [{"timestamp": f"2025-11-{day:02d}T{k:02d}:00:00", "provider": "openai", "model": "gpt-4",
             "task_type": "qa", "feature_id": "qa", "subscription_tier": "enterprise",
             "input_tokens": "100000", "output_tokens": "0", "cost_usd": "3.000000"}
            for day in range(1, 11) for k in (0, 8, 16, 23)]  # complete days
    session = open_session(write_calls(tmp_path / "calls.csv", rows))
    try:
        actions = {r["action_id"]: r for r in rows_of(session.con, "SELECT * FROM actions")}
        total = {r["position"]: r for r in rows_of(session.con, "SELECT * FROM actions_total")}
    finally:
        session.close()
    # cap, standalone: 120 - 80% x 99.666667 = 40.266667 over 10 days: 120.80 a month
    cap = actions["cap:cust_0001"]
    assert (cap["confidence"], cap["counted"]) == ("medium", True)
    assert float(cap["counted_monthly_usd"]) == pytest.approx(120.8, abs=1e-4)
    # commitment on the spend after the cap: each day 12 - 40.266667 x 12 / 120 =
    # 7.973333, committed at 80%: saves 79.733333 x 20% = 15.946667, 47.84 a month
    commit = actions["commitment"]
    assert float(commit["counted_monthly_usd"]) == pytest.approx(47.84, abs=1e-4)
    # high or medium: 120.80 + 47.84 = 168.64, 2 actions, whatever the switches do
    assert float(total[2]["monthly_usd"]) == pytest.approx(168.64, abs=1e-4)
    assert total[2]["actions"] == 2
    # If the switch is made (40 x 2.985 = 119.40 over 10 days, 358.20 a month) the cost
    # left is 0.60, under the cap (no cap saving), and the commitment on 0.06 a day
    # saves 0.12, 0.36 a month: the caps' overlap line (profitability's lever) is
    # 0 - 120.80, the rate levers' (optimization's) 0.36 - 47.84 = -47.48: -168.28.
    caps, rate = actions["overlap:caps"], actions["overlap:rate-levers"]
    assert (caps["domain"], rate["domain"]) == ("profitability", "optimization")
    assert float(caps["counted_monthly_usd"]) == pytest.approx(-120.8, abs=1e-4)
    assert float(rate["counted_monthly_usd"]) == pytest.approx(-47.48, abs=1e-4)
    assert float(total[3]["monthly_usd"]) == pytest.approx(358.2 - 168.28, abs=1e-4)
    assert total[3]["actions"] == 1                      # the switch; the overlap is no action
    # all: 358.20 + 0 + 0.36, the levers in sequence, under the 360 of monthly spend
    assert float(total[4]["monthly_usd"]) == pytest.approx(358.56, abs=1e-4)


def test_prompt_caching_is_a_sure_lever_counted_once(tmp_path):
    """Prompt caching in the ledger: standalone with the sure levers, the part on calls
    a model switch moves taken back by the overlap line, the commitment sized after it."""
    # 10 complete days, each: 40 gemini-1.5-flash analysis calls of 1M input tokens
    # ($0.075 each, $3.00 a day; the cheapest economy model: no switch, no arbitrage)
    # and one gpt-4o qa call of 1M input tokens ($2.50; a switch to gpt-4o-mini).
    # No cache reads today.
    rows = []
    for day in range(1, 11):
        ts = f"2025-11-{day:02d}T"
        rows += [{"timestamp": ts + "00:30:00", "provider": "google", "model": "gemini-1.5-flash",
                  "task_type": "analysis", "feature_id": "analysis", "input_tokens": "1000000",
                  "output_tokens": "0", "cost_usd": "0.075000"} for _ in range(40)]
        rows.append({"timestamp": ts + "23:30:00", "provider": "openai", "model": "gpt-4o",
                     "task_type": "qa", "feature_id": "qa", "input_tokens": "1000000",
                     "output_tokens": "0", "cost_usd": "2.500000"})
    subs = write_subscriptions(tmp_path / "subs.csv", [
        ["cust_0001", "org_001", "enterprise", "2025-11-01", "", "10000", ""]])
    session = open_session(write_calls(tmp_path / "calls.csv", rows), subscriptions=subs)
    try:
        actions = {r["action_id"]: r for r in rows_of(session.con, "SELECT * FROM actions")}
        total = {r["position"]: float(r["monthly_usd"]) for r in rows_of(session.con, "SELECT * FROM actions_total")}
    finally:
        session.close()
    # caching at 50% of input tokens, list prices a million tokens: flash 0.075 input,
    # 0.01875 cache read: 20M x 0.05625 / 1M = 1.125 a day, 11.25 over 10 days, 33.75 a
    # month; gpt-4o 2.50 / 1.25: 0.5M x 1.25 / 1M = 0.625 a day, 18.75 a month
    flash, gpt4o = actions["caching:google/gemini-1.5-flash"], actions["caching:openai/gpt-4o"]
    assert (flash["kind"], flash["confidence"], flash["counted"]) == ("saving", "medium", True)
    assert float(flash["monthly_usd"]) == pytest.approx(33.75)
    assert float(gpt4o["monthly_usd"]) == pytest.approx(18.75)
    # commitment on what the caps (none) and caching leave: 5.50 - 1.75 = 3.75 each day;
    # committed 3.75 x 10 x 0.8 = 30 against 37.50: 7.50 over 10 days, 22.50 a month
    assert float(actions["commitment"]["monthly_usd"]) == pytest.approx(22.5)
    # the switch: 2.50 - 1M x 0.00015 / 1K = 2.35 a day, 70.50 a month. If it is made,
    # gpt-4o's caching is lost (-6.25) and the commitment on 5.50 - 2.35 - 1.125 = 2.025
    # a day saves 4.05 instead of 7.50: overlap -9.70 over 10 days, -29.10 a month
    assert float(actions["switch:openai/gpt-4o/qa"]["monthly_usd"]) == pytest.approx(70.5)
    assert float(actions["overlap:rate-levers"]["counted_monthly_usd"]) == pytest.approx(-29.1)
    assert total[2] == pytest.approx(33.75 + 18.75 + 22.5)       # sure: standalone
    assert total[3] == pytest.approx(70.5 - 29.1)
    # in sequence: switch 70.50 + flash caching 33.75 + commitment 4.05 x 3 = 12.15
    assert total[4] == pytest.approx(70.5 + 33.75 + 12.15) and total[4] <= total[1] == pytest.approx(165.0)


def test_an_upgrade_agrees_with_the_churn_rule(tmp_path):
    """A tier upgrade whose fee rise is over churn_increase_pct is the same bill rise
    pricing says makes a customer leave: listed, low confidence, not counted; the cap
    counts. Within the rule (here raised to 300%) the upgrade is the remedy."""
    # C, starter (29), Nov 1 00:30 .. Nov 10 23:30: revenue 29 x 10 / 30 = 9.666667,
    # cost 10: loses 0.333333. pro would add (99 - 29) x 10 / 30 = 23.333333 and cover
    # it, a 241.4% fee rise. Cap at 80%: 10 - 7.733333 = 2.266667, 6.80 a month.
    rows = [{"customer_id": "C", "subscription_tier": "starter", "timestamp": f"2025-11-{d:02d}T{whole_day_time(d)}",
             "cost_usd": "5.000000"} for d in (1, 10)]
    session = open_session(write_calls(tmp_path / "calls.csv", rows))
    try:
        actions = {r["action_id"]: r for r in rows_of(session.con, "SELECT * FROM actions")}
        assert (actions["upgrade:C"]["confidence"], actions["upgrade:C"]["counted"]) == ("low", False)
        assert float(actions["upgrade:C"]["monthly_usd"]) == pytest.approx(70.0)
        assert "not counted: the fee rises 241%" in actions["upgrade:C"]["reconciliation"]
        # advice the ledger rejects carries no severity: it is not a finding
        assert actions["upgrade:C"]["title"].startswith("Considered, not recommended")
        assert actions["upgrade:C"]["severity"] is None
        assert actions["cap:C"]["counted"] and float(actions["cap:C"]["monthly_usd"]) == pytest.approx(6.8)
        session.con.execute("SET VARIABLE churn_increase_pct = '300'")
        store_ledger(session.con)  # the levers and the ledger under that value
        actions = {r["action_id"]: r for r in rows_of(session.con, "SELECT * FROM actions")}
    finally:
        session.close()
    assert (actions["upgrade:C"]["confidence"], actions["upgrade:C"]["counted"]) == ("medium", True)
    # recommended, it is rated: 70 a month against 10 x 30 / 10 = 30 of monthly spend
    assert actions["upgrade:C"]["severity"] == "high"
    assert "cap:C" not in actions


def test_small_actions_are_listed_together_under_the_dollar_floor(tmp_path):
    # two days of one small switch each for two models: each under $10 a month
    rows = [{"model": m, "provider": "openai", "task_type": "qa", "feature_id": "qa",
             "timestamp": f"2025-11-0{d}T{'00' if d == 1 else '23'}:30:00", "input_tokens": "1000", "output_tokens": "0",
             "cost_usd": c} for d in (1, 2) for m, c in (("gpt-4", "0.030000"), ("gpt-4-turbo", "0.010000"))]
    session = open_session(write_calls(tmp_path / "c.csv", rows))
    try:
        acts = rows_of(session.con, "SELECT * FROM actions WHERE lever = 'model switching'")
        total = {r["line"]: r for r in rows_of(session.con, "SELECT * FROM actions_total")}
    finally:
        session.close()
    levers = {r["lever"]: r for r in run_query("optimization", write_calls(tmp_path / "d.csv", rows),
                                               "total_potential")}
    # gpt-4: 2 x (0.03 - 0.00015) = 0.0597; gpt-4-turbo 2 x (0.01 - 0.00015) = 0.0197:
    # 0.0794 over 2 days = 1.191 a month, one line
    assert [a["action_id"] for a in acts] == ["model-switching:smaller"]
    assert float(acts[0]["monthly_usd"]) == pytest.approx(1.191)
    assert acts[0]["title"] == "2 smaller model switching actions"
    # the one line stands for two actions, and every count says two
    assert acts[0]["action_count"] == 2
    assert total["Savings that depend on quality (low confidence)"]["actions"] == 2
    assert levers["model switching"]["actions"] == 2


def test_every_report_shows_its_actions_from_the_one_ledger(tmp_path):
    path = write_calls(tmp_path / "calls.csv", ledger_rows())
    _, results = analyze.run_sql("all", path)
    by_id = {}
    for result in results:
        for rec in result.to_json()["queries"]["recommendations"]:
            by_id.setdefault(rec["action_id"], set()).add(rec["amount_usd"])
    # the same action shown in several reports carries one amount everywhere
    assert all(len(amounts) == 1 for amounts in by_id.values()), by_id


def test_no_report_rates_a_target_or_a_rejected_action(tmp_path):
    # ledger_rows' gpt-4 and gemini work, plus a starter customer C costing 5 a day on
    # two days (as in the upgrade test: the pro upgrade is rejected by the churn rule)
    rows = ledger_rows() + [
        {"customer_id": "C", "subscription_tier": "starter", "timestamp": f"2025-11-{d:02d}T12:00:00",
         "cost_usd": "5.000000"} for d in (2, 9)]
    _, results = analyze.run_sql("all", write_calls(tmp_path / "calls.csv", rows))
    recs = [rec for result in results for rec in result.to_json()["queries"]["recommendations"]]
    unrated = [rec for rec in recs if rec["kind"] == "target"
               or rec["title"].startswith("Considered, not recommended")]
    assert any(rec["kind"] == "target" for rec in unrated)
    assert any(rec["title"].startswith("Considered, not recommended") for rec in unrated)
    assert {rec["severity"] for rec in unrated} == {None}
    assert all(rec["severity"] for rec in recs if rec not in unrated)


def test_the_agents_targets_are_ledger_rows_of_kind_target_never_counted(tmp_path):
    """Six research runs on gpt-4o-mini (qa: not a premium model, no switch): five
    one-call runs at $0.10 and one four-call run at 4 x $5.00 = $20.00, 200x the
    median run ($0.10): excess 19.90 over the file's 6 days (Nov 1 00:30 .. Nov 6
    23:30), 99.50 a 30-day month; and $3.00 of calls without a customer, 15.00 a
    month. Both are ledger rows of kind target, listed once on the index (the one
    ledger, engine/site.py ledger()), not counted, and the total's targets line is
    their sum; the savings total holds the counted savings only."""
    rows = [{"trace_id": f"r{n}", "feature_id": "research", "model": "gpt-4o-mini", "task_type": "qa",
             "cost_usd": "0.100000", "timestamp": f"2025-11-0{n}T{'00:30' if n == 1 else '10:00'}:00"}
            for n in range(1, 6)]
    rows += [{"trace_id": "r6", "feature_id": "research", "model": "gpt-4o-mini", "task_type": "qa",
              "cost_usd": "5.000000", "timestamp": f"2025-11-06T10:00:0{step}"} for step in range(4)]
    rows.append({"trace_id": "", "customer_id": "unattributed", "model": "gpt-4o-mini", "task_type": "qa",
                 "cost_usd": "3.000000", "timestamp": "2025-11-06T23:30:00"})
    session = open_session(write_calls(tmp_path / "c.csv", rows))
    try:
        from finops.engine.site import ledger
        index = ledger(session.con)
        total = {r["line"]: r for r in rows_of(session.con, "SELECT * FROM actions_total")}
    finally:
        session.close()
    targets = {i["action_id"]: i for i in index["items"] if i["action_id"].startswith("target:agents/")}
    assert set(targets) == {"target:agents/research", "target:agents/unattributed"}
    assert [i["action_id"] for i in index["items"]].count("target:agents/research") == 1
    research, untagged = targets["target:agents/research"], targets["target:agents/unattributed"]
    assert (research["kind"], research["counted"], float(research["counted_monthly_usd"])) == ("target", False, 0)
    # a gap to a target is never a severity (99.50 a month would be "high" on spend)
    assert (research["severity"], untagged["severity"]) == (None, None)
    assert float(research["monthly_usd"]) == pytest.approx(19.9 * 30 / 6)
    assert float(untagged["monthly_usd"]) == pytest.approx(3.0 * 30 / 6)
    assert total["Targets (not counted)"]["monthly_usd"] == pytest.approx(99.5 + 15.0)
    assert total["Targets (not counted)"]["actions"] == 2
    # the savings total is the counted savings alone, whatever the targets
    savings = sum(float(i["counted_monthly_usd"]) for i in index["items"]
                  if i["kind"] in ("saving", "avoided cost", "overlap"))
    assert float(total["All savings, each counted once"]["monthly_usd"]) == pytest.approx(savings)


# -- the forecast on synthetic series -----------------------------------------------

FORECAST_QUERIES = ("_fit", "_levels", "_path")


def forecast_sum_interval(con, queries, costs, horizon, window=None):
    """The forecast's queries on a series of complete daily costs, under the
    analyzer's declared parameters (window: forecast_window_days, else its default)."""
    params = {name: p.default for name, p in catalog.discover()["understanding"].params.items()}
    if window is not None:
        params["forecast_window_days"] = window
    for name, value in params.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute("CREATE OR REPLACE TEMP TABLE understanding_daily AS "
                "SELECT DATE '2025-01-06' + CAST(i AS INTEGER) AS call_date, i AS day_index, "
                "CAST(c AS DECIMAL(38, 6)) AS cost, true AS complete "
                "FROM (SELECT unnest(range(?)) AS i, unnest(?) AS c)", [len(costs), costs])
    for name in FORECAST_QUERIES:
        con.execute(queries[name])
    return con.execute("SELECT cum_projected, cum_low, cum_high FROM understanding_path "
                       "WHERE scenario = 'full' AND h = ?", [horizon]).fetchone()


def test_forecast_interval_covers_the_truth_about_95_percent(calls_csv):
    """Known trend, weekday pattern and noise; the 95% interval for the next 30
    days' total covers the true total in about 95% of 300 seeds."""
    analyzer = catalog.discover()["understanding"]
    queries = {q.name: q.sql for q in analyzer.queries}
    session = open_session(calls_csv([{}]))
    covered = 0
    seeds = 300
    try:
        for seed in range(seeds):
            rng = random.Random(seed)
            level, trend, sd = rng.uniform(50, 150), rng.uniform(-0.5, 1.5), rng.uniform(2, 10)
            weekly = [rng.uniform(-15, 15) for _ in range(7)]
            series = [level + trend * t + weekly[t % 7] + rng.gauss(0, sd) for t in range(56 + 30)]
            history, future = series[:56], series[56:]
            _, low, high = forecast_sum_interval(session.con, queries, [round(x, 6) for x in history], 30)
            covered += low <= sum(future) <= high
    finally:
        session.close()
    print(f"forecast 30-day interval coverage: {covered}/{seeds} = {covered / seeds:.3f}")
    assert 0.91 <= covered / seeds <= 0.985, covered / seeds


def test_a_business_that_grew_then_went_flat_is_projected_at_its_flat_level(calls_csv):
    """Six weeks growing from $50 to $300 a day, then six weeks flat at $300 (a
    weekday pattern of +-$20 and noise of sd $5 on both). Fitted on the last 28
    complete days (forecast_window_days) the next 30 days are projected within 5% of
    the flat level's 30 x 300 = 9,000; the same model fitted on all 84 days puts the
    old growth on top of the flat level (over 25% above it)."""
    rng = random.Random(11)
    weekly = [20, 10, 0, -5, -10, -15, 0]
    series = [(50 + 250 * t / 41 if t < 42 else 300) + weekly[t % 7] + rng.gauss(0, 5) for t in range(84)]
    costs = [round(x, 6) for x in series]
    analyzer = catalog.discover()["understanding"]
    queries = {q.name: q.sql for q in analyzer.queries}
    session = open_session(calls_csv([{}]))
    try:
        recent, low, high = forecast_sum_interval(session.con, queries, costs, 30)
        all_history, _, _ = forecast_sum_interval(session.con, queries, costs, 30, window=84)
    finally:
        session.close()
    assert recent == pytest.approx(9000, rel=0.05), recent
    assert low <= 9000 <= high
    assert all_history > 9000 * 1.25, all_history


def test_forecast_bounds_never_fall_with_the_horizon_and_days_never_below_zero(calls_csv):
    analyzer = catalog.discover()["understanding"]
    queries = {q.name: q.sql for q in analyzer.queries}
    session = open_session(calls_csv([{}]))
    try:
        # a falling series that the trend takes below zero within weeks
        forecast_sum_interval(session.con, queries, [100 - 4 * t + (t % 3) for t in range(28)], 30)
        path = rows_of(session.con, "SELECT * FROM understanding_path WHERE scenario = 'full' ORDER BY h")
    finally:
        session.close()
    assert all(r["projected_daily"] >= 0 for r in path)
    for a, b in zip(path, path[1:]):
        assert b["cum_projected"] >= a["cum_projected"] - 1e-9
        assert b["cum_low"] >= a["cum_low"] - 1e-9
        assert b["cum_high"] >= a["cum_high"] - 1e-9
    # the interval grows with the horizon, faster than sqrt(h) (trend uncertainty)
    se = {r["h"]: r["cum_se"] for r in path}
    assert se[120] / se[30] > math.sqrt(4)


def test_no_projection_beyond_twice_the_history(calls_csv):
    # 20 complete days (Nov 1-20, calls at 00:30 and 23:30): 30 days ok, 90 and 365 not
    rows = [{"timestamp": f"2025-11-{d:02d}T{h}:30:00", "cost_usd": "1.000000"}
            for d in range(1, 21) for h in ("00", "23")]
    forecast = run_query("understanding", calls_csv(rows), "forecast")
    assert [(r["horizon_days"], r["status"]) for r in forecast] == [
        (30, "ok"), (90, "not enough history"), (365, "not enough history")]
    assert forecast[0]["projected_cost"] == pytest.approx(60.0)  # 2.00 a day, flat
    assert forecast[1]["projected_cost"] is None and forecast[1]["history_days"] == 20


def test_a_partial_last_day_is_left_out_of_the_fit(calls_csv):
    # 15 complete days at $2, then a last day cut at 10:00 with $0.10: the partial day
    # is not a collapse in spend
    rows = [{"timestamp": f"2025-11-{d:02d}T{h}:30:00", "cost_usd": "1.000000"}
            for d in range(1, 16) for h in ("00", "23")]
    rows.append({"timestamp": "2025-11-16T10:00:00", "cost_usd": "0.100000"})
    forecast = run_query("understanding", calls_csv(rows), "forecast")
    assert forecast[0]["history_days"] == 15
    assert forecast[0]["projected_cost"] == pytest.approx(60.0)



def test_the_forecast_range_is_never_narrower_than_the_backtest_error(calls_csv):
    """Days 1-7 cost $10, days 8-28 $20 (complete days: calls at 00:30 and 23:30).
    Backtest: fitted on days 1-14 (each weekday 10 then 20: slope 10/7 a day, no
    residual) it predicts days 15-28 at 30 (week 3) and 40 (week 4): 490 against the
    actual 280, a sum error of +75%. Full fit on 28 days, per weekday 10, 20, 20, 20
    at t - tbar = -10.5, -3.5, 3.5, 10.5: slope 105 / 245 = 3/7, level 17.5; residuals
    -3, 4, 1, -2 (SSR 7 x 30 = 210, df 20, sigma2 10.5). The next 30 days: 30 x 17.5 +
    3/7 x 875 = 900; the model's own half-width (t 2.086 x sqrt(10.5 x (30 + 32.5 +
    875^2 / 1715))) is about 152.5, under the backtest's 75% widened to 30 days:
    0.75 x sqrt(30 / 14) x 900 = 988.098824: the range is 900 +- 988.10, its low end
    held at 30 days of the lowest complete day ($10): 300 to 1,888.10.
    The next 28 days: 490 + 3/7 x 784 = 826 against the actual 490 of the last 28
    days, +68.6%; the model's low end (826 - 137.6) is above 490 and would alert, the
    widened one (826 - 0.75 x sqrt(2) x 826 = -50.1, held at 28 x $10 = 280) is not:
    no growth alert on a model that missed by 75%."""
    rows = [{"timestamp": f"2025-11-{d:02d}T{h}:30:00", "cost_usd": "5.000000" if d <= 7 else "10.000000"}
            for d in range(1, 29) for h in ("00", "23")]
    path = calls_csv(rows)
    backtest = run_query("understanding", path, "forecast_backtest")
    assert backtest[0]["sum_error_pct"] == pytest.approx(75.0)
    forecast = run_query("understanding", path, "forecast")
    assert forecast[0]["projected_cost"] == pytest.approx(900.0)
    assert forecast[0]["low"] == pytest.approx(300.0)
    assert forecast[0]["high"] == pytest.approx(900 + 0.75 * math.sqrt(30 / 14) * 900, abs=1e-5)
    assert forecast[0]["range_basis"] == "backtest error"
    assert forecast[0]["backtest_sum_error_pct"] == pytest.approx(75.0)
    assert not [a for a in run_query("understanding", path, "alerts") if "projected to grow" in a["title"]]


def test_a_forecast_held_at_its_floor_keeps_its_band_there(calls_csv):
    """Days 1-7 cost $20, days 8-28 $10: the falling trend is held at the lowest
    complete day ($10 a day). The daily band is around that projection and never
    below it; the 30-day range never below 30 x $10."""
    rows = [{"timestamp": f"2025-11-{d:02d}T{h}:30:00", "cost_usd": "10.000000" if d <= 7 else "5.000000"}
            for d in range(1, 29) for h in ("00", "23")]
    path = calls_csv(rows)
    daily = [r for r in run_query("understanding", path, "forecast_daily") if r["projected_cost"] is not None]
    assert len(daily) == 30
    assert all(float(r["projected_cost"]) == pytest.approx(10.0) for r in daily)
    assert all(10.0 - 1e-9 <= float(r["low"]) <= 10.0 < float(r["high"]) for r in daily)
    forecast = run_query("understanding", path, "forecast")
    assert forecast[0]["projected_cost"] == pytest.approx(300.0)
    assert forecast[0]["low"] == pytest.approx(300.0) and forecast[0]["high"] > 300.0


# -- anomalies on simulated data -------------------------------------------------------

def test_anomaly_false_alarm_rate_on_simulated_costs(tmp_path):
    """Costs at list price times log-normal noise (sd 0.1), 20,000 calls over four
    models and tasks, no planted anomaly: the stated one-sided rate at 3.5 robust sd is
    1 - Phi(3.5) = 0.023%, about 4.7 calls; a raw-cost z-score flags long prompts."""
    rng = random.Random(11)
    prices = {"gpt-4o": (0.0025, 0.01), "claude-haiku-4": (0.00025, 0.00125)}
    providers = {"gpt-4o": "openai", "claude-haiku-4": "anthropic"}
    rows = []
    for model, (ip, op) in prices.items():
        for task in ("qa", "analysis"):
            for _ in range(5000):
                inp, out = int(rng.lognormvariate(6, 1)) + 1, int(rng.lognormvariate(5, 1))
                cost = (inp * ip + out * op) / 1000 * math.exp(rng.gauss(0, 0.1))
                rows.append({"provider": providers[model], "model": model, "task_type": task,
                             "input_tokens": str(inp), "output_tokens": str(out),
                             "cost_usd": f"{max(cost, 0.000001):.6f}"})
    # one real anomaly: a call billed at 3x its list price
    rows.append({"provider": "openai", "model": "gpt-4o", "task_type": "qa", "input_tokens": "1000",
                 "output_tokens": "500", "cost_usd": f"{3 * (2.5 + 5) / 1000:.6f}"})
    path = write_calls(tmp_path / "sim.csv", rows)
    found = run_query("realtime", path, "anomalous_calls")
    ids = [r["call_id"] for r in found]
    assert f"call_{len(rows)}" in ids                      # the planted one is found
    false_alarms = len(ids) - 1
    print(f"anomaly false alarms: {false_alarms} of 20,000 calls (expected about 4.7)")
    assert false_alarms <= 14, false_alarms                 # expected ~4.7 (Poisson; 14 is p < 0.001)
    assert false_alarms / 20000 < 0.0007


# -- budgets ----------------------------------------------------------------------------

def test_budget_against_actual_month_to_date_and_forecast(calls_csv, tmp_path):
    # org_001: $2 a day Oct 30 - Nov 10 (the file's last date), each call at 10:00.
    # October closed: $4 against $3: over budget. November is open: $20 to date over
    # 9 days and the last day's 10 hours (9.416667 days: the file ends at 10:00 on
    # Nov 10), so the 30-day month ends at 20 + 20 / 9.416667 x 20.583333 = $63.72
    # against $50: forecast over. product_a in November: the same $20 against $100:
    # on track. December: no data yet.
    rows = [{"timestamp": f"2025-{m:02d}-{d:02d}T10:00:00", "cost_usd": "2.000000"}
            for m, days in ((10, (30, 31)), (11, range(1, 11))) for d in days]
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n2025-10,organization,org_001,3\n"
                       "2025-11,organization,org_001,50\n2025-11,product,product_a,100\n"
                       "2025-12,organization,org_001,50\n", encoding="utf-8")
    _, results = analyze.run_sql("alignment", calls_csv(rows), budgets=budgets)
    queries = results[0].to_json()["queries"]
    got = [(r["month"], r["scope"], r["actual"], r["forecast_month_end"], r["status"])
           for r in queries["budget_vs_actual"]]
    assert got == [
        ("2025-10", "organization", 4, 4, "over budget"),
        ("2025-11", "organization", 20, pytest.approx(63.7168, abs=1e-3), "forecast over"),
        ("2025-11", "product", 20, pytest.approx(63.7168, abs=1e-3), "on track"),
        ("2025-12", "organization", None, None, "no data"),
    ]
    titles = [a["title"] for a in queries["alerts"]]
    assert "organization org_001: forecast over for 2025-11" in titles
    # the alert's amount is the one its text states: the month ends $13.72 over the budget
    [alert] = [a for a in queries["alerts"] if a["title"] == "organization org_001: forecast over for 2025-11"]
    assert alert["amount_usd"] == pytest.approx(13.72, abs=1e-2) and "$63.72: $13.72 over the budget" in alert["detail"]
    november = queries["budget_vs_actual"][1]
    assert float(november["days_covered"]) == pytest.approx(9.42)


def test_a_budget_month_before_the_data_has_no_data(calls_csv, tmp_path):
    # The file covers Nov 1 - 10; an October budget is not "on track" with $0 spent.
    rows = [{"timestamp": f"2025-11-{d:02d}T10:00:00", "cost_usd": "2.000000"} for d in range(1, 11)]
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n2025-10,organization,org_001,30\n", encoding="utf-8")
    _, results = analyze.run_sql("alignment", calls_csv(rows), budgets=budgets, query="budget_vs_actual")
    [row] = results[0].to_json()["queries"]["budget_vs_actual"]
    assert (row["actual"], row["used_pct"], row["status"]) == (None, None, "no data")


def test_without_budgets_the_report_says_so(calls_csv):
    [row] = run_query("alignment", calls_csv([{}]), "budget_vs_actual")
    assert row["status"].startswith("no budgets given: pass --budgets FILE")


def test_a_bad_budget_row_is_an_error_with_its_line(calls_csv, tmp_path):
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n2025-11,team,x,5\n", encoding="utf-8")
    with pytest.raises(FinopsError, match="budgets file line 2: scope is not organization"):
        analyze.run_sql("alignment", calls_csv([{}]), budgets=budgets)


def test_analyzer_parameters_default_to_the_ledgers_assumptions(calls_csv):
    """A build freezes the ledger at finance_assumptions; an analyzer's parameter of
    the same name must default to the same value, or its tables and its actions differ."""
    session = open_session(calls_csv([{}]))
    try:
        assumed = dict(session.con.execute("SELECT name, value FROM finance_assumptions").fetchall())
    finally:
        session.close()
    checked = 0
    for analyzer in catalog.discover().values():
        for name, param in analyzer.params.items():
            if name in assumed:
                checked += 1
                assert str(param.default).replace(" ", "") == assumed[name] or \
                    float(param.default) == float(assumed[name]), (analyzer.name, name)
    assert checked >= 8


# -- spend without a customer (issue 10's 'unattributed') ---------------------------

def test_unattributed_calls_are_no_customer_and_are_shown_apart(calls_csv):
    # A: pro from Nov 1 to Nov 10 = 10 days x 99 / 30 = 33.0 of revenue, $0.50 of cost.
    # unattributed: $2.25 over 3 calls on Nov 2 and Nov 5, recorded at the starter
    # tier (what finops.otel writes): no subscription, so no revenue at all (it was
    # billed 4 days x 29 / 30 = 3.866667 as a starter customer).
    path = calls_csv([
        {"customer_id": "A", "timestamp": "2025-11-01T00:30:00", "cost_usd": "0.250000"},
        {"customer_id": "A", "timestamp": "2025-11-10T23:30:00", "cost_usd": "0.250000"},
        {"customer_id": "unattributed", "organization_id": "unattributed",
         "subscription_tier": "starter", "timestamp": "2025-11-02T10:00:00", "cost_usd": "1.000000"},
        {"customer_id": "unattributed", "organization_id": "unattributed",
         "subscription_tier": "starter", "timestamp": "2025-11-05T10:00:00", "cost_usd": "1.000000"},
        {"customer_id": "unattributed", "organization_id": "unattributed",
         "subscription_tier": "starter", "timestamp": "2025-11-05T11:00:00", "cost_usd": "0.250000"},
    ])
    customers = run_query("profitability", path, "customers")
    assert [r["customer_id"] for r in customers] == ["A"]
    assert customers[0]["revenue"] == pytest.approx(33.0)
    (apart,) = run_query("profitability", path, "unattributed")
    assert apart["calls"] == 3 and apart["cost"] == pytest.approx(2.25)
    assert apart["active_days"] == 2
    assert (apart["first_date"], apart["last_date"]) == ("2025-11-02", "2025-11-05")
    # pricing re-bills customers only: no plan bills the unattributed calls
    plans = {r["model"]: r for r in run_query("pricing", path, "models")}
    assert plans["flat"]["revenue"] == pytest.approx(33.0)
    assert plans["usage_based"]["revenue"] == pytest.approx(1.0)  # 2 x A's $0.50
    assert plans["flat"]["cost"] == pytest.approx(0.5)
    # no action treats it as a customer (cap, upgrade, churn)
    actions = [r["action_id"] for r in run_query("profitability", path, "recommendations")]
    assert not [a for a in actions if "unattributed" in a]
    # the period's revenue is A's alone; its spend still counts every call
    s = open_session(path, cache=False)
    try:
        revenue, cost = s.con.execute(
            "SELECT total_revenue, total_cost FROM finance_period").fetchone()
    finally:
        s.close()
    assert float(revenue) == pytest.approx(33.0) and float(cost) == pytest.approx(2.75)


def test_an_unattributed_customer_listed_in_subscriptions_is_billed(calls_csv, tmp_path):
    path = calls_csv([
        {"customer_id": "unattributed", "timestamp": "2025-11-01T00:30:00"},
        {"customer_id": "unattributed", "timestamp": "2025-11-30T23:30:00"},
    ])
    subs = write_subscriptions(tmp_path / "subs.csv",
                               [["unattributed", "org_001", "pro", "2025-11-01", "", "", ""]])
    _, results = analyze.run_sql("profitability", path, query="customers", subscriptions=subs)
    rows = results[0].to_json()["queries"]["customers"]
    assert [r["customer_id"] for r in rows] == ["unattributed"]
    assert rows[0]["revenue"] == pytest.approx(99.0)  # 30 days x 99 / 30


def test_the_commitment_is_sized_on_complete_days(tmp_path):
    """A partial last day (calls until 05:00) is not a day of normal spend: the
    commitment's percentile and its days leave it out."""
    # Nov 1 (from 00:10, complete) .. Nov 10 at $10 a day; Nov 11 until 05:00 at $1.
    rows = [{"timestamp": f"2025-11-{d:02d}T{'00:10' if d == 1 else '12:00'}:00", "cost_usd": "10.000000"}
            for d in range(1, 11)]
    rows.append({"timestamp": "2025-11-11T05:00:00", "cost_usd": "1.000000"})
    session = open_session(write_calls(tmp_path / "calls.csv", rows))
    try:
        con = session.con
        con.execute("SET VARIABLE commitment_percentile = 0.05")
        store_ledger(con)
        current = rows_of(con, "SELECT * FROM ledger_commitment WHERE basis = 'current'")[0]
        complete = [r[0] for r in con.execute(
            "SELECT complete FROM ledger_daily ORDER BY call_date").fetchall()]
    finally:
        session.close()
    assert complete == [True] * 10 + [False]
    # ten days of $10: the 5th percentile is $10 (with the $1 day it was 1 + 0.5 x 9 = $5.50)
    assert current["days"] == 10
    assert float(current["commit_daily_cost"]) == 10.0
    assert float(current["current_cost"]) == 100.0


def _shown(text: str) -> Decimal:
    """An amount as the index shows it ($1,234.56, -$5.97) as a Decimal."""
    return Decimal(text.replace("$", "").replace(",", ""))


@pytest.mark.parametrize("seed", [5, 8])
def test_the_index_ledger_adds_up_to_the_cent_as_shown(tmp_path, simulated_csv, seed):
    """A reader adding the index's figures gets its totals to the cent: the lines
    shown, not the unrounded amounts behind them, make up each total."""
    from finops.engine.site import ledger
    session = open_session(simulated_csv(tmp_path / "calls.csv", seed=seed, rows=4000))
    try:
        index = ledger(session.con)
    finally:
        session.close()
    total = {row["line"]: _shown(row["display"]) for row in index["total"]}
    items = index["items"]

    def shown_sum(kinds, low=None, counted=True):
        return sum((_shown(i["counted_display"] if counted else i["display"]) for i in items
                    if i["kind"] in kinds and (low is None or (i["confidence"] == "low") == low)
                    and (i["counted"] or not counted)), Decimal(0))

    sure = shown_sum({"saving", "avoided cost"}, low=False)
    quality = shown_sum({"saving", "avoided cost", "overlap"}, low=True)
    assert len(items) > 20 and sure > 0 and quality > 0
    assert total["Savings, high or medium confidence"] == sure
    assert total["Savings that depend on quality (low confidence)"] == quality
    assert total["All savings, each counted once"] == sure + quality
    assert total["Monthly AI spend"] - sure - quality == total["Spend after all savings"]
    assert total["Revenue gains, counted once"] == shown_sum({"revenue gain"})
    assert total["Revenue at risk (not netted)"] == shown_sum({"revenue at risk"}, counted=False)
    assert total["Targets (not counted)"] == shown_sum({"target"}, counted=False)


# -- figures a reader compares, to the cent as shown -------------------------------
# The finance review: "a headline equals the table under it". Each check adds the
# figures as the pages show them (render.fmt_money), not the amounts behind them.

def _as_shown(value) -> Decimal:
    """An amount as a page shows it, back as a Decimal; one a reader cannot add
    ("< $0.01") fails the check."""
    from finops.engine.render import fmt_money
    text = fmt_money(value)
    assert not text.startswith("<"), f"{value} is shown as {text}: no figure to add"
    return -_shown(text[1:]) if text.startswith("-") else _shown(text)


def _rows_by(result, key):
    out = {}
    for row in result.rows:
        record = dict(zip(result.columns, row))
        out.setdefault(record[key], []).append(record)
    return out


@pytest.fixture(params=[5, 8])
def two_month_session(request, tmp_path, simulated_csv):
    """A simulated file over two calendar months (statements with two month rows),
    org_003 treated as untagged (its cost is the shared pool that chargeback spreads)."""
    path = simulated_csv(tmp_path / "calls.csv", seed=request.param, rows=4000, days=45,
                         start="2025-10-10")
    session = open_session(path)
    yield session
    session.close()


SHARED = {"shared_organizations": "org_003"}


def _run(session, name, params=None, folder=None):
    from finops.engine.analyze import run_analyzer
    from finops.engine.paths import STATEMENTS_DIR
    path = (STATEMENTS_DIR / f"{name}.sql") if folder == "statements" else None
    analyzer = catalog.parse_analyzer(path) if path else catalog.discover()[name]
    return run_analyzer(session.con, analyzer, params).queries


def test_statements_add_up_to_the_cent_as_shown(two_month_session):
    """A customer's AI cost is its "Month by month" rows as shown, and its revenue less
    that cost is its margin; an organization's summary is its months as shown, column
    by column, and each line's parts add up to its total."""
    customer = _run(two_month_session, "customer", folder="statements")
    months = _rows_by(customer["monthly"], "customer_id")
    assert sum(len(m) > 1 for m in months.values()) > 10
    for summary in (dict(zip(customer["summary"].columns, r)) for r in customer["summary"].rows):
        cid = summary["customer_id"]
        assert _as_shown(summary["ai_cost"]) == sum((_as_shown(m["cost"]) for m in months.get(cid, [])),
                                                    Decimal(0)), cid
        assert (_as_shown(summary["subscription_revenue"]) - _as_shown(summary["ai_cost"])
                == _as_shown(summary["margin"])), cid
    org = _run(two_month_session, "organization", SHARED, folder="statements")
    months = _rows_by(org["monthly"], "organization_id")
    for summary in (dict(zip(org["summary"].columns, r)) for r in org["summary"].rows):
        rows = months[summary["organization_id"]]
        for column in ("production_cost", "own_non_production_cost", "allocated_shared_cost",
                       "chargeback_cost"):
            assert _as_shown(summary[column]) == sum((_as_shown(m[column]) for m in rows), Decimal(0)), column
        assert (_as_shown(summary["production_cost"]) + _as_shown(summary["own_non_production_cost"])
                == _as_shown(summary["showback_cost"]))
        assert (_as_shown(summary["showback_cost"]) + _as_shown(summary["allocated_shared_cost"])
                == _as_shown(summary["chargeback_cost"]))
        for m in rows:
            assert (_as_shown(m["production_cost"]) + _as_shown(m["own_non_production_cost"])
                    + _as_shown(m["allocated_shared_cost"]) == _as_shown(m["chargeback_cost"]))
    # a month's own cost, as shown, is its customers' months as their statements
    # show them (each customer calls under one organization here)
    customer_months = {(r["customer_id"], r["month"]): r["cost"] for rs in
                       _rows_by(customer["monthly"], "customer_id").values() for r in rs}
    members = _rows_by(org["customers"], "organization_id")
    for oid, rows in months.items():
        for m in rows:
            theirs = sum((_as_shown(customer_months.get((c["customer_id"], m["month"]), 0))
                          for c in members[oid]), Decimal(0))
            assert (_as_shown(m["production_cost"]) + _as_shown(m["own_non_production_cost"])
                    == theirs), (oid, m["month"])


def test_the_chargeback_adds_up_to_the_cent_as_shown(two_month_session):
    """Alignment: each invoice's lines add up to its Total, the Total is the chargeback
    row, the shares add up to the shared pool, and each row is its organization's
    statement."""
    alignment = _run(two_month_session, "alignment", SHARED)
    rows = {r["organization_id"]: r for rs in _rows_by(alignment["chargeback"], "organization_id").values()
            for r in rs}
    org = _run(two_month_session, "organization", SHARED, folder="statements")
    statements = {r[0]: dict(zip(org["summary"].columns, r)) for r in org["summary"].rows}
    pool = {s["shared_pool_cost"] for s in statements.values()}
    assert len(pool) == 1 and _as_shown(pool.pop()) == sum((_as_shown(r["shared_cost"]) for r in rows.values()),
                                                            Decimal(0)) > 0
    for oid, lines in _rows_by(alignment["chargeback_lines"], "organization_id").items():
        total = [_as_shown(line["amount_usd"]) for line in lines if line["item"] == "Total"]
        parts = sum((_as_shown(line["amount_usd"]) for line in lines if line["item"] != "Total"), Decimal(0))
        row = rows[oid]
        assert total == [parts] == [_as_shown(row["chargeback_cost"])], oid
        assert _as_shown(row["direct_cost"]) + _as_shown(row["shared_cost"]) == _as_shown(row["chargeback_cost"])
        assert _as_shown(statements[oid]["chargeback_cost"]) == _as_shown(row["chargeback_cost"]), oid
    # the headline's total is the chargeback rows, and the cost by organization, as shown
    total = next(r[1] for r in alignment["headline"].rows if r[0].startswith("Total cost charged back"))
    assert _as_shown(total) == sum((_as_shown(r["chargeback_cost"]) for r in rows.values()), Decimal(0))
    by_org = [dict(zip(alignment["by_organization"].columns, r)) for r in alignment["by_organization"].rows]
    assert _as_shown(total) == sum((_as_shown(r["cost"]) for r in by_org), Decimal(0))


def test_customer_statements_add_up_to_the_profitability_and_pricing_revenue(two_month_session):
    """The customers' statements, added as shown, are profitability's revenue by tier
    and by organization, and pricing's flat revenue; each plan's revenue less its cost
    is its margin as shown."""
    customer = _run(two_month_session, "customer", folder="statements")
    summaries = [dict(zip(customer["summary"].columns, r)) for r in customer["summary"].rows]
    revenue = sum((_as_shown(s["subscription_revenue"]) for s in summaries), Decimal(0))
    cost = sum((_as_shown(s["ai_cost"]) for s in summaries), Decimal(0))
    profitability = _run(two_month_session, "profitability")
    pricing = _run(two_month_session, "pricing")
    for query in ("by_tier", "by_organization", "margin_buckets"):
        rows = [dict(zip(profitability[query].columns, r)) for r in profitability[query].rows]
        assert sum((_as_shown(r["revenue"]) for r in rows), Decimal(0)) == revenue, query
        assert sum((_as_shown(r["cost"]) for r in rows), Decimal(0)) == cost, query
    models = {r[0]: dict(zip(pricing["models"].columns, r)) for r in pricing["models"].rows}
    assert _as_shown(models["flat"]["revenue"]) == revenue and _as_shown(models["flat"]["cost"]) == cost
    for model in models.values():
        assert _as_shown(model["revenue"]) - _as_shown(model["cost"]) == _as_shown(model["margin"]), model["model"]


@pytest.mark.parametrize("two_month_session", [4, 8], indirect=True)  # seeds cents apart before
def test_an_organizations_cost_is_the_same_in_every_report(two_month_session):
    """One definition of an organization's cost (its customers' months to the cent,
    added: customer_org_month_cost): profitability's margin by organization,
    alignment's cost by organization, chargeback and showback, and the organization
    statement show the same figure; its customer rows add up to it, and each is that
    customer's own statement. They were up to 3 cents apart (exact totals rounded
    against sums of rounded months)."""
    prof = _run(two_month_session, "profitability")["by_organization"]
    prof = {r[0]: dict(zip(prof.columns, r)) for r in prof.rows}
    alignment = _run(two_month_session, "alignment", SHARED)
    charged = {r[0]: dict(zip(alignment["chargeback"].columns, r)) for r in alignment["chargeback"].rows}
    showback = {r[0]: dict(zip(alignment["showback"].columns, r)) for r in alignment["showback"].rows}
    by_org = {r[0]: dict(zip(alignment["by_organization"].columns, r)) for r in alignment["by_organization"].rows}
    org = _run(two_month_session, "organization", SHARED, folder="statements")
    statements = {r[0]: dict(zip(org["summary"].columns, r)) for r in org["summary"].rows}
    members = _rows_by(org["customers"], "organization_id")
    customer = _run(two_month_session, "customer", folder="statements")
    own = {r[0]: _as_shown(dict(zip(customer["summary"].columns, r))["ai_cost"]) for r in customer["summary"].rows}
    assert len(charged) >= 8
    for oid, row in charged.items():
        cost = _as_shown(row["direct_cost"])
        assert [_as_shown(prof[oid]["cost"]), _as_shown(by_org[oid]["cost"]), _as_shown(showback[oid]["cost"]),
                _as_shown(statements[oid]["showback_cost"])] == [cost] * 4, oid
        rows = members[oid]
        assert sum((_as_shown(r["cost"]) for r in rows), Decimal(0)) == cost, oid
        assert [_as_shown(r["cost"]) for r in rows] == [own[r["customer_id"]] for r in rows], oid
    # the untagged organization (the shared pool) is its customers' months too
    pool = {s["shared_pool_cost"] for s in statements.values()}
    assert [_as_shown(p) for p in pool] == [_as_shown(by_org["org_003"]["cost"])]


@pytest.mark.parametrize("two_month_session", [4, 13], indirect=True)  # seeds a cent apart before
def test_the_pricing_margin_card_is_the_index_revenue_less_spend(two_month_session):
    """The pricing card's margin a 30-day month is the index's monthly revenue less its
    monthly AI spend, as shown (the file has no calls outside a customer)."""
    from finops.engine.site import ledger
    totals = {row["line"]: _shown(row["display"]) for row in ledger(two_month_session.con)["total"]}
    headline = _run(two_month_session, "pricing")["headline"]
    card = next(r[1] for r in headline.rows if r[0] == "Margin per 30-day month under current pricing")
    assert _as_shown(card) == totals["Monthly revenue"] - totals["Monthly AI spend"]


PERIODS = ("a 30-day month", "in the period", "over the ")


def test_every_alert_says_what_its_money_is_and_for_what_period(two_month_session):
    """Each alert's amount comes with a label naming the money (loss, cost above a
    norm, revenue exposed...) and its period: a 30-day month, the period, or a
    calendar month (budgets)."""
    import re
    from finops.engine import render
    labels = []
    for name in catalog.discover():
        alerts = _run(two_month_session, name).get("alerts")
        if alerts is None:
            continue
        assert "amount_label" in alerts.columns, name  # even when no alert fires here
        for row in render._amount_rows(alerts):
            if row["amount_display"] is None:
                continue
            label = row["amount_label"] or ""
            assert label and "stake" not in label, (name, row["title"])
            assert any(p in label for p in PERIODS) or re.search(r"\b\d{4}-\d{2}$", label), (name, label)
            labels.append(label)
    assert labels


# -- money in prose rounds as the tables' cents ------------------------------------
# format('${:,.2f}', x) rounds a DECIMAL as a binary double: 198.315 read $198.31
# beside a table's cents() $198.32. Every amount a sentence states goes through
# usd_text (sql/finance.sql), which rounds with cents() first.

def test_money_in_prose_rounds_half_a_cent_as_the_tables_do(tmp_path, simulated_csv):
    session = open_session(simulated_csv(tmp_path / "calls.csv", seed=5, rows=200), cache=False)
    try:
        rows = session.con.execute(
            "SELECT usd_text(x), CAST(cents(x) AS VARCHAR) FROM (VALUES "
            "(CAST(198.315 AS DECIMAL(18, 6))), (CAST(-198.315 AS DECIMAL(18, 6))), "
            "(CAST(1234.005 AS DECIMAL(38, 6))), (CAST(0.004 AS DECIMAL(18, 6))), "
            "(CAST(-0.004 AS DECIMAL(18, 6)))) AS t(x)").fetchall()
    finally:
        session.close()
    assert rows == [("$198.32", "198.32"), ("-$198.32", "-198.32"), ("$1,234.01", "1234.01"),
                    ("$0.00", "0.00"), ("$0.00", "0.00")]


def test_no_sentence_formats_money_outside_usd_text():
    """A money placeholder to the cent (`${:,.2f}`, or `$` then a `{:,.2f}`) anywhere in
    sql/ but in usd_text itself is a sentence that may say a cent less than its table.
    (Whole-dollar thresholds, `${:,.0f}`, round nothing a table shows.)"""
    import re
    from finops.engine.paths import SQL_DIR
    found = []
    for path in sorted(SQL_DIR.rglob("*.sql")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("--", 1)[0]
            if re.search(r"\$\{:[^}]*\.2f\}|\$'\s*\|\|\s*format\('\{:[^}]*\.2f\}", code) \
                    and "MACRO usd_text" not in code and "abs(cents(amount))" not in code:
                found.append(f"{path.relative_to(SQL_DIR)}:{n}")
    assert not found, found


def unattributed_alert(calls_csv, last_call, costs):
    """Agents' alert on unattributed spend for a file from Nov 1 00:00 to last_call
    (customer A's two free calls) with unattributed calls of the given costs, one a
    day from Nov 2 at 10:00; and the file's path."""
    path = calls_csv([
        {"customer_id": "A", "timestamp": "2025-11-01T00:00:00", "cost_usd": "0.000000"},
        {"customer_id": "A", "timestamp": last_call, "cost_usd": "0.000000"},
    ] + [{"customer_id": "unattributed", "organization_id": "unattributed", "subscription_tier": "starter",
          "timestamp": f"2025-11-{2 + n:02d}T10:00:00", "cost_usd": cost} for n, cost in enumerate(costs)])
    (alert,) = [r for r in run_query("agents", path, "alerts")
                if r["title"] == "Spend not attributed to a customer"]
    return alert, path


def test_an_alert_states_a_half_cent_amount_as_its_table(calls_csv):
    # $198.315 of unattributed calls over a whole 30-day month (Nov 1 00:00 - Nov 30
    # 24:00 covered): the alert's "costing $X" and its "$X a 30-day month" are both
    # cents(198.315) = $198.32, the amount_usd beside them; it read $198.31.
    alert, _ = unattributed_alert(calls_csv, "2025-11-30T23:59:59", ["100.000000", "98.315000"])
    assert "costing $198.32 over" in alert["detail"], alert["detail"]
    from finops.engine.render import fmt_money
    assert f"({fmt_money(alert['amount_usd'])} a 30-day month)" in alert["detail"], alert


def test_an_alert_states_the_days_its_30_day_figure_is_converted_from(calls_csv):
    # The file ends at 12:00 on Nov 10: 9.5 days covered (a partial end day counts for
    # its covered part), not 10. The alert said "over the 10 days" and then sized its
    # 30-day month on 9.5 days; it now names the days it converts from.
    alert, path = unattributed_alert(calls_csv, "2025-11-10T12:00:00", ["19.000000"])
    s = open_session(path, cache=False)
    try:
        period_days, covered = s.con.execute("SELECT period_days, covered_days FROM finance_period").fetchone()
    finally:
        s.close()
    assert period_days == 10 and float(covered) == pytest.approx(9.5, abs=0.05)
    days = f"{float(covered):.2f} days"
    assert f"costing $19.00 over the {days} (" in alert["detail"], alert["detail"]
    assert "over the 10 days" not in alert["detail"]
    assert alert["amount_usd"] == pytest.approx(round(19 * 30 / float(covered), 2), abs=0.006)


@pytest.mark.parametrize("two_month_session", [4, 5, 8, 13], indirect=True)
def test_the_index_monthly_figures_are_the_shown_totals_per_30_day_month(two_month_session):
    """The index's monthly revenue is the customers' statements' revenue added, as
    shown, x 30 / the covered days. It was converted from the unrounded sum and
    missed a reader's 30/days of the shown total by up to 6 cents here (seed 13:
    $16,907.84 against $16,907.78). The monthly AI spend is the exact cost
    converted; on these files that is the shown total AI cost converted too."""
    from finops.engine.render import fmt_money
    from finops.engine.site import ledger
    totals = {row["line"]: _shown(row["display"]) for row in ledger(two_month_session.con)["total"]}
    (covered,) = two_month_session.con.execute("SELECT covered_days FROM finance_period").fetchone()
    customer = _run(two_month_session, "customer", folder="statements")
    revenue = sum((_as_shown(dict(zip(customer["summary"].columns, r))["subscription_revenue"])
                   for r in customer["summary"].rows), Decimal(0))
    headline = _run(two_month_session, "understanding")["headline"]
    cost = next(_as_shown(r[1]) for r in headline.rows if r[0].startswith("Total AI cost"))

    def per_month(amount):
        return _as_shown((amount * 30 / Decimal(covered)).quantize(Decimal("0.000001")))
    assert totals["Monthly revenue"] == per_month(revenue), fmt_money(revenue)
    assert totals["Monthly AI spend"] == per_month(cost), fmt_money(cost)
