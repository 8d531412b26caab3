"""OpenTelemetry GenAI client spans as contract rows: the one mapping.

Both the live exporter (finops.otel) and `finops import otel` (OTLP JSON
files) hand this module a span's attributes, ids and times; it returns the
row or the reason it is not one. The semantic conventions' current names
are read first, their deprecated spellings second:

| contract column | span attribute(s) |
|---|---|
| provider | gen_ai.provider.name, else gen_ai.system (mapped to finops keys) |
| model | gen_ai.response.model, else gen_ai.request.model |
| input_tokens | gen_ai.usage.input_tokens, else gen_ai.usage.prompt_tokens |
| output_tokens | gen_ai.usage.output_tokens, else gen_ai.usage.completion_tokens |
| cache_read_input_tokens | gen_ai.usage.cache_read.input_tokens |
| cache_write_input_tokens | gen_ai.usage.cache_write.input_tokens, else gen_ai.usage.cache_creation.input_tokens |
| reasoning_output_tokens | gen_ai.usage.reasoning.output_tokens |
| request_id | gen_ai.response.id |
| session_id | gen_ai.conversation.id, else session.id |
| trace_id | the span's trace id (hex) |
| call_id | the span's span id (hex): the same span imported twice is one call |
| timestamp, latency_ms | span start; end - start in ms (half up) |
| status, error_type | error.type or an ERROR span status |
| cost_usd | a cost attribute (COST_ATTRIBUTES), else list price, else unpriced |
| attribution | finops.* attributes (set by finops.attribute), then defaults |

No OpenTelemetry import here: the exporter and the OTLP reader both feed
plain values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from . import list_prices

# gen_ai.provider.name / gen_ai.system -> the contract's lower-case provider key.
PROVIDER_KEYS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "aws.bedrock": "bedrock",
    "aws_bedrock": "bedrock",
    "bedrock": "bedrock",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "azure": "azure",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "google": "google",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral": "mistral",
    "cohere": "cohere",
    "x_ai": "xai",
    "xai": "xai",
    "deepseek": "deepseek",
    "groq": "groq",
    "perplexity": "perplexity",
    "ibm.watsonx.ai": "watsonx",
    "ollama": "ollama",
    # LiteLLM's custom_llm_provider spellings
    "cohere_chat": "cohere",
    "text-completion-openai": "openai",
    "azure_ai": "azure",
    "azure_text": "azure",
    "vertex_ai_beta": "google",
    "bedrock_converse": "bedrock",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
}

# Operations that are not billed model calls: an agent or tool span wraps
# model calls that have their own spans (counting both would double count).
NOT_MODEL_CALLS = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})

# Span attributes that carry a recorded cost in USD, first match wins.
COST_ATTRIBUTES = ("finops.cost_usd", "gen_ai.usage.cost", "gen_ai.usage.cost_usd",
                   "gen_ai.cost.total_cost", "llm.usage.cost", "langfuse.observation.cost")

# The attribution a span carries as finops.<field>, set by finops.attribute.
ATTRIBUTION_FIELDS = ("customer_id", "organization_id", "subscription_tier", "product_id",
                      "feature_id", "task_type", "environment")
ATTRIBUTE_PREFIX = "finops."

USER_AGENT_DEFAULT = "finops.otel"
_ATTRIBUTION_KEYS = tuple((name, ATTRIBUTE_PREFIX + name) for name in ATTRIBUTION_FIELDS)
_EMPTY: dict = {}

_SPAN_KIND_CLIENT = 3  # OTLP enum; the SDK's SpanKind.CLIENT has value 2 (its own numbering)


def provider_key(name: str | None) -> str | None:
    """A provider name from a span or a log as the contract's key (unknown: lower-cased, spaces dashed)."""
    if not name:
        return None
    key = str(name).strip().lower()
    return PROVIDER_KEYS.get(key, key.replace(" ", "-"))


def _int(value) -> int | None:
    if type(value) is int:
        return value if value >= 0 else None
    if value is None or value == "":
        return None
    if type(value) is str and value.isdigit():
        return int(value)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if number != number.to_integral_value() or number < 0:
        return None
    return int(number)


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return number


def iso_utc(moment: datetime) -> str:
    """A time as the contract writes it: UTC, no suffix, microseconds."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def from_unix_nanos(nanos: int) -> datetime:
    seconds, rest = divmod(int(nanos), 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=rest // 1000)


class SeenResponses:
    """Recent (provider, response id) pairs: one model call traced twice is one row.

    Two instrumentations of the same SDK (say the Anthropic SDK's own
    tracing and OpenLLMetry's instrumentation) each make a span for one
    call, not always in the same trace, with the same gen_ai.response.id,
    which the provider makes unique (chatcmpl-..., msg_...). Bounded: only
    the most recent `size` pairs are remembered (duplicates arrive together).
    """

    def __init__(self, size: int = 50_000) -> None:
        from collections import OrderedDict

        self.size = size
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def repeated(self, row: dict) -> bool:
        response = row.get("request_id")
        if not response:
            return False
        key = (row.get("provider") or "", str(response))
        if key in self._seen:
            return True
        self._seen[key] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return False


@dataclass
class PricingLog:
    """Which name each model was priced as, and what stayed unpriced (for logs and summaries)."""

    priced_as: dict[str, str] = field(default_factory=dict)
    unpriced: dict[str, int] = field(default_factory=dict)

    def note(self, model: str, price: list_prices.Price) -> None:
        if price.cost_source == "list_price":
            self.priced_as.setdefault(model, price.priced_model or model)
        elif price.cost_source == "unpriced":
            self.unpriced[model] = self.unpriced.get(model, 0) + 1


def is_genai_call(attributes: Mapping[str, object]) -> bool:
    """A GenAI model call: a gen_ai provider/system or operation, a model, not an agent/tool span."""
    if not any(k in attributes for k in ("gen_ai.provider.name", "gen_ai.system",
                                         "gen_ai.operation.name")):
        return False
    if str(attributes.get("gen_ai.operation.name") or "") in NOT_MODEL_CALLS:
        return False
    return bool(attributes.get("gen_ai.request.model") or attributes.get("gen_ai.response.model"))


def row_from_span(attributes: Mapping[str, object], *, trace_id: str, span_id: str,
                  start: datetime, end: datetime, error_status: str | None = None,
                  resource: Mapping[str, object] | None = None,
                  scope: str | None = None, defaults: Mapping[str, str] | None = None,
                  pricing_log: PricingLog | None = None,
                  baggage: Mapping[str, object] | None = None,
                  duration_ns: int | None = None) -> dict:
    """The contract row of one GenAI span (call is_genai_call first).

    error_status: the span's status message when its status is ERROR (or
    "error" without a message), None otherwise. Attribution comes from the
    span's finops.* attributes, then baggage, then the resource's
    finops.* attributes, then `defaults`; a field none of them has is left
    empty (an importer rejects such a row; the exporter's defaults fill all).
    """
    a = attributes
    resource = resource or {}
    provider = provider_key(a.get("gen_ai.provider.name") or a.get("gen_ai.system"))
    request_model = a.get("gen_ai.request.model") or None
    response_model = a.get("gen_ai.response.model") or None
    model = str(response_model or request_model)
    input_tokens = _int(a.get("gen_ai.usage.input_tokens"))
    if input_tokens is None:
        input_tokens = _int(a.get("gen_ai.usage.prompt_tokens"))
    output_tokens = _int(a.get("gen_ai.usage.output_tokens"))
    if output_tokens is None:
        output_tokens = _int(a.get("gen_ai.usage.completion_tokens"))
    cache_read = _int(a.get("gen_ai.usage.cache_read.input_tokens")) or 0
    cache_write = _int(a.get("gen_ai.usage.cache_write.input_tokens"))
    if cache_write is None:
        cache_write = _int(a.get("gen_ai.usage.cache_creation.input_tokens"))
    cache_write = cache_write or 0
    reasoning = _int(a.get("gen_ai.usage.reasoning.output_tokens")) or 0

    error_type = _error_name(a.get("error.type"))
    status = "error" if (error_type or error_status is not None) else "ok"
    if status == "error" and not error_type:
        error_type = error_status or "error"

    if duration_ns is not None:
        # exact from the span's nanoseconds, half a millisecond rounding up
        latency_ms = max(1, (int(duration_ns) + 500_000) // 1_000_000)
    else:
        latency_ms = max(1, round((end - start).total_seconds() * 1000))

    cost = None
    for key in COST_ATTRIBUTES:
        cost = _decimal(a.get(key))
        if cost is not None:
            break
    if cost is not None:
        cost_usd, cost_source = cost.quantize(list_prices.SIX_PLACES), "recorded"
    elif input_tokens is None and output_tokens is None and status == "error":
        # A failed call with no usage reported: nothing was billed.
        cost_usd, cost_source = Decimal("0.000000"), "recorded"
    else:
        price = list_prices.list_price(provider, response_model and str(response_model),
                                       request_model and str(request_model), start,
                                       input_tokens=input_tokens or 0,
                                       output_tokens=output_tokens or 0,
                                       cache_read_tokens=cache_read, cache_write_tokens=cache_write)
        if pricing_log is not None:
            pricing_log.note(model, price)
        cost_usd, cost_source = price.cost_usd, price.cost_source

    row = {
        "timestamp": iso_utc(start),
        "call_id": span_id,
        "provider": provider or "",
        "model": model,
        "input_tokens": input_tokens if input_tokens is not None else 0,
        "output_tokens": output_tokens if output_tokens is not None else 0,
        "cost_usd": "" if cost_usd is None else f"{cost_usd:.6f}",
        "latency_ms": latency_ms,
        "request_id": a.get("gen_ai.response.id") or "",
        "trace_id": trace_id,
        "session_id": (a.get("gen_ai.conversation.id") or a.get("session.id")
                       or a.get(ATTRIBUTE_PREFIX + "session_id") or ""),
        "user_agent": scope or USER_AGENT_DEFAULT,
        "cache_read_input_tokens": cache_read,
        "cache_write_input_tokens": cache_write,
        "reasoning_output_tokens": reasoning,
        "status": status,
        "error_type": error_type or "",
        "cost_source": cost_source,
    }
    baggage = baggage or _EMPTY
    for name, key in _ATTRIBUTION_KEYS:
        value = a.get(key) or baggage.get(key) or resource.get(key)
        if not value and name == "environment":
            value = environment_key(resource.get("deployment.environment.name")
                                    or resource.get("deployment.environment"))
        if not value and defaults:
            value = defaults.get(name)
        if not value and name == "task_type":
            value = a.get("gen_ai.operation.name")
        row[name] = str(value) if value else ""
    return row


def _error_name(value) -> str | None:
    """error.type as a name: some instrumentations write "<class 'openai.BadRequestError'>"."""
    if not value:
        return None
    text = str(value)
    if text.startswith("<class '") and text.endswith("'>"):
        text = text[8:-2]
    return text


_ENVIRONMENT_ALIASES = {"prod": "production", "production": "production", "prd": "production",
                        "staging": "staging", "stage": "staging", "stg": "staging",
                        "development": "development", "dev": "development", "test": "development"}


def environment_key(name) -> str | None:
    """A deployment environment name as the contract's production/staging/development, or None."""
    if not name:
        return None
    return _ENVIRONMENT_ALIASES.get(str(name).strip().lower())
