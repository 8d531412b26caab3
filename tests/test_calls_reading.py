"""Real-world files (issue 9): values judged by value, every reject with its line,
one bad line costs one row, contract 1.1's optional columns."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from finops.engine import linefix
from finops.engine.cli import main
from finops.engine.errors import FinopsError
from finops.engine.session import open_session

from conftest import DEFAULT_ROW, HEADER, write_calls


def aged(path: Path) -> Path:
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def read(path: Path, **settings):
    session = open_session(aged(path), require_rows=False, settings=settings or None)
    try:
        rows = session.con.execute("SELECT call_id, input_tokens, output_tokens, cost_usd, "
                                   "latency_ms, timestamp, user_agent FROM calls "
                                   "ORDER BY call_id").fetchall()
        rejected = session.con.execute(
            "SELECT line, kind, reason FROM calls_rejected ORDER BY line").fetchall()
        return session.source, rows, rejected
    finally:
        session.close()


def lines_of(rows: list[dict]) -> list[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(HEADER)
    for n, row in enumerate(rows, start=1):
        full = {**DEFAULT_ROW, "call_id": f"call_{n}", **row}
        writer.writerow([full[c] for c in HEADER])
    return buf.getvalue().encode().split(b"\n")[:-1]


def write_lines(path: Path, lines: list[bytes], ends: list[bytes] | None = None) -> Path:
    ends = ends or [b"\n"] * len(lines)
    path.write_bytes(b"".join(line + end for line, end in zip(lines, ends)))
    return path


def assert_counts_add_up(source):
    assert (source.rows + source.rows_rejected + source.duplicate_call_ids
            + source.continuation_lines == source.data_lines)


# --- 1. a value is judged by its value, not its spelling ---------------------

@pytest.mark.parametrize("given, expect", [
    ("3.5e-05", "0.000035"), ("3.5E-05", "0.000035"), ("1E-3", "0.001"), ("1e-3", "0.001"),
    ("0.0000350", "0.000035"), ("+0.5", "0.5"), (".25", "0.25"), ("0.1234560", "0.123456"),
    ("1.5e2", "150"), ("0", "0"), ("0e0", "0"), ("12.", "12"), ("999999999999.999999", "999999999999.999999"),
    ("1000000", "1000000"),
])
def test_cost_spellings_are_read_by_value(tmp_path, given, expect):
    source, rows, rejected = read(write_calls(tmp_path / "c.csv", [{"cost_usd": given}]))
    assert rejected == [] and rows[0][3] == Decimal(expect)


@pytest.mark.parametrize("given", ["1e-7", "0.0000001", "nan", "NaN", "inf", "-inf", "1e400",
                                   "1e12", "-0.5", "1_000", " 5", "5 ", "0x10", "1,5", "", "e5",
                                   "1e-30", "$5"])
def test_costs_that_break_the_rule_are_still_rejected(tmp_path, given):
    source, rows, rejected = read(write_calls(tmp_path / "c.csv", [{"cost_usd": given}, {}]))
    assert len(rows) == 1 and len(rejected) == 1
    line, kind, reason = rejected[0]
    assert line == 2 and "cost_usd" in reason


@pytest.mark.parametrize("given, expect", [
    ("18.0", 18), ("18", 18), ("1.8e1", 18), ("1.8E+1", 18), ("+18", 18), ("18.000", 18),
    ("1e5", 100_000), ("0018", 18),
])
def test_count_spellings_are_read_by_value(tmp_path, given, expect):
    source, rows, rejected = read(write_calls(
        tmp_path / "c.csv", [{"input_tokens": given, "output_tokens": given, "latency_ms": given}]))
    assert rejected == [] and rows[0][1:3] == (expect, expect) and rows[0][4] == expect


@pytest.mark.parametrize("given", ["18.5", "1.85e1", "1e-1", "nan", "inf", "1e400", "-1", "1e7"])
def test_counts_that_are_not_whole_or_in_range_are_rejected(tmp_path, given):
    source, rows, rejected = read(write_calls(tmp_path / "c.csv", [{"output_tokens": given}]))
    assert rows == [] and "output_tokens" in rejected[0][2] and rejected[0][0] == 2


@pytest.mark.parametrize("given, expect", [
    ("2025-11-01T10:00:00Z", "2025-11-01 10:00:00"),
    ("2025-11-01T10:00:00+00:00", "2025-11-01 10:00:00"),
    ("2025-11-01T12:00:00+02:00", "2025-11-01 10:00:00"),
    ("2025-11-01 05:00:00.250-05:00", "2025-11-01 10:00:00.250000"),
    ("2025-11-01T12:00:00+0200", "2025-11-01 10:00:00"),
    ("2025-11-01 10:00:00", "2025-11-01 10:00:00"),
    ("2025-11-01 12:00:00+02", "2025-11-01 10:00:00"),      # PostgreSQL's and DuckDB's timestamptz text
    ("2025-11-01 10:00:00.5+00", "2025-11-01 10:00:00.500000"),
    ("2025-11-01T10:00", "2025-11-01 10:00:00"),             # ISO 8601 without seconds
    ("2025-11-01T07:00-03", "2025-11-01 10:00:00"),
])
def test_time_zone_suffixes_are_converted_to_utc(tmp_path, given, expect):
    source, rows, rejected = read(write_calls(tmp_path / "c.csv", [{"timestamp": given}]))
    assert rejected == [] and str(rows[0][5]) == expect


@pytest.mark.parametrize("given", ["2025-11-01", "2025-11-01T10", "2025-11-01T10:00:00+2",
                                   "2025-11-01T10:00:00 UTC", "01/11/2025 10:00"])
def test_times_that_are_not_iso_8601_are_rejected(tmp_path, given):
    source, rows, rejected = read(write_calls(tmp_path / "c.csv", [{"timestamp": given}]))
    assert rows == [] and "not an ISO 8601 time" in rejected[0][2]


def test_dates_outside_the_window_are_rejected_and_the_window_is_configurable(tmp_path):
    path = write_calls(tmp_path / "c.csv", [{"timestamp": "0001-01-01T00:00:00"},
                                            {"timestamp": "9999-12-31T00:00:00"},
                                            {"timestamp": "1999-06-01T00:00:00"}, {}])
    source, rows, rejected = read(path)
    assert len(rows) == 1 and [r[0] for r in rejected] == [2, 3, 4]
    assert all("plausible window 2000-01-01..2100-12-31" in r[2] for r in rejected)
    source, rows, rejected = read(path, min_call_date="1990-01-01")
    assert len(rows) == 2 and len(rejected) == 2


# --- 2. every rejected row has its line ---------------------------------------

def test_every_reject_has_its_physical_line(tmp_path):
    lines = lines_of([{}, {"subscription_tier": "gold"}, {}, {"cost_usd": "x"}, {"call_id": "call_1"}])
    lines.insert(3, b"2025-11-01T10:00:00,short,line")
    source, rows, rejected = read(write_lines(tmp_path / "c.csv", lines))
    assert [(line, kind) for line, kind, _ in rejected] == [
        (3, "contract rule"), (4, "malformed CSV line"), (6, "contract rule"), (7, "duplicate call_id")]
    assert "line 2" in rejected[-1][2]
    assert source.reject_samples[0]["line"] == 3
    assert_counts_add_up(source)


def test_sql_reaches_calls_rejected_when_no_row_is_valid(tmp_path):
    path = aged(write_calls(tmp_path / "c.csv", [{"subscription_tier": "gold"}] * 3))
    runner = CliRunner()
    out = runner.invoke(main, ["sql", "SELECT line, reason FROM calls_rejected ORDER BY line",
                               "--csv", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [r["line"] for r in json.loads(out.output)["rows"]] == [2, 3, 4]
    out = runner.invoke(main, ["sql", "SELECT rows, rows_rejected FROM data_quality",
                               "--csv", str(path), "--format", "json"])
    assert json.loads(out.output)["rows"] == [{"rows": 0, "rows_rejected": 3}]
    out = runner.invoke(main, ["run-sql", "understanding", "--csv", str(path)])
    assert out.exit_code == 1 and "no valid rows" in out.output


# --- 3. one bad line costs one row --------------------------------------------

ROWS = [{"customer_id": f"cust_{i % 7}", "cost_usd": f"0.{i:06d}",
         "timestamp": f"2025-11-{1 + i % 20:02d}T10:{i % 60:02d}:00",
         "subscription_tier": ["starter", "pro", "enterprise"][i % 3]} for i in range(200)]


def test_an_unbalanced_quote_costs_its_row_only(tmp_path):
    lines = lines_of(ROWS)
    lines[51] = lines[51].replace(b"cust_", b'"cust_', 1)
    source, rows, rejected = read(write_lines(tmp_path / "c.csv", lines))
    assert source.rows == 199 and [r[:2] for r in rejected] == [(52, "malformed CSV line")]
    assert "quot" in rejected[0][2]
    assert_counts_add_up(source)


@pytest.mark.parametrize("damage, line, reason", [
    (lambda l: l[:40] + b"\xff" + l[40:], 11, "UTF-8"),
    (lambda l: l[:40] + b"\x00" + l[40:], 11, "NUL"),
    (lambda l: l.replace(b"test/1.0", b"te\rst"), 11, "carriage return"),
    (lambda l: b"x" * 2_050_000, 11, "longer than 2 MB"),  # under 2 MiB: DuckDB's own reject
    (lambda l: b"x" * 3_000_000, 11, "longer than 2 MB"),
    (lambda l: b"x" * 40_000_000, 11, "longer than 2 MB"),
])
def test_a_broken_line_rejects_only_itself(tmp_path, damage, line, reason):
    lines = lines_of(ROWS)
    lines[10] = damage(lines[10])
    source, rows, rejected = read(write_lines(tmp_path / "c.csv", lines))
    assert source.rows == 199 and len(rejected) == 1
    assert rejected[0][0] == line and reason in rejected[0][2]
    assert_counts_add_up(source)


@pytest.mark.parametrize("lone_cr", [False, True], ids=["fast read", "readable copy"])
@pytest.mark.parametrize("end", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_the_line_limit_is_one_byte_count_on_every_read(tmp_path, lone_cr, end):
    """A line of linefix.MAX_LINE_BYTES (without its ending) is a call; one
    byte more is rejected as longer than 2 MB, whichever way the file is read
    (a lone CR elsewhere sends it through the readable copy)."""
    lines = lines_of(ROWS)
    for i, size in ((10, linefix.MAX_LINE_BYTES), (20, linefix.MAX_LINE_BYTES + 1)):
        lines[i] = lines[i].replace(b"test/1.0", b"a" * (size - len(lines[i]) + len(b"test/1.0")))
        assert len(lines[i]) == size
    if lone_cr:
        lines[30] = lines[30].replace(b"test/1.0", b"te\rst")
    source, rows, rejected = read(write_lines(tmp_path / "c.csv", lines, [end] * len(lines)))
    agents = {r[0]: r[6] for r in rows}
    assert len(agents["call_10"]) > 1_999_000 and "call_20" not in agents
    assert [(r[0], r[2]) for r in rejected if r[0] != 31] == [(21, "line longer than 2 MB")]
    assert source.rows == (198 if lone_cr else 199)
    assert_counts_add_up(source)


def test_cr_and_crlf_inside_quoted_fields_are_data(tmp_path):
    lines = lines_of(ROWS)
    lines[5] = lines[5].replace(b"test/1.0", b'"a\rb"')
    lines[9] = lines[9].replace(b"test/1.0", b'"c\r\nd, e\nf"')
    lines[30] = lines[30].replace(b",production,", b",prod,")  # plain broken rows further down
    lines[40] = lines[40].replace(b",production,", b",prod,")
    source, rows, rejected = read(write_lines(tmp_path / "c.csv", lines))
    agents = {r[0]: r[6] for r in rows}
    assert source.rows == 198 and agents["call_5"] == "a\rb" and agents["call_9"] == "c\nd, e\nf"
    # the record of line 10 spans three lines: line numbers after it still match the file
    assert [r[0] for r in rejected] == [33, 43]
    assert source.continuation_lines == 2
    assert_counts_add_up(source)


def test_mixed_lf_and_crlf_reads_as_the_lf_file_in_every_analyzer(tmp_path):
    lines = lines_of(ROWS)
    lf = write_lines(tmp_path / "lf.csv", lines)
    mixed = write_lines(tmp_path / "mixed.csv", lines,
                        [b"\r\n" if i % 3 == 0 else b"\n" for i in range(len(lines))])
    out = []
    for path in (aged(lf), aged(mixed)):
        result = CliRunner().invoke(main, ["run-sql", "all", "--csv", str(path), "--format", "json"])
        assert result.exit_code == 0, result.output
        docs = json.loads(result.output)
        for doc in docs:
            doc.pop("source", None)
        out.append(docs)
    assert out[0] == out[1] and len(out[0]) >= 8


def test_far_apart_dates_inside_the_window_do_not_explode_the_build(tmp_path):
    path = write_calls(tmp_path / "c.csv", ROWS[:50] + [{"timestamp": "2001-01-01T00:00:00"},
                                                        {"timestamp": "2099-12-31T00:00:00"}])
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["run-sql", "all", "--csv", str(aged(path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - started < 60
    assert len(result.output) < 20_000_000


def test_a_million_dollar_call_does_not_overflow(tmp_path):
    path = write_calls(tmp_path / "c.csv", ROWS[:30] + [{"cost_usd": "999999999999.999999"},
                                                        {"cost_usd": "1000000"}])
    result = CliRunner().invoke(main, ["run-sql", "all", "--csv", str(aged(path)), "--format", "json"])
    assert result.exit_code == 0, result.output


# --- 4. contract 1.1 ----------------------------------------------------------

V11 = ["cost_source", "status", "cache_read_input_tokens", "reasoning_output_tokens",
       "error_type", "cache_write_input_tokens"]


def write_11(path: Path, rows: list[dict], columns=V11) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER + list(columns))
        for n, row in enumerate(rows, start=1):
            full = {**DEFAULT_ROW, "call_id": f"call_{n}", "cost_source": "recorded", "status": "ok",
                    "cache_read_input_tokens": "0", "cache_write_input_tokens": "0",
                    "reasoning_output_tokens": "0", "error_type": "", **row}
            w.writerow([full[c] for c in HEADER + list(columns)])
    return path


def test_optional_columns_are_read_by_name_in_any_order(tmp_path):
    path = write_11(tmp_path / "c.csv", [
        {"cache_read_input_tokens": "60", "cache_write_input_tokens": "20.0",
         "reasoning_output_tokens": "30"},
        {"status": "error", "error_type": "timeout", "input_tokens": "0", "output_tokens": "0"},
        {"cost_source": "unpriced", "cost_usd": ""},
        {"cost_source": "list_price"},
    ])
    session = open_session(aged(path))
    try:
        got = session.con.execute(
            "SELECT call_id, cache_read_input_tokens, cache_write_input_tokens, "
            "reasoning_output_tokens, status, error_type, cost_source, cost_usd "
            "FROM calls ORDER BY call_id").fetchall()
        assert session.source.unpriced_calls == 1 and session.source.error_calls == 1
        total = session.con.execute("SELECT count(*), sum(cost_usd) FROM calls").fetchone()
    finally:
        session.close()
    assert got == [
        ("call_1", 60, 20, 30, "ok", "", "recorded", Decimal("0.001250")),
        ("call_2", 0, 0, 0, "error", "timeout", "recorded", Decimal("0.001250")),
        ("call_3", 0, 0, 0, "ok", "", "unpriced", None),  # unknown, never $0
        ("call_4", 0, 0, 0, "ok", "", "list_price", Decimal("0.001250")),
    ]
    assert total == (4, Decimal("0.003750"))


def test_the_top_error_type_of_a_tie_is_the_same_whatever_the_row_order(tmp_path):
    # Two timeouts and two rate limits on one model: a tie. mode() broke it by
    # the order rows arrived in, which differs between the store and a direct
    # read; the rank breaks it alphabetically.
    errors = [{"status": "error", "error_type": kind} for kind in
              ("timeout", "rate_limit", "timeout", "rate_limit")]
    tops = []
    for order, rows in (("as written", errors), ("reversed", errors[::-1])):
        path = write_11(tmp_path / f"{order}.csv", rows + [{}])
        for cache in (["--no-cache"], []):
            result = CliRunner().invoke(main, ["run-sql", "performance", "--query", "errors_by_model",
                                               "--csv", str(aged(path)), "--format", "json", *cache])
            assert result.exit_code == 0, result.output
            (row,) = json.loads(result.output)["queries"]["errors_by_model"]
            tops.append((row["error_calls"], row["top_error_type"]))
    assert tops == [(4, "rate_limit")] * 4


def test_missing_optional_columns_read_as_defaults(tmp_path):
    path = write_calls(tmp_path / "c.csv", [{}])
    session = open_session(aged(path))
    try:
        row = session.con.execute("SELECT cache_read_input_tokens, cache_write_input_tokens, "
                                  "reasoning_output_tokens, status, error_type, cost_source "
                                  "FROM calls").fetchone()
    finally:
        session.close()
    assert row == (0, 0, 0, "ok", "", "recorded")


@pytest.mark.parametrize("row, reason", [
    ({"cost_usd": ""}, "cost_usd"),
    ({"cost_source": "unpriced"}, "must be empty"),
    ({"cost_source": "guess"}, "cost_source"),
    ({"status": "failed"}, "status"),
    ({"cache_read_input_tokens": "90", "cache_write_input_tokens": "20"}, "exceed input_tokens"),
    ({"reasoning_output_tokens": "101"}, "reasoning_output_tokens"),
    ({"input_tokens": "0"}, "input_tokens"),
])
def test_optional_column_rules(tmp_path, row, reason):
    source, rows, rejected = read(write_11(tmp_path / "c.csv", [row, {}]))
    assert len(rows) == 1 and reason in rejected[0][2] and rejected[0][0] == 2


def test_an_unknown_extra_column_is_an_error_unless_ignored(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(",".join(HEADER + ["status", "region"]) + "\n"
                    + ",".join(DEFAULT_ROW[c] if c != "call_id" else "c1" for c in HEADER)
                    + ",ok,eu\n")
    with pytest.raises(FinopsError, match="does not know: region"):
        read(path)
    source, rows, rejected = read(path, ignore_extra_columns=True)
    assert len(rows) == 1 and rejected == []


def test_a_column_named_twice_is_an_error(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(",".join(HEADER + ["status", "status"]) + "\n")
    with pytest.raises(FinopsError, match="twice: status"):
        read(path)


def test_a_part_of_a_file_is_read_with_its_header_and_line_offset(tmp_path):
    """How an incremental store reads a byte range: csv_header and line_offset."""
    import duckdb
    from finops.engine.paths import CALLS_SQL
    lines = lines_of([{}, {"subscription_tier": "gold"}, {}])
    part = write_lines(tmp_path / "part.csv", lines[2:])  # data lines 3.. of the file, no header
    con = duckdb.connect()
    con.execute("SET VARIABLE csv_path = ?", [str(part)])
    con.execute("SET VARIABLE csv_header = ?", [lines[0].decode()])
    con.execute("SET VARIABLE line_offset = 2")
    con.execute(CALLS_SQL.read_text())
    assert con.execute("SELECT count(*) FROM calls").fetchone()[0] == 1
    assert con.execute("SELECT line, kind FROM calls_rejected").fetchall() == [(3, "contract rule")]
    con.close()


def test_a_line_end_on_a_buffer_boundary_loses_no_row(tmp_path, monkeypatch):
    """DuckDB's parallel line reader skips, unsaid, the line after an LF that
    starts one of its buffers (a readable copy has the same bytes and lost it
    again): finops picks a buffer size with no boundary on a line end."""
    rows = [{"subscription_tier": "gold"} if n == 149 else {} for n in range(400)]
    path = write_lines(tmp_path / "calls.csv", lines_of(rows))
    data = path.read_bytes()
    boundary = data.index(b"\n", 20_000)  # the first size tried puts buffer 1 on this LF
    monkeypatch.setattr(linefix, "FIRST_BUFFER_BYTES", boundary)
    chosen = linefix.safe_buffer_size(path, len(data))
    assert all(b"\n" not in data[k - 1:k + 2] for k in range(chosen, len(data), chosen))
    source, calls, rejected = read(path)
    assert (source.rows, source.data_lines) == (399, 400)
    assert len(calls) == 399
    assert rejected == [(151, "contract rule", "unknown subscription_tier: gold")]


def test_lines_the_fast_read_skips_are_read_from_the_copy(tmp_path, monkeypatch):
    """Whatever the parallel read skips (here: forced onto a buffer boundary at a
    line end), the byte count sends the file to its copy, read on one thread."""
    rows = [{"subscription_tier": "gold"} if n == 149 else {} for n in range(400)]
    path = write_lines(tmp_path / "calls.csv", lines_of(rows))
    boundary = path.read_bytes().index(b"\n", 20_000)
    monkeypatch.setattr(linefix, "safe_buffer_size", lambda path, length: boundary)
    source, calls, rejected = read(path)
    assert (source.rows, source.data_lines) == (399, 400)
    assert len(calls) == 399
    assert rejected == [(151, "contract rule", "unknown subscription_tier: gold")]
