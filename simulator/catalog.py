"""Fixed facts of the simulated market: the contract's header, the price table,
providers and their models, tiers, tasks and features.

The facts the analyzers share (the contract's columns, the tiers and their
fees, the models with their list prices, class and economy model) are read
from their one definition, the reference tables of sql/calls.sql
(finops.engine.reference); what is only the simulator's (how popular and how
fast each model is, the market's provider shares) is defined here.

Prices are kept as exact integers (units of 1e-7 USD per 1,000 tokens) so that
`cost_usd = round((in*inp + out*outp)/1000, 6)` is computed in integer
arithmetic, never with binary floats.
"""

from __future__ import annotations

from decimal import Decimal

from finops.engine.reference import reference

_REF = reference()

HEADER_COLUMNS = _REF.contract_header()
HEADER = ",".join(HEADER_COLUMNS)
HEADER_LINE = HEADER + "\n"

# How the simulated market uses each model it simulates, by (provider, model):
# (popularity, speed). popularity: within-provider weight (cheaper models are
# called more often); speed: latency factor (1.0 = about 2 ms per token).
# Prices and class come from model_prices; a priced model not listed here is
# simply not simulated.
MODEL_BEHAVIOUR: dict[tuple[str, str], tuple[float, float]] = {
    ("openai", "gpt-4"): (6, 1.6),
    ("openai", "gpt-4-turbo"): (9, 1.2),
    ("openai", "gpt-4o"): (30, 0.8),
    ("openai", "gpt-4o-mini"): (35, 0.45),
    ("openai", "gpt-3.5-turbo"): (20, 0.5),
    ("anthropic", "claude-opus-4"): (8, 1.7),
    ("anthropic", "claude-sonnet-4"): (35, 0.9),
    ("anthropic", "claude-3.5-sonnet"): (22, 0.95),
    ("anthropic", "claude-haiku-4"): (35, 0.4),
    ("google", "gemini-1.5-pro"): (25, 1.0),
    ("google", "gemini-pro"): (30, 0.7),
    ("google", "gemini-1.5-flash"): (45, 0.35),
    ("bedrock", "claude-v2"): (20, 1.4),
    ("bedrock", "claude-instant"): (35, 0.6),
    ("bedrock", "titan-text-express"): (25, 0.7),
    ("bedrock", "titan-text-lite"): (20, 0.5),
    ("azure", "gpt-4-azure"): (35, 1.7),
    ("azure", "gpt-35-turbo-azure"): (65, 0.55),
    ("mistral", "mistral-large"): (25, 1.1),
    ("mistral", "mistral-medium"): (30, 0.8),
    ("mistral", "mistral-small"): (45, 0.45),
    ("cohere", "command"): (30, 0.9),
    ("cohere", "command-r"): (40, 0.7),
    ("cohere", "command-light"): (30, 0.4),
}


def _models() -> dict[str, list[tuple[str, str, str, float, float, str]]]:
    """provider -> [(model, input USD/1k, output USD/1k, popularity, speed, model_class)]."""
    prices = _REF.prices()
    missing = [f"{p}/{m}" for p, m in MODEL_BEHAVIOUR if (p, m) not in prices]
    if missing:
        raise RuntimeError(f"the simulator uses models sql/calls.sql has no price for: {', '.join(missing)}")
    out: dict[str, list] = {}
    for (provider, model), (pop, speed) in MODEL_BEHAVIOUR.items():
        row = prices[(provider, model)]
        out.setdefault(provider, []).append(
            (model, str(row["input_per_1k"].normalize()), str(row["output_per_1k"].normalize()),
             pop, speed, row["model_class"]))
    return out


# provider -> [(model, input USD/1k, output USD/1k, popularity, speed, class)]
MODELS = _models()
MODEL_CLASSES = ("economy", "standard", "premium")  # model_prices.model_class, cheapest first

PROVIDER_WEIGHTS = {
    "openai": 40, "anthropic": 25, "google": 15, "bedrock": 10,
    "azure": 5, "mistral": 3, "cohere": 2,
}
PROVIDERS = tuple(PROVIDER_WEIGHTS)

PRICE_UNIT = Decimal("0.0000001")  # prices held as integer multiples of this


def _price_units(text: str) -> int:
    units = Decimal(text) / PRICE_UNIT
    if units != units.to_integral_value():
        raise ValueError(f"price {text} is finer than the integer price unit")
    return int(units)


# model -> (provider, input units, output units, popularity, speed, class)
MODEL_INFO: dict[str, tuple[str, int, int, float, float, str]] = {
    model: (provider, _price_units(inp), _price_units(outp), pop, speed, cls)
    for provider, models in MODELS.items()
    for model, inp, outp, pop, speed, cls in models
}
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    model: (Decimal(inp), Decimal(outp))
    for models in MODELS.values()
    for model, inp, outp, *_ in models
}


def cost_micro_usd(model: str, input_tokens: int, output_tokens: int) -> int:
    """Cost in whole micro-dollars, rounded half up (as DuckDB rounds DECIMAL)."""
    _, inp, outp, *_ = MODEL_INFO[model]
    # tokens * units is in 1e-10 USD; 10,000 of them make one micro-dollar.
    return (input_tokens * inp + output_tokens * outp + 5000) // 10000


# The cheaper model a cost-optimising team moves simple tasks to: the economy
# model model_prices gives a premium model (the optimizer reprices at the same).
CHEAPER_MODEL = {
    m: row["economy_model"] for (p, m), row in _REF.prices().items()
    if row["economy_model"] and m in MODEL_INFO and row["economy_model"] in MODEL_INFO
}

TIER_FEES = {tier: int(fee) for tier, fee in _REF.tier_fees().items()}  # USD a month
TIERS = tuple(TIER_FEES)  # cheapest first
ENVIRONMENTS = ("production", "staging", "development")
ENVIRONMENT_CUM_WEIGHTS = (95, 99, 100)

TASKS = ("chat", "code_generation", "summarization", "translation", "analysis", "qa")
SIMPLE_TASKS = ("chat", "qa", "translation", "summarization")
FEATURES = ("chat", "code_generation", "summarization", "translation", "analysis", "qa")
PRODUCTS = ("product_a", "product_b")

# Token shape per task: (input median, input sigma, output median, output sigma)
# of a log-normal; summarization/analysis read a lot, code_generation writes a
# lot, qa is short both ways.
TASK_TOKENS = {
    "chat": (380, 0.65, 300, 0.6),
    "code_generation": (450, 0.7, 850, 0.6),
    "summarization": (1300, 0.55, 260, 0.5),
    "translation": (420, 0.6, 440, 0.6),
    "analysis": (1500, 0.6, 520, 0.55),
    "qa": (120, 0.6, 110, 0.5),
}

# A feature of the product drives mostly one kind of task.
FEATURE_TASKS = {
    "chat": {"chat": 70, "qa": 20, "summarization": 10},
    "code_generation": {"code_generation": 85, "qa": 10, "chat": 5},
    "summarization": {"summarization": 85, "analysis": 10, "qa": 5},
    "translation": {"translation": 90, "chat": 10},
    "analysis": {"analysis": 80, "summarization": 15, "qa": 5},
    "qa": {"qa": 80, "chat": 20},
    "ai_assistant": {"chat": 40, "qa": 25, "code_generation": 20, "analysis": 15},
}

USER_AGENTS = (
    "ReveniumSDK/1.4.2 (Python/3.11.7; Linux x86_64) openai/1.51.0 httpx/0.27.2",
    "ReveniumSDK/1.4.2 (Python/3.12.4; Linux aarch64) anthropic/0.36.0 httpx/0.27.2",
    "ReveniumSDK/1.3.9 (Python/3.10.14; Darwin arm64) openai/1.40.6 httpx/0.27.0",
    "ReveniumSDK/2.0.1 (Node.js/20.17.0; Linux x86_64) undici/6.19.8 fetch/native",
    "ReveniumSDK/2.0.1 (Node.js/22.9.0; Linux x86_64) undici/6.20.1 fetch/native",
    "ReveniumSDK/0.9.3 (Go/1.23.1; Linux amd64) net-http/1.1 keepalive/enabled",
    "ReveniumSDK/1.1.0 (Java/21.0.4; Linux x86_64) okhttp/4.12.0 jackson/2.17.2",
    "ReveniumSDK/1.4.2 (Python/3.11.9; Windows AMD64) openai/1.51.0 httpx/0.27.2",
)

# Home time zones as fixed UTC offsets in hours (daylight saving ignored).
TIME_ZONES = {
    "America/New_York": -5, "America/Chicago": -6, "America/Denver": -7,
    "America/Los_Angeles": -8, "America/Sao_Paulo": -3,
    "Europe/London": 0, "Europe/Berlin": 1, "Europe/Paris": 1, "Europe/Helsinki": 2,
    "Asia/Kolkata": 5.5, "Asia/Singapore": 8, "Asia/Shanghai": 8, "Asia/Tokyo": 9,
    "Australia/Sydney": 10,
}
US_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")
EUROPE_ZONES = ("Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Helsinki")
ASIA_ZONES = ("Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney")

# A usual week: weekends at 70% of a weekday; 85% of a day's calls in local
# business hours (8am-8pm).
WEEKEND_FACTOR = 0.7
BUSINESS_HOURS_SHARE = 0.85


def _hour_profile() -> list[float]:
    """Share of a day's calls per local hour: 85% between 8am and 8pm."""
    business = [1.0, 1.5, 1.9, 2.0, 1.6, 1.7, 1.9, 1.9, 1.7, 1.4, 1.1, 0.9]  # 8..19
    night = [0.35, 0.25, 0.2, 0.2, 0.25, 0.35, 0.6, 0.9, 1.1, 0.9, 0.7, 0.5]  # 20..7
    b, n = sum(business), sum(night)
    prof = [0.0] * 24
    for i, w in enumerate(business):
        prof[8 + i] = w / b * BUSINESS_HOURS_SHARE
    for i, w in enumerate(night):
        prof[(20 + i) % 24] = w / n * (1 - BUSINESS_HOURS_SHARE)
    return prof


HOUR_PROFILE = _hour_profile()
