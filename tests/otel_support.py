"""Helpers for the finops.otel and importer tests: the fake provider, reading written rows."""

from __future__ import annotations

import csv
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from fake_provider import FakeProvider  # noqa: E402,F401


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def contract_11_readable() -> bool:
    """Whether sql/calls.sql reads contract 1.1's optional columns (issue 9) on this checkout."""
    import tempfile

    from finops.engine.calls_writer import CallsWriter
    from finops.engine.errors import FinopsError
    from finops.engine.session import connect, load_calls

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.csv"
        CallsWriter(path).append([{
            "timestamp": "2025-11-01T10:00:00", "call_id": "c1", "provider": "openai",
            "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "cost_usd": "0.001000",
            "latency_ms": 100, "customer_id": "cust", "subscription_tier": "pro",
            "organization_id": "org", "product_id": "p", "feature_id": "f", "task_type": "chat",
            "environment": "production", "cache_read_input_tokens": 0,
            "cache_write_input_tokens": 0, "reasoning_output_tokens": 0, "status": "ok",
            "error_type": "", "cost_source": "recorded"}])
        con = connect(temp_dir=tmp)
        try:
            load_calls(con, path)
            return True
        except FinopsError:
            return False
        finally:
            con.close()


NEEDS_11 = "needs sql/calls.sql to read contract 1.1's optional columns (issue 9)"
