"""What serve and build write into --out: one build's output at a time, no name
clashes with the site's files, no local paths, temp files in a private folder."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from finops.engine import tempdir
from finops.engine.errors import FinopsError
from finops.engine.session import connect
from finops.engine.site import build_site
from finops.engine.sitelock import LOCK_NAME, build_lock
from conftest import wait_for
from test_build_support import probe_dir, sample_rows


def footer_source(html: str) -> str:
    match = re.search(r"<dt>Source</dt><dd>([^<]*)</dd>", html)
    return match.group(1) if match else ""


def test_two_builds_into_one_folder_take_turns_and_leave_one_builds_output(tmp_path, calls_csv):
    small = calls_csv(sample_rows(120), name="small.csv")
    large = calls_csv(sample_rows(240), name="large.csv")
    out = tmp_path / "reports"
    sql = probe_dir(tmp_path)
    for _ in range(2):
        waits: list[str] = []
        results = {}
        threads = [threading.Thread(target=lambda c=c: results.__setitem__(c.name, build_site(
            c, out, sql_dirs=[sql], on_wait=waits.append))) for c in (small, large)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join(120)
        assert {r.status for r in results.values()} == {"ok"}
        assert len(waits) == 1 and "waiting for it to finish" in waits[0]
        manifest = json.loads((out / "manifest.json").read_text())
        winner = manifest["csv_path"]
        assert f'"csv_path":"{winner}"' in (out / "index.html").read_text().replace(" ", "")
        for entry in manifest["reports"]:
            assert footer_source((out / entry["file"]).read_text()).startswith(winner + " ")
            for name in entry["downloads"]:
                assert (out / name).is_file(), name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".staging-")]


def test_the_lock_says_who_holds_it_and_gives_up_clearly(tmp_path):
    messages: list[str] = []
    with build_lock(tmp_path):
        with pytest.raises(FinopsError) as info:
            with build_lock(tmp_path, timeout=0.3, on_wait=messages.append):
                pass
    assert f"(pid {os.getpid()})" in messages[0]
    assert "held" in str(info.value) and "--out" in str(info.value)
    with build_lock(tmp_path, timeout=0.3):  # released: free again
        pass
    assert (tmp_path / LOCK_NAME).exists()


def test_cli_second_build_waits_with_a_message(tmp_path, calls_csv):
    import subprocess
    import sys

    csv_path = calls_csv(sample_rows(120))
    out = tmp_path / "reports"
    out.mkdir()
    finops = Path(sys.executable).parent / "finops"
    with build_lock(out):
        proc = subprocess.Popen([str(finops), "build", "--csv", str(csv_path), "--out", str(out),
                                 "--quiet"], stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        # Wait for its wait message (not a fixed sleep): it saw the lock.
        waiting = lambda: any("waiting for it to finish" in line for line in lines)  # noqa: E731
        assert wait_for(lambda: waiting() or proc.poll() is not None, timeout=60), lines
        assert proc.poll() is None, "it waits while the folder is locked"
        assert waiting(), lines
    assert proc.wait(120) == 0, lines
    reader.join(10)


@pytest.mark.parametrize("name", ["index", "manifest", "assets"])
def test_an_analyzer_named_like_a_site_file_is_an_error(tmp_path, calls_csv, name):
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / f"{name}.sql").write_text(
        f"-- name: {name}\n-- title: Clash\n-- category: finops\n-- version: 1\n"
        "-- description: Named like a site file.\n\n-- query: totals\nSELECT count(*) AS n FROM calls\n")
    out = tmp_path / "reports"
    result = build_site(calls_csv(sample_rows(40)), out, sql_dirs=[sql])
    assert result.status == "partial"
    entry = next(r for r in result.reports if r.id == name)
    assert not entry.ok and "taken by the site's own files" in entry.error and entry.file is None
    assert "finops live viewer" in (out / "assets" / "viewer.js").read_text()
    assert (out / "index.html").read_text().startswith("<!doctype html>")
    assert 'id="report-cards"' in (out / "index.html").read_text()
    json.loads((out / "manifest.json").read_text())


def test_two_analyzers_writing_the_same_download_is_an_error(tmp_path, calls_csv):
    sql = tmp_path / "sql"
    sql.mkdir()
    head = "-- title: T\n-- category: finops\n-- version: 1\n-- description: d.\n\n"
    (sql / "p.sql").write_text("-- name: p\n" + head + "-- query: x-y\nSELECT call_id FROM calls ORDER BY 1\n")
    (sql / "p-x.sql").write_text("-- name: p-x\n" + head + "-- query: y\nSELECT call_id FROM calls ORDER BY 1\n")
    result = build_site(calls_csv(sample_rows(240)), tmp_path / "reports", sql_dirs=[sql])
    failed = [r for r in result.reports if not r.ok]
    assert len(failed) == 1 and "p-x-y.csv is also written by analyzer" in failed[0].error


def test_served_files_never_show_absolute_local_paths(tmp_path, calls_csv):
    rows = sample_rows(240) + [{"latency_ms": "zero"}]
    csv_path = calls_csv(rows)
    out = tmp_path / "reports"
    sql = probe_dir(tmp_path, broken=True)
    (sql / "typo.sql").write_text("-- name: typo\n-- title: T\n")
    build_site(csv_path, out, sql_dirs=[sql])
    build_site(tmp_path / "gone.csv", out, sql_dirs=[sql])  # an error naming the missing file
    secrets = {str(tmp_path), str(Path.cwd()), str(Path.home())} - {"/"}
    for path in out.rglob("*"):
        if path.is_file() and path.name != LOCK_NAME:
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, (path.name, secret)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["csv_path"] == "gone.csv" and "gone.csv" in manifest["error"]


def test_temp_folder_is_private(tmp_path, monkeypatch):
    monkeypatch.delenv("FINOPS_TEMP_DIR", raising=False)
    monkeypatch.setattr(tempdir.tempfile, "gettempdir", lambda: str(tmp_path))
    con = connect()
    try:
        spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    finally:
        con.close()
    root = tmp_path / f"finops-{os.getuid()}"
    assert spill == root / f"run-{os.getpid()}"
    assert (root.stat().st_mode & 0o777) == 0o700 and (spill.stat().st_mode & 0o777) == 0o700


def test_temp_folder_of_another_user_or_a_symlink_is_refused(tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    link = tmp_path / "link"
    link.symlink_to(theirs)
    monkeypatch.setenv("FINOPS_TEMP_DIR", str(link))
    with pytest.raises(FinopsError, match="symlink"):
        connect()
    if os.geteuid() == 0:  # only root can give a folder away
        os.chown(theirs, 12345, 12345)
        monkeypatch.setenv("FINOPS_TEMP_DIR", str(theirs))
        with pytest.raises(FinopsError, match="belongs to another user"):
            connect()
    monkeypatch.setattr(tempdir.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("FINOPS_TEMP_DIR")
    planted = tmp_path / f"finops-{os.getuid()}"
    planted.symlink_to(theirs)  # someone made our default name point at their folder
    with pytest.raises(FinopsError, match="symlink"):
        connect()


def test_leftovers_of_a_killed_build_are_cleaned_by_the_next(tmp_path, calls_csv):
    out = tmp_path / "reports"
    (out / ".staging-abc123").mkdir(parents=True)
    (out / ".staging-abc123" / "probe.html").write_text("half")
    (out / ".index.html.x1y2.tmp").write_text("half")
    (out / "notes.txt").write_text("mine")
    build_site(calls_csv(sample_rows(40)), out)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [LOCK_NAME]
    assert (out / "notes.txt").read_text() == "mine"
