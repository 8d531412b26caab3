"""Property: for any valid rows, in any spelling common writers produce, run-sql's
totals equal totals computed in Python."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from finops.engine.cli import main
from finops.engine.reference import reference

from conftest import write_calls

PROVIDER_MODELS = [("openai", "gpt-4o"), ("anthropic", "claude-haiku-4"), ("google", "gemini-pro"),
                   ("mistral", "mistral-small")]
START = datetime(2025, 1, 1)

row = st.fixed_dictionaries({
    "minute": st.integers(0, 60 * 24 * 40),
    "pm": st.sampled_from(PROVIDER_MODELS),
    "input_tokens": st.integers(1, 1_000_000),
    "output_tokens": st.integers(0, 1_000_000),
    "micro_usd": st.integers(0, 50_000_000),
    "latency_ms": st.integers(1, 600_000),
    "customer": st.sampled_from(["c1", "c2", "c,3", 'c"4', "c5 ünï"]),
    "tier": st.sampled_from(list(reference().tier_fees())),
    "amount_style": st.sampled_from(["plain", "python_float", "exp_upper", "trailing_zero",
                                     "plus", "leading_dot"]),
    "count_style": st.sampled_from(["plain", "float", "exp", "plus"]),
})


def spell_amount(micro: int, style: str) -> str:
    """The same amount as pandas, Excel, a JSON dump ... would write it."""
    d = Decimal(micro).scaleb(-6)
    plain = f"{d:.6f}"
    return {
        "plain": plain,
        "python_float": repr(float(d)),          # 3.5e-05, 0.1, 12.0
        "exp_upper": format(d.normalize(), "E"),  # 3.5E-5
        "trailing_zero": plain + "0",
        "plus": "+" + plain,
        "leading_dot": plain[1:] if plain.startswith("0.") else plain,
    }[style]


def spell_count(n: int, style: str) -> str:
    return {"plain": str(n), "float": f"{n}.0", "exp": f"{n}e0", "plus": f"+{n}"}[style]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=1, max_size=40))
def test_run_sql_totals_equal_python_totals(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("prop") / "calls.csv"
    records = []
    for r in rows:
        provider, model = r["pm"]
        records.append({
            "timestamp": (START + timedelta(minutes=r["minute"])).isoformat(),
            "provider": provider, "model": model,
            "input_tokens": spell_count(r["input_tokens"], r["count_style"]),
            "output_tokens": spell_count(r["output_tokens"], r["count_style"]),
            "cost_usd": spell_amount(r["micro_usd"], r["amount_style"]),
            "latency_ms": spell_count(r["latency_ms"], r["count_style"]),
            "customer_id": r["customer"],
            "subscription_tier": r["tier"],
        })
    write_calls(path, records)

    result = CliRunner().invoke(main, ["run-sql", "understanding", "--csv", str(path),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    summary = out["queries"]["summary"][0]

    cost = sum(Decimal(r["micro_usd"]).scaleb(-6) for r in rows)
    assert Decimal(str(summary["total_cost"])) == cost
    assert summary["total_calls"] == len(records)
    assert summary["total_input_tokens"] == sum(r["input_tokens"] for r in rows)
    assert summary["total_output_tokens"] == sum(r["output_tokens"] for r in rows)
    assert out["source"]["rows"] == len(records) and out["source"]["rows_rejected"] == 0

    by_provider = defaultdict(Decimal)
    for r in rows:
        by_provider[r["pm"][0]] += Decimal(r["micro_usd"]).scaleb(-6)
    got = {p["provider"]: Decimal(str(p["cost"])) for p in out["queries"]["by_provider"]}
    assert got == dict(by_provider)
    assert sum(p["calls"] for p in out["queries"]["by_provider"]) == len(records)
    # Daily rows cover every date of the period and add up to the total.
    daily = out["queries"]["daily"]
    assert sum(Decimal(str(d["cost"])) for d in daily) == cost
    assert len(daily) == summary["period_days"]
