"""The rebuild loop with the real build_site: edits rebuild, failures keep the last good reports."""

from __future__ import annotations

import json
import os
from functools import partial

import pytest

from finops import simulator
from finops.engine.site import build_site
from finops.engine.watch import WatchPlan
import conftest

GOOD = conftest.MINE_SQL


def manifest(out):
    return json.loads((out / "manifest.json").read_text())


def mine(out):
    return next(r for r in manifest(out)["reports"] if r["id"] == "mine")


wait_for = partial(conftest.wait_for, timeout=15.0)


@pytest.fixture
def live(live_project):
    csv, sql = live_project
    out, extra = csv.parent / "reports", sql.parent  # out inside the CSV's folder
    with conftest.RunningLoop(partial(build_site, csv, out, sql_dirs=(extra,), target_mb=1.0),
                              WatchPlan(csv, sql_dirs=[extra], ignore_dirs=[out]),
                              debounce=0.2) as running:
        assert wait_for(lambda: running.builds == 1)
        yield running.loop, csv, sql, out, running.logs


def test_broken_sql_keeps_the_last_good_report_then_recovers(live):
    loop, csv, sql, out, logs = live
    assert manifest(out)["status"] == "ok"
    good_html = (out / "mine.html").read_text()
    assert "400" in good_html

    sql.write_text(GOOD.replace("count(*) AS calls", "count(no_such_column) AS calls"))
    assert wait_for(lambda: loop.record.builds == 2)
    assert manifest(out)["status"] == "partial"
    entry = mine(out)
    assert entry["ok"] is False and "no_such_column" in entry["error"]
    assert entry["file"] == "mine.html", "the last good report stays linked"
    assert (out / "mine.html").read_text() == good_html
    assert logs[-1].startswith("build partial") and "no_such_column" in logs[-1]

    sql.write_text(GOOD.replace("-- version: 1", "-- version: one"))  # a header that does not parse
    assert wait_for(lambda: loop.record.builds == 3)
    assert manifest(out)["status"] == "partial"
    assert "version" in mine(out)["error"]
    assert (out / "mine.html").read_text() == good_html

    sql.write_text(GOOD.replace("-- version: 1", "-- version: 2"))
    assert wait_for(lambda: loop.record.builds == 4)
    assert manifest(out)["status"] == "ok" and mine(out)["ok"] and mine(out)["version"] == 2


def test_bad_csv_keeps_reports_and_a_replaced_csv_rebuilds(live, tmp_path):
    loop, csv, sql, out, logs = live
    before = manifest(out)
    assert before["rows"] == 400
    good_html = (out / "understanding.html").read_text()

    tmp = csv.with_name(".calls.csv.tmp")
    tmp.write_text("not,the,contract\n1,2,3\n")
    os.replace(tmp, csv)
    assert wait_for(lambda: loop.record.builds == 2)
    after = manifest(out)
    assert after["status"] == "error" and "header" in after["error"]
    assert [r["id"] for r in after["reports"]] == [r["id"] for r in before["reports"]]
    assert (out / "understanding.html").read_text() == good_html
    assert logs[-1].startswith("build error") and "keeping the last good reports" in logs[-1]

    bigger = tmp_path / "bigger.csv"
    simulator.simulate(bigger, rows=900, seed=5)
    os.replace(bigger, csv)  # replaced by rename from another folder of the same disk
    assert wait_for(lambda: loop.record.builds == 3)
    assert manifest(out)["status"] == "ok" and manifest(out)["rows"] == 900
