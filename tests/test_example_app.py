"""examples/meter_app.py runs as documented and its calls land attributed, one trace per run."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from otel_support import contract_11_readable, read_rows

pytest.importorskip("opentelemetry.instrumentation.openai_v2")
pytest.importorskip("anthropic")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_example_app_meters_its_calls(tmp_path):
    csv_path = tmp_path / "app_calls.csv"
    proc = subprocess.run([sys.executable, "-W", "ignore", str(ROOT / "examples" / "meter_app.py"),
                           "--csv", str(csv_path), "--runs", "10", "--pause", "0"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_rows(csv_path)
    assert proc.stdout.startswith(f"{len(rows)} calls metered into {csv_path} (")
    runs = Counter(r["trace_id"] for r in rows)
    assert len(runs) == 10 and max(runs.values()) > 1  # one trace per run, several calls each
    unattributed = [r for r in rows if r["customer_id"] == "unattributed"]
    assert unattributed and all(r["feature_id"] in ("triage", "answer", "research")
                                for r in unattributed)
    assert {r["provider"] for r in rows} <= {"openai", "anthropic"}
    assert all(r["cost_source"] == "list_price" and r["cost_usd"] for r in rows)
    if contract_11_readable():  # the agents report over these rows (contract 1.1 reading, issue 9)
        result = subprocess.run([sys.executable, "-m", "finops.engine.cli", "run-sql", "agents",
                                 "--query", "headline", "--csv", str(csv_path), "--format", "csv"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "Runs (traces),10" in result.stdout.replace(".000000", "")
