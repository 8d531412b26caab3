"""The rebuild loop: which file changes build, how often, and with what data.

A fake build function records the CSV it saw at each build, so the tests
can count builds and check that the last one read the final data.
"""

from __future__ import annotations

import os
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from finops.engine.watch import CSV, SQL, TEMPLATE, RebuildLoop, WatchPlan, describe

import conftest

LINE = "x" * 99 + "\n"  # 100 bytes


class FakeBuild:
    """Counts builds and remembers the CSV size and content each one saw."""

    def __init__(self, csv: Path, seconds: float = 0.0):
        self.csv = csv
        self.seconds = seconds
        self.seen: list[bytes | None] = []
        self.running = 0
        self.overlapped = False

    def __call__(self):
        self.running += 1
        self.overlapped |= self.running > 1
        try:
            data = self.csv.read_bytes() if self.csv.exists() else None
            self.seen.append(data)
            time.sleep(self.seconds)
            return type("R", (), {"status": "ok", "seconds": self.seconds,
                                  "manifest": {"rows": 0 if data is None else data.count(b"\n"),
                                               "csv_size_mb": 0.0}, "reports": []})()
        finally:
            self.running -= 1

    @property
    def count(self) -> int:
        return len(self.seen)


@pytest.fixture
def project(tmp_path):
    data, sql, templates, out = (tmp_path / n for n in ("data", "sql", "templates", "data/reports"))
    for folder in (data, sql, templates, out):
        folder.mkdir(parents=True, exist_ok=True)
    (sql / "a.sql").write_text("-- name: a\n")
    csv = data / "calls.csv"
    csv.write_text("header\n" + LINE)
    plan = WatchPlan(csv, sql_dirs=[sql], template_dirs=[templates], ignore_dirs=[out])
    return plan


class Running:
    """A RebuildLoop in a thread, stopped and joined on exit."""

    def __init__(self, build, plan, **kwargs):
        self.logs: list[str] = []
        kwargs.setdefault("debounce", 0.15)
        self.loop = RebuildLoop(build, plan, log=self.logs.append, **kwargs)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)

    def __enter__(self):
        self.loop.start_watchers()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.loop.stop_event.set()
        self.thread.join(5)
        self.loop.join(5)
        assert not self.thread.is_alive()


wait_for = partial(conftest.wait_for, timeout=5.0)


def settle(build, quiet=1.0, timeout=8.0):
    """Wait until no new build has started for `quiet` seconds."""
    end = time.monotonic() + timeout
    last, since = build.count, time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.05)
        if build.count != last:
            last, since = build.count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("builds did not settle")


def test_classify_paths(project):
    plan = project
    base = plan.csv_path.parent
    assert plan.classify(str(plan.csv_path)) == CSV
    assert plan.classify(str(base / "other.csv")) is None
    assert plan.classify(str(base / ".calls.csv.tmp")) is None
    assert plan.classify(str(plan.sql_dirs[0] / "b.sql")) == SQL
    assert plan.classify(str(plan.sql_dirs[0] / "b.sql~")) is None
    assert plan.classify(str(plan.sql_dirs[0] / ".b.sql.swp")) is None
    assert plan.classify(str(plan.template_dirs[0] / "base.html")) == TEMPLATE
    # out_dir lies inside the CSV's folder: the server's own writes never count
    assert plan.classify(str(base / "reports" / "index.html")) is None
    assert plan.classify(str(base / "reports" / "calls.csv")) is None


def test_initial_build_then_quiet(project):
    build = FakeBuild(project.csv_path)
    with Running(build, project):
        assert wait_for(lambda: build.count == 1)
        time.sleep(0.8)
    assert build.count == 1


def test_fast_appends_give_bounded_builds_and_a_final_build(project):
    build = FakeBuild(project.csv_path, seconds=0.2)
    with Running(build, project, min_interval=0.5):
        assert wait_for(lambda: build.count == 1)
        with open(project.csv_path, "a") as fh:
            for _ in range(300):  # 3 seconds of appends, 100 lines a second
                fh.write(LINE)
                fh.flush()
                time.sleep(0.01)
        settle(build)
    final = project.csv_path.read_bytes()
    assert build.seen[-1] == final, "the last build must see the final data"
    # ~3.5 s of activity, one build at most every 0.5 s + 0.2 s build
    assert 2 <= build.count <= 8, build.count
    assert not build.overlapped


def test_change_during_a_build_gives_exactly_one_more(project):
    build = FakeBuild(project.csv_path, seconds=1.0)
    with Running(build, project):
        assert wait_for(lambda: build.running == 1)  # the initial build is running
        for _ in range(5):
            with open(project.csv_path, "a") as fh:
                fh.write(LINE)
            time.sleep(0.05)
        settle(build, quiet=1.5)
    assert build.count == 2
    assert build.seen[-1] == project.csv_path.read_bytes()


@pytest.mark.parametrize("how", ["replace", "truncate", "recreate"])
def test_csv_rewrites_rebuild_with_new_content(project, how):
    build = FakeBuild(project.csv_path)
    csv = project.csv_path
    new = b"header\n" + b"y" * 49 + b"\n"
    with Running(build, project):
        assert wait_for(lambda: build.count == 1)
        if how == "replace":
            tmp = csv.with_name(".calls.csv.tmp")
            tmp.write_bytes(new)
            os.replace(tmp, csv)
        elif how == "truncate":
            with open(csv, "r+b") as fh:
                fh.truncate(0)
                fh.write(new)
        else:
            csv.unlink()
            time.sleep(0.5)  # a gap long enough to be seen as its own event
            csv.write_bytes(new)
        assert wait_for(lambda: build.seen[-1] == new)
        settle(build, quiet=0.6)
    assert build.seen[-1] == new
    assert build.count <= 3


@pytest.mark.parametrize("given", ["glob", "folder"])
def test_a_glob_or_folder_csv_rebuilds_when_a_file_grows_or_appears(tmp_path, given):
    """serve --csv 'daily/*.csv' (issue 14): every matching file is watched."""
    daily = tmp_path / "daily"
    daily.mkdir()
    first = daily / "2025-11-01.csv"
    first.write_text("header\n" + LINE)
    (daily / "notes.txt").write_text("not a calls file\n")
    target = daily / "*.csv" if given == "glob" else daily
    plan = WatchPlan(target, ignore_dirs=[tmp_path / "reports"])

    class Seen(FakeBuild):  # remembers every matching file's bytes at each build
        def __call__(self):
            self.seen.append(b"".join(p.read_bytes() for p in sorted(daily.glob("*.csv"))))
            return type("R", (), {"status": "ok", "seconds": 0, "manifest": {}, "reports": []})()

    build = Seen(first)
    with Running(build, plan) as running:
        assert wait_for(lambda: build.count == 1)
        with open(first, "a") as fh:  # a matching file grows
            fh.write(LINE)
        assert wait_for(lambda: build.count == 2)
        (daily / "2025-11-02.csv").write_text("header\n" + LINE)  # a new matching file
        assert wait_for(lambda: build.count == 3)
        (daily / "notes.txt").write_text("changed, but not a calls file\n")
        settle(build, quiet=0.8)
        assert build.count == 3
        assert running.loop.csv_size() == first.stat().st_size + len("header\n" + LINE)
    assert build.seen[-1].count(LINE.encode()) == 3
    assert not (tmp_path / "daily" / "*").exists()


def test_sql_and_template_edits_rebuild_but_output_and_temp_files_do_not(project):
    build = FakeBuild(project.csv_path)
    out = project.ignore_dirs[0]
    with Running(build, project):
        assert wait_for(lambda: build.count == 1)
        (out / "index.html").write_text("x")
        (out / ".manifest.json.tmp").write_text("x")
        (project.csv_path.parent / "unrelated.txt").write_text("x")
        (project.sql_dirs[0] / ".a.sql.swp").write_text("x")
        time.sleep(0.8)
        assert build.count == 1
        (project.sql_dirs[0] / "a.sql").write_text("-- name: a\n-- edited\n")
        assert wait_for(lambda: build.count == 2)
        (project.template_dirs[0] / "base.html").write_text("<html>")
        assert wait_for(lambda: build.count == 3)
        time.sleep(0.5)
    assert build.count == 3


def test_target_reached_stops_csv_rebuilds_but_not_sql(project):
    build = FakeBuild(project.csv_path)
    csv = project.csv_path
    target = 2_000
    with Running(build, project, target_bytes=target) as running:
        assert wait_for(lambda: build.count == 1)
        with open(csv, "a") as fh:
            fh.write(LINE * 25)  # past the target
        assert wait_for(lambda: build.count == 2)
        assert wait_for(lambda: running.loop.record.target_reached)
        for _ in range(5):
            with open(csv, "a") as fh:
                fh.write(LINE)
            time.sleep(0.1)
        time.sleep(0.6)
        assert build.count == 2, "growth past the target must not rebuild"
        (project.sql_dirs[0] / "a.sql").write_text("-- name: a\n-- v2\n")
        assert wait_for(lambda: build.count == 3)
    assert any("target of" in line for line in running.logs)


def test_a_raising_build_is_logged_and_the_loop_lives_on(project):
    calls = []

    def build():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return None

    with Running(build, project) as running:
        assert wait_for(lambda: len(calls) == 1)
        (project.sql_dirs[0] / "a.sql").write_text("-- name: a\n-- v3\n")
        assert wait_for(lambda: len(calls) == 2)
    assert running.loop.record.failed == 1
    assert any(line.startswith("build error") and "boom" in line for line in running.logs)


def test_describe_lines():
    ok = type("R", (), {"status": "ok", "seconds": 1.234, "error": None, "reports": [1, 2],
                        "manifest": {"rows": 12345, "csv_size_mb": 3.21}})()
    assert describe(ok, {"csv"}) == "build ok in 1.23s (csv changed): 12,345 rows, 3.2 MB, 2 reports"
    bad = type("R", (), {"status": "error", "seconds": 0.5, "error": "x.sql:3: bad\nthing",
                         "manifest": {}, "reports": []})()
    line = describe(bad)
    assert "\n" not in line and line.startswith("build error in 0.50s: x.sql:3: bad thing")
