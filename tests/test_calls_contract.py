"""sql/calls.sql on bad input: every case of docs/data-contract.md "Bad rows"."""

from __future__ import annotations

import csv

import os
import time
from decimal import Decimal

import pytest

from finops.engine import session as source_mod
from finops.engine.session import open_session
from finops.engine.errors import FinopsError, NoDataError

from conftest import DEFAULT_ROW, HEADER, write_calls

GOOD = [
    {"timestamp": "2025-11-01T10:00:00", "cost_usd": "0.100000", "customer_id": "cust_a"},
    {"timestamp": "2025-11-02T11:30:00.5", "cost_usd": "0.200000", "customer_id": "cust_b"},
    {"timestamp": "2025-11-03T12:00:00.123456", "cost_usd": "0.300000", "customer_id": "cust_a",
     "user_agent": "SDK/1.0, with \"quotes\""},
]


def load(path):
    session = open_session(path)
    try:
        total = session.con.execute("SELECT sum(cost_usd), count(*) FROM calls").fetchone()
        return session.source, total
    finally:
        session.close()


def age(path, seconds=60):
    """Make the file look written long ago (the in-place read path)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_clean_file_reads_every_row_with_types(calls_csv):
    path = calls_csv(GOOD)
    age(path)
    source, (cost, count) = load(path)
    assert (source.rows, source.rows_rejected, source.duplicate_call_ids) == (3, 0, 0)
    assert count == 3 and cost == Decimal("0.600000")
    assert source.first_call == "2025-11-01T10:00:00"
    assert source.last_call == "2025-11-03T12:00:00.123456"


@pytest.mark.parametrize("recent", [True, False], ids=["being-written", "at-rest"])
def test_a_last_line_cut_at_any_byte_is_never_counted(tmp_path, recent, monkeypatch):
    # Only the calls are asked about here, so the finance definitions each
    # load adds (most of a tiny file's load) are left out.
    monkeypatch.setattr(source_mod, "_run_finance_sql", lambda *args, **kwargs: None)
    full = write_calls(tmp_path / "full.csv", GOOD).read_bytes()
    last_start = full.rstrip(b"\n").rfind(b"\n") + 1
    line = full[last_start:-1]
    cut_file = tmp_path / "cut.csv"
    con = source_mod.connect()  # one connection, reloaded: keeps the loop quick
    # Where a cut can leave a different tail (2 x 80 loads, not 2 x 166):
    # every cut inside the last field (the quoted user agent, with its
    # comma and doubled quotes), where the tail holds every field and
    # would read as a whole row, up to the whole line without its LF; and
    # at each earlier separator, the tail ending just before the comma
    # (a field short), on it (an empty last field) and one byte after it.
    # The other cuts only end a plain field earlier than these.
    separators = [i for i, byte in enumerate(line) if byte == ord(",")][:len(HEADER) - 1]
    lengths = {1} | {n for i in separators for n in (i, i + 1, i + 2)}
    lengths |= set(range(separators[-1] + 1, len(line) + 1))
    for cut in sorted(last_start + n for n in lengths):
        cut_file.write_bytes(full[:cut])
        if not recent:
            age(cut_file)
        source = source_mod.load_calls(con, cut_file)
        cost, count = con.execute("SELECT sum(cost_usd), count(*) FROM calls").fetchone()
        assert (count, source.rows_rejected) == (2, 0), f"cut at byte {cut}"
        assert cost == Decimal("0.300000")
        assert source.partial_tail_bytes == cut - last_start
    con.close()


def test_crlf_file_reads_the_same_as_lf(calls_csv):
    lf = calls_csv(GOOD, name="lf.csv")
    crlf = calls_csv(GOOD, name="crlf.csv", newline="\r\n")
    age(lf), age(crlf)
    s1, t1 = load(lf)
    s2, t2 = load(crlf)
    assert t1 == t2 and s1.rows == s2.rows == 3 and s2.rows_rejected == 0
    session = open_session(crlf)
    try:
        agents = session.con.execute("SELECT user_agent FROM calls ORDER BY timestamp").fetchall()
    finally:
        session.close()
    assert agents[-1][0] == 'SDK/1.0, with "quotes"'


def test_duplicate_call_id_counts_once_and_is_reported(calls_csv):
    rows = GOOD + [{**GOOD[0], "call_id": "call_1", "cost_usd": "9.000000"}]
    path = calls_csv(rows)
    source, (cost, count) = load(path)
    assert count == 3 and cost == Decimal("0.600000")  # the first occurrence wins
    assert source.duplicate_call_ids == 1
    assert any(s["kind"] == "duplicate call_id" for s in source.reject_samples)


@pytest.mark.parametrize("field, value, reason", [
    ("input_tokens", "1.5", "input_tokens"),
    ("input_tokens", "1e-3", "input_tokens"),
    ("input_tokens", "0", "input_tokens"),
    ("output_tokens", "abc", "output_tokens"),
    ("output_tokens", "-1", "output_tokens"),
    ("cost_usd", "-0.5", "cost_usd"),
    ("cost_usd", "0.0000001", "cost_usd"),
    ("cost_usd", "NaN", "cost_usd"),
    ("latency_ms", "0", "latency_ms"),
    ("latency_ms", "600001", "latency_ms"),
    ("subscription_tier", "gold", "subscription_tier"),
    ("environment", "prod", "environment"),
    ("timestamp", "yesterday", "timestamp"),
    ("timestamp", "2025-11-01T10:00:00+2", "timestamp"),
    ("timestamp", "1999-12-31T23:59:59", "timestamp"),
    ("timestamp", "2101-01-01T00:00:00", "timestamp"),
    ("timestamp", "2025-02-30T10:00:00", "timestamp"),
    ("customer_id", "", "customer_id"),
    ("provider", "OpenAI", "provider"),
])
def test_a_row_breaking_a_rule_is_rejected_with_its_reason(calls_csv, field, value, reason):
    path = calls_csv(GOOD + [{field: value}])
    source, (cost, count) = load(path)
    assert count == 3 and source.rows_rejected == 1
    assert reason in source.reject_samples[0]["reason"]
    assert source.reject_samples[0]["kind"] == "contract rule"


def test_wrong_field_count_and_broken_quotes_are_counted_not_fatal(calls_csv, tmp_path):
    path = calls_csv(GOOD)
    lines = path.read_text().splitlines()
    lines.insert(2, "2025-11-01T10:00:00,call_x,openai,gpt-4o,1,2")
    lines.insert(3, lines[1] + ",extra")
    path.write_text("\n".join(lines) + "\n")
    source, (cost, count) = load(path)
    assert count == 3 and source.rows_rejected == 2
    assert all(s["kind"] == "malformed CSV line" for s in source.reject_samples[:2])
    assert source.reject_samples[0]["line"] == 3


def test_rejected_rows_are_kept_for_inspection(calls_csv):
    path = calls_csv(GOOD + [{"subscription_tier": "gold"}, {"cost_usd": "-1"}])
    session = open_session(path)
    try:
        kept = session.con.execute(
            "SELECT kind, reason FROM calls_rejected ORDER BY reason").fetchall()
    finally:
        session.close()
    assert [k for k, _ in kept] == ["contract rule", "contract rule"]
    assert "cost_usd" in kept[0][1] and "gold" in kept[1][1]


@pytest.mark.parametrize("header", [
    HEADER[:4] + [HEADER[5], HEADER[4]] + HEADER[6:],      # two columns swapped
    ["ts"] + HEADER[1:],                                    # a renamed column
    HEADER[:-1],                                            # a missing column
])
def test_a_header_that_is_not_the_contract_is_an_error(tmp_path, header):
    path = tmp_path / "bad.csv"
    path.write_text(",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n")
    with pytest.raises(FinopsError, match="CSV header is not the finops contract"):
        load(path)


def test_a_quoted_header_reads_as_the_same_names(tmp_path):
    # R's write.csv and pandas with QUOTE_ALL quote every field, the header's too.
    path = tmp_path / "quoted.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
            [HEADER] + [[{**DEFAULT_ROW, "call_id": f"call_{n}"}[c] for c in HEADER] for n in range(3)])
    source, (_, count) = load(path)
    assert source.rows == count == 3 and source.rows_rejected == 0


def test_a_quoted_header_with_a_wrong_name_is_still_an_error(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text(",".join(f'"{c}"' for c in ["ts"] + HEADER[1:]) + "\n")
    with pytest.raises(FinopsError, match="CSV header is not the finops contract"):
        load(path)


def test_empty_and_header_only_files_mean_no_data(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(NoDataError, match="no data yet"):
        load(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(HEADER) + "\n")
    with pytest.raises(NoDataError, match="no data yet"):
        load(header_only)
    partial_header = tmp_path / "partial.csv"
    partial_header.write_text("timestamp,call_")
    with pytest.raises(NoDataError, match="no data yet"):
        load(partial_header)


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(FinopsError, match="CSV not found.*finops simulate"):
        load(tmp_path / "nope.csv")


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = write_calls(tmp_path / "bom.csv", GOOD)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    source, (_, count) = load(path)
    assert count == 3 and source.rows_rejected == 0
