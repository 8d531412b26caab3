"""finops.otel: meter an application's OpenTelemetry GenAI spans into a calls CSV.

Three lines in an application that already has (or adds) a GenAI
instrumentation:

    import finops.otel
    finops.otel.setup("data/calls.csv")           # SDK tracer provider + batch processor + exporter
    OpenAIInstrumentor().instrument()             # any GenAI instrumentation

Each GenAI client span becomes one contract row (see finops.engine.genai_spans
for the mapping) appended to the CSV, which `finops serve --csv` then reads.

What this module promises the application:
- the exporter runs on the SDK's BatchSpanProcessor thread, never on the
  application's: the app thread only pays for the attribution processor's
  `on_start` (copying the finops.attribute values onto the span) and the
  batch processor's enqueue;
- it never raises into the application: a span that cannot be mapped, or a
  write that fails (disk full, lock timeout), is logged and counted in
  `exporter.stats`; rows that could not be written wait in a bounded buffer
  (`max_pending_rows`, oldest dropped and counted beyond it) and are retried
  with the next batch;
- `shutdown()` (called by the SDK at exit) flushes what is buffered;
- a target file with another header is refused at setup, with a clear error.

Requires the `otel` extra: pip install 'finops[otel]'.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

try:
    from opentelemetry import baggage as _baggage
    from opentelemetry import trace as _trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import StatusCode
except ImportError as exc:  # pragma: no cover - exercised by the packaging test
    raise ImportError("finops.otel needs the OpenTelemetry SDK: pip install 'finops[otel]'") from exc

from finops.engine import genai_spans
from finops.engine.calls_writer import CallsWriter

from .attribution import ATTRIBUTION_FIELDS, check_attribution, current_attribution

log = logging.getLogger("finops.otel")

# What a span outside any finops.attribute block is recorded as. The
# reports count customer_id = 'unattributed' as unattributed spend.
UNATTRIBUTED = "unattributed"
DEFAULT_ATTRIBUTION = {
    "customer_id": UNATTRIBUTED,
    "organization_id": UNATTRIBUTED,
    "subscription_tier": "starter",
    "product_id": UNATTRIBUTED,
    "feature_id": UNATTRIBUTED,
    "environment": "production",
    # task_type: the span's gen_ai.operation.name (chat, embeddings, ...)
}

_ATTRIBUTE_KEYS = tuple(genai_spans.ATTRIBUTE_PREFIX + f for f in ATTRIBUTION_FIELDS)
_CARRIED_KEYS = _ATTRIBUTE_KEYS + (genai_spans.ATTRIBUTE_PREFIX + "session_id",)


class FinopsAttributionProcessor(SpanProcessor):
    """Copies the finops.attribute values in force (or finops.* baggage) onto each span at start."""

    def on_start(self, span, parent_context=None) -> None:
        try:
            values = current_attribution()
            if values:
                span.set_attributes({genai_spans.ATTRIBUTE_PREFIX + k: v for k, v in values.items()})
                return
            carried = _baggage.get_all(parent_context)
            if carried:
                found = {k: str(v) for k, v in carried.items() if k in _CARRIED_KEYS}
                if found:
                    span.set_attributes(found)
        except Exception:  # never into the application
            log.debug("finops attribution not set on a span", exc_info=True)

    def on_end(self, span) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class ExportStats:
    """Counters a caller (or a test) can read; also logged at shutdown."""

    spans_seen: int = 0
    spans_ignored: int = 0          # not GenAI model calls
    spans_duplicate: int = 0        # the same call traced twice (same provider and response id)
    spans_failed: int = 0           # could not be mapped (logged)
    rows_written: int = 0
    unattributed: int = 0           # written without a customer (the default, 'unattributed')
    unpriced: int = 0
    write_failures: int = 0
    rows_dropped: int = 0           # lost: buffer full, or still unwritten at shutdown
    priced_as: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class FinopsSpanExporter(SpanExporter):
    """A SpanExporter (for the SDK's BatchSpanProcessor) appending one contract row per GenAI span."""

    def __init__(self, csv_path, *, defaults: Mapping[str, str] | None = None,
                 max_pending_rows: int = 100_000) -> None:
        # A lock held elsewhere for longer than this fails the write (counted,
        # rows kept to retry) rather than stalling the exporter, or the app's exit.
        self.writer = CallsWriter(csv_path, lock_timeout=10.0)
        self.writer.check_target()  # another header: refused now, at setup
        self.defaults = {**DEFAULT_ATTRIBUTION, **check_attribution(defaults or {})}
        self.max_pending_rows = max_pending_rows
        self.stats = ExportStats()
        self._pricing = genai_spans.PricingLog()
        self._pending: deque[dict] = deque()
        self._lock = threading.Lock()
        self._closed = False
        self._last_resource: tuple[object, dict] = (None, {})
        self._seen = genai_spans.SeenResponses()

    # -- SpanExporter ------------------------------------------------------

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            rows = []
            for span in spans:
                self.stats.spans_seen += 1
                try:
                    row = self._row(span)
                except Exception:
                    self.stats.spans_failed += 1
                    log.warning("finops: could not map span %r", getattr(span, "name", "?"),
                                exc_info=True)
                    continue
                if row is None:
                    self.stats.spans_ignored += 1
                elif self._seen.repeated(row):
                    self.stats.spans_duplicate += 1
                else:
                    rows.append(row)
            with self._lock:
                if self._closed:
                    self.stats.rows_dropped += len(rows)
                    return SpanExportResult.FAILURE
                self._pending.extend(rows)
                if self._flush_locked():
                    return SpanExportResult.SUCCESS
                # The write failed: keep at most max_pending_rows (the newest) to retry.
                overflow = len(self._pending) - self.max_pending_rows
                if overflow > 0:
                    for _ in range(overflow):
                        self._pending.popleft()
                    self.stats.rows_dropped += overflow
                    log.error("finops: %d rows dropped: the write buffer is full (%d rows) "
                              "because %s cannot be written", overflow, self.max_pending_rows,
                              self.writer.path)
                return SpanExportResult.FAILURE
        except Exception:
            log.exception("finops: export failed")
            return SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            with self._lock:
                return self._flush_locked()
        except Exception:
            log.exception("finops: flush failed")
            return False

    def shutdown(self) -> None:
        try:
            with self._lock:
                self._flush_locked()
                if self._pending:
                    self.stats.rows_dropped += len(self._pending)
                    log.error("finops: %d rows not written to %s at shutdown",
                              len(self._pending), self.writer.path)
                    self._pending.clear()
                self._closed = True
            self.stats.priced_as = {m: p for m, p in self._pricing.priced_as.items() if m != p}
            log.info("finops: %s", self.stats.as_dict())
        except Exception:
            log.exception("finops: shutdown failed")

    # -- internals ---------------------------------------------------------

    def _flush_locked(self) -> bool:
        if not self._pending:
            return True
        batch = list(self._pending)
        try:
            self.writer.append(batch)
        except Exception as exc:
            self.stats.write_failures += 1
            log.warning("finops: could not append %d rows to %s (%s); kept to retry",
                        len(batch), self.writer.path, exc)
            return False
        self._pending.clear()
        self.stats.rows_written += len(batch)
        return True

    def _resource_attributes(self, resource) -> dict:
        if resource is None:
            return {}
        if resource is not self._last_resource[0]:
            self._last_resource = (resource, dict(resource.attributes))
        return self._last_resource[1]

    def _row(self, span: ReadableSpan) -> dict | None:
        # One plain copy: the SDK's attribute mapping takes a lock on every read.
        attributes = dict(span.attributes or {})
        if not genai_spans.is_genai_call(attributes):
            return None
        context = span.context
        error_status = None
        if span.status is not None and span.status.status_code is StatusCode.ERROR:
            error_status = span.status.description or "error"
        scope = span.instrumentation_scope
        scope_name = None
        if scope is not None and scope.name:
            scope_name = f"{scope.name}/{scope.version}" if scope.version else scope.name
        resource = self._resource_attributes(span.resource)
        if not attributes.get(genai_spans.ATTRIBUTE_PREFIX + "customer_id"):
            self.stats.unattributed += 1  # no customer: the default one is written
        row = genai_spans.row_from_span(
            attributes,
            trace_id=format(context.trace_id, "032x"),
            span_id=format(context.span_id, "016x"),
            start=genai_spans.from_unix_nanos(span.start_time),
            end=genai_spans.from_unix_nanos(span.end_time or span.start_time),
            error_status=error_status, resource=resource, scope=scope_name,
            defaults=self.defaults, pricing_log=self._pricing,
            duration_ns=(span.end_time - span.start_time) if span.end_time else None)
        if row["cost_source"] == "unpriced":
            self.stats.unpriced += 1
            if self._pricing.unpriced.get(row["model"]) == 1:
                log.warning("finops: no list price for %s %s: written as unpriced",
                            row["provider"], row["model"])
        elif row["model"] in self._pricing.priced_as and \
                self._pricing.priced_as[row["model"]] != row["model"] and \
                row["model"] not in self.stats.priced_as:
            self.stats.priced_as[row["model"]] = self._pricing.priced_as[row["model"]]
            log.info("finops: priced %s as %s", row["model"], self._pricing.priced_as[row["model"]])
        return row


def setup(csv_path, *, defaults: Mapping[str, str] | None = None,
          tracer_provider: TracerProvider | None = None, **batch_options) -> FinopsSpanExporter:
    """Meter GenAI spans into csv_path: returns the exporter (its .stats count what happened).

    Adds the attribution processor and a BatchSpanProcessor with the finops
    exporter to tracer_provider, or to the global SDK provider (created and
    set if the app has none yet). batch_options go to BatchSpanProcessor
    (max_queue_size, schedule_delay_millis, ...). defaults: the attribution
    of spans outside any finops.attribute block.
    """
    provider = tracer_provider or _trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        _trace.set_tracer_provider(provider)
    exporter = FinopsSpanExporter(csv_path, defaults=defaults)
    provider.add_span_processor(FinopsAttributionProcessor())
    provider.add_span_processor(BatchSpanProcessor(exporter, **batch_options))
    return exporter


__all__ = ["DEFAULT_ATTRIBUTION", "UNATTRIBUTED", "ExportStats", "FinopsAttributionProcessor",
           "FinopsSpanExporter", "setup"]
