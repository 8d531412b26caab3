"""One writer process of the concurrency test: N GenAI spans through finops.otel into one file.

Usage: python span_writer_worker.py CSV WORKER_ID SPANS
"""

from __future__ import annotations

import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import finops
import finops.otel


def main() -> None:
    csv_path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    provider = TracerProvider()
    # Small batches so the writers interleave often; a queue that holds every
    # span, since this loop makes them faster than any exporter writes (the
    # SDK's batch processor drops spans past max_queue_size, by design).
    exporter = finops.otel.setup(csv_path, tracer_provider=provider, max_export_batch_size=64,
                                 schedule_delay_millis=5, max_queue_size=count + 64)
    tracer = provider.get_tracer("concurrency-test")
    with finops.attribute(customer_id=f"cust_{worker}", organization_id="org_1",
                          subscription_tier="pro", product_id="p", feature_id="f"):
        for n in range(count):
            with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
                span.set_attributes({
                    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o", "gen_ai.response.id": f"w{worker}-{n}",
                    "gen_ai.usage.input_tokens": 100 + n % 50, "gen_ai.usage.output_tokens": 20,
                    "gen_ai.usage.cost": 0.001})
            if n % 500 == 0:
                # a non-GenAI span in between: ignored
                with tracer.start_as_current_span("db.query"):
                    pass
    provider.shutdown()  # flushes
    stats = exporter.stats
    print(f"{stats.rows_written} {stats.rows_dropped} {stats.write_failures} {stats.spans_ignored}")


if __name__ == "__main__":
    main()
