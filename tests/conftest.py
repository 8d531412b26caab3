"""Shared test helpers: hand-made CSVs in the data contract, and analyzer runs."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from finops.engine import analyze
from finops.engine.reference import reference

# The contract's columns, from their one definition (sql/calls.sql).
HEADER = list(reference().contract_header())

DEFAULT_ROW = {
    "timestamp": "2025-11-01T10:00:00", "provider": "openai", "model": "gpt-4o",
    "input_tokens": "100", "output_tokens": "100", "cost_usd": "0.001250",
    "latency_ms": "400", "customer_id": "cust_0001", "subscription_tier": "pro",
    "organization_id": "org_001", "product_id": "product_a", "feature_id": "chat",
    "task_type": "chat", "environment": "production", "request_id": "req_1",
    "trace_id": "trace_1", "session_id": "sess_1", "user_agent": "test/1.0",
}


def write_calls(path: Path, rows: list[dict], *, newline: str = "\n") -> Path:
    """Write rows (dicts overriding DEFAULT_ROW) as a contract CSV; call_ids default to call_N."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(HEADER)
        for n, row in enumerate(rows, start=1):
            full = {**DEFAULT_ROW, "call_id": f"call_{n}", **row}
            writer.writerow([full[c] for c in HEADER])
    return path


@pytest.fixture
def calls_csv(tmp_path):
    """Factory: calls_csv(rows, name='calls.csv') -> Path of a contract CSV."""

    def make(rows: list[dict], name: str = "calls.csv", **kwargs) -> Path:
        return write_calls(tmp_path / name, rows, **kwargs)

    return make


def run_query(analyzer: str, csv_path: Path, query: str, **params) -> list[dict]:
    """Rows of one analyzer query as JSON-ready dicts (what run-sql --format json prints)."""
    _, results = analyze.run_sql(analyzer, csv_path, query=query,
                             params={k: str(v) for k, v in params.items()})
    return results[0].to_json()["queries"][query]


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    """Poll predicate until it holds or timeout seconds pass; its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every test that needs one (starting one takes seconds)."""
    pytest.importorskip("pyspark")
    import shutil
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime")
    from finops.engine import spark as spark_engine
    session = spark_engine.spark_session("local[2]")
    yield session
    session.stop()
