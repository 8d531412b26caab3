"""The README's pandas export is read unchanged (the snippet runs as written)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from finops.engine.session import open_session

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_pandas_export_reads_unchanged(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    snippet = re.search(r"```python\n(import pandas as pd\n.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    written = (tmp_path / "my_calls.csv").read_text()
    assert "451.0" in written and "3.5e-05" in written and "+00:00" in written
    session = open_session(tmp_path / "my_calls.csv")
    try:
        row = session.con.execute("SELECT input_tokens, cost_usd, timestamp, user_agent FROM calls").fetchone()
        assert session.source.rows_rejected == 0
    finally:
        session.close()
    assert row[0] == 451 and row[1] == Decimal("0.000035")
    assert str(row[2]) == "2025-11-19 08:00:03.794387" and row[3] == "my-app/1.0, python"


def test_pandas_with_missing_values_and_crlf(tmp_path):
    pd = pytest.importorskip("pandas")
    from conftest import DEFAULT_ROW, HEADER
    rows = [{**DEFAULT_ROW, "call_id": f"c{i}", "cost_usd": 0.00001 * (i + 1),
             "input_tokens": 100 + i} for i in range(5)]
    df = pd.DataFrame(rows)[HEADER]
    df.loc[2, "input_tokens"] = None          # the column becomes float: 100.0, 101.0, ...
    df.to_csv(tmp_path / "c.csv", index=False, lineterminator="\r\n")
    session = open_session(tmp_path / "c.csv")
    try:
        got = session.con.execute("SELECT call_id, input_tokens, cost_usd FROM calls ORDER BY call_id").fetchall()
        rejected = session.con.execute("SELECT line, reason FROM calls_rejected").fetchall()
    finally:
        session.close()
    assert [g[0] for g in got] == ["c0", "c1", "c3", "c4"] and got[1][1] == 101
    assert got[3][2] == Decimal("0.00005")
    assert rejected == [(4, "input_tokens is not a whole number in 1..1,000,000: (empty)")]
