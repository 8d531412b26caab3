"""Fault injection for the live loop: whatever happens to the files, serve keeps
building, says what is wrong in manifest.json (which the viewer shows), and
keeps the last good reports visible.

The first group drives RebuildLoop with a counting build (fast); the second
runs the real build (LiveBuild -> build_site) and reads the manifest and the
index page the viewer swaps in.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from functools import partial

import pytest

from finops.engine import session as session_module
from finops.engine import site as site_module
from finops.engine.live import LiveBuild
from finops.engine.watch import WatchPlan

import conftest

wait_for = partial(conftest.wait_for, timeout=20.0)


class Counter:
    def __init__(self, csv):
        self.csv, self.seen = csv, []

    def __call__(self):
        try:
            self.seen.append(self.csv.read_bytes())
        except OSError:
            self.seen.append(None)


Running = partial(conftest.RunningLoop, debounce=0.1)


# --- the loop never goes quiet -------------------------------------------------

def test_csv_folder_removed_and_recreated(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    csv = folder / "calls.csv"
    csv.write_text("header\nrow 1\n")
    build = Counter(csv)
    with Running(build, WatchPlan(csv)) as running:
        assert wait_for(lambda: running.builds == 1)
        shutil.rmtree(folder)
        assert wait_for(lambda: build.seen and build.seen[-1] is None)
        folder.mkdir()
        csv.write_text("header\nrow 1\nrow 2\n")
        assert wait_for(lambda: build.seen[-1] == b"header\nrow 1\nrow 2\n")
        with open(csv, "a") as fh:  # and it keeps following the new file
            fh.write("row 3\n")
        assert wait_for(lambda: build.seen[-1] == b"header\nrow 1\nrow 2\nrow 3\n")
    assert any("is gone" in line for line in running.logs)
    assert any("is back" in line for line in running.logs)


def test_symlinked_csv_follows_its_target(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "here").mkdir()
    target = tmp_path / "elsewhere" / "real.csv"
    target.write_text("header\n")
    link = tmp_path / "here" / "calls.csv"
    link.symlink_to(target)
    build = Counter(link)
    with Running(build, WatchPlan(link)) as running:
        assert wait_for(lambda: running.builds == 1)
        with open(target, "a") as fh:  # appends to the target, never touching the link's folder
            fh.write("row\n")
        assert wait_for(lambda: build.seen[-1] == b"header\nrow\n")
        other = tmp_path / "elsewhere" / "other.csv"
        other.write_text("header\nother\n")
        tmp_link = tmp_path / "here" / ".calls.csv.tmp"
        tmp_link.symlink_to(other)
        os.replace(tmp_link, link)  # the link now points somewhere else
        assert wait_for(lambda: build.seen[-1] == b"header\nother\n")


def test_sql_folder_removed_and_recreated(tmp_path):
    csv = tmp_path / "calls.csv"
    csv.write_text("header\n")
    sql = tmp_path / "my_sql"
    sql.mkdir()
    (sql / "a.sql").write_text("-- name: a\n")
    build = Counter(csv)
    with Running(build, WatchPlan(csv, sql_dirs=[sql])) as running:
        assert wait_for(lambda: running.builds == 1)
        shutil.rmtree(sql)
        assert wait_for(lambda: running.builds == 2)  # its analyzers are gone: rebuild
        sql.mkdir()
        (sql / "a.sql").write_text("-- name: a\n-- back\n")
        assert wait_for(lambda: running.builds >= 3)
        count = running.builds
        time.sleep(0.5)
        (sql / "a.sql").write_text("-- name: a\n-- edited after coming back\n")
        assert wait_for(lambda: running.builds > count), running.logs
    assert any("is gone" in line for line in running.logs)


# --- every state reaches the manifest, and the last good reports stay -------------

GOOD = conftest.MINE_SQL


@pytest.fixture
def live(tmp_path, live_project):
    csv, sql = live_project
    extra, out = sql.parent, tmp_path / "site"
    running = Running(LiveBuild(csv, out, sql_dirs=(extra,)),
                      WatchPlan(csv, sql_dirs=[extra], ignore_dirs=[out]), debounce=0.2)
    with running:
        assert wait_for(lambda: running.builds == 1)
        running.csv, running.out, running.sql = csv, out, extra / "mine.sql"
        running.good_html = (out / "mine.html").read_text()
        yield running


def manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


def banner(out) -> str:
    page = (out / "index.html").read_text()
    start = page.index('id="error-banner"')
    return page[start:page.index("</div>", start)]


def assert_last_good_kept(running, state: str, words: str):
    m = manifest(running.out)
    assert m["status"] == "error" and m["source_state"] == state, m
    assert words in m["error"]
    assert "last good build" in m["warning"]
    assert {r["id"] for r in m["reports"]} >= {"mine", "understanding"}
    assert (running.out / "mine.html").read_text() == running.good_html
    html = banner(running.out)
    assert "hidden" not in html.split(">", 1)[0] and f'data-source-state="{state}"' in html
    assert any(line.startswith("build error") for line in running.logs)


def test_missing_then_back(live):
    live.csv.rename(live.csv.with_name("away.csv"))
    assert wait_for(lambda: live.builds == 2)
    assert_last_good_kept(live, "missing", "CSV not found")
    assert "The CSV is missing" in banner(live.out)
    live.csv.with_name("away.csv").rename(live.csv)
    assert wait_for(lambda: live.builds == 3)
    m = manifest(live.out)
    assert m["status"] == "ok" and m["source_state"] == "ok" and m["warning"] is None


def test_unreadable(live, monkeypatch):
    if os.geteuid() != 0:
        live.csv.chmod(0)  # a real permission error
    else:  # root reads anything: inject the error the kernel would give
        real = session_module.complete_bytes

        def denied(path, size):
            if os.path.samefile(path, live.csv):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real(path, size)

        # both readers of the file: the direct load and the store
        from finops.engine import store as store_module
        monkeypatch.setattr(session_module, "complete_bytes", denied)
        monkeypatch.setattr(store_module, "complete_bytes", denied)
        os.utime(live.csv)  # what chmod would change: the file's times
    assert wait_for(lambda: live.builds == 2)
    assert_last_good_kept(live, "unreadable", "cannot read calls.csv (Permission denied)")
    assert "The CSV cannot be read" in banner(live.out)
    assert str(live.csv.parent) not in (live.out / "manifest.json").read_text()


def test_truncated_in_place_keeps_the_last_good_reports_until_it_grows_back(live):
    data = live.csv.read_bytes()
    with open(live.csv, "r+b") as fh:
        fh.truncate(len(data) // 2)
    assert wait_for(lambda: live.builds == 2)
    assert_last_good_kept(live, "truncated", "calls.csv was truncated")
    assert manifest(live.out)["reports"][0]["ok"]
    with open(live.csv, "wb") as fh:  # rewritten whole, by the same file
        fh.write(data)
    assert wait_for(lambda: manifest(live.out)["status"] == "ok")


def test_emptied(live):
    with open(live.csv, "r+b") as fh:
        fh.truncate(0)
    assert wait_for(lambda: live.builds == 2)
    assert_last_good_kept(live, "empty", "no data yet")
    assert "The CSV is empty" in banner(live.out)


def test_not_the_contract(live):
    tmp = live.csv.with_name(".calls.csv.tmp")
    tmp.write_text("not,the,contract\n1,2,3\n")
    os.replace(tmp, live.csv)
    assert wait_for(lambda: live.builds == 2)
    assert_last_good_kept(live, "invalid", "header")


def test_broken_analyzer_is_reported_on_its_card(live):
    live.sql.write_text(GOOD.replace("count(*) AS calls", "count(no_such_column) AS calls"))
    assert wait_for(lambda: live.builds == 2)
    m = manifest(live.out)
    assert m["status"] == "partial" and m["source_state"] == "ok"
    entry = next(r for r in m["reports"] if r["id"] == "mine")
    assert entry["ok"] is False and "no_such_column" in entry["error"]
    assert entry["file"] == "mine.html"  # the last good report stays linked
    assert "Failed:" in (live.out / "index.html").read_text()


def test_a_build_that_raises_still_reaches_the_manifest(live, monkeypatch):
    real = site_module._publish
    calls = []

    def full_disk(*args):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args)

    monkeypatch.setattr(site_module, "_publish", full_disk)
    with open(live.csv, "a") as fh:
        fh.write(live.csv.read_text().splitlines()[1] + "\n")
    assert wait_for(lambda: live.builds == 2)
    m = manifest(live.out)
    assert m["status"] == "error" and "No space left on device" in m["error"]
    assert (live.out / "mine.html").read_text() == live.good_html
    assert any(line.startswith("build error") for line in live.logs)
    # A staged build that failed leaves nothing behind.
    assert not [p for p in live.out.iterdir() if p.name.startswith(".staging-")]
