"""List prices: the fast linear path equals genai-prices' own calculation; fallbacks by name."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

genai_prices = pytest.importorskip("genai_prices")

from finops.engine import list_prices  # noqa: E402

MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "gpt-4.1"),
          ("openai", "o3-mini"), ("anthropic", "claude-sonnet-4-5"),
          ("anthropic", "claude-3-5-haiku-20241022"), ("anthropic", "claude-opus-4-1"),
          ("google", "gemini-2.5-pro"), ("google", "gemini-1.5-flash"),
          ("mistral", "mistral-large-latest"), ("cohere", "command-r"),
          ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0")]


def _reference(provider_id, name, when, **usage):
    result = genai_prices.calc_price(
        genai_prices.Usage(**{k: (v or None) if k.startswith("cache") else v
                              for k, v in usage.items()}),
        model_ref=name, provider_id=provider_id, genai_request_timestamp=when)
    return Decimal(result.total_price).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def test_fast_path_equals_genai_prices_on_random_usage():
    rng = random.Random(3)
    checked = 0
    for provider, model in MODELS:
        for _ in range(40):
            when = datetime(2025, rng.randint(1, 11), rng.randint(1, 28), tzinfo=timezone.utc)
            inp = rng.choice([1, 17, 999, 12_345, 150_000, 199_999, 200_000, 250_000, 900_000])
            out = rng.randint(0, 20_000)
            read = rng.randint(0, inp // 2)
            write = rng.randint(0, (inp - read) // 3) if provider == "anthropic" else 0
            price = list_prices.list_price(provider, model, None, when, input_tokens=inp,
                                           output_tokens=out, cache_read_tokens=read,
                                           cache_write_tokens=write)
            if price.cost_usd is None:
                continue
            expected = _reference(price.price_provider, price.priced_model, when,
                                  input_tokens=inp, output_tokens=out, cache_read_tokens=read,
                                  cache_write_tokens=write)
            assert price.cost_usd == expected, (provider, model, inp, out, read, write)
            checked += 1
    assert checked > 300


def test_dated_response_model_falls_back_and_unknown_is_unpriced():
    when = datetime(2025, 11, 1, tzinfo=timezone.utc)
    price = list_prices.list_price("openai", "gpt-4o-mini-2024-08-06", "gpt-4o-mini", when,
                                   input_tokens=1000, output_tokens=100)
    assert (price.priced_model, price.cost_source, str(price.cost_usd)) == \
        ("gpt-4o-mini", "list_price", "0.000210")
    assert list_prices.candidate_names("gpt-4o-mini-2024-08-06", None) == \
        ["gpt-4o-mini-2024-08-06", "gpt-4o-mini"]
    unknown = list_prices.list_price("openai", "our-finetune-7", None, when,
                                     input_tokens=1000, output_tokens=100)
    assert (unknown.cost_usd, unknown.cost_source) == (None, "unpriced")
