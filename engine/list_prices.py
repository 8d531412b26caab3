"""List-price cost of one call from the genai-prices library, and which model name was priced.

Used where a source gives tokens but no cost (OpenTelemetry spans, log
imports). genai-prices ships its price data inside the package (offline),
keyed by provider, model and date: the price in force at the call's time is
used. A response model with a date suffix (`gpt-4o-mini-2024-08-06`) is not
always in the library under that name, so the lookup falls back to the
request model, then to the name without its date suffix, and reports which
name it priced. A model it cannot find is unpriced: no cost, never $0.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

# finops provider keys -> genai-prices provider ids (where they differ).
_PRICE_PROVIDER = {"bedrock": "aws", "google": "google", "azure": "azure", "mistral": "mistral",
                   "cohere": "cohere", "xai": "x-ai", "deepseek": "deepseek"}

_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{4}|-latest)$")

SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Price:
    cost_usd: Decimal | None      # None: unpriced
    cost_source: str              # "list_price" or "unpriced"
    priced_model: str | None      # the model name the library matched, e.g. gpt-4o-mini
    price_provider: str | None    # the library's provider id


UNPRICED = Price(None, "unpriced", None, None)


def library_version() -> str | None:
    try:
        from importlib.metadata import version
        return version("genai-prices")
    except Exception:
        return None


def candidate_names(response_model: str | None, request_model: str | None) -> list[str]:
    """Names to try, in order: response model, request model, each without a date suffix."""
    names: list[str] = []
    for name in (response_model, request_model):
        if name and name not in names:
            names.append(name)
    for name in list(names):
        base = name
        while True:
            stripped = _DATE_SUFFIX.sub("", base)
            if stripped == base or not stripped:
                break
            base = stripped
        if base not in names:
            names.append(base)
    return names


@functools.lru_cache(maxsize=4096)
def _lookup(provider: str | None, model: str, when_day: str | None):
    """(genai-prices provider id, model id) for a name, or None; cached per day."""
    import genai_prices

    when = datetime.fromisoformat(when_day).replace(tzinfo=timezone.utc) if when_day else None
    usage = genai_prices.Usage(input_tokens=1, output_tokens=1)
    for provider_id in ([_PRICE_PROVIDER.get(provider, provider)] if provider else []) + [None]:
        try:
            result = genai_prices.calc_price(usage, model_ref=model, provider_id=provider_id,
                                             genai_request_timestamp=when)
        except LookupError:
            continue
        except Exception:
            return None
        return result.provider.id, result.model.id
    return None


def infer_provider(model: str | None) -> str | None:
    """The genai-prices provider id of a model name alone (for sources without a provider)."""
    if not model:
        return None
    for name in candidate_names(model, None):
        found = _lookup(None, name, None)
        if found:
            return found[0]
    return None


_PRICED_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


@functools.lru_cache(maxsize=4096)
def _linear(provider_id: str, name: str, day: str | None):
    """The model's per-million prices when they are plain or below their first tier, else None.

    genai-prices' own calculation costs about a millisecond a call; a span
    exporter meters thousands a second. For the prices it uses for token
    usage (input, output, cache read, cache write), a model whose prices are
    plain numbers, or tiered but only above `limit` input tokens, costs the
    same linear sum below that limit; tests/test_list_prices.py checks the
    two agree. Anything else goes through calc_price.
    """
    import genai_prices
    from genai_prices.types import TieredPrices

    when = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) if day else None
    try:
        result = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1),
                                         model_ref=name, provider_id=provider_id,
                                         genai_request_timestamp=when)
    except Exception:
        return None
    prices = result.model_price.__dict__
    base: dict[str, Decimal | None] = {}
    limit = None
    for key in _PRICED_FIELDS:
        value = prices.get(key)
        if value is None or isinstance(value, Decimal):
            base[key] = value
        elif isinstance(value, TieredPrices) and isinstance(value.base, Decimal):
            base[key] = value.base
            starts = [t.start for t in value.tiers]
            if starts:
                limit = min([limit, *starts]) if limit is not None else min(starts)
        else:
            return None
    if base["input_mtok"] is None or base["output_mtok"] is None:
        return None
    return base, limit


def _linear_cost(base: dict, input_tokens: int, output_tokens: int, cache_read: int,
                 cache_write: int) -> Decimal:
    inp = base["input_mtok"]
    read = base["cache_read_mtok"] if base["cache_read_mtok"] is not None else inp
    write = base["cache_write_mtok"] if base["cache_write_mtok"] is not None else inp
    uncached = input_tokens - cache_read - cache_write
    total = (uncached * inp + cache_read * read + cache_write * write
             + output_tokens * base["output_mtok"])
    return total / Decimal(1_000_000)


def list_price(provider: str | None, response_model: str | None, request_model: str | None,
               when: datetime | None, *, input_tokens: int, output_tokens: int,
               cache_read_tokens: int = 0, cache_write_tokens: int = 0) -> Price:
    """Cost at list price for these tokens on that date; UNPRICED when no name matches.

    Token counts follow the OpenTelemetry convention (and genai-prices'):
    input_tokens includes the cached ones.
    """
    try:
        import genai_prices
    except ImportError:
        return UNPRICED
    day = when.date().isoformat() if when else None
    for name in candidate_names(response_model, request_model):
        found = _lookup(provider, name, day)
        if not found:
            continue
        price_provider, _model_id = found
        fast = _linear(price_provider, name, day)
        if (fast is not None and cache_read_tokens + cache_write_tokens <= input_tokens
                and (fast[1] is None or max(input_tokens, output_tokens) < fast[1])):
            cost = _linear_cost(fast[0], input_tokens, output_tokens, cache_read_tokens,
                                cache_write_tokens)
            return Price(cost.quantize(SIX_PLACES, rounding=ROUND_HALF_UP), "list_price", name,
                         price_provider)
        usage = genai_prices.Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                                   cache_read_tokens=cache_read_tokens or None,
                                   cache_write_tokens=cache_write_tokens or None)
        stamp = when.replace(tzinfo=timezone.utc) if when and when.tzinfo is None else when
        try:
            result = genai_prices.calc_price(usage, model_ref=name, provider_id=price_provider,
                                             genai_request_timestamp=stamp)
        except Exception:
            continue
        cost = Decimal(result.total_price).quantize(SIX_PLACES, rounding=ROUND_HALF_UP)
        return Price(cost, "list_price", name, result.provider.id)
    return UNPRICED
