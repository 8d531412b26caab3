"""finops.otel and `finops import otel`: exporter throughput, time added to the app thread, OTLP import.

    .venv/bin/python bench/bench_otel.py [--import-mb 100,300] [--import-only]

1. Exporter throughput: FinopsSpanExporter.export() on batches of 512
   finished GenAI spans (mapping + pricing + one locked append per batch),
   spans with a recorded cost and spans priced from genai-prices.
2. Time added to the application thread per call: a span started and ended
   inside `finops.attribute(...)` with finops.otel set up (attribution
   processor + BatchSpanProcessor + exporter) against the same span on a
   bare SDK provider whose BatchSpanProcessor feeds a do-nothing exporter.
3. `finops import otel` of an OTLP JSON lines file generated on the fly
   (100 spans per line, a third of them not GenAI), wall time and peak RSS
   of the child process per size: flat memory shows as the same peak RSS.
Figures are noisy on a shared machine: each is the best of a few runs.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, machine, timed_finops  # noqa: E402

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (BatchSpanProcessor, SpanExporter,  # noqa: E402
                                            SpanExportResult)
from opentelemetry.trace import SpanKind  # noqa: E402

import finops  # noqa: E402
import finops.otel  # noqa: E402

ATTRS = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
         "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-08-06",
         "gen_ai.usage.input_tokens": 812, "gen_ai.usage.output_tokens": 143,
         "gen_ai.response.id": "chatcmpl-x"}
WHO = dict(customer_id="cust_0042", organization_id="org_007", subscription_tier="pro",
           product_id="product_a", feature_id="chat", environment="production")


def finished_spans(n: int, recorded_cost: bool) -> list:
    provider = TracerProvider()
    provider.add_span_processor(finops.otel.FinopsAttributionProcessor())
    tracer = provider.get_tracer("bench")
    spans = []
    with finops.attribute(**WHO):
        for i in range(n):
            with tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
                span.set_attributes({**ATTRS, "gen_ai.usage.input_tokens": 500 + i % 900,
                                     "gen_ai.response.id": f"chatcmpl-{i}"})
                if recorded_cost:
                    span.set_attribute("gen_ai.usage.cost", 0.000412)
            spans.append(span)
    return spans


def exporter_throughput(tmp: Path) -> None:
    for recorded in (True, False):
        batches = 40
        spans = finished_spans(512 * batches, recorded)  # distinct response ids: no duplicates
        best = 0.0
        for attempt in range(3):
            path = tmp / f"export_{recorded}_{attempt}.csv"
            exporter = finops.otel.FinopsSpanExporter(path)
            t0 = time.perf_counter()
            for b in range(batches):
                exporter.export(spans[b * 512:(b + 1) * 512])
            seconds = time.perf_counter() - t0
            assert exporter.stats.rows_written == 512 * batches
            best = max(best, 512 * batches / seconds)
        kind = "recorded cost attribute" if recorded else "list price (genai-prices)"
        print(f"exporter throughput, {kind}: {best:,.0f} spans/s "
              f"(512-span batches, one locked append each)")


class _Discard(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def app_thread_cost(tmp: Path) -> None:
    """What finops adds on the app thread: the attribution processor's on_start per span.

    Two ways: on_start timed alone on a live span, and whole spans on an SDK
    provider with and without the processor (both exporting to a do-nothing
    exporter, so the export thread does not compete for the GIL), each the
    best of 5 interleaved runs. The export itself (1 / the throughput above)
    runs on the batch processor's thread.
    """
    n = 20000
    processor = finops.otel.FinopsAttributionProcessor()
    tracer = TracerProvider().get_tracer("bench")
    span = tracer.start_span("chat", kind=SpanKind.CLIENT)
    best_on_start = float("inf")
    with finops.attribute(**WHO):
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                processor.on_start(span)
            best_on_start = min(best_on_start, (time.perf_counter() - t0) / n * 1e6)
    span.end()

    def provider(with_finops: bool) -> TracerProvider:
        p = TracerProvider()
        if with_finops:
            p.add_span_processor(finops.otel.FinopsAttributionProcessor())
        p.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=n * 8))
        return p

    def run(p: TracerProvider) -> float:
        t = p.get_tracer("bench")
        t0 = time.perf_counter()
        with finops.attribute(**WHO):
            for _ in range(n):
                with t.start_as_current_span("chat", kind=SpanKind.CLIENT) as s:
                    s.set_attributes(ATTRS)
        seconds = (time.perf_counter() - t0) / n * 1e6
        p.force_flush()
        return seconds

    bare, metered = provider(False), provider(True)
    base = with_finops = float("inf")
    for _ in range(5):
        base = min(base, run(bare))
        with_finops = min(with_finops, run(metered))
    bare.shutdown()
    metered.shutdown()
    print(f"app thread per call: attribution processor on_start {best_on_start:.1f} us; "
          f"a whole span {base:.1f} us on the bare SDK, {with_finops:.1f} us with the processor "
          f"(+{with_finops - base:.1f} us; noisy)")


def otlp_file(path: Path, mb: float) -> tuple[int, int]:
    """Write about `mb` MB of OTLP JSON lines; (spans, GenAI spans) in it."""
    target = int(mb * 1e6)
    written, genai, line_no = 0, 0, 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < target:
            spans = []
            for k in range(100):
                n = line_no * 100 + k
                attrs = [{"key": "http.route", "value": {"stringValue": "/v1/chat"}}]
                if k % 3:
                    genai += 1
                    attrs = [
                        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                        {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
                        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(300 + n % 700)}},
                        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "120"}},
                        {"key": "gen_ai.usage.cost", "value": {"doubleValue": 0.000123}},
                        {"key": "finops.customer_id", "value": {"stringValue": f"cust_{n % 500}"}},
                    ]
                start = 1762000000000000000 + n * 1000000
                spans.append({"traceId": f"{n // 4:032x}", "spanId": f"{n + 1:016x}",
                              "name": "chat gpt-4o-mini", "kind": 3,
                              "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 4e8),
                              "attributes": attrs, "status": {}})
            line = json.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [
                {"scope": {"name": "bench"}, "spans": spans}]}]})
            fh.write(line + "\n")
            written += len(line) + 1
            line_no += 1
    return line_no * 100, genai


def import_benchmark(tmp: Path, sizes: list[float]) -> None:
    for mb in sizes:
        source = tmp / f"otlp_{mb:g}mb.jsonl"
        spans, genai = otlp_file(source, mb)
        target = tmp / f"imported_{mb:g}mb.csv"
        target.unlink(missing_ok=True)
        seconds, rss = timed_finops("import", "otel", str(source), "--csv", str(target), "-q",
                                    "--set", "organization_id=org_1", "--set", "subscription_tier=pro",
                                    "--set", "product_id=p", "--set", "feature_id=f",
                                    "--set", "environment=production")
        rows = sum(1 for _ in open(target, "rb")) - 1
        assert rows == genai, (rows, genai)
        print(f"import otel {source.stat().st_size / 1e6:,.0f} MB ({genai:,} GenAI spans of "
              f"{spans:,}): {seconds:.1f} s, {source.stat().st_size / 1e6 / seconds:.1f} MB/s, "
              f"peak RSS {rss:.0f} MB")
        source.unlink()
        target.unlink()


def main() -> None:
    sizes = [100.0, 200.0]
    if "--import-mb" in sys.argv:
        sizes = [float(x) for x in sys.argv[sys.argv.index("--import-mb") + 1].split(",")]
    print(machine())
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        tmp = Path(tmp)
        if "--import-only" not in sys.argv:
            exporter_throughput(tmp)
            app_thread_cost(tmp)
        import_benchmark(tmp, sizes)


if __name__ == "__main__":
    main()
