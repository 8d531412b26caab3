"""A fake OpenAI and Anthropic API on 127.0.0.1, for the example app and the tests.

It answers the real SDKs' requests with well-formed responses, plain and
streamed (server-sent events), with usage that follows each provider's
rules, so an app instrumented with real OpenTelemetry instrumentations emits
real GenAI spans without a network or an API key:

- POST /v1/chat/completions (OpenAI chat): usage.prompt_tokens includes
  prompt_tokens_details.cached_tokens; streaming sends usage in a last chunk
  when stream_options.include_usage is set; model "gpt-4o-mini" answers as
  the dated snapshot "gpt-4o-mini-2024-08-06" like the real API does.
- POST /v1/messages (Anthropic): usage.input_tokens EXCLUDES
  cache_read_input_tokens and cache_creation_input_tokens.
- A request whose last message contains "PLEASE FAIL" gets a 400 error in
  the provider's error format.

Token counts are deterministic (from the prompt's words); every answer is
kept in `server.answers` so a test can compare the rows that land with what
the "provider" said. Run alone: python examples/fake_provider.py [PORT]
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY_SECONDS = 0.05  # every answer takes at least this long (latency is measurable)


def _words(messages) -> int:
    count = 0
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            count += len(content.split())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    count += len(part["text"].split())
    return count


def _last_text(messages) -> str:
    if not messages:
        return ""
    content = messages[-1].get("content", "")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def usage_for(body: dict) -> dict:
    """Deterministic usage: 40 + 3 per prompt word in, 20 out; a long prompt hits the cache."""
    words = _words(body.get("messages")) + len(str(body.get("system", "")).split())
    total_in = 40 + 3 * words
    cached = 32 if words >= 10 else 0
    cache_write = 16 if "cache this" in _last_text(body.get("messages")).lower() else 0
    return {"input": total_in, "cached": cached, "cache_write": cache_write, "output": 20}


class _Handler(BaseHTTPRequestHandler):
    server_version = "fake-provider/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"error": {"message": "bad JSON", "type": "invalid_request_error"}})
        time.sleep(self.server.delay)
        if self.path.rstrip("/").endswith("/chat/completions"):
            return self._openai(body)
        if self.path.rstrip("/").endswith("/messages"):
            return self._anthropic(body)
        return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    # -- OpenAI ------------------------------------------------------------

    def _openai(self, body: dict) -> None:
        model = body.get("model", "gpt-4o-mini")
        if "PLEASE FAIL" in _last_text(body.get("messages")):
            self._record("openai", model, None, error="invalid_request_error")
            return self._json(400, {"error": {"message": "the fake provider was asked to fail",
                                              "type": "invalid_request_error", "param": None,
                                              "code": "fake_failure"}},
                              headers={"x-request-id": "req_" + uuid.uuid4().hex[:12]})
        served = "gpt-4o-mini-2024-08-06" if model == "gpt-4o-mini" else model
        u = usage_for(body)
        call_id = "chatcmpl-" + uuid.uuid4().hex[:20]
        usage = {"prompt_tokens": u["input"], "completion_tokens": u["output"],
                 "total_tokens": u["input"] + u["output"],
                 "prompt_tokens_details": {"cached_tokens": u["cached"]},
                 "completion_tokens_details": {"reasoning_tokens": 0}}
        text = "A fake answer " + "word " * 10
        self._record("openai", served, call_id, usage=u, requested=model)
        created = int(time.time())
        if not body.get("stream"):
            return self._json(200, {
                "id": call_id, "object": "chat.completion", "created": created, "model": served,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": usage})
        chunks = [{"id": call_id, "object": "chat.completion.chunk", "created": created,
                   "model": served, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                       "content": piece},
                                                 "finish_reason": None}]}
                  for piece in text.split(" ")]
        chunks.append({"id": call_id, "object": "chat.completion.chunk", "created": created,
                       "model": served, "choices": [{"index": 0, "delta": {},
                                                     "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({"id": call_id, "object": "chat.completion.chunk", "created": created,
                           "model": served, "choices": [], "usage": usage})
        events = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
        self._stream(events)

    # -- Anthropic ---------------------------------------------------------

    def _anthropic(self, body: dict) -> None:
        model = body.get("model", "claude-sonnet-4-5")
        if "PLEASE FAIL" in _last_text(body.get("messages")):
            self._record("anthropic", model, None, error="invalid_request_error")
            return self._json(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": "the fake provider was asked to fail"}},
                headers={"request-id": "req_" + uuid.uuid4().hex[:12]})
        u = usage_for(body)
        call_id = "msg_" + uuid.uuid4().hex[:20]
        # Anthropic's input_tokens excludes the cached and cache-written tokens.
        usage = {"input_tokens": u["input"] - u["cached"] - u["cache_write"],
                 "cache_read_input_tokens": u["cached"],
                 "cache_creation_input_tokens": u["cache_write"],
                 "output_tokens": u["output"]}
        text = "A fake answer " + "word " * 10
        self._record("anthropic", model, call_id, usage=u, requested=model)
        message = {"id": call_id, "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                   "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return self._json(200, message)
        start = dict(message, content=[], stop_reason=None,
                     usage=dict(usage, output_tokens=1))
        events = [("message_start", {"type": "message_start", "message": start}),
                  ("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}})]
        for piece in text.split(" "):
            events.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta",
                                                             "text": piece + " "}}))
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": u["output"]}}),
                   ("message_stop", {"type": "message_stop"})]
        self._stream([f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events])

    # -- plumbing ----------------------------------------------------------

    def _record(self, provider, model, call_id, usage=None, error=None, requested=None) -> None:
        with self.server.lock:
            self.server.answers.append({"provider": provider, "model": model, "id": call_id,
                                        "usage": usage, "error": error, "requested": requested})

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: list[str]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for event in events:
            self.wfile.write(event.encode())
            self.wfile.flush()
        self.close_connection = True


class FakeProvider(ThreadingHTTPServer):
    """The server; `with FakeProvider() as fake:` runs it in a thread on a free port."""

    daemon_threads = True

    def __init__(self, port: int = 0, delay: float = DELAY_SECONDS) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.delay = delay
        self.answers: list[dict] = []
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FakeProvider:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with FakeProvider(port) as fake:
        print(f"fake OpenAI/Anthropic API on {fake.url} (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
