"""Given/expect cases for sql/finops/understanding.sql, numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from conftest import run_query
from finops.engine import analyze

CONTRACT = {
    "summary": ["total_cost", "total_calls", "total_input_tokens", "total_output_tokens",
                "avg_cost_per_call", "first_call", "last_call", "period_days", "daily_burn"],
    "by_provider": ["provider", "calls", "cost", "share_pct", "cost_per_1k_tokens"],
    "by_model": ["provider", "model", "calls", "cost", "share_pct", "cost_per_1k_tokens",
                 "avg_input_tokens", "avg_output_tokens"],
    "daily": ["call_date", "calls", "cost"],
    "forecast": ["horizon_days", "projected_cost", "low", "high"],
    "headline": ["label", "value", "unit"],
    "recommendations": ["priority", "title", "detail", "amount_usd"],
    "alerts": ["severity", "title", "detail", "amount_usd"],
}

# Three calls over three dates with a gap on 2025-11-02.
THREE_CALLS = [
    {"timestamp": "2025-11-01T10:00:00", "provider": "openai", "model": "gpt-4o",
     "input_tokens": "100", "output_tokens": "50", "cost_usd": "1.000000"},
    {"timestamp": "2025-11-01T12:00:00", "provider": "anthropic", "model": "claude-haiku-4",
     "input_tokens": "300", "output_tokens": "50", "cost_usd": "2.000000"},
    {"timestamp": "2025-11-03T09:00:00", "provider": "openai", "model": "gpt-4o",
     "input_tokens": "200", "output_tokens": "300", "cost_usd": "3.000000"},
]


def daily_series(costs: list[str], start_day: int = 1) -> list[dict]:
    """One call a day in November 2025 with the given costs."""
    return [{"timestamp": f"2025-11-{start_day + n:02d}T12:00:00", "cost_usd": cost}
            for n, cost in enumerate(costs)]


def test_every_contract_query_has_the_contract_columns_in_order(calls_csv):
    path = calls_csv(THREE_CALLS)
    _, results = analyze.run_sql("understanding", path)
    queries = results[0].queries
    for name, columns in CONTRACT.items():
        assert name in queries, name
        assert queries[name].columns[:len(columns)] == columns, name
    assert results[0].analyzer.version >= 1
    assert results[0].analyzer.category == "finops"


def test_summary_counts_both_end_dates(calls_csv):
    [row] = run_query("understanding", calls_csv(THREE_CALLS), "summary")
    assert row["total_cost"] == 6          # 1 + 2 + 3
    assert row["total_calls"] == 3
    assert row["total_input_tokens"] == 600   # 100 + 300 + 200
    assert row["total_output_tokens"] == 400  # 50 + 50 + 300
    assert row["avg_cost_per_call"] == 2      # 6 / 3
    assert row["first_call"] == "2025-11-01T10:00:00"
    assert row["last_call"] == "2025-11-03T09:00:00"
    assert row["period_days"] == 3            # Nov 1, 2 and 3
    assert row["daily_burn"] == 2             # 6 / 3 days


def test_one_day_file_has_period_of_one_day(calls_csv):
    [row] = run_query("understanding", calls_csv(THREE_CALLS[:2]), "summary")
    assert row["period_days"] == 1
    assert row["daily_burn"] == 3  # (1 + 2) / 1


def test_daily_is_zero_filled(calls_csv):
    rows = run_query("understanding", calls_csv(THREE_CALLS), "daily")
    assert [(r["call_date"], r["calls"], r["cost"]) for r in rows] == [
        ("2025-11-01", 2, 3),   # 1 + 2
        ("2025-11-02", 0, 0),   # the gap day
        ("2025-11-03", 1, 3),
    ]


def test_by_provider_shares_and_cost_per_1k_tokens(calls_csv):
    rows = run_query("understanding", calls_csv(THREE_CALLS), "by_provider")
    assert [r["provider"] for r in rows] == ["openai", "anthropic"]  # by cost, descending
    openai, anthropic = rows
    assert openai["calls"] == 2 and openai["cost"] == 4
    assert openai["share_pct"] == pytest.approx(100 * 4 / 6)
    # openai tokens: (100 + 50) + (200 + 300) = 650; 4 / 650 * 1000 = 6.153846...
    assert openai["cost_per_1k_tokens"] == 6.153846
    assert anthropic["share_pct"] == pytest.approx(100 * 2 / 6)
    # anthropic tokens: 300 + 50 = 350; 2 / 350 * 1000 = 5.714285714...
    assert anthropic["cost_per_1k_tokens"] == 5.714286
    assert sum(r["share_pct"] for r in rows) == pytest.approx(100)


def test_by_model_averages_tokens_per_call(calls_csv):
    rows = run_query("understanding", calls_csv(THREE_CALLS), "by_model")
    gpt = next(r for r in rows if r["model"] == "gpt-4o")
    assert gpt["provider"] == "openai"
    assert gpt["calls"] == 2 and gpt["cost"] == 4
    assert gpt["avg_input_tokens"] == 150   # (100 + 200) / 2
    assert gpt["avg_output_tokens"] == 175  # (50 + 300) / 2
    assert gpt["cost_per_1k_tokens"] == 6.153846


def test_forecast_on_a_linear_series_is_exact_with_no_band(calls_csv):
    # Daily cost 1, 2, 3, 4 at x = 0..3: y = 1 + x exactly, residuals 0.
    rows = run_query("understanding", calls_csv(daily_series(["1", "2", "3", "4"])), "forecast")
    assert [r["horizon_days"] for r in rows] == [30, 90, 365]
    # 30 days: x = 4..33, y = 5..34, sum = (5 + 34) * 30 / 2 = 585
    # 90 days: y = 5..94, sum = (5 + 94) * 90 / 2 = 4455
    # 365 days: y = 5..369, sum = (5 + 369) * 365 / 2 = 68255
    for row, expected in zip(rows, [585, 4455, 68255]):
        assert row["projected_cost"] == pytest.approx(expected, abs=1e-6)
        assert row["low"] == pytest.approx(expected, abs=1e-6)
        assert row["high"] == pytest.approx(expected, abs=1e-6)


def test_forecast_band_from_residuals(calls_csv):
    # y = 1, 3, 2, 4 at x = 0..3: x mean 1.5, y mean 2.5, Sxy = 4, Sxx = 5,
    # slope 0.8, intercept 2.5 - 0.8 * 1.5 = 1.3; fitted 1.3, 2.1, 2.9, 3.7,
    # residuals -0.3, 0.9, -0.9, 0.3, SSR 1.8, sd = sqrt(1.8 / (4 - 2)).
    rows = run_query("understanding", calls_csv(daily_series(["1", "3", "2", "4"])), "forecast")
    sd = math.sqrt(1.8 / 2)
    thirty = rows[0]
    # x = 4..33: 30 * 1.3 + 0.8 * (4 + ... + 33) = 39 + 0.8 * 555 = 483
    assert thirty["projected_cost"] == pytest.approx(483, abs=1e-6)
    band = 1.96 * sd * math.sqrt(30)
    assert thirty["low"] == pytest.approx(483 - band, abs=1e-6)
    assert thirty["high"] == pytest.approx(483 + band, abs=1e-6)


def test_forecast_never_negative(calls_csv):
    # y = 4, 3, 2, 1: the line reaches 0 at x = 4 and stays below after.
    rows = run_query("understanding", calls_csv(daily_series(["4", "3", "2", "1"])), "forecast")
    for row in rows:
        assert row["projected_cost"] == pytest.approx(0, abs=1e-6)
        assert row["low"] == pytest.approx(0, abs=1e-6)
        assert row["high"] == pytest.approx(0, abs=1e-6)


def test_forecast_uses_the_zero_filled_days(calls_csv):
    # Cost 3 on Nov 1, nothing on Nov 2, 3 on Nov 3: y = 3, 0, 3 at x = 0..2,
    # slope 0, intercept 2; residuals 1, -2, 1, SSR 6, sd = sqrt(6 / 1).
    rows = run_query("understanding", calls_csv(daily_series(["3"]) + daily_series(["3"], 3)),
                     "forecast")
    thirty = rows[0]
    assert thirty["projected_cost"] == pytest.approx(60, abs=1e-6)  # 30 days x 2
    assert thirty["high"] == pytest.approx(60 + 1.96 * math.sqrt(6) * math.sqrt(30), abs=1e-6)


def test_recommendation_prices_a_model_switch(calls_csv):
    # gpt-4 qa: 1,000 in + 1,000 out = 0.03 + 0.06 = 0.09 paid. On gpt-4o-mini:
    # 1,000 x 0.00015 / 1000 ... = 0.00015 + 0.0006 = 0.00075; saves 0.08925.
    rows = run_query("understanding", calls_csv([
        {"model": "gpt-4", "task_type": "qa", "input_tokens": "1000",
         "output_tokens": "1000", "cost_usd": "0.090000"},
    ]), "recommendations")
    first = rows[0]
    assert first["priority"] == 1
    assert first["title"] == "Move qa calls from gpt-4 to gpt-4o-mini"
    assert first["amount_usd"] == pytest.approx(0.08925)
    assert "$0.09" in first["detail"]
    assert [r["priority"] for r in rows] == list(range(1, len(rows) + 1))


def test_alert_when_spend_is_projected_to_grow(calls_csv):
    # y = 1, 2, 3, 4: the 4-day file cost 10, scaled to 30 days 10 x 30 / 4 = 75;
    # the next 30 days are projected at 585: +680%.
    rows = run_query("understanding", calls_csv(daily_series(["1", "2", "3", "4"])), "alerts")
    growth = next(r for r in rows if r["title"] == "AI spend is projected to grow")
    assert growth["severity"] == "high"  # over twice the 20% threshold
    assert growth["amount_usd"] == pytest.approx(510, abs=1e-6)  # 585 - 75
    assert "680.0% above" in growth["detail"]


def test_flat_spend_over_31_days_raises_no_growth_alert(calls_csv):
    # Cost 1 a day for 31 days: the line is flat at 1, the next 30 days cost 30,
    # and the last 30 days (Nov 2..Dec 1; Nov 1 is 30 days before the last date) cost 30.
    rows = [{"timestamp": f"2025-11-{d:02d}T12:00:00", "cost_usd": "1"} for d in range(1, 31)]
    rows.append({"timestamp": "2025-12-01T12:00:00", "cost_usd": "1"})
    path = calls_csv(rows)
    assert not any(r["title"] == "AI spend is projected to grow"
                   for r in run_query("understanding", path, "alerts"))
    recs = run_query("understanding", path, "recommendations")
    outlook = next(r for r in recs if r["title"] == "AI spend is flat or falling")
    assert outlook["amount_usd"] == pytest.approx(0, abs=1e-6)  # 30 - 30
    assert "$30.00 for the next 30 days against $30.00 in the last 30" in outlook["detail"]


def test_headline_has_two_to_four_cards(calls_csv):
    rows = run_query("understanding", calls_csv(THREE_CALLS), "headline")
    assert 2 <= len(rows) <= 4
    assert rows[0] == {"label": "Total AI cost", "value": 6, "unit": "usd"}
    assert rows[1]["value"] == 3 and rows[1]["unit"] == "count"
    assert all(r["unit"] in {"usd", "count", "pct", "ms", "days", "text"} for r in rows)


def test_forecast_on_a_single_day_is_a_flat_line(calls_csv):
    # One day at cost 5: no slope to fit, the line stays at 5 a day, no band.
    rows = run_query("understanding", calls_csv(daily_series(["5"])), "forecast")
    assert [(r["projected_cost"], r["low"], r["high"]) for r in rows] == [
        (150, 150, 150), (450, 450, 450), (1825, 1825, 1825)]  # 5 x 30, 90, 365
