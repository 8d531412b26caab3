"""Contract 1.1 columns for a simulated file: prompt caching, reasoning, errors.

`finops simulate --columns 1.1` writes the usual 19-column file, then this
module rewrites it (atomically) with the six optional columns appended.
Each value is drawn from a hash of the row's call_id, so the same file
gives the same bytes, and the simulator core stays untouched. The default
output (19 columns) is not affected.

Behaviour: cache reads where providers cache prompts (OpenAI, Anthropic,
Google, Azure OpenAI, Bedrock Claude), most on chat and Q&A with their
repeated system prompts; Anthropic models also report cache writes on a
miss. Reasoning tokens on the largest Claude models for analysis and code.
About 1.5% of calls fail (three times more when slow, as timeouts).
Counts stay inside input_tokens / output_tokens, as OpenTelemetry's GenAI
conventions define them; cost_usd stays the recorded cost.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

COLUMNS_11 = ("cache_read_input_tokens", "cache_write_input_tokens", "reasoning_output_tokens",
              "status", "error_type", "cost_source")
_CACHE_READ_P = {"chat": 0.55, "qa": 0.45, "code_generation": 0.35, "analysis": 0.30,
                 "summarization": 0.15, "translation": 0.10}
_CACHING = {"openai", "anthropic", "google", "azure"}
_REASONING_MODELS = {"claude-opus-4", "claude-sonnet-4"}


def _draws(call_id: str) -> list[float]:
    digest = hashlib.blake2b(call_id.encode(), digest_size=24).digest()
    return [int.from_bytes(digest[i:i + 4], "big") / 2**32 for i in range(0, 24, 4)]


def extra_fields(fields: list[str]) -> str:
    """The six 1.1 values for one 19-field row, comma-joined."""
    call_id, provider, model = fields[1], fields[2], fields[3]
    input_tokens, output_tokens, latency = int(fields[4]), int(fields[5]), int(fields[7])
    feature = fields[12]
    u = _draws(call_id)
    caches = provider in _CACHING or (provider == "bedrock" and model.startswith("claude"))
    read = write = reasoning = 0
    if caches and input_tokens >= 64:
        if u[0] < _CACHE_READ_P.get(feature, 0.2):
            read = int(input_tokens * (0.5 + 0.4 * u[1]))
        elif provider in ("anthropic", "bedrock") and u[1] < 0.3:
            write = int(input_tokens * (0.3 + 0.4 * u[2]))
    if model in _REASONING_MODELS and fields[13] in ("analysis", "code_generation") and u[3] < 0.2:
        reasoning = int(output_tokens * (0.2 + 0.4 * u[2]))
    fail_p = 0.015 * (3 if latency > 8000 else 1)
    if u[4] < fail_p:
        kind = ("timeout" if latency > 8000 else
                "rate_limit" if u[5] < 0.6 else "server_error" if u[5] < 0.9 else "invalid_request")
        return f"{read},{write},{reasoning},error,{kind},recorded"
    return f"{read},{write},{reasoning},ok,,recorded"


def extend_file(path: Path) -> int:
    """Rewrite a 19-column simulated CSV with the 1.1 columns; rows rewritten."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    rows = 0
    try:
        with open(path, encoding="utf-8", newline="") as src, os.fdopen(fd, "w", encoding="utf-8",
                                                                         newline="") as out:
            header = src.readline().rstrip("\n")
            out.write(header + "," + ",".join(COLUMNS_11) + "\n")
            batch = []
            for line in src:
                line = line.rstrip("\n")
                # simulated rows never quote: a plain split is exact
                batch.append(f"{line},{extra_fields(line.split(','))}\n")
                rows += 1
                if len(batch) >= 10_000:
                    out.write("".join(batch))
                    batch.clear()
            out.write("".join(batch))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return rows
