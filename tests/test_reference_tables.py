"""The simulator's prices and fees are the SQL reference tables' (data contract)."""

from __future__ import annotations

from finops import simulator
from finops.engine import session as source


def test_simulator_prices_and_fees_match_the_sql_reference_tables():
    con = source.connect()
    try:
        # The reference tables need no CSV: run calls.sql up to its header check.
        text = source.CALLS_SQL.read_text(encoding="utf-8")
        con.execute(text[: text.index("-- Header check")])
        prices = {model: (inp, out) for model, inp, out in con.execute(
            "SELECT model, input_per_1k, output_per_1k FROM model_prices").fetchall()}
        fees = {tier: int(fee) for tier, fee in con.execute(
            "SELECT subscription_tier, monthly_fee FROM subscription_tiers").fetchall()}
    finally:
        con.close()
    assert prices == dict(simulator.PRICES)
    assert fees == dict(simulator.TIER_FEES)
