"""finops.otel end to end: the real openai and anthropic SDKs, two real instrumentations,
a fake provider on 127.0.0.1, and the rows that land in the calls file."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest

pytest.importorskip("opentelemetry.sdk.trace", reason="needs the otel extra: pip install 'finops[otel]'")
openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
openai_v2 = pytest.importorskip("opentelemetry.instrumentation.openai_v2",
                                reason="needs opentelemetry-instrumentation-openai-v2")
genai_prices = pytest.importorskip("genai_prices")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

import finops  # noqa: E402
import finops.otel  # noqa: E402
from otel_support import FakeProvider, read_rows  # noqa: E402

ATTRIBUTION = dict(customer_id="cust_0042", organization_id="org_007", subscription_tier="pro",
                   product_id="product_a", feature_id="support_bot", task_type="qa",
                   environment="staging")


@pytest.fixture
def metered(tmp_path):
    """(fake provider, tracer provider, exporter, csv path, openai client, anthropic client)."""
    csv_path = tmp_path / "calls.csv"
    provider = TracerProvider()
    exporter = finops.otel.setup(csv_path, tracer_provider=provider)
    instrumentor = openai_v2.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    with FakeProvider() as fake:
        oc = openai.OpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0)
        # The Anthropic SDK traces by itself (its own OpenTelemetry support).
        ac = anthropic.Anthropic(base_url=fake.url, api_key="test", max_retries=0,
                                 open_telemetry={"tracer_provider": provider})
        try:
            yield fake, provider, exporter, csv_path, oc, ac
        finally:
            instrumentor.uninstrument()
            provider.shutdown()


def _price(model_ref: str, provider_id: str, when: datetime, **usage) -> str:
    result = genai_prices.calc_price(genai_prices.Usage(**usage), model_ref=model_ref,
                                     provider_id=provider_id, genai_request_timestamp=when)
    return f"{Decimal(result.total_price).quantize(Decimal('0.000001')):.6f}"


def _when(row) -> datetime:
    return datetime.fromisoformat(row["timestamp"]).replace(tzinfo=timezone.utc)


LONG = "one two three four five six seven eight nine ten eleven"  # hits the fake cache


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_real_sdks_plain_streaming_and_errors_land_as_contract_rows(metered):
    fake, provider, exporter, csv_path, oc, ac = metered
    with finops.attribute(**ATTRIBUTION):
        oc.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": LONG}])
        stream = oc.chat.completions.create(model="gpt-4o", stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "hi there"}])
        for _ in stream:
            pass
        with pytest.raises(openai.BadRequestError):
            oc.chat.completions.create(model="gpt-4o",
                                       messages=[{"role": "user", "content": "PLEASE FAIL"}])
        ac.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                           messages=[{"role": "user", "content": LONG + " cache this"}])
        with ac.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as s:
            for _ in s.text_stream:
                pass
        with pytest.raises(anthropic.BadRequestError):
            ac.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                               messages=[{"role": "user", "content": "PLEASE FAIL"}])
    assert provider.force_flush()

    rows = read_rows(csv_path)
    assert len(rows) == 6, rows
    by_request = {r["request_id"]: r for r in rows if r["request_id"]}
    answers = [a for a in fake.answers if a["id"]]
    assert len(answers) == 4 and set(by_request) == {a["id"] for a in answers}
    for answer in answers:
        row = by_request[answer["id"]]
        u = answer["usage"]
        # Contract 1.1 (and OpenTelemetry): input_tokens includes the cached ones,
        # whatever the provider's own usage object says.
        assert int(row["input_tokens"]) == u["input"]
        assert int(row["output_tokens"]) == u["output"]
        assert row["provider"] == answer["provider"]
        assert row["model"] == answer["model"]
        assert row["status"] == "ok" and row["error_type"] == ""
        assert 50 <= int(row["latency_ms"]) < 10_000  # the fake answers after 50 ms
        for field, value in ATTRIBUTION.items():
            assert row[field] == value, field
        assert len(row["trace_id"]) == 32 and len(row["call_id"]) == 16
        assert row["cost_source"] == "list_price"

    mini = next(r for r in rows if r["model"] == "gpt-4o-mini-2024-08-06")
    # The dated response model is not in the price library: priced as the request model.
    assert exporter.stats.priced_as == {"gpt-4o-mini-2024-08-06": "gpt-4o-mini"}
    assert mini["cost_usd"] == _price("gpt-4o-mini", "openai", _when(mini),
                                      input_tokens=int(mini["input_tokens"]), output_tokens=20)
    assert mini["input_tokens"] == "73"

    claude_cached = next(r for r in rows if r["provider"] == "anthropic"
                         and r["cache_read_input_tokens"] != "0")
    u = next(a for a in answers if a["id"] == claude_cached["request_id"])["usage"]
    # Anthropic's usage says input_tokens = 31 (cache excluded), 32 read, 16 written;
    # the row says 79 in, of which 32 read from and 16 written to the cache.
    assert (u["input"], u["cached"], u["cache_write"]) == (79, 32, 16)
    assert (claude_cached["input_tokens"], claude_cached["cache_read_input_tokens"],
            claude_cached["cache_write_input_tokens"]) == ("79", "32", "16")
    assert claude_cached["cost_usd"] == _price(
        "claude-sonnet-4-5", "anthropic", _when(claude_cached), input_tokens=79, output_tokens=20,
        cache_read_tokens=32, cache_write_tokens=16)

    errors = [r for r in rows if r["status"] == "error"]
    assert {r["provider"] for r in errors} == {"openai", "anthropic"}
    for row in errors:
        assert row["error_type"] in ("openai.BadRequestError", "invalid_request_error")
        assert row["cost_usd"] == "0.000000" and row["cost_source"] == "recorded"
        assert row["customer_id"] == "cust_0042"
    assert exporter.stats.rows_written == 6 and exporter.stats.unattributed == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_attribution_follows_asyncio_tasks_and_threads_and_nests(metered):
    fake, provider, exporter, csv_path, oc, ac = metered
    aoc = openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="test", max_retries=0)

    async def ask(customer: str) -> None:
        with finops.attribute(customer_id=customer):
            await aoc.chat.completions.create(model="gpt-4o",
                                              messages=[{"role": "user", "content": customer}])

    async def main() -> None:
        with finops.attribute(**ATTRIBUTION):
            await asyncio.gather(*(asyncio.create_task(ask(f"cust_async_{n}")) for n in range(3)))

    asyncio.run(main())

    with finops.attribute(**ATTRIBUTION):
        with finops.attribute(feature_id="nested_feature"):
            context = contextvars.copy_context()
            thread = threading.Thread(target=context.run, args=(
                lambda: oc.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "from a thread"}]),))
            thread.start()
            thread.join()
        oc.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "outer"}])
    oc.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "no context"}])
    assert provider.force_flush()

    rows = read_rows(csv_path)
    assert len(rows) == 6
    customers = sorted(r["customer_id"] for r in rows)
    assert customers == ["cust_0042", "cust_0042", "cust_async_0", "cust_async_1",
                         "cust_async_2", "unattributed"]
    for row in rows:
        if row["customer_id"].startswith("cust_async"):
            assert row["organization_id"] == "org_007"  # the parent's, not overridden
    features = sorted(r["feature_id"] for r in rows if r["customer_id"] == "cust_0042")
    assert features == ["nested_feature", "support_bot"]
    outside = next(r for r in rows if r["customer_id"] == "unattributed")
    assert (outside["organization_id"], outside["subscription_tier"], outside["task_type"]) == \
        ("unattributed", "starter", "chat")
    assert exporter.stats.unattributed == 1


def test_unknown_tier_is_a_value_error_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: starter, pro, enterprise"):
        with finops.attribute(subscription_tier="gold"):
            pass
    with pytest.raises(ValueError, match="environment"):
        with finops.attribute(environment="prod-eu"):
            pass
    with pytest.raises(TypeError, match="unknown field 'customer'"):
        with finops.attribute(customer="x"):
            pass
    with finops.attribute(customer_id="a"):
        with pytest.raises(ValueError):
            with finops.attribute(customer_id="  "):
                pass
        assert finops.current_attribution()["customer_id"] == "a"
    assert dict(finops.current_attribution()) == {}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_otlp_file_of_the_same_spans_imports_to_the_exporters_rows(metered, tmp_path):
    json_file = pytest.importorskip("opentelemetry.exporter.otlp.json.file")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from finops.engine.importers import import_calls

    fake, provider, exporter, csv_path, oc, ac = metered
    otlp = tmp_path / "spans.jsonl"
    provider.add_span_processor(SimpleSpanProcessor(json_file.FileSpanExporter(otlp)))
    with finops.attribute(**ATTRIBUTION):
        oc.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": LONG}])
        ac.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                           messages=[{"role": "user", "content": LONG + " cache this"}])
    oc.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "untagged"}])
    provider.force_flush()

    imported = tmp_path / "imported.csv"
    defaults = {k: v for k, v in finops.otel.DEFAULT_ATTRIBUTION.items()}
    summary = import_calls("otel", [otlp], imported, settings=defaults)
    assert (summary.imported, summary.rejected) == (3, 0)
    assert imported.read_bytes() == csv_path.read_bytes()
    # and into the exporter's own file: every call is already there
    again = import_calls("otel", [otlp], csv_path, settings=defaults)
    assert (again.imported, again.already_present) == (0, 3)


def test_baggage_carries_attribution_across_services_and_a_foreign_header_is_refused(
        tmp_path, calls_csv):
    from opentelemetry import baggage, context

    from finops.engine.calls_writer import HeaderMismatchError

    provider = TracerProvider()
    exporter = finops.otel.setup(tmp_path / "calls.csv", tracer_provider=provider)
    tracer = provider.get_tracer("svc")
    ctx = baggage.set_baggage("finops.customer_id", "cust_from_upstream")
    ctx = baggage.set_baggage("finops.feature_id", "search", context=ctx)
    token = context.attach(ctx)
    try:
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                                 "gen_ai.request.model": "gpt-4o",
                                 "gen_ai.usage.input_tokens": 10,
                                 "gen_ai.usage.output_tokens": 2})
        with tracer.start_as_current_span("SELECT calls"):
            pass  # not GenAI: ignored
    finally:
        context.detach(token)
    provider.shutdown()
    (row,) = read_rows(tmp_path / "calls.csv")
    assert (row["customer_id"], row["feature_id"], row["organization_id"]) == \
        ("cust_from_upstream", "search", "unattributed")
    assert exporter.stats.spans_ignored == 1

    with pytest.raises(HeaderMismatchError, match="another header"):
        finops.otel.setup(calls_csv([{}]), tracer_provider=TracerProvider())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_openllmetry_anthropic_instrumentation_and_a_call_traced_twice(tmp_path):
    """A third real instrumentation (older spellings: cache_creation), also on top of the
    Anthropic SDK's own tracing: two spans for one call, one row."""
    traceloop = pytest.importorskip("opentelemetry.instrumentation.anthropic")
    csv_path = tmp_path / "calls.csv"
    provider = TracerProvider()
    exporter = finops.otel.setup(csv_path, tracer_provider=provider)
    instrumentor = traceloop.AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with FakeProvider() as fake:
            # the SDK's own tracing stays on: each call gets two GenAI spans
            ac = anthropic.Anthropic(base_url=fake.url, api_key="test", max_retries=0,
                                     open_telemetry={"tracer_provider": provider})
            with finops.attribute(**ATTRIBUTION):
                ac.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                   messages=[{"role": "user", "content": LONG + " cache this"}])
                ac.messages.create(model="claude-sonnet-4-5", max_tokens=64,
                                   messages=[{"role": "user", "content": "hello"}])
            answers = [a for a in fake.answers if a["id"]]
        provider.force_flush()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
    rows = read_rows(csv_path)
    assert len(rows) == 2 and exporter.stats.spans_duplicate == 2
    by_request = {r["request_id"]: r for r in rows}
    for answer in answers:
        row = by_request[answer["id"]]
        u = answer["usage"]
        assert (int(row["input_tokens"]), int(row["output_tokens"]),
                int(row["cache_read_input_tokens"]), int(row["cache_write_input_tokens"])) == \
            (u["input"], u["output"], u["cached"], u["cache_write"])
        assert row["customer_id"] == "cust_0042" and row["cost_source"] == "list_price"
