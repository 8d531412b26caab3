"""`finops import FORMAT FILE...`: logs people already have, appended as contract rows.

Formats (the field mapping of each is a table in docs/importers.md):

- `otel`: OTLP JSON lines (TracesData per line) as written by the
  OpenTelemetry Collector's file exporter and opentelemetry-exporter-otlp-json-file;
  the span mapping is the exporter's (engine/genai_spans.py);
- `litellm`: the LiteLLM proxy's spend logs (LiteLLM_SpendLogs) as CSV or JSON;
- `langfuse`: Langfuse observations exported as JSON (GENERATION ones).

Attribution a source lacks comes from `--customers` (customer_id ->
organization_id, subscription_tier, ...) and then `--set KEY=VALUE`
defaults; a record still lacking a required field is rejected with its
file, line and reason. Records are streamed (OTLP line by line) into a file
written aside; then, holding the target's lock, DuckDB drops the call_ids
the target already has (and repeats within the import) and the rest is
appended as one block. Nothing reaches the target before every file was
read: an import is all or nothing, and importing the same file twice adds
nothing. Memory stays flat: Python holds one record at a time and DuckDB
spills past its memory cap.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from . import genai_spans, list_prices
from .calls_writer import CallsWriter, format_rows
from .errors import FinopsError, duckdb_message
from .reference import ENVIRONMENTS, subscription_tiers, written_header

FORMATS = ("otel", "litellm", "langfuse")
ATTRIBUTION_FIELDS = genai_spans.ATTRIBUTION_FIELDS
# Columns --set may give a default for.
SETTABLE = ATTRIBUTION_FIELDS + ("provider", "session_id", "user_agent")
REQUIRED = ("timestamp", "call_id", "provider", "model") + ATTRIBUTION_FIELDS
_REJECT_SAMPLES = 5
IMPORT_MEMORY_LIMIT = "256MB"


@dataclass
class ImportSummary:
    target: str
    files: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    ignored: int = 0
    unpriced: int = 0
    reject_samples: list[str] = field(default_factory=list)
    priced_as: dict[str, str] = field(default_factory=dict)
    unpriced_models: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        text = (f"imported {self.imported:,} call{'' if self.imported == 1 else 's'} into {self.target}; "
                f"{self.already_present:,} already present; {self.rejected:,} rejected")
        if self.reject_samples:
            text += " (first: " + "; ".join(self.reject_samples[:3]) + ")"
        if self.ignored:
            text += f"; {self.ignored:,} records ignored (not model calls)"
        if self.unpriced:
            models = ", ".join(sorted(self.unpriced_models)[:3])
            text += f"; {self.unpriced:,} unpriced (no list price for {models})"
        return text


class _Reject(Exception):
    """A record that cannot become a row; its message is the reason."""


# --- values -----------------------------------------------------------------

def _int(value, name: str) -> int | None:
    if type(value) is int:
        if value < 0:
            raise _Reject(f"{name} is not a whole non-negative number: {value}")
        return value
    if value is None or value == "":
        return None
    if type(value) is str and value.isdigit():
        return int(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _Reject(f"{name} is not a number: {str(value)[:40]}") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise _Reject(f"{name} is not a whole non-negative number: {str(value)[:40]}")
    return int(number)


def _amount(value, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _Reject(f"{name} is not an amount: {str(value)[:40]}") from None
    if not number.is_finite() or number < 0:
        raise _Reject(f"{name} is not a non-negative amount: {str(value)[:40]}")
    return number.quantize(list_prices.SIX_PLACES)


def _time(value, name: str) -> datetime | None:
    """ISO 8601 (Z or offset: converted to UTC; none: UTC), or epoch seconds/milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    text = str(value).strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Reject(f"{name} is not an ISO 8601 time: {text[:40]}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _json_object(value) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _first(*values):
    for value in values:
        if value not in (None, ""):
            return value
    return None


def _latency(start: datetime, end: datetime | None, duration_ms) -> int:
    if duration_ms not in (None, ""):
        try:
            return max(1, round(float(duration_ms)))
        except (TypeError, ValueError):
            raise _Reject(f"request duration is not a number: {duration_ms}") from None
    if end is None:
        raise _Reject("no end time or duration: latency unknown")
    return max(1, round((end - start).total_seconds() * 1000))


# --- OTLP JSON ----------------------------------------------------------------

def _any_value(value):
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        raw = value["intValue"]
        try:
            return int(raw)
        except (TypeError, ValueError):
            return raw
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            return value["doubleValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return {kv.get("key"): _any_value(kv.get("value"))
                for kv in (value["kvlistValue"] or {}).get("values") or []}
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items) -> dict:
    out = {}
    for item in items or ():
        try:
            key, value = item["key"], item.get("value")
        except (TypeError, KeyError, AttributeError):
            continue
        # the common cases inline: this runs for every attribute of every span
        if type(value) is dict and len(value) == 1:
            if "stringValue" in value:
                out[key] = value["stringValue"]
                continue
            if "intValue" in value:
                raw = value["intValue"]
                if type(raw) is int:
                    out[key] = raw
                    continue
                if type(raw) is str and raw.isdigit():
                    out[key] = int(raw)
                    continue
        out[key] = _any_value(value)
    return out


def _hex_id(value, length: int) -> str:
    """OTLP JSON ids are hex; protobuf-JSON writers that use base64 are accepted too."""
    text = str(value or "")
    if len(text) == length:
        try:
            int(text, 16)
            return text.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text
    return raw.hex() if len(raw) * 2 == length else text


def read_otlp(path: Path, context: _Context) -> Iterator[tuple[str, object, str]]:
    seen = genai_spans.SeenResponses()  # one call traced by two instrumentations: one row
    for kind, payload, where in _read_otlp(path, context):
        if kind == "row" and seen.repeated(payload):
            yield "ignored", None, where
            continue
        yield kind, payload, where


def _read_otlp(path: Path, context: _Context) -> Iterator[tuple[str, object, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                doc = json.loads(line)
            except ValueError:
                yield "reject", "not a JSON object (OTLP JSON lines: one TracesData per line)", where
                continue
            if not isinstance(doc, dict):
                yield "reject", "not a JSON object", where
                continue
            for resource_spans in doc.get("resourceSpans") or []:
                resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
                scopes = (resource_spans.get("scopeSpans")
                          or resource_spans.get("instrumentationLibrarySpans") or [])
                for scope_spans in scopes:
                    scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
                    scope_name = scope.get("name")
                    if scope_name and scope.get("version"):
                        scope_name = f"{scope_name}/{scope['version']}"
                    for span in scope_spans.get("spans") or []:
                        yield from _otlp_span(span, resource, scope_name, where, context)


def _otlp_span(span: dict, resource: dict, scope_name, where: str, context: _Context):
    attributes = _attributes(span.get("attributes"))
    if not genai_spans.is_genai_call(attributes):
        yield "ignored", None, where
        return
    where = f"{where} span {span.get('name', '?')!s:.40}"
    try:
        start_ns = _int(span.get("startTimeUnixNano"), "startTimeUnixNano")
        end_ns = _int(span.get("endTimeUnixNano"), "endTimeUnixNano")
        if not start_ns:
            raise _Reject("span has no startTimeUnixNano")
        span_id = _hex_id(span.get("spanId"), 16)
        if not span_id:
            raise _Reject("span has no spanId")
        status = span.get("status") or {}
        code = status.get("code")
        error_status = None
        if code in (2, "2", "STATUS_CODE_ERROR"):
            error_status = status.get("message") or "error"
        start = genai_spans.from_unix_nanos(start_ns)
        end = genai_spans.from_unix_nanos(end_ns) if end_ns else start
        row = genai_spans.row_from_span(
            attributes, trace_id=_hex_id(span.get("traceId"), 32), span_id=span_id,
            start=start, end=end, error_status=error_status, resource=resource,
            scope=scope_name or "otlp", pricing_log=context.pricing,
            duration_ns=(end_ns - start_ns) if end_ns else None,
            defaults={"task_type": context.defaults["task_type"]}
            if context.defaults.get("task_type") else None)
    except _Reject as exc:
        yield "reject", str(exc), where
        return
    yield "row", row, where


# --- LiteLLM spend logs ---------------------------------------------------------

def _records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line or index, record) from a JSON array, {"data": [...]}, or JSON lines."""
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        head = fh.read(4096)
        fh.seek(0)
        stripped = head.lstrip()
        if stripped.startswith("{"):
            first_line = fh.readline()
            try:
                first = json.loads(first_line)
                lines_mode = isinstance(first, dict)
            except ValueError:
                lines_mode = False
            fh.seek(0)
            if lines_mode:
                for lineno, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError:
                        yield lineno, {"__error__": "not a JSON object"}
                        continue
                    if isinstance(record, dict) and isinstance(record.get("data"), list):
                        for n, item in enumerate(record["data"], start=1):
                            yield lineno, item
                    else:
                        yield lineno, record
                return
        try:
            doc = json.load(fh)
        except ValueError as exc:
            raise FinopsError(f"{path}: not JSON ({exc}); export the logs as JSON or CSV") from None
    if isinstance(doc, dict):
        for key in ("data", "logs", "observations", "items", "results"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise FinopsError(f"{path}: expected a JSON array of records")
    for index, record in enumerate(doc, start=1):
        yield index, record


def _is_csv(path: Path) -> bool:
    if path.suffix.lower() == ".csv":
        return True
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        return not fh.read(256).lstrip().startswith(("[", "{"))


def read_litellm(path: Path, context: _Context) -> Iterator[tuple[str, object, str]]:
    if _is_csv(path):
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "request_id" not in reader.fieldnames:
                raise FinopsError(f"{path}: not a LiteLLM spend log CSV (no request_id column); "
                                  "export LiteLLM_SpendLogs with its column names")
            for record in reader:
                where = f"{path.name}:{reader.line_num}"
                yield _one(where, lambda r=record: _litellm_row(r, context))
        return
    for index, record in _records(path):
        where = f"{path.name}:{index}"
        yield _one(where, lambda r=record: _litellm_row(r, context))


def _one(where: str, make: Callable[[], dict | None]) -> tuple[str, object, str]:
    try:
        row = make()
    except _Reject as exc:
        return "reject", str(exc), where
    if row is None:
        return "ignored", None, where
    return "row", row, where


def _litellm_row(r: dict, context: _Context) -> dict | None:
    if not isinstance(r, dict):
        raise _Reject("not a JSON object")
    if "__error__" in r:
        raise _Reject(r["__error__"])
    metadata = _json_object(r.get("metadata"))
    call_type = str(r.get("call_type") or "")
    request_id = _first(r.get("request_id"), r.get("id"))
    if not request_id:
        raise _Reject("request_id is empty")
    start = _time(_first(r.get("startTime"), r.get("start_time")), "startTime")
    if start is None:
        raise _Reject("startTime is empty")
    end = _time(_first(r.get("endTime"), r.get("end_time")), "endTime")
    model = str(_first(r.get("model"), r.get("model_group")) or "")
    provider = _first(r.get("custom_llm_provider"), metadata.get("custom_llm_provider"))
    if not provider and "/" in model:
        provider = model.split("/", 1)[0]
    if provider and model.lower().startswith(str(provider).lower() + "/"):
        model = model.split("/", 1)[1]
    usage = _json_object(metadata.get("usage_object"))
    prompt_details = _json_object(usage.get("prompt_tokens_details"))
    completion_details = _json_object(usage.get("completion_tokens_details"))
    cache_read = _int(_first(usage.get("cache_read_input_tokens"),
                             prompt_details.get("cached_tokens")), "cache_read_input_tokens") or 0
    cache_write = _int(usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens") or 0
    status_text = str(r.get("status") or metadata.get("status") or "success").lower()
    error = status_text in ("failure", "error", "failed")
    error_info = _json_object(metadata.get("error_information"))
    # Attribution a caller put in the request's metadata lands in these.
    tagged = {**_json_object(metadata.get("requester_metadata")),
              **_json_object(metadata.get("spend_logs_metadata")), **metadata}
    source = {name: tagged.get(name) for name in ATTRIBUTION_FIELDS}
    source["customer_id"] = _first(source["customer_id"], r.get("end_user"),
                                   metadata.get("user_api_key_end_user_id"))
    source["organization_id"] = _first(source["organization_id"], r.get("organization_id"),
                                       metadata.get("user_api_key_org_id"))
    return _finish({
        "timestamp": start, "call_id": str(request_id), "provider": provider,
        "model": model, "request_model": r.get("model_group") or None,
        "input_tokens": _int(r.get("prompt_tokens"), "prompt_tokens"),
        "output_tokens": _int(r.get("completion_tokens"), "completion_tokens"),
        "cost": _amount(r.get("spend"), "spend"),
        "latency_ms": _latency(start, end, r.get("request_duration_ms")),
        "request_id": str(request_id), "trace_id": metadata.get("trace_id") or "",
        "session_id": _first(r.get("session_id"), metadata.get("session_id")) or "",
        "user_agent": "litellm" + (f" {call_type}" if call_type else ""),
        "cache_read_input_tokens": cache_read, "cache_write_input_tokens": cache_write,
        "reasoning_output_tokens": _int(completion_details.get("reasoning_tokens"),
                                        "reasoning_tokens") or 0,
        "status": "error" if error else "ok",
        "error_type": (error_info.get("error_class") or error_info.get("error_code") or "error")
        if error else "",
        "task_type": source.get("task_type") or call_type or None,
        **{k: v for k, v in source.items() if k != "task_type"},
    }, context)


# --- Langfuse observations ------------------------------------------------------

_LF_CACHE_READ = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read",
                  "cached_tokens", "cache_read")
_LF_CACHE_WRITE = ("cache_creation_input_tokens", "input_cache_creation", "input_cache_write",
                   "cache_write_input_tokens", "cache_creation")
_LF_REASONING = ("output_reasoning_tokens", "reasoning_tokens", "output_reasoning", "reasoning")


def read_langfuse(path: Path, context: _Context) -> Iterator[tuple[str, object, str]]:
    for index, record in _records(path):
        yield _one(f"{path.name}:{index}", lambda r=record: _langfuse_row(r, context))


def _langfuse_row(r: dict, context: _Context) -> dict | None:
    if not isinstance(r, dict):
        raise _Reject("not a JSON object")
    if "__error__" in r:
        raise _Reject(r["__error__"])
    if str(r.get("type") or "").upper() != "GENERATION":
        return None
    observation_id = r.get("id")
    if not observation_id:
        raise _Reject("id is empty")
    start = _time(r.get("startTime"), "startTime")
    if start is None:
        raise _Reject("startTime is empty")
    end = _time(r.get("endTime"), "endTime")
    metadata = _json_object(r.get("metadata"))
    details = _json_object(r.get("usageDetails")) or {}
    usage = _json_object(r.get("usage"))
    pick = lambda keys: _first(*(details.get(k) for k in keys))  # noqa: E731
    cache_read = _int(pick(_LF_CACHE_READ), "usageDetails cache read") or 0
    cache_write = _int(pick(_LF_CACHE_WRITE), "usageDetails cache write") or 0
    plain_in = _int(_first(details.get("input"), details.get("prompt_tokens"),
                           usage.get("input"), r.get("promptTokens")), "input tokens")
    # Langfuse prices each usage key apart, so "input" excludes the cached keys;
    # the contract's input_tokens includes them.
    input_tokens = None if plain_in is None else plain_in + cache_read + cache_write
    output_tokens = _int(_first(details.get("output"), details.get("completion_tokens"),
                                usage.get("output"), r.get("completionTokens")), "output tokens")
    cost_details = _json_object(r.get("costDetails"))
    cost = _amount(_first(r.get("totalCost"), r.get("calculatedTotalCost"),
                          cost_details.get("total")), "totalCost")
    latency = None
    if end is None and r.get("latency") not in (None, ""):
        latency = float(r["latency"]) * 1000  # Langfuse's latency is in seconds
    error = str(r.get("level") or "").upper() == "ERROR"
    source = {name: metadata.get(name) for name in ATTRIBUTION_FIELDS}
    source["customer_id"] = _first(source["customer_id"], r.get("userId"))
    source["environment"] = _first(source["environment"],
                                   genai_spans.environment_key(r.get("environment")))
    provider = _first(metadata.get("provider"), metadata.get("ls_provider"),
                      (_json_object(r.get("modelParameters")) or {}).get("provider"))
    return _finish({
        "timestamp": start, "call_id": str(observation_id), "provider": provider,
        "model": str(_first(r.get("model"), r.get("providedModelName")) or ""),
        "request_model": r.get("providedModelName") or None,
        "input_tokens": input_tokens, "output_tokens": output_tokens, "cost": cost,
        "latency_ms": _latency(start, end, latency),
        "request_id": "", "trace_id": r.get("traceId") or "",
        "session_id": r.get("sessionId") or "", "user_agent": "langfuse",
        "cache_read_input_tokens": cache_read, "cache_write_input_tokens": cache_write,
        "reasoning_output_tokens": _int(pick(_LF_REASONING), "usageDetails reasoning") or 0,
        "status": "error" if error else "ok",
        "error_type": (str(r.get("statusMessage") or "error")[:200]) if error else "",
        **source,
    }, context)


def _finish(rec: dict, context: _Context) -> dict:
    """A source record as a contract row: provider key, tokens, cost (recorded or list price)."""
    if not rec.get("model"):
        raise _Reject("model is empty")
    provider = rec.get("provider")
    if not provider:
        provider = _infer_provider(rec["model"])
    start: datetime = rec["timestamp"]
    input_tokens, output_tokens = rec.get("input_tokens"), rec.get("output_tokens")
    cost = rec.get("cost")
    if cost is not None:
        cost_text, source = f"{cost:.6f}", "recorded"
    elif input_tokens is None and output_tokens is None and rec.get("status") == "error":
        cost_text, source = "0.000000", "recorded"
    else:
        price = list_prices.list_price(genai_spans.provider_key(provider), rec["model"],
                                       rec.get("request_model"), start,
                                       input_tokens=input_tokens or 0,
                                       output_tokens=output_tokens or 0,
                                       cache_read_tokens=rec.get("cache_read_input_tokens") or 0,
                                       cache_write_tokens=rec.get("cache_write_input_tokens") or 0)
        context.pricing.note(rec["model"], price)
        cost_text = "" if price.cost_usd is None else f"{price.cost_usd:.6f}"
        source = price.cost_source
    row = {
        "timestamp": genai_spans.iso_utc(start), "call_id": rec["call_id"],
        "provider": genai_spans.provider_key(provider) or "", "model": rec["model"],
        "input_tokens": input_tokens if input_tokens is not None else 0,
        "output_tokens": output_tokens if output_tokens is not None else 0,
        "cost_usd": cost_text, "latency_ms": rec["latency_ms"], "cost_source": source,
    }
    for key in ("request_id", "trace_id", "session_id", "user_agent", "cache_read_input_tokens",
                "cache_write_input_tokens", "reasoning_output_tokens", "status", "error_type"):
        row[key] = rec.get(key, "")
    for name in ATTRIBUTION_FIELDS:
        value = rec.get(name)
        row[name] = str(value) if value not in (None, "") else ""
    return row


_PROVIDER_FROM_PRICES = {"aws": "bedrock", "google": "google", "x-ai": "xai"}


def _infer_provider(model: str) -> str | None:
    found = list_prices.infer_provider(model)
    return _PROVIDER_FROM_PRICES.get(found, found) if found else None


# --- attribution and checks ---------------------------------------------------------

@dataclass
class _Context:
    defaults: dict[str, str]
    customers: dict[str, dict[str, str]]
    pricing: genai_spans.PricingLog = field(default_factory=genai_spans.PricingLog)


def parse_settings(pairs: Iterable[str]) -> dict[str, str]:
    """--set KEY=VALUE pairs, checked (keys: attribution fields, provider, session_id, user_agent)."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise FinopsError(f"--set {pair!r} must be KEY=VALUE, e.g. --set environment=production")
        if key not in SETTABLE:
            raise FinopsError(f"--set {key}: not a column import can default; "
                              f"use one of {', '.join(SETTABLE)}")
        _check_value(key, value, f"--set {key}")
        settings[key] = value
    return settings


def _check_value(key: str, value: str, where: str) -> None:
    if key == "subscription_tier" and value not in subscription_tiers():
        raise FinopsError(f"{where}: unknown subscription_tier {value!r}; "
                          f"allowed: {', '.join(subscription_tiers())}")
    if key == "environment" and value not in ENVIRONMENTS:
        raise FinopsError(f"{where}: unknown environment {value!r}; "
                          f"allowed: {', '.join(ENVIRONMENTS)}")


def load_customers(path: str | os.PathLike) -> dict[str, dict[str, str]]:
    """customers.csv: customer_id plus any of organization_id, subscription_tier, product_id, ..."""
    path = Path(path)
    if not path.is_file():
        raise FinopsError(f"--customers {path}: file not found")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        if "customer_id" not in columns:
            raise FinopsError(f"--customers {path}: needs a customer_id column "
                              "(and e.g. organization_id, subscription_tier)")
        unknown = [c for c in columns if c not in ATTRIBUTION_FIELDS]
        if unknown:
            raise FinopsError(f"--customers {path}: unknown column(s) {', '.join(unknown)}; "
                              f"allowed: {', '.join(ATTRIBUTION_FIELDS)}")
        customers: dict[str, dict[str, str]] = {}
        for record in reader:
            record = {k.strip(): (v or "").strip() for k, v in record.items() if k}
            customer = record.pop("customer_id", "")
            if not customer:
                raise FinopsError(f"--customers {path}:{reader.line_num}: customer_id is empty")
            for key, value in record.items():
                if value:
                    _check_value(key, value, f"--customers {path}:{reader.line_num}")
            customers[customer] = {k: v for k, v in record.items() if v}
    return customers


def _attribute(row: dict, context: _Context) -> dict:
    """Fill what the source lacks: --customers (by customer_id), then --set; reject what is still missing."""
    for key, value in context.defaults.items():
        if key == "customer_id" and not row.get("customer_id"):
            row["customer_id"] = value
    known = context.customers.get(row.get("customer_id") or "")
    if known:
        for key, value in known.items():
            if not row.get(key):
                row[key] = value
    for key, value in context.defaults.items():
        if not row.get(key):
            row[key] = value
    missing = [c for c in REQUIRED if not row.get(c)]
    if missing:
        hint = " (pass --set KEY=VALUE or --customers FILE)" if any(
            m in ATTRIBUTION_FIELDS for m in missing) else ""
        raise _Reject(f"missing {', '.join(missing)}{hint}")
    if row["subscription_tier"] not in subscription_tiers():
        raise _Reject(f"unknown subscription_tier {row['subscription_tier']!r}")
    if row["environment"] not in ENVIRONMENTS:
        raise _Reject(f"unknown environment {row['environment']!r}")
    return row


# --- the import ---------------------------------------------------------------------

READERS = {"otel": read_otlp, "litellm": read_litellm, "langfuse": read_langfuse}


def import_calls(fmt: str, files: Iterable[str | os.PathLike], target: str | os.PathLike, *,
                 customers: str | os.PathLike | None = None, settings: Mapping[str, str] | None = None,
                 memory_limit: str | None = None,
                 progress: Callable[[str], None] | None = None) -> ImportSummary:
    """Import FILES of FORMAT into target (created with the finops header if missing)."""
    if fmt not in READERS:
        raise FinopsError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    paths = [Path(f) for f in files]
    if not paths:
        raise FinopsError("give at least one FILE to import")
    for path in paths:
        if not path.is_file():
            raise FinopsError(f"{path}: file not found")
    target = Path(target)
    writer = CallsWriter(target)
    writer.check_target()  # another header: refused before any work
    context = _Context(defaults=dict(settings or {}),
                       customers=load_customers(customers) if customers else {})
    summary = ImportSummary(target=str(target), files=len(paths))
    columns = written_header()
    reader = READERS[fmt]

    work = Path(tempfile.mkdtemp(prefix=f".import-{target.name}.", dir=target.parent))
    try:
        aside = work / "aside.csv"
        with open(aside, "w", encoding="utf-8", newline="") as out:
            out.write("_seq," + ",".join(columns) + "\n")
            seq = 0
            batch: list[dict] = []
            for path in paths:
                if progress:
                    progress(f"reading {path} ({path.stat().st_size / 1e6:,.1f} MB)")
                for kind, payload, where in reader(path, context):
                    if kind == "ignored":
                        summary.ignored += 1
                        continue
                    if kind == "row":
                        try:
                            payload = _attribute(payload, context)
                        except _Reject as exc:
                            kind, payload = "reject", str(exc)
                    if kind == "reject":
                        summary.rejected += 1
                        if len(summary.reject_samples) < _REJECT_SAMPLES:
                            summary.reject_samples.append(f"{where}: {payload}")
                        continue
                    seq += 1
                    payload["_seq"] = seq
                    batch.append(payload)
                    if len(batch) >= 5000:
                        out.write(format_rows(batch, ("_seq",) + columns).decode("utf-8"))
                        batch.clear()
                        if progress and seq % 100_000 == 0:
                            progress(f"  {seq:,} calls read, {summary.rejected:,} rejected")
            out.write(format_rows(batch, ("_seq",) + columns).decode("utf-8"))
        summary.priced_as = {m: p for m, p in context.pricing.priced_as.items() if m != p}
        if seq:
            try:
                _append_new(writer, aside, work, seq, summary, memory_limit)
            except duckdb.Error as exc:
                raise FinopsError(f"import into {target} failed, nothing was appended: "
                                  f"{duckdb_message(exc)}", exit_code=1) from None
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _append_new(writer: CallsWriter, aside: Path, work: Path, seq: int,
                summary: ImportSummary, memory_limit: str | None) -> None:
    """Under the target's lock: drop call_ids it already has (or repeated here), append the rest."""
    from .session import connect

    columns = written_header()
    final = work / "new_rows.csv"
    select = ", ".join(f'a."{c}"' for c in columns)
    all_types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in ("_seq",) + columns) + "}"
    target_types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    csv_options = "header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"'"
    # A small cap by default: an import of any size then holds the same
    # memory, DuckDB spilling the rest to the aside folder.
    con = connect(memory_limit=memory_limit or IMPORT_MEMORY_LIMIT, temp_dir=work / "duckdb")
    try:
        with writer.locked() as target:
            has_rows = _count_lines(writer.path, limit=2) > 1
            existing = (f"SELECT DISTINCT call_id FROM read_csv($target, {csv_options}, "
                        f"columns = {target_types}, ignore_errors = true, null_padding = true) "
                        "WHERE call_id IS NOT NULL"
                        if has_rows else "SELECT NULL::VARCHAR AS call_id WHERE false")
            params = {"aside": str(aside)}
            if has_rows:
                params["target"] = str(writer.path)
            # Which records to keep: per call_id not in the target, its first
            # occurrence (only ids and sequence numbers are held, and DuckDB
            # spills past its memory cap); then the kept rows stream out in
            # file order (preserve_insertion_order), never all in memory.
            con.execute(f"""
                CREATE TEMP TABLE keep AS
                SELECT min(CAST(a._seq AS BIGINT)) AS _seq
                FROM read_csv($aside, {csv_options}, columns = {all_types}) AS a
                ANTI JOIN ({existing}) AS e ON e.call_id = a.call_id
                GROUP BY a.call_id
            """, params)
            con.execute(f"""
                COPY (SELECT {select}
                      FROM read_csv('{_sql_path(aside)}', {csv_options}, columns = {all_types}) AS a
                      SEMI JOIN keep AS k ON k._seq = CAST(a._seq AS BIGINT))
                TO '{_sql_path(final)}' (FORMAT csv, HEADER false, QUOTE '"')""")
            summary.imported = con.execute("SELECT count(*) FROM keep").fetchone()[0]
            summary.already_present = seq - summary.imported
            if summary.imported:
                target.append_file(final)
        if summary.imported:
            unpriced = con.execute(
                f"SELECT model, count(*) FROM read_csv($final, header = false, auto_detect = false, "
                f"delim = ',', quote = '\"', escape = '\"', columns = {target_types}) "
                "WHERE cost_source = 'unpriced' GROUP BY model ORDER BY model",
                {"final": str(final)}).fetchall()
            summary.unpriced_models = {model: n for model, n in unpriced}
            summary.unpriced = sum(summary.unpriced_models.values())
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _count_lines(path: Path, limit: int | None = None) -> int:
    count = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            count += block.count(b"\n")
            if limit is not None and count >= limit:
                return count
    return count
