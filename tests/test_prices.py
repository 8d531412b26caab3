"""List prices: the shipped files equal the pinned genai-prices, lookups, pricing_check."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from finops.engine import prices
from finops.engine.cli import main
from finops.engine.session import open_session

from conftest import write_calls


def test_shipped_price_files_equal_the_pinned_library():
    pytest.importorskip("genai_prices")
    rows, models, version = prices.library_tables()
    with open(prices.LIST_PRICES_CSV, newline="", encoding="utf-8") as fh:
        shipped = list(csv.reader(fh))
    with open(prices.LIST_PRICE_MODELS_CSV, newline="", encoding="utf-8") as fh:
        shipped_models = list(csv.reader(fh))
    assert shipped[0] == prices.PRICE_COLUMNS and shipped[1:] == [[str(v) for v in r] for r in rows], \
        "run `python -m finops.engine.prices` after changing the genai-prices pin"
    assert shipped_models[1:] == [[str(v) for v in r] for r in models]
    assert all(r[-1] == version for r in shipped[1:])


def test_shipped_prices_agree_with_the_library_calculation():
    """Independent check: genai-prices' own calc_price equals our per-call list cost."""
    genai_prices = pytest.importorskip("genai_prices")
    from datetime import datetime, timezone
    result = prices.lookup("claude-sonnet-4-20250514", "anthropic", date(2025, 11, 1))
    row = result.records()[0]
    usage = genai_prices.Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=200)
    calc = genai_prices.calc_price(usage, "claude-sonnet-4-20250514", provider_id="anthropic",
                                   genai_request_timestamp=datetime(2025, 11, 1, tzinfo=timezone.utc))
    ours = (Decimal(800) * Decimal(str(row["input_per_mtok"])) + 200 * Decimal(str(row["cache_read_per_mtok"]))
            + 500 * Decimal(str(row["output_per_mtok"]))) / 1_000_000
    assert ours == calc.total_price


def test_prices_command_names_the_source_and_page():
    out = CliRunner().invoke(main, ["prices", "gpt-4o", "--provider", "openai", "--date",
                                    "2025-06-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows[0]["model"] == "gpt-4o" and rows[0]["input_per_mtok"] == 2.5
    assert rows[0]["source"].startswith("genai-prices ") and rows[0]["pricing_url"].startswith("https://")
    out = CliRunner().invoke(main, ["prices", "no-such-model-xyz"])
    assert out.exit_code == 1 and "no list price" in out.output


def test_unknown_models_and_unpriced_calls_are_counted_and_named(tmp_path):
    path = tmp_path / "c.csv"
    from conftest import DEFAULT_ROW, HEADER
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER + ["cost_source"])
        for n, (model, cost, src) in enumerate([("gpt-4o", "0.001", "recorded"),
                                                ("my-inhouse-llm", "0.002", "recorded"),
                                                ("gpt-4o", "", "unpriced")]):
            row = {**DEFAULT_ROW, "call_id": f"c{n}", "model": model, "cost_usd": cost}
            w.writerow([row[c] for c in HEADER] + [src])
    session = open_session(path)
    try:
        source = session.source
        total = session.con.execute("SELECT count(*), sum(cost_usd) FROM calls").fetchone()
    finally:
        session.close()
    assert source.unpriced_calls == 1
    assert source.unknown_price_models == [{"provider": "openai", "model": "my-inhouse-llm", "calls": 1}]
    assert total == (3, Decimal("0.003"))
    out_dir = tmp_path / "site"
    result = CliRunner().invoke(main, ["build", "--csv", str(path), "--out", str(out_dir)])
    assert result.exit_code == 0, result.output
    assert "1 unpriced calls" in result.output and "openai/my-inhouse-llm" in result.output
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["unpriced_calls"] == 1
    assert manifest["unknown_price_models"][0]["model"] == "my-inhouse-llm"
    page = (out_dir / "understanding.html").read_text()
    assert "my-inhouse-llm" in page and "1 unpriced call" in page
