"""Fixed facts of the simulated market: the contract's header, the price table,
providers and their models, tiers, tasks and features.

Prices are kept as exact integers (units of 1e-7 USD per 1,000 tokens) so that
`cost_usd = round((in*inp + out*outp)/1000, 6)` is computed in integer
arithmetic, never with binary floats.
"""

from __future__ import annotations

from decimal import Decimal

HEADER_COLUMNS = (
    "timestamp", "call_id", "provider", "model", "input_tokens", "output_tokens",
    "cost_usd", "latency_ms", "customer_id", "subscription_tier", "organization_id",
    "product_id", "feature_id", "task_type", "environment", "request_id", "trace_id",
    "session_id", "user_agent",
)
HEADER = ",".join(HEADER_COLUMNS)
HEADER_LINE = HEADER + "\n"

# provider -> [(model, input USD/1k, output USD/1k, popularity, speed, class)]
# popularity: within-provider weight (cheaper models are called more often);
# speed: latency factor (1.0 = about 2 ms per token); class: budget/mid/premium.
MODELS: dict[str, list[tuple[str, str, str, float, float, str]]] = {
    "openai": [
        ("gpt-4", "0.03", "0.06", 6, 1.6, "premium"),
        ("gpt-4-turbo", "0.01", "0.03", 9, 1.2, "premium"),
        ("gpt-4o", "0.0025", "0.01", 30, 0.8, "mid"),
        ("gpt-4o-mini", "0.00015", "0.0006", 35, 0.45, "budget"),
        ("gpt-3.5-turbo", "0.0005", "0.0015", 20, 0.5, "budget"),
    ],
    "anthropic": [
        ("claude-opus-4", "0.015", "0.075", 8, 1.7, "premium"),
        ("claude-sonnet-4", "0.003", "0.015", 35, 0.9, "mid"),
        ("claude-3.5-sonnet", "0.003", "0.015", 22, 0.95, "mid"),
        ("claude-haiku-4", "0.00025", "0.00125", 35, 0.4, "budget"),
    ],
    "google": [
        ("gemini-1.5-pro", "0.00125", "0.00375", 25, 1.0, "mid"),
        ("gemini-pro", "0.00025", "0.0005", 30, 0.7, "budget"),
        ("gemini-1.5-flash", "0.000075", "0.0003", 45, 0.35, "budget"),
    ],
    "bedrock": [
        ("claude-v2", "0.008", "0.024", 20, 1.4, "premium"),
        ("claude-instant", "0.0008", "0.0024", 35, 0.6, "budget"),
        ("titan-text-express", "0.0002", "0.0006", 25, 0.7, "budget"),
        ("titan-text-lite", "0.00015", "0.0002", 20, 0.5, "budget"),
    ],
    "azure": [
        ("gpt-4-azure", "0.03", "0.06", 35, 1.7, "premium"),
        ("gpt-35-turbo-azure", "0.0005", "0.0015", 65, 0.55, "budget"),
    ],
    "mistral": [
        ("mistral-large", "0.004", "0.012", 25, 1.1, "premium"),
        ("mistral-medium", "0.0027", "0.0081", 30, 0.8, "mid"),
        ("mistral-small", "0.0001", "0.0003", 45, 0.45, "budget"),
    ],
    "cohere": [
        ("command", "0.001", "0.002", 30, 0.9, "mid"),
        ("command-r", "0.0005", "0.0015", 40, 0.7, "budget"),
        ("command-light", "0.0003", "0.0006", 30, 0.4, "budget"),
    ],
}

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


# The cheaper model a cost-optimising team moves simple tasks to.
CHEAPER_MODEL = {
    "gpt-4": "gpt-4o-mini", "gpt-4-turbo": "gpt-4o-mini", "gpt-4o": "gpt-4o-mini",
    "claude-opus-4": "claude-haiku-4", "claude-sonnet-4": "claude-haiku-4",
    "claude-3.5-sonnet": "claude-haiku-4",
    "claude-v2": "claude-instant", "gemini-1.5-pro": "gemini-1.5-flash",
    "gemini-pro": "gemini-1.5-flash",
    "gpt-4-azure": "gpt-35-turbo-azure",
    "mistral-large": "mistral-small", "mistral-medium": "mistral-small",
    "command": "command-light", "command-r": "command-light",
}

TIERS = ("starter", "pro", "enterprise")
TIER_FEES = {"starter": 29, "pro": 99, "enterprise": 299}
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
