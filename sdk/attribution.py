"""The attribution context: which customer, organization, tier, product, feature,
task and environment a model call serves.

`with finops.attribute(customer_id=..., ...):` sets the values for the code
inside it. They live in a contextvars.ContextVar, so they follow asyncio
tasks created inside the block and threads started with the context
(`contextvars.copy_context().run`, or OpenTelemetry's threading
instrumentation); nested blocks override their parent's values field by
field and restore them on exit. finops.otel's processor copies them onto
every span started inside the block (as `finops.customer_id`, ...).

Values are checked at entry: an unknown field is a TypeError, an empty
value or an unknown tier/environment a ValueError naming the allowed
values (tiers are read from sql/calls.sql's subscription_tiers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType

ATTRIBUTION_FIELDS = ("customer_id", "organization_id", "subscription_tier", "product_id",
                      "feature_id", "task_type", "environment")
# Also accepted: the session a call belongs to, for instrumentations that do
# not set gen_ai.conversation.id themselves.
EXTRA_FIELDS = ("session_id",)

_EMPTY: Mapping[str, str] = MappingProxyType({})
_current: ContextVar[Mapping[str, str]] = ContextVar("finops_attribution", default=_EMPTY)


def _allowed(field: str) -> tuple[str, ...] | None:
    # Imported here so `import finops` stays light: DuckDB loads on first check.
    from finops.engine import reference

    if field == "subscription_tier":
        return reference.subscription_tiers()
    if field == "environment":
        return reference.ENVIRONMENTS
    return None


def check_attribution(values: Mapping[str, object]) -> dict[str, str]:
    """The values as strings, or a TypeError/ValueError saying what is wrong."""
    checked: dict[str, str] = {}
    for field, value in values.items():
        if field not in ATTRIBUTION_FIELDS + EXTRA_FIELDS:
            raise TypeError(f"finops.attribute() got an unknown field {field!r}; "
                            f"fields: {', '.join(ATTRIBUTION_FIELDS + EXTRA_FIELDS)}")
        if value is None:
            continue  # None: keep the parent's value
        if not isinstance(value, str):
            raise TypeError(f"finops.attribute({field}=...) must be a string, "
                            f"not {type(value).__name__}")
        if not value.strip():
            raise ValueError(f"finops.attribute({field}=...) is empty; give a value or leave it out")
        allowed = _allowed(field)
        if allowed is not None and value not in allowed:
            raise ValueError(f"finops.attribute(): unknown {field} {value!r}; "
                             f"allowed: {', '.join(allowed)}")
        checked[field] = value
    return checked


@contextlib.contextmanager
def attribute(**values: str | None) -> Iterator[Mapping[str, str]]:
    """Tag every GenAI call made inside the block with these values.

    Also usable as a decorator. Yields the merged attribution in force.
    """
    checked = check_attribution(values)
    merged = MappingProxyType({**_current.get(), **checked})
    token = _current.set(merged)
    try:
        yield merged
    finally:
        _current.reset(token)


def current_attribution() -> Mapping[str, str]:
    """The attribution in force here (empty outside any `finops.attribute` block)."""
    return _current.get()
