"""Given/expect cases for sql/finops/understanding.sql, numbers worked out by hand."""

from __future__ import annotations


import pytest

from conftest import run_query, whole_day_time
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
    """One call a day in November 2025 with the given costs; the first at 00:30 and
    the last at 23:30, so every day of the series is complete."""
    rows = [{"timestamp": f"2025-11-{start_day + n:02d}T12:00:00", "cost_usd": cost}
            for n, cost in enumerate(costs)]
    rows[0]["timestamp"] = rows[0]["timestamp"].replace("T12", "T00")
    rows.append({"timestamp": f"2025-11-{start_day + len(costs) - 1:02d}T23:30:00", "cost_usd": "0"})
    return rows


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
    # the calls cover Nov 1 10:00 .. Nov 3 09:00: 3 - 10/24 - 15/24 = 47/24 days (both end
    # days partial), so the daily burn is 6 / (47/24) = 3.063830, not 6 / 3
    assert row["covered_days"] == pytest.approx(47 / 24)
    assert row["daily_burn"] == pytest.approx(3.06383, abs=1e-6)


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
    # Daily cost 1, 2, ..., 15 at x = 0..14: y = 1 + x exactly (the weekday levels
    # fit it with no residual), so the band is empty. 30 days: x = 15..44,
    # sum = 30 + (15 + 44) * 30 / 2 = 915. 90 and 365 days are longer than twice the
    # 15 days of history: no projection.
    rows = run_query("understanding", calls_csv(daily_series([str(d) for d in range(1, 16)])), "forecast")
    assert [(r["horizon_days"], r["status"]) for r in rows] == [
        (30, "ok"), (90, "not enough history"), (365, "not enough history")]
    assert rows[0]["projected_cost"] == pytest.approx(915, abs=1e-6)
    assert rows[0]["low"] == pytest.approx(915, abs=1e-6)
    assert rows[0]["high"] == pytest.approx(915, abs=1e-6)
    assert rows[0]["cost_growth_per_day"] == pytest.approx(1)
    assert rows[1]["projected_cost"] is None


def test_a_falling_trend_that_would_reach_zero_is_not_extrapolated_the_run_rate_is(calls_csv):
    # y = 15, 14, ..., 1 over 15 complete days: the within-weekday line is 15 - t
    # (slope -1, levels 15), and 30 days after the fit (t = 44) it is at -29: a
    # drop that cannot go on. The model is then the run-rate: the weekday levels
    # of the last 14 days (t = 1..14, y = 14..1: weekday means 11.5 - t for
    # t = 1..7, i.e. 10.5, 9.5, ..., 4.5), no trend. The next 30 days (t = 15..44)
    # are 4 weeks x 52.5 + the weekdays of t = 43, 44 (10.5 + 9.5) = 230.
    rows = run_query("understanding", calls_csv(daily_series([str(15 - d) for d in range(15)])), "forecast")
    assert (rows[0]["model"], rows[0]["cost_growth_per_day"]) == ("run-rate", 0)
    assert rows[0]["projected_cost"] == pytest.approx(230, abs=1e-6)
    assert 0 <= rows[0]["low"] <= 230 <= rows[0]["high"]


def test_a_gentle_fall_keeps_its_trend(calls_csv):
    # y = 30, 29.9, ..., 28.6 (15 days, slope -0.1): 30 days on, the line is at
    # 30 - 4.4 = 25.6, far above $0: the trend model projects it.
    rows = run_query("understanding", calls_csv(daily_series([f"{30 - d / 10:.1f}" for d in range(15)])), "forecast")
    assert rows[0]["model"] == "trend"
    assert rows[0]["cost_growth_per_day"] == pytest.approx(-0.1, abs=1e-6)


def test_recommendation_prices_a_model_switch(calls_csv):
    # gpt-4 qa: 1,000 in + 1,000 out = 0.03 + 0.06 = 0.09 paid. On gpt-4o-mini:
    # 0.00015 + 0.0006 = 0.00075; saves 0.08925 in the one-day file, 2.6775 a month.
    rows = run_query("understanding", calls_csv([
        {"model": "gpt-4", "task_type": "qa", "input_tokens": "1000",
         "output_tokens": "1000", "cost_usd": "0.090000"},
    ]), "recommendations")
    first = rows[0]
    assert first["priority"] == 1
    assert first["title"] == "Move qa calls from gpt-4 to gpt-4o-mini"
    assert first["amount_usd"] == pytest.approx(2.6775)
    assert (first["kind"], first["confidence"]) == ("saving", "low")
    assert "$0.09" in first["detail"] and "$2.68 a month" in first["detail"]
    assert [r["priority"] for r in rows] == list(range(1, len(rows) + 1))


def test_alert_when_spend_is_projected_to_grow(calls_csv):
    # y = 1..15 over 15 complete days: they cost 120 (monthly spend 240). The next 15
    # days are projected at sum(1 + x, x = 15..29) = 15 + 330 = 345: +187.5% on the
    # actual 120; 225 more over 15 days, 450 a 30-day month: 187.5% of monthly spend, high.
    rows = run_query("understanding", calls_csv(daily_series([str(d) for d in range(1, 16)])), "alerts")
    growth = next(r for r in rows if r["title"] == "AI spend is projected to grow")
    assert growth["severity"] == "high"
    assert growth["amount_usd"] == pytest.approx(450, abs=1e-6)
    assert "187.5% above the actual $120.00 of the last 15 complete days" in growth["detail"]
    # 15 complete days: no backtest (it needs 28), and the alert says what its range rests on
    assert "No backtest yet (it needs 28 complete days)" in growth["detail"]
    # the forecast's assumption, stated: fewer complete days than the 28-day window, all 15
    assert "from the trend and weekday levels of the last 15 complete days" in growth["detail"]


def test_flat_spend_over_31_days_raises_no_growth_alert(calls_csv):
    # Cost 1 a day for 31 complete days: the next 30 days cost 30, as did the last 30.
    path = calls_csv(daily_series(["1"] * 31))
    assert not any(r["title"] == "AI spend is projected to grow"
                   for r in run_query("understanding", path, "alerts"))
    forecast = run_query("understanding", path, "forecast")
    assert forecast[0]["projected_cost"] == pytest.approx(30, abs=1e-6)


def test_headline_has_two_to_four_cards(calls_csv):
    rows = run_query("understanding", calls_csv(THREE_CALLS), "headline")
    assert 2 <= len(rows) <= 4
    # the file: Nov 1 10:00 .. Nov 3 09:00, both end days partial
    assert rows[0] == {"label": "Total AI cost for the 3 days 2025-11-01..2025-11-03 (1.96 days covered)",
                       "value": 6, "unit": "usd"}
    assert rows[1]["value"] == 3 and rows[1]["unit"] == "count"
    assert all(r["unit"] in {"usd", "count", "pct", "ms", "days", "text"} for r in rows)


def test_forecast_on_a_single_day_has_not_enough_history(calls_csv):
    rows = run_query("understanding", calls_csv(daily_series(["5"])), "forecast")
    assert [(r["projected_cost"], r["status"]) for r in rows] == [
        (None, "not enough history")] * 3


def test_the_chart_does_not_project_what_the_table_refuses(calls_csv):
    # 11 complete days: the 30-day horizon is "not enough history" (over 2 x 11), so
    # the daily chart projects nothing either; with 15 days both project.
    short = calls_csv(daily_series(["10"] * 11))
    assert run_query("understanding", short, "forecast")[0]["status"] == "not enough history"
    assert all(r["projected_cost"] is None for r in run_query("understanding", short, "forecast_daily"))
    longer = calls_csv(daily_series(["10"] * 15), name="b.csv")
    assert run_query("understanding", longer, "forecast")[0]["status"] == "ok"
    projected = [r for r in run_query("understanding", longer, "forecast_daily") if r["projected_cost"] is not None]
    assert len(projected) == 30


def test_a_model_recorded_above_its_list_price_is_an_alert(calls_csv):
    # gpt-4o, 1M input tokens a day for 10 complete days: $2.50 a day at its genai-prices
    # list price ($2.50 a million input tokens), recorded at $5.00: $25 over 10 days
    # paid above list, $75 a 30-day month against $150 of monthly spend (50%): high.
    rows = [{"timestamp": f"2025-11-{d:02d}T{whole_day_time(d)}", "model": "gpt-4o", "provider": "openai",
             "task_type": "analysis", "input_tokens": "1000000", "output_tokens": "0",
             "cost_usd": "5.000000"} for d in range(1, 11)]
    alerts = run_query("understanding", calls_csv(rows), "alerts")
    [drift] = [a for a in alerts if "list price" in a["title"]]
    assert drift["title"] == "gpt-4o is recorded 100% above its list price"
    assert drift["severity"] == "high" and drift["amount_usd"] == pytest.approx(75.0)
    assert "$50.00 over the 10 days against $25.00" in drift["detail"]
