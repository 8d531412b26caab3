"""`finops import`: OTLP JSON lines, LiteLLM spend logs and Langfuse observations into contract rows."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from finops.engine.cli import main
from finops.engine.errors import FinopsError
from finops.engine.importers import import_calls
from otel_support import read_rows

ATTRIBUTION = ["--set", "organization_id=org_1", "--set", "subscription_tier=pro",
               "--set", "product_id=product_a", "--set", "feature_id=chat",
               "--set", "environment=production"]
SETTINGS = {"organization_id": "org_1", "subscription_tier": "pro", "product_id": "product_a",
            "feature_id": "chat", "environment": "production"}


def _kv(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}  # 64-bit ints as strings
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id, attrs, start="1762000000000000000", end="1762000001250000000", **extra):
    if "gen_ai.request.model" in attrs:
        attrs = {"gen_ai.operation.name": "chat", **attrs}
    return {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id,
            "parentSpanId": "", "name": "chat x", "kind": 3, "startTimeUnixNano": start,
            "endTimeUnixNano": end, "attributes": [_kv(k, v) for k, v in attrs.items()],
            "droppedAttributesCount": 0, "someFutureField": {"x": 1}, **extra}


def _otlp_line(spans, resource=None):
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [_kv(k, v) for k, v in (resource or {}).items()]},
        "scopeSpans": [{"scope": {"name": "my.instrumentation", "version": "1.2"},
                        "spans": spans, "schemaUrl": "x"}]}]})


def test_otlp_lines_current_and_deprecated_spellings(tmp_path):
    current = _span("eee19b7ec3c1b174", {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.model": "titan-text-express", "gen_ai.response.model": "titan-text-express",
        "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 200, "gen_ai.usage.cache_write.input_tokens": 100,
        "gen_ai.usage.reasoning.output_tokens": 50, "gen_ai.response.id": "resp_1",
        "gen_ai.conversation.id": "conv_9", "gen_ai.usage.cost": 0.0123456,
        "finops.customer_id": "cust_7", "finops.task_type": "summarization"})
    deprecated = _span("0102030405060708", {
        "gen_ai.system": "az.ai.openai", "gen_ai.request.model": "gpt-4o", "gen_ai.operation.name": "chat",
        "gen_ai.usage.prompt_tokens": 10, "gen_ai.usage.completion_tokens": 5,
        "gen_ai.usage.cache_creation.input_tokens": 4, "gen_ai.usage.cost": 0.5,
        "finops.customer_id": "cust_8", "error.type": "timeout"},
        status={"code": 2, "message": "deadline exceeded"})
    not_genai = _span("1111111111111111", {"http.method": "GET"})
    agent = _span("2222222222222222", {"gen_ai.operation.name": "invoke_agent",
                                       "gen_ai.provider.name": "openai",
                                       "gen_ai.request.model": "gpt-4o"})
    path = tmp_path / "traces.jsonl"
    path.write_text(_otlp_line([current, not_genai], {"deployment.environment.name": "prod"}) + "\n"
                    + "\n" + _otlp_line([deprecated, agent]) + "\n" + "{not json\n")
    target = tmp_path / "calls.csv"
    summary = import_calls("otel", [path], target, settings={**SETTINGS, "environment": "staging"})
    assert (summary.imported, summary.rejected, summary.ignored) == (2, 1, 2)
    assert summary.reject_samples == ["traces.jsonl:4: not a JSON object (OTLP JSON lines: one "
                                      "TracesData per line)"]
    first, second = read_rows(target)
    assert first == {
        "timestamp": "2025-11-01T12:26:40.000000", "call_id": "eee19b7ec3c1b174",
        "provider": "bedrock", "model": "titan-text-express", "input_tokens": "1200",
        "output_tokens": "300", "cost_usd": "0.012346", "latency_ms": "1250",
        "customer_id": "cust_7", "subscription_tier": "pro", "organization_id": "org_1",
        "product_id": "product_a", "feature_id": "chat", "task_type": "summarization",
        "environment": "production",  # from the resource's deployment.environment.name
        "request_id": "resp_1", "trace_id": "5b8efff798038103d269b633813fc60c",
        "session_id": "conv_9", "user_agent": "my.instrumentation/1.2",
        "cache_read_input_tokens": "200", "cache_write_input_tokens": "100",
        "reasoning_output_tokens": "50", "status": "ok", "error_type": "",
        "cost_source": "recorded"}
    assert (second["provider"], second["input_tokens"], second["output_tokens"],
            second["cache_write_input_tokens"], second["status"], second["error_type"],
            second["environment"], second["cost_usd"], second["task_type"]) == \
        ("azure", "10", "5", "4", "error", "timeout", "staging", "0.500000", "chat")


def test_same_file_twice_adds_nothing_and_a_missing_field_is_rejected_with_its_reason(tmp_path):
    span = _span("aaaaaaaaaaaaaaaa", {"gen_ai.provider.name": "openai",
                                      "gen_ai.request.model": "gpt-4o",
                                      "gen_ai.usage.input_tokens": 100,
                                      "gen_ai.usage.output_tokens": 10})
    orphan = _span("bbbbbbbbbbbbbbbb", {"gen_ai.provider.name": "openai",
                                        "gen_ai.request.model": "gpt-4o",
                                        "gen_ai.usage.input_tokens": 100,
                                        "gen_ai.usage.output_tokens": 10,
                                        "finops.customer_id": "cust_unknown"})
    source = tmp_path / "t.jsonl"
    source.write_text(_otlp_line([span, span]) + "\n" + _otlp_line([orphan]) + "\n")
    target = tmp_path / "calls.csv"
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,organization_id,subscription_tier\ncust_1,org_9,enterprise\n")
    runner = CliRunner()
    args = ["import", "otel", str(source), "--csv", str(target), "--customers", str(customers),
            "--set", "customer_id=cust_1", "--set", "product_id=p", "--set", "feature_id=f",
            "--set", "environment=production", "-q"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.output.strip().startswith(f"imported 1 call into {target}; 1 already present; "
                                           "1 rejected (first: t.jsonl:2 span chat x: missing "
                                           "organization_id, subscription_tier")
    rows = read_rows(target)
    assert [(r["customer_id"], r["organization_id"], r["subscription_tier"]) for r in rows] == \
        [("cust_1", "org_9", "enterprise")]  # --set customer, then --customers for the rest
    assert rows[0]["cost_source"] == "list_price" and rows[0]["cost_usd"] != ""
    before = target.read_bytes()
    again = runner.invoke(main, args)
    assert "imported 0 calls" in again.output and "2 already present" in again.output
    assert target.read_bytes() == before


def test_all_or_nothing_and_a_foreign_header_is_refused(tmp_path, calls_csv):
    good = tmp_path / "t.jsonl"
    good.write_text(_otlp_line([_span("cccccccccccccccc", {
        "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1,
        "finops.customer_id": "c"})]) + "\n")
    target = tmp_path / "calls.csv"
    with pytest.raises(FinopsError, match="file not found"):
        import_calls("otel", [good, tmp_path / "missing.jsonl"], target, settings=SETTINGS)
    assert not target.exists() or target.read_text().count("\n") <= 1
    old = calls_csv([{}], name="old.csv")
    result = CliRunner().invoke(main, ["import", "otel", str(good), "--csv", str(old)] + ATTRIBUTION)
    assert result.exit_code == 2 and "another header" in result.output
    bad_set = CliRunner().invoke(main, ["import", "otel", str(good), "--csv", str(target),
                                        "--set", "subscription_tier=gold"])
    assert bad_set.exit_code == 2 and "allowed: starter, pro, enterprise" in bad_set.output
    assert list(tmp_path.glob(".import-*")) == []  # the aside files are gone


LITELLM_CSV = """request_id,call_type,api_key,spend,total_tokens,prompt_tokens,completion_tokens,startTime,endTime,request_duration_ms,model,model_id,model_group,custom_llm_provider,api_base,user,metadata,cache_hit,request_tags,team_id,organization_id,end_user,session_id,status
chatcmpl-1,acompletion,88dc28,0.00042,350,300,50,2025-11-03T09:15:02.120000Z,2025-11-03T09:15:03.020000Z,,gpt-4o-mini,m1,gpt-4o-mini,openai,https://api.openai.com,u_admin,"{""usage_object"": {""prompt_tokens_details"": {""cached_tokens"": 128}, ""completion_tokens_details"": {""reasoning_tokens"": 7}}, ""feature_id"": ""search""}",False,[],team_a,org_5,cust_42,sess_1,success
chatcmpl-2,acompletion,88dc28,,,1000,100,2025-11-03 09:16:00.000000+01:00,2025-11-03 09:16:00.400000+01:00,400,anthropic/claude-3-5-haiku-20241022,m2,claude-haiku,,,u_admin,{},False,[],team_a,,cust_43,,success
chatcmpl-3,acompletion,88dc28,0.0,0,0,0,2025-11-03T09:17:00Z,2025-11-03T09:17:01Z,,gpt-4o,m3,gpt-4o,openai,,u_admin,"{""error_information"": {""error_class"": ""RateLimitError""}}",False,[],team_a,org_5,cust_42,,failure
chatcmpl-4,acompletion,88dc28,0.001,20,10,10,2025-11-03T09:18:00Z,2025-11-03T09:18:01Z,,gpt-4o,m3,gpt-4o,openai,,u_admin,{},False,[],team_a,org_5,,,success
chatcmpl-5,acompletion,88dc28,0.002,20,10,10,2025-11-03T09:19:00Z,2025-11-03T09:19:01Z,,gpt-4o,m3,gpt-4o,openai,,u_admin,"{""spend_logs_metadata"": {""customer_id"": ""cust_43"", ""feature_id"": ""summaries""}}",False,[],team_a,,,,success
"""


def test_litellm_spend_logs_csv_and_json(tmp_path):
    source = tmp_path / "spend.csv"
    source.write_text(LITELLM_CSV)
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,organization_id,subscription_tier\n"
                         "cust_42,org_5,pro\ncust_43,org_6,starter\n")
    target = tmp_path / "calls.csv"
    summary = import_calls("litellm", [source], target, customers=customers,
                           settings={"product_id": "product_a", "feature_id": "chat",
                                     "environment": "production"})
    assert (summary.imported, summary.rejected) == (4, 1)
    assert summary.reject_samples == ["spend.csv:5: missing customer_id, subscription_tier (pass --set KEY=VALUE "
                                      "or --customers FILE)"]
    one, two, three, tagged = read_rows(target)
    assert (tagged["customer_id"], tagged["organization_id"], tagged["feature_id"]) == \
        ("cust_43", "org_6", "summaries")
    assert (one["timestamp"], one["call_id"], one["provider"], one["model"], one["input_tokens"],
            one["output_tokens"], one["cost_usd"], one["latency_ms"], one["customer_id"],
            one["organization_id"], one["subscription_tier"], one["feature_id"],
            one["cache_read_input_tokens"], one["reasoning_output_tokens"], one["session_id"],
            one["cost_source"], one["task_type"]) == \
        ("2025-11-03T09:15:02.120000", "chatcmpl-1", "openai", "gpt-4o-mini", "300", "50",
         "0.000420", "900", "cust_42", "org_5", "pro", "search", "128", "7", "sess_1",
         "recorded", "acompletion")
    # no spend: priced from the list; provider from the model's prefix; +01:00 to UTC
    assert (two["timestamp"], two["provider"], two["model"], two["latency_ms"],
            two["organization_id"], two["subscription_tier"], two["cost_source"]) == \
        ("2025-11-03T08:16:00.000000", "anthropic", "claude-3-5-haiku-20241022", "400",
         "org_6", "starter", "list_price")
    assert two["cost_usd"] == "0.001200"  # 1000 in x $0.80/M + 100 out x $4/M
    assert (three["status"], three["error_type"], three["cost_usd"]) == \
        ("error", "RateLimitError", "0.000000")

    as_json = tmp_path / "spend.json"
    import csv as _csv
    import io
    records = list(_csv.DictReader(io.StringIO(LITELLM_CSV)))
    for r in records:
        r["metadata"] = json.loads(r["metadata"])
    as_json.write_text(json.dumps(records))
    again = import_calls("litellm", [as_json], target, customers=customers,
                         settings={"product_id": "product_a", "feature_id": "chat",
                                   "environment": "production"})
    assert (again.imported, again.already_present, again.rejected) == (0, 4, 1)


LANGFUSE = {"data": [
    {"id": "obs_1", "traceId": "tr_1", "type": "GENERATION", "name": "answer",
     "startTime": "2025-11-04T10:00:00.000Z", "endTime": "2025-11-04T10:00:02.500Z",
     "completionStartTime": "2025-11-04T10:00:00.800Z", "model": "gpt-4o",
     "usageDetails": {"input": 800, "input_cached_tokens": 200, "output": 100, "total": 1100},
     "costDetails": {"input": 0.002, "output": 0.001, "total": 0.0035}, "totalCost": 0.0035,
     "userId": "cust_42", "sessionId": "sess_9", "environment": "production",
     "metadata": {"feature_id": "search"}, "level": "DEFAULT", "statusMessage": None,
     "latency": 2.5, "tags": []},
    {"id": "obs_2", "traceId": "tr_1", "type": "SPAN", "name": "retrieve",
     "startTime": "2025-11-04T10:00:00.000Z"},
    {"id": "obs_3", "traceId": "tr_1", "type": "GENERATION", "name": "fail",
     "startTime": "2025-11-04T10:01:00Z", "endTime": "2025-11-04T10:01:00.300Z",
     "model": "claude-3-5-haiku-20241022", "usageDetails": {}, "userId": "cust_42",
     "environment": "default", "level": "ERROR", "statusMessage": "overloaded_error"},
]}


def test_langfuse_generations(tmp_path):
    source = tmp_path / "observations.json"
    source.write_text(json.dumps(LANGFUSE))
    target = tmp_path / "calls.csv"
    summary = import_calls("langfuse", [source], target,
                           settings={"organization_id": "org_5", "subscription_tier": "pro",
                                     "product_id": "p", "feature_id": "chat",
                                     "task_type": "qa", "environment": "staging"})
    assert (summary.imported, summary.rejected, summary.ignored) == (2, 0, 1)
    gen, failed = read_rows(target)
    assert (gen["call_id"], gen["provider"], gen["model"], gen["input_tokens"],
            gen["cache_read_input_tokens"], gen["output_tokens"], gen["cost_usd"],
            gen["latency_ms"], gen["customer_id"], gen["feature_id"], gen["trace_id"],
            gen["session_id"], gen["environment"], gen["cost_source"]) == \
        ("obs_1", "openai", "gpt-4o", "1000", "200", "100", "0.003500", "2500", "cust_42",
         "search", "tr_1", "sess_9", "production", "recorded")
    assert (failed["provider"], failed["status"], failed["error_type"], failed["environment"],
            failed["cost_usd"]) == ("anthropic", "error", "overloaded_error", "staging", "0.000000")
