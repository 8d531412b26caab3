"""Given/expect cases for sql/statements/customer.sql, numbers worked out by hand."""

from __future__ import annotations

import pytest

from conftest import write_calls
from finops.engine import filters as flt, statements
from finops.engine.explore import prepare
from finops.engine.session import open_session


def customer_summaries(tmp_path, rows, budgets: str | None = None) -> dict[str, dict]:
    calls = write_calls(tmp_path / "calls.csv", rows)
    budget_path = None
    if budgets is not None:
        budget_path = tmp_path / "budgets.csv"
        budget_path.write_text("month,scope,scope_id,budget_usd\n" + budgets, encoding="utf-8")
    session = open_session(calls, budgets=budget_path)
    try:
        prepare(session.con, flt.Filters())
        return {st.id: st.summary() for st in statements.run(session.con, statements.CUSTOMER)}
    finally:
        session.close()


ROWS = [
    # The file runs Nov 1 00:30 .. Nov 12 23:30 (12 complete days). cust_a (pro, 99): 12 billed days, cost
    # 40.00 -> 100.00 a 30-day month against its fee 99: 101.0%, high (revenue 39.60:
    # it loses 0.40). Not 40 against 99 (a 12-day cost set against a monthly fee).
    {"customer_id": "cust_a", "subscription_tier": "pro",
     "timestamp": "2025-11-01T00:30:00", "cost_usd": "20.000000"},
    {"customer_id": "cust_a", "subscription_tier": "pro",
     "timestamp": "2025-11-12T23:30:00", "cost_usd": "20.000000"},
    # cust_b (starter, 29): 12 billed days, cost 1.20 -> 3.00 a month: 10.3%, low.
    {"customer_id": "cust_b", "subscription_tier": "starter",
     "timestamp": "2025-11-01T10:00:00", "cost_usd": "0.600000"},
    {"customer_id": "cust_b", "subscription_tier": "starter",
     "timestamp": "2025-11-12T10:00:00", "cost_usd": "0.600000"},
]


def test_allocation_is_per_30_day_month_and_no_budget_is_said(tmp_path):
    pages = customer_summaries(tmp_path, ROWS)
    a, b = pages["cust_a"], pages["cust_b"]
    assert (a["monthly_ai_cost"], a["allocation"]) == (100, 99)
    assert float(a["allocation_used_pct"]) == pytest.approx(100 * 40 / 39.6)
    assert a["allocation_risk"] == "high" and float(a["margin"]) == pytest.approx(-0.4)
    assert (b["monthly_ai_cost"], b["allocation"], b["allocation_risk"]) == (3, 29, "low")
    # No budgets file: no budget figure, and the statement says so; nothing is
    # called a budget that is not one.
    for page in (a, b):
        assert page["budget_risk"] == "no budget" and page["budget_usd"] is None
        assert "budget_used_pct" in page and page["budget_used_pct"] is None


def test_a_customer_budget_from_the_file_is_shown(tmp_path):
    # cust_a's November budget 30: 40 spent by Nov 12 -> 133.3%, over budget; cust_b has
    # a budget only for October, so none for the statement's month.
    pages = customer_summaries(tmp_path, ROWS, budgets="2025-11,customer,cust_a,30\n"
                                                       "2025-10,customer,cust_b,5\n")
    a, b = pages["cust_a"], pages["cust_b"]
    assert (a["budget_month"], a["budget_usd"], a["budget_month_cost"]) == ("2025-11", 30, 40)
    assert float(a["budget_used_pct"]) == pytest.approx(100 * 40 / 30)
    assert a["budget_risk"] == "over budget"
    # the month's forecast: 40 + 40 / 12 x 18 days left = 100
    assert float(a["forecast_month_end_cost"]) == pytest.approx(100)
    assert (b["budget_usd"], b["budget_risk"]) == (None, "no budget")


def test_an_organization_statement_shows_its_budget(tmp_path):
    calls = write_calls(tmp_path / "calls.csv", ROWS)   # all org_001: 41.20 by Nov 12
    budget_path = tmp_path / "budgets.csv"
    budget_path.write_text("month,scope,scope_id,budget_usd\n2025-11,organization,org_001,100\n",
                           encoding="utf-8")
    session = open_session(calls, budgets=budget_path)
    try:
        prepare(session.con, flt.Filters())
        [page] = [st.summary() for st in statements.run(session.con, statements.ORGANIZATION)]
    finally:
        session.close()
    # 41.20 of a 100 budget; at 41.20 / 12 a day the month ends at 41.20 + 3.433333 x 18
    # = 103.00: forecast over. No shared pool, so no shared share.
    assert (page["budget_usd"], float(page["budget_month_cost"])) == (100, pytest.approx(41.2))
    assert float(page["forecast_month_end_cost"]) == pytest.approx(103.0)
    assert page["budget_status"] == "forecast over"
    assert page["allocation_share_pct"] is None and page["shared_pool_cost"] == 0


def test_a_month_over_budget_shows_on_the_statement_when_the_last_is_on_track(tmp_path):
    """An organization over its October budget and on track in November: the summary
    speaks of November (the period's last month), the months show October's overrun;
    the same for a customer."""
    rows = [dict(r, timestamp=r["timestamp"].replace("2025-11-01", "2025-10-31")) for r in ROWS]
    calls = write_calls(tmp_path / "calls.csv", rows)
    budget_path = tmp_path / "budgets.csv"
    # October: cust_a 20.00 + cust_b 0.60 = 20.60 against 10; November 20.60 against 100
    budget_path.write_text("month,scope,scope_id,budget_usd\n2025-10,organization,org_001,10\n"
                           "2025-11,organization,org_001,100\n2025-10,customer,cust_a,15\n",
                           encoding="utf-8")
    session = open_session(calls, budgets=budget_path)
    try:
        prepare(session.con, flt.Filters())
        [org] = statements.run(session.con, statements.ORGANIZATION)
        customers = {st.id: st for st in statements.run(session.con, statements.CUSTOMER)}
    finally:
        session.close()

    def months(st):
        q = st.queries["monthly"]
        return {r[q.columns.index("month")]: (r[q.columns.index("budget_usd")],
                                              r[q.columns.index("budget_status")]) for r in q.rows}

    assert org.summary()["budget_status"] in ("on track", "forecast over")
    assert months(org) == {"2025-10": (10, "over budget"),
                           "2025-11": (100, org.summary()["budget_status"])}
    assert months(customers["cust_a"]) == {"2025-10": (15, "over budget"),
                                           "2025-11": (None, "no budget")}
    assert months(customers["cust_b"]) == {"2025-10": (None, "no budget"),
                                           "2025-11": (None, "no budget")}
