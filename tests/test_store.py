"""The calls store: cached builds equal direct reads, whatever happened to the file.

Every comparison runs every analyzer twice - through the store and with
cache=False (sql/calls.sql straight on the CSV) - and compares the JSON
run-sql would print, plus the whole calls_rejected table.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from finops import simulator
from finops.engine import analyze, store
from finops.engine.cli import main
from finops.engine.console import dumps
from finops.engine.errors import FinopsError, NoDataError

from conftest import HEADER, write_calls


def run_all(path, cache: bool = True) -> tuple[dict, str]:
    """(source dict, every analyzer's JSON) as `run-sql all --format json` prints them."""
    source, results = analyze.run_sql("all", path, cache=cache)
    return source.to_dict(), dumps([r.to_json() for r in results])


def rejected(path, cache: bool = True) -> list:
    _, result = analyze.adhoc_query(
        "SELECT * FROM calls_rejected ORDER BY line NULLS LAST, kind, reason, content",
        path, cache=cache)
    return result.rows


def assert_same(path) -> dict:
    """Cached and direct reads agree on everything; the cached source block."""
    cached_source, cached = run_all(path)
    direct_source, direct = run_all(path, cache=False)
    assert cached_source == direct_source
    assert cached == direct
    assert rejected(path) == rejected(path, cache=False)
    return cached_source


def notes(path) -> list[str]:
    source, _ = analyze.adhoc_query("SELECT count(*) FROM calls", path)
    return source.notes


def store_dir(path: Path) -> Path:
    return path.parent / (path.name + store.STORE_SUFFIX)


def manifest(path: Path) -> dict:
    return json.loads((store_dir(path) / "manifest.json").read_text())


@pytest.fixture
def sim_csv(tmp_path, simulated_csv):
    return simulated_csv(tmp_path / "calls.csv", rows=3000, seed=11, days=6)


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def test_first_build_then_append_reads_only_new_bytes(sim_csv):
    assert_same(sim_csv)
    first = manifest(sim_csv)["units"][0]
    assert first["end"] == sim_csv.stat().st_size
    size_before = sim_csv.stat().st_size
    simulator.simulate(sim_csv, rows=500, append=True)
    source, _ = analyze.adhoc_query("SELECT count(*) FROM calls", sim_csv)
    assert source.notes == []
    unit = manifest(sim_csv)["units"][0]
    assert [s["start"] for s in unit["segments"]] == [0, size_before]
    assert unit["end"] == sim_csv.stat().st_size
    assert_same(sim_csv)


def test_rejects_duplicates_and_line_numbers_across_segments(tmp_path):
    path = write_calls(tmp_path / "calls.csv", [{"call_id": f"c{n}"} for n in range(20)]
                       + [{"call_id": "c3"}, {"subscription_tier": "gold"}])
    assert_same(path)
    lines = [b"2025-11-02T10:00:00,short,row\n"]  # malformed: wrong field count
    row = dict(zip(HEADER, ["2025-11-02T11:00:00", "c3", "openai", "gpt-4o", "10", "10",
                             "0.000100", "300", "cust_9", "pro", "org_1", "p", "f", "chat",
                             "production", "", "", "", ""]))
    lines.append((",".join(row.values()) + "\n").encode())  # a repeat of c3 from segment 1
    row["call_id"] = "c5"
    lines.append((",".join(row.values()) + "\n").encode())  # a repeat of c5 from segment 1
    row["call_id"] = "new_1"
    lines.append((",".join(row.values()) + "\n").encode())
    lines.append((",".join(row.values()) + "\n").encode())  # repeated within the new segment
    append(path, b"".join(lines))
    source = assert_same(path)
    assert source["duplicate_call_ids"] == 4  # c3 twice more, c5 once, new_1 once
    rows = rejected(path)
    malformed = [r for r in rows if r[1] == "malformed CSV line"]
    assert [r[0] for r in malformed] == [24]  # header 1, 22 rows, then the short row
    # One row per repeat, at its own line, naming the first occurrence's line
    # (in the earlier segment for c3 and c5).
    dups = [(r[0], r[3], r[2]) for r in rows if r[1] == "duplicate call_id"]
    seen = "call_id seen earlier in the file"
    assert dups == [(22, "c3", f"{seen} (line 5): c3"), (25, "c3", f"{seen} (line 5): c3"),
                    (26, "c5", f"{seen} (line 7): c5"), (28, "new_1", f"{seen} (line 27): new_1")]
    assert len(manifest(path)["units"][0]["segments"]) == 2


def test_cut_last_line_is_read_once_complete(sim_csv):
    assert_same(sim_csv)
    full = sim_csv.read_bytes()
    last_line = full[full.rstrip(b"\n").rfind(b"\n") + 1:]
    new = last_line.replace(last_line.split(b",")[1], b"tail_call_1", 1)
    append(sim_csv, new[:40])  # a writer mid-line
    source = assert_same(sim_csv)
    assert source["partial_tail_bytes"] == 40
    assert manifest(sim_csv)["units"][0]["end"] == len(full)
    append(sim_csv, new[40:])
    source = assert_same(sim_csv)
    assert source["partial_tail_bytes"] == 0
    assert manifest(sim_csv)["units"][0]["end"] == len(full) + len(new)


def test_edit_of_one_ingested_byte_keeping_the_size_is_caught(sim_csv):
    assert_same(sim_csv)
    data = bytearray(sim_csv.read_bytes())
    # Change one digit of a cost in the middle of the file, in place.
    pos = data.index(b",0.0", len(data) // 2) + 4
    data[pos] = ord("9") if data[pos] != ord("9") else ord("8")
    stat = sim_csv.stat()
    with open(sim_csv, "r+b") as fh:
        fh.seek(pos)
        fh.write(bytes([data[pos]]))
    os.utime(sim_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even the mtime is kept
    assert sim_csv.stat().st_ino == stat.st_ino and sim_csv.stat().st_size == stat.st_size
    found = notes(sim_csv)
    assert any("checksum differs" in n for n in found), found
    assert_same(sim_csv)


def test_mid_file_rewrite_after_an_append(sim_csv):
    assert_same(sim_csv)
    simulator.simulate(sim_csv, rows=300, append=True)
    assert_same(sim_csv)
    text = sim_csv.read_text()
    lines = text.splitlines(keepends=True)
    del lines[100:200]  # rows removed from the middle: a rewrite that grows nothing
    lines.insert(50, lines[10])  # and a duplicate inserted
    sim_csv.write_text("".join(lines) * 1)
    simulator.simulate(sim_csv, rows=400, append=True)  # bigger than before again
    assert any("checksum differs" in n or "shorter" in n for n in notes(sim_csv))
    assert_same(sim_csv)


def test_truncated_file_is_reread(sim_csv):
    assert_same(sim_csv)
    data = sim_csv.read_bytes()
    cut = data.rfind(b"\n", 0, len(data) // 2) + 1
    with open(sim_csv, "r+b") as fh:
        fh.truncate(cut)
    assert any("shorter than what was read" in n for n in notes(sim_csv))
    assert_same(sim_csv)


def test_replaced_file_is_reread(sim_csv, tmp_path):
    assert_same(sim_csv)
    other = tmp_path / "other.csv"
    simulator.simulate(other, rows=3500, seed=99, days=6)
    os.replace(other, sim_csv)  # a new inode under the same name
    assert any("new inode" in n for n in notes(sim_csv))
    assert_same(sim_csv)


def test_store_is_only_a_cache(sim_csv):
    first = run_all(sim_csv)
    shutil.rmtree(store_dir(sim_csv))
    assert run_all(sim_csv) == first
    (store_dir(sim_csv) / "manifest.json").write_text("{not json")
    assert run_all(sim_csv) == first
    # A segment file gone missing: the store notices and starts again.
    next(store_dir(sim_csv).glob("*.calls.parquet")).unlink()
    assert run_all(sim_csv) == first


def test_contract_sql_change_invalidates(sim_csv, monkeypatch):
    assert_same(sim_csv)
    monkeypatch.setattr(store, "_contract_key", lambda: "another-contract")
    assert any("another version" in n for n in notes(sim_csv))


def test_big_first_ingest_in_chunks_and_compaction(sim_csv, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_BYTES", 60_000)
    monkeypatch.setattr(store, "MAX_SEGMENTS", 4)
    direct = run_all(sim_csv, cache=False)
    assert run_all(sim_csv) == direct
    assert len(manifest(sim_csv)["units"][0]["segments"]) <= 4
    for _ in range(3):
        simulator.simulate(sim_csv, rows=200, append=True)
        assert_same(sim_csv)
    segs = manifest(sim_csv)["units"][0]["segments"]
    assert len(segs) <= 4
    assert [s["start"] for s in segs[1:]] == [s["end"] for s in segs[:-1]]


def test_compaction_never_merges_past_a_chunk(sim_csv, monkeypatch):
    """A first build's chunks are left as they are (merging them rewrote most of a
    5 GB store); segments that together fit in a chunk are merged."""
    monkeypatch.setattr(store, "MAX_SEGMENTS", 1)
    monkeypatch.setattr(store, "CHUNK_BYTES", 60_000)
    assert_same(sim_csv)  # one segment: the file is read in one block
    for _ in range(2):
        simulator.simulate(sim_csv, rows=200, append=True)  # about 70 KB each
        assert_same(sim_csv)
    assert len(manifest(sim_csv)["units"][0]["segments"]) == 3  # no pair fits in 60 KB
    monkeypatch.setattr(store, "CHUNK_BYTES", 10_000_000)
    simulator.simulate(sim_csv, rows=200, append=True)
    assert_same(sim_csv)
    segs = manifest(sim_csv)["units"][0]["segments"]
    assert len(segs) == 1 and segs[0]["start"] == 0


def test_quoted_newline_and_unbalanced_quote(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_BYTES", 2_000)
    rows = [{"call_id": f"q{n}", "user_agent": "multi\nline agent" if n % 7 == 0 else "ua"}
            for n in range(60)]
    path = write_calls(tmp_path / "calls.csv", rows)
    assert_same(path)
    append(path, b'2025-11-03T00:00:00,"open quote,openai\n')
    assert_same(path)
    append(path, ("2025-11-03T01:00:00,after,openai,gpt-4o,1,1,0.1,1,c,pro,o,p,f,t,"
                  "production,,,,\n").encode())
    assert_same(path)


def test_empty_and_header_only_files(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("")
    with pytest.raises(NoDataError):
        run_all(path)
    path.write_text(",".join(HEADER) + "\n")
    with pytest.raises(NoDataError, match="no valid rows"):
        run_all(path)
    write_calls(path, [{}])
    assert_same(path)


def test_bad_header_is_one_clear_error(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FinopsError, match="CSV header is not the finops contract"):
        run_all(path)


# --- other inputs ------------------------------------------------------------

def _to_parquet(csv_path: Path, out: Path) -> Path:
    con = duckdb.connect()
    con.execute("SET VARIABLE src = ?", [str(csv_path)])
    con.execute(f"COPY (SELECT * FROM read_csv(getvariable('src'), all_varchar = true)) "
                f"TO '{out}' (FORMAT parquet)")
    con.close()
    return out


def _queries(path, cache=True) -> str:
    return run_all(path, cache)[1]


def test_parquet_file_reads_like_the_csv(sim_csv, tmp_path):
    pq = _to_parquet(sim_csv, tmp_path / "calls.parquet")
    assert _queries(pq) == _queries(sim_csv)
    assert _queries(pq, cache=False) == _queries(sim_csv)


def test_parquet_with_wrong_columns_is_a_clear_error(tmp_path):
    pq = tmp_path / "bad.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1 AS a, 2 AS b) TO '{pq}' (FORMAT parquet)")
    with pytest.raises(FinopsError, match="not the finops contract"):
        run_all(pq)


def _split_by_day(csv_path: Path, folder: Path, parquet_days: int = 0) -> list[Path]:
    folder.mkdir()
    lines = csv_path.read_text().splitlines(keepends=True)
    by_day: dict[str, list[str]] = {}
    for line in lines[1:]:
        by_day.setdefault(line[:10], []).append(line)
    out = []
    for n, (day, day_lines) in enumerate(sorted(by_day.items())):
        p = folder / f"calls-{day}.csv"
        p.write_text(lines[0] + "".join(day_lines))
        if n < parquet_days:
            out.append(_to_parquet(p, folder / f"calls-{day}.parquet"))
            p.unlink()
        else:
            out.append(p)
    return out


def test_a_file_whose_name_has_glob_characters_is_that_file(sim_csv, tmp_path):
    """`calls[1].csv` exists: it is read as the file, not as a pattern matching `calls1.csv`."""
    odd = tmp_path / "odd" / "calls[1].csv"
    odd.parent.mkdir()
    shutil.copy(sim_csv, odd)
    assert store.resolve_inputs(str(odd)) == [odd]
    assert store.default_store_dir(str(odd)) == odd.parent / ("calls[1].csv" + store.STORE_SUFFIX)
    assert assert_same(odd)["rows"] > 0
    # a name that exists nowhere is still a pattern
    assert store.is_pattern(str(tmp_path / "odd" / "calls[0-9].csv"))


def test_glob_and_folder_of_daily_files(sim_csv, tmp_path):
    whole = _queries(sim_csv)
    files = _split_by_day(sim_csv, tmp_path / "daily")
    assert len(files) >= 5
    pattern = str(tmp_path / "daily" / "*.csv")
    assert _queries(pattern) == whole
    assert _queries(pattern, cache=False) == whole
    assert _queries(tmp_path / "daily") == whole
    # The last day grows: only it is read again, and the answer follows.
    extra = files[-1].read_text().splitlines(keepends=True)[1:3]
    append(files[-1], "".join(extra).replace(",call_", ",again_call_").encode())
    assert _queries(pattern) == _queries(pattern, cache=False)


def test_mixed_csv_and_parquet_folder(sim_csv, tmp_path):
    whole = _queries(sim_csv)
    _split_by_day(sim_csv, tmp_path / "mixed", parquet_days=2)
    assert _queries(tmp_path / "mixed") == whole


def test_glob_with_no_match_is_clear(tmp_path):
    with pytest.raises(FinopsError, match="no file matches"):
        run_all(str(tmp_path / "nothing-*.csv"))


def test_a_file_with_another_header_in_a_glob_is_an_error(sim_csv, tmp_path):
    _split_by_day(sim_csv, tmp_path / "daily")
    (tmp_path / "daily" / "calls-9999.csv").write_text("a,b\n1,2\n")
    with pytest.raises(FinopsError, match="calls-9999.csv: CSV header is not the finops contract"):
        run_all(str(tmp_path / "daily" / "*.csv"))


# --- processes and the command line ----------------------------------------------

def _hammer(path: str, rounds: int) -> None:
    for _ in range(rounds):
        analyze.run_sql("understanding", path)


def test_two_processes_never_corrupt_the_store(sim_csv):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_hammer, args=(str(sim_csv), 4)) for _ in range(2)]
    for w in workers:
        w.start()
    for _ in range(4):
        simulator.simulate(sim_csv, rows=100, append=True)
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert_same(sim_csv)


def test_cli_no_cache_and_notes(sim_csv, tmp_path):
    runner = CliRunner()
    cached = runner.invoke(main, ["run-sql", "all", "--csv", str(sim_csv), "--format", "json"])
    direct = runner.invoke(main, ["run-sql", "all", "--csv", str(sim_csv), "--format", "json",
                                  "--no-cache"])
    assert cached.exit_code == 0 and direct.exit_code == 0, cached.output + direct.output
    assert cached.stdout == direct.stdout
    with open(sim_csv, "r+b") as fh:
        fh.seek(sim_csv.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(b"7" if byte != b"7" else b"8")
    built = runner.invoke(main, ["build", "--csv", str(sim_csv), "--out", str(tmp_path / "r")])
    assert built.exit_code in (0, 1)
    assert "re-reading it from scratch" in built.stderr


@pytest.mark.skipif(not (shutil.which("duckdb") or (Path(os.sys.executable).parent / "duckdb").exists()),
                    reason="the DuckDB CLI (pip install duckdb-cli) is not installed")
def test_shell_reads_the_store_of_a_glob(sim_csv, tmp_path):
    import subprocess

    from finops.engine import shell

    _split_by_day(sim_csv, tmp_path / "daily")
    query = "SELECT count(*) AS n, sum(cost_usd) AS cost FROM calls"
    _, direct = analyze.adhoc_query(query, sim_csv, cache=False)
    with shell.shell_session(str(tmp_path / "daily" / "*.csv")) as (argv, env):
        out = subprocess.run(argv + ["-csv", "-c", query], env=env, capture_output=True,
                             text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    n, cost = out.stdout.strip().splitlines()[-1].split(",")
    assert (int(n), cost) == (direct.rows[0][0], str(direct.rows[0][1]))


@pytest.mark.skipif(not (shutil.which("duckdb") or (Path(os.sys.executable).parent / "duckdb").exists()),
                    reason="the DuckDB CLI (pip install duckdb-cli) is not installed")
def test_shell_without_the_store_reads_a_damaged_file_as_run_sql_does(sim_csv):
    """`finops shell --no-cache` sees the rows and rejects `run-sql --no-cache` sees:
    a line over the 2 MB limit and a lone CR (which DuckDB alone would take
    or split differently), and writes no store beside the file."""
    import subprocess

    from finops.engine import shell

    lines = sim_csv.read_bytes().split(b"\n")
    fields = lines[20].split(b",")
    fields[18] = b'"' + b"x" * 2_050_000 + b'"'  # user_agent
    lines[20] = b",".join(fields)
    lines[40] = lines[40].replace(b",", b",\r", 1)
    sim_csv.write_bytes(b"\n".join(lines))
    query = ("SELECT (SELECT count(*) FROM calls) AS n, (SELECT sum(cost_usd) FROM calls) AS cost, "
             "(SELECT string_agg(line || ':' || reason, '|' ORDER BY line, reason) "
             "FROM calls_rejected) AS rejects")
    _, direct = analyze.adhoc_query(query, sim_csv, cache=False)
    n, cost, rejects = direct.rows[0]
    assert "21:line longer than 2 MB" in rejects and "41:" in rejects
    with shell.shell_session(sim_csv, cache=False) as (argv, env):
        out = subprocess.run(argv + ["-json", "-c", query], env=env, capture_output=True,
                             text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout[out.stdout.index("["):])[0]
    assert (row["n"], row["cost"], row["rejects"]) == (n, str(cost), rejects)
    assert not store_dir(sim_csv).exists()


def test_unwritable_store_place_falls_back_to_the_user_cache(sim_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    store_dir(sim_csv).write_text("not a folder")  # the store's place is taken
    found = notes(sim_csv)
    assert any("keeping the store in" in n for n in found), found
    assert list((tmp_path / "cache" / "finops" / "stores").glob("*/manifest.json"))
    assert_same(sim_csv)


def test_a_glob_never_reads_the_stores_own_files(sim_csv, tmp_path):
    whole = _queries(sim_csv)
    _split_by_day(sim_csv, tmp_path / "daily", parquet_days=10)
    pattern = str(tmp_path / "*" / "*.parquet")
    assert _queries(pattern) == whole
    assert list(tmp_path.glob("finops-store-*/*.calls.parquet"))  # matched by the pattern
    assert _queries(pattern) == whole  # now the store's Parquet files are there too


def test_an_untouched_file_is_not_rehashed_but_any_write_is_seen(sim_csv, tmp_path, monkeypatch):
    from finops.engine.session import connect

    monkeypatch.setattr(store, "_STILL_SECONDS", 0.0)

    def open_report():
        s = store.open_store(sim_csv, connect, tmp_path / "spill")
        s.close()
        return s.report

    open_report()
    assert open_report().check_seconds == 0.0  # size and ctime unchanged: no re-hash
    with open(sim_csv, "r+b") as fh:  # one byte, same size, mtime put back
        stat = sim_csv.stat()
        fh.seek(stat.st_size // 3)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(b"5" if byte != b"5" else b"6")
    os.utime(sim_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = open_report()
    assert report.check_seconds > 0 and any("checksum differs" in n for n in report.notes)
    assert_same(sim_csv)


def test_a_folder_of_empty_files_is_no_data(tmp_path):
    (tmp_path / "daily").mkdir()
    (tmp_path / "daily" / "a.csv").write_text("")
    (tmp_path / "daily" / "b.csv").write_text("timestamp,call_id")
    with pytest.raises(NoDataError, match="no data yet"):
        run_all(tmp_path / "daily")


# --- damaged files (issue 9's line reader) through the store -------------------

def damaged_lines(first: int, count: int) -> list[bytes]:
    """count contract lines (no header), call_ids from first, with some damage."""
    out = []
    for i in range(first, first + count):
        row = dict(zip(HEADER, [f"2025-11-{1 + i % 20:02d}T10:{i % 60:02d}:00", f"d{i}",
                                 "openai", "gpt-4o", "100", "100", f"0.{i:06d}", "400",
                                 f"cust_{i % 7}", "pro", "org_1", "p", "f", "chat",
                                 "production", "", "", "", "test/1.0"]))
        line = ",".join(row.values()).encode()
        kind = i % 23
        if kind == 3 and i < 60:
            # an unbalanced quote (near the end of what was read, it would make
            # an append re-read the file: a later line could pair with it)
            line = line.replace(b"cust_", b'"cust_', 1)
        elif kind == 5:
            line = line[:30] + b"\xff" + line[30:]              # invalid UTF-8
        elif kind == 7:
            line = line.replace(b"test/1.0", b"te\rst")         # a lone CR outside quotes
        elif kind == 9:
            line = line.replace(b"test/1.0", b'"c\r\nd, e\nf"')  # a record over three lines
        elif kind == 11:
            line = b""                                          # an empty line
        elif kind == 13:
            line = line.replace(b",d%d," % i, b",d%d," % (i - 40))  # a repeat, maybe of a
            # call_id kept in an earlier segment
        elif kind == 17:
            line += b"\r"                                       # CRLF
        out.append(line + b"\n")
    return out


def test_damaged_file_reads_the_same_cached_after_appends_and_a_rewrite(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\n" + b"".join(damaged_lines(0, 300)))
    before = rejected(path, cache=False)
    assert {r[1] for r in before} == {"malformed CSV line", "duplicate call_id"}
    assert_same(path)
    for start in (300, 350):  # appends: new segments, repeats of earlier segments' ids
        append(path, b"".join(damaged_lines(start, 50)))
        source = assert_same(path)
        assert (source["rows"] + source["rows_rejected"] + source["duplicate_call_ids"]
                + source["continuation_lines"]) == source["data_lines"]
    assert len(manifest(path)["units"][0]["segments"]) == 3
    # every reject's line is the file's physical line: the damaged ones fall
    # where damaged_lines put them (the multi-line records shift later lines)
    assert any(r[0] > 300 and r[1] == "duplicate call_id" and "line " in r[2]
               for r in rejected(path))
    # an unbalanced quote near the end: the next append re-reads, same answer
    append(path, b"".join(damaged_lines(400, 5)).replace(b"cust_", b'"cust_', 1))
    assert_same(path)
    append(path, b"".join(damaged_lines(405, 5)))
    assert any("unpaired quote" in n for n in notes(path))
    assert_same(path)
    # an edit in the middle, same size: re-read from scratch, same answer
    data = bytearray(path.read_bytes())
    at = data.index(b",d60,")
    data[at + 2] = ord("x")
    path.write_bytes(bytes(data))
    assert any("re-reading" in n for n in notes(path))
    assert_same(path)


def test_a_setting_change_re_reads_the_store(tmp_path, monkeypatch):
    path = write_calls(tmp_path / "calls.csv", [{"timestamp": "2025-11-01T10:00:00"},
                                                {"timestamp": "2019-06-01T10:00:00"}])
    assert_same(path)
    monkeypatch.setenv("FINOPS_MIN_CALL_DATE", "2020-01-01")
    assert any("other settings" in n for n in notes(path))
    source = assert_same(path)
    assert source["rows"] == 1 and source["rows_rejected"] == 1


def test_an_open_quote_past_the_reject_sample_still_makes_an_append_re_read(tmp_path):
    """A NUL line whose odd quote lies past the 500 characters a reject keeps: the
    line its closing quote is on, appended later, joins it as in a direct read."""
    path = write_calls(tmp_path / "calls.csv", [{"call_id": f"n{n}"} for n in range(5)])
    fields = path.read_text().splitlines()[1].split(",")
    fields[1], fields[15] = "nul_1", "r" * 600  # the quote below is past character 500
    append(path, (",".join(fields[:18]) + ',"agent start\x00tail\n').encode())
    assert_same(path)
    assert manifest(path)["units"][0]["quotes_even"] is False
    append(path, b'agent end"\n')
    source = assert_same(path)
    assert (source["rows"], source["continuation_lines"]) == (6, 1)


def test_chunks_are_cut_clear_of_quoted_fields_whatever_came_before(sim_csv, monkeypatch):
    """A stray quote early in a big first read (one unbalanced line) must not put
    a later chunk boundary inside a record whose quoted field spans two lines."""
    monkeypatch.setattr(store, "BLOCK_BYTES", 256_000)
    monkeypatch.setattr(store, "CHUNK_BYTES", 100_000)
    lines = sim_csv.read_bytes().split(b"\n")
    header, body = lines[0], lines[1:-1]
    stray = body[100].split(b",")
    stray[13] = b'qa"x'
    body[100] = b",".join(stray)
    for at in range(300, 2900, 400):  # records spanning two lines, after chunk starts
        record = body[at].split(b",")
        record[18] = b'"agent line one\nagent line two"'
        body[at] = b",".join(record)
    sim_csv.write_bytes(header + b"\n" + b"\n".join(body) + b"\n")
    source = assert_same(sim_csv)
    assert len(manifest(sim_csv)["units"][0]["segments"]) > 2  # it was read in chunks
    assert source["continuation_lines"] == len(range(300, 2900, 400))


def test_a_chunk_is_never_cut_after_a_line_whose_nul_hides_an_open_quote(sim_csv, monkeypatch):
    """calls.sql reads a line up to its NUL: `..,"agent start<NUL>tail"` has an
    open quote there and pairs with the `agent end"` line after it. A chunk cut
    between the two, counting the whole line's (even) quotes, lost the record."""
    monkeypatch.setattr(store, "BLOCK_BYTES", 256_000)
    monkeypatch.setattr(store, "CHUNK_BYTES", 100_000)
    data = sim_csv.read_bytes()
    cut = store.CHUNK_BYTES - 1  # where the first chunk looks for its cut
    start = data.rindex(b"\n", 0, cut) + 1
    end = data.index(b"\n", cut)
    fields = data[start:end].split(b",")
    fields[1] = b"nul_at_the_cut"
    head = b",".join(fields[:18]) + b',"agent start\x00'
    line = head + b"t" * max(0, cut - start - len(head) + 1) + b'tail"'
    sim_csv.write_bytes(data[:start] + line + b'\nagent end"\n' + data[end + 1:])
    source = assert_same(sim_csv)
    assert len(manifest(sim_csv)["units"][0]["segments"]) > 2  # it was read in chunks
    assert (source["rows_rejected"], source["continuation_lines"]) == (0, 1)


def test_csv_path_is_written_alike_cached_and_direct(sim_csv, monkeypatch):
    monkeypatch.chdir(sim_csv.parent)
    for spelling in ("./calls.csv", str(sim_csv.parent) + "//calls.csv"):
        cached, direct = run_all(spelling)[0], run_all(spelling, cache=False)[0]
        assert cached["csv_path"] == direct["csv_path"] == str(Path(spelling))


def test_errors_name_the_file_alike_cached_and_direct(tmp_path, monkeypatch):
    """A file that cannot be read (a bad header, no valid row) is named as typed,
    the same cached or not: the message is what run-sql prints and a build's
    pages show."""
    monkeypatch.chdir(tmp_path)
    Path("header.csv").write_text("a,b,c\n1,2,3\n")
    write_calls(tmp_path / "no_valid.csv", [{"call_id": f"n{n}", "environment": "prod"}
                                            for n in range(3)])
    for name in ("header.csv", "no_valid.csv"):
        for spelling in (name, "./" + name):
            messages = []
            for cache in (True, False):
                with pytest.raises(FinopsError) as caught:
                    run_all(spelling, cache=cache)
                messages.append(str(caught.value))
            assert messages[0] == messages[1]
            assert messages[0].startswith(f"{Path(spelling)}: ") or \
                f" {Path(spelling)} has no valid rows" in messages[0]


def test_a_gz_file_is_one_clear_error_cached_or_not(tmp_path):
    path = tmp_path / "calls.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00")
    for cache in (True, False):
        with pytest.raises(FinopsError, match=r"reads CSV or Parquet files, not \.gz"):
            run_all(path, cache=cache)


def undetected_damage(monkeypatch) -> None:
    """Stamps that always match: damage no stat shows (a disk error, a flipped bit)."""
    monkeypatch.setattr(store.CallsStore, "_stamp", lambda self, seg: "")


def test_a_damaged_segment_is_made_again_with_a_note(sim_csv, monkeypatch):
    undetected_damage(monkeypatch)
    expected = run_all(sim_csv, cache=False)
    assert run_all(sim_csv) == expected
    segment = sorted(store_dir(sim_csv).glob("*.calls.parquet"))[0]
    with open(segment, "r+b") as fh:
        fh.truncate(3000)
    assert any("could not be read" in note and "made again from scratch" in note
               for note in notes(sim_csv))
    assert run_all(sim_csv) == expected
    assert not segment.exists()  # swept


@pytest.mark.parametrize("kind", ["calls", "duplicates"])
def test_a_damaged_segment_found_while_appending_is_made_again_with_a_note(
        sim_csv, monkeypatch, kind):
    """An append reads the stored call_ids (calls) and compaction every kind of
    segment: one damaged since it was written makes the store again, never an
    error that stays until the store is deleted."""
    monkeypatch.setattr(store, "MAX_SEGMENTS", 1)  # the append's segment is merged at once
    undetected_damage(monkeypatch)
    run_all(sim_csv)
    segment = sorted(store_dir(sim_csv).glob(f"*.{kind}.parquet"))[0]
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size // 2)
    simulator.simulate(sim_csv, rows=200, append=True)
    assert any("could not be read" in note and "made again from scratch" in note
               for note in notes(sim_csv))
    assert_same(sim_csv)


def test_a_segment_written_to_since_is_made_again_even_with_its_size_and_mtime_kept(sim_csv):
    """A flipped byte in a stored value can read as another value, not as an
    error: a segment file written to since the store wrote it is never read."""
    expected = run_all(sim_csv, cache=False)
    assert run_all(sim_csv) == expected
    segment = sorted(store_dir(sim_csv).glob("*.calls.parquet"))[0]
    before = segment.stat()
    with open(segment, "r+b") as fh:
        fh.seek(before.st_size // 3)
        byte = fh.read(1)
        fh.seek(before.st_size // 3)
        fh.write(bytes([byte[0] ^ 0x04]))
    os.utime(segment, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert any("damaged" in note for note in notes(sim_csv))
    assert run_all(sim_csv) == expected
