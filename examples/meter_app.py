"""A small helpdesk "agent" whose model calls you can watch arrive in `finops serve`.

It makes real calls with the real openai and anthropic SDKs against the fake
provider in this folder (127.0.0.1, no API key, no network), traced by real
OpenTelemetry instrumentations and metered by finops.otel:

    pip install 'finops[otel]' opentelemetry-instrumentation-openai-v2 \
        'opentelemetry-util-genai<=1.1b0' httpx openai anthropic
    python examples/meter_app.py --csv data/app_calls.csv --runs 200 &
    finops serve --csv data/app_calls.csv        # open http://127.0.0.1:8000/

Each run is one trace (an `invoke_agent` span around 1-6 model calls) for
one customer, tagged with finops.attribute; one run in ten is made outside
any attribution block and shows up as unattributed spend.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import anthropic  # noqa: E402
import openai  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402

import finops  # noqa: E402
import finops.otel  # noqa: E402

CUSTOMERS = [
    {"customer_id": f"cust_{n:03d}", "organization_id": f"org_{n % 4 + 1:02d}",
     "subscription_tier": ("starter", "pro", "enterprise")[n % 3]}
    for n in range(1, 13)
]
FEATURES = {"triage": ("gpt-4o-mini", 1, 2), "answer": ("gpt-4o", 2, 4),
            "research": ("claude-sonnet-4-5", 3, 6)}


def one_run(oc, ac, tracer, rng: random.Random, run: int) -> None:
    feature = rng.choice(list(FEATURES))
    model, low, high = FEATURES[feature]
    with finops.attribute(feature_id=feature, task_type="support"), \
            tracer.start_as_current_span(f"invoke_agent {feature}",
                                         attributes={"gen_ai.operation.name": "invoke_agent"}):
        for step in range(rng.randint(low, high)):
            question = " ".join(["word"] * rng.randint(3, 40)) + f" step {step}"
            if model.startswith("claude"):
                ac.messages.create(model=model, max_tokens=256,
                                   messages=[{"role": "user", "content": question}])
            elif rng.random() < 0.3:
                stream = oc.chat.completions.create(
                    model=model, stream=True, stream_options={"include_usage": True},
                    messages=[{"role": "user", "content": question}])
                for _ in stream:
                    pass
            else:
                oc.chat.completions.create(model=model,
                                           messages=[{"role": "user", "content": question}])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default="data/app_calls.csv", help="calls file to append to")
    parser.add_argument("--runs", type=int, default=50, help="agent runs to make")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between runs")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    # The three lines that meter an app (the Anthropic SDK traces by itself):
    exporter = finops.otel.setup(args.csv, schedule_delay_millis=500)
    OpenAIInstrumentor().instrument()
    tracer = trace.get_tracer("examples.meter_app")

    rng = random.Random(args.seed)
    with FakeProvider(delay=0.02) as fake:
        oc = openai.OpenAI(base_url=fake.url + "/v1", api_key="fake", max_retries=0)
        ac = anthropic.Anthropic(base_url=fake.url, api_key="fake", max_retries=0)
        for run in range(args.runs):
            if run % 10 == 9:
                one_run(oc, ac, tracer, rng, run)  # forgot to attribute: unattributed
            else:
                customer = rng.choice(CUSTOMERS)
                with finops.attribute(**customer, product_id="helpdesk", environment="production",
                                      session_id=f"sess_{customer['customer_id']}_{run // 5}"):
                    one_run(oc, ac, tracer, rng, run)
            time.sleep(args.pause)
    trace.get_tracer_provider().shutdown()  # flush what is buffered
    stats = exporter.stats
    print(f"{stats.rows_written} calls metered into {args.csv} "
          f"({stats.unattributed} unattributed, {stats.unpriced} unpriced)")


if __name__ == "__main__":
    main()
