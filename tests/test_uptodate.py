"""A build with nothing new leaves the folder as it is (engine/uptodate.py), and
every change to what the pages follow from builds again."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from finops.engine import site, uptodate
from finops.engine.cli import main
from finops.engine.filters import parse_where
from finops.engine.site import build_site
from finops.engine.watch import describe
from test_build_support import probe_dir, sample_rows


@pytest.fixture
def data(calls_csv):
    path = calls_csv(sample_rows(240))
    past = os.path.getmtime(path) - 60  # at rest: no line being written
    os.utime(path, (past, past))
    return path


def build(data, out, **options):
    if "sql_dirs" not in options:
        options["sql_dirs"] = [probe_dir(out.parent)]
    result = build_site(data, out, **options)
    assert result.status == "ok", result.error
    return result


def stamps(out):
    """Every file of the folder with its modification time, in ns."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*")
            if p.is_file() and p.name != ".finops-build.lock"}  # the lock is taken, as ever


def test_a_build_with_nothing_new_leaves_every_file_as_it_is(tmp_path, data):
    out = tmp_path / "reports"
    first = build(data, out)
    assert not first.unchanged and first.manifest["build_key"]
    before = stamps(out)
    again = build(data, out)
    assert again.unchanged and again.status == "ok"
    assert stamps(out) == before  # not one file written, the manifest included
    assert again.manifest == first.manifest
    assert [(r.id, r.file, r.downloads, r.headlines) for r in again.reports] == \
        [(r.id, r.file, r.downloads, r.headlines) for r in first.reports]
    assert "up to date" in describe(again)


@pytest.mark.parametrize("change", [
    "append", "edit in place", "analyzer", "new analyzer", "filters", "no statements",
    "target", "live", "subscriptions", "report deleted", "statement page deleted",
    "download deleted"])
def test_any_change_builds_again(tmp_path, data, change):
    out = tmp_path / "reports"
    sql_dir = probe_dir(tmp_path)
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,organization_id,subscription_tier,start_date,end_date,"
                    "monthly_fee,billing_cycle\ncust_0001,org_001,pro,2025-11-01,,99,\n")
    options = {"sql_dirs": [sql_dir], "subscriptions": subs}
    build(data, out, **options)  # current now (test above)
    if change == "append":
        with open(data, "a", encoding="utf-8") as f:
            f.write(data.read_text().splitlines()[-1].replace("2025-11-", "2025-12-") + "\n")
    elif change == "edit in place":  # one byte, the size and the times kept
        st = data.stat()
        text = data.read_bytes()
        at = text.index(b"cust_0003")
        data.write_bytes(text[:at] + b"cust_0004" + text[at + 9:])
        os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "analyzer":
        probe = sql_dir / "probe.sql"
        probe.write_text(probe.read_text().replace("Total cost", "All cost"))
    elif change == "new analyzer":
        (sql_dir / "mine.sql").write_text((sql_dir / "probe.sql").read_text()
                                          .replace("-- name: probe", "-- name: mine"))
    elif change == "filters":
        options["filters"] = parse_where(["environment=production"])
    elif change == "no statements":
        options["statements"] = False
    elif change == "target":
        options["target_mb"] = 1.0
    elif change == "live":
        options["live"] = True
    elif change == "subscriptions":  # same size, same times: the content is what counts
        st = subs.stat()
        subs.write_text(subs.read_text().replace(",99,", ",98,"))
        os.utime(subs, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "report deleted":
        (out / "probe.html").unlink()
    elif change == "statement page deleted":
        next((out / "customer").glob("*.html")).unlink()
    elif change == "download deleted":
        next(out.glob("probe-*.csv")).unlink()
    result = build_site(data, out, **options)
    assert not result.unchanged, change
    assert result.status == "ok", result.error
    assert all((out / name).is_file() for r in result.reports for name in [r.file, *r.downloads])
    assert build_site(data, out, **options).unchanged  # and then it is current again


def test_no_key_without_the_store_or_after_a_partial_build(tmp_path, data):
    out = tmp_path / "reports"
    result = build(data, out, cache=False)
    assert result.manifest["build_key"] is None
    assert not build(data, out, cache=False).unchanged
    # a partial build (an analyzer failed) is never taken as current
    (tmp_path / "b").mkdir()
    broken = probe_dir(tmp_path / "b", broken=True)
    partial = build_site(data, out, sql_dirs=[broken])
    assert partial.status == "partial" and partial.manifest["build_key"] is None
    assert not build_site(data, out, sql_dirs=[broken]).unchanged


def test_an_analyzer_edited_while_a_build_reads_it_builds_again_next_time(tmp_path, data,
                                                                          monkeypatch):
    """The files are hashed before the build reads them: an edit in between leaves
    a key older than what ran, so the next build runs rather than keep it."""
    out = tmp_path / "reports"
    sql_dir = probe_dir(tmp_path)
    probe = sql_dir / "probe.sql"
    discover = site._discover

    def edit_then_discover(sql_dirs):
        probe.write_text(probe.read_text().replace("Total cost", "All cost"))
        return discover(sql_dirs)

    monkeypatch.setattr(site, "_discover", edit_then_discover)
    assert build(data, out, sql_dirs=[sql_dir]).manifest["build_key"] is None
    monkeypatch.setattr(site, "_discover", discover)
    assert "All cost" in (out / "probe.html").read_text()
    # even with the file back as it was when the build began
    probe.write_text(probe.read_text().replace("All cost", "Total cost"))
    assert not build(data, out, sql_dirs=[sql_dir]).unchanged
    assert "Total cost" in (out / "probe.html").read_text()
    assert build(data, out, sql_dirs=[sql_dir]).unchanged


def test_files_digest_follows_the_templates(tmp_path, monkeypatch):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html").write_text("a")
    monkeypatch.setattr(uptodate, "TEMPLATES_DIR", templates)
    before = uptodate.files_digest([], (None, None))
    (templates / "report.html").write_text("b")
    assert uptodate.files_digest([], (None, None)) != before


def test_the_cli_says_up_to_date(tmp_path, data):
    out = tmp_path / "reports"
    runner = CliRunner()
    args = ["build", "--csv", str(data), "--out", str(out)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    generated = json.loads((out / "manifest.json").read_text())["generated_at"]
    assert f"up to date: nothing new since the build of {generated}" in again.output


def test_an_input_file_gone_is_a_clear_error_build_and_never_current(tmp_path, data):
    out = tmp_path / "reports"
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n2025-11,customer,cust_0001,10\n")
    build(data, out, budgets=budgets)
    budgets.unlink()
    result = build_site(data, out, sql_dirs=[probe_dir(tmp_path)], budgets=budgets)
    assert result.status == "error" and "budgets" in result.error
    assert result.manifest["build_key"] is None and not result.unchanged


def test_a_build_whose_ledger_failed_is_never_current(tmp_path, data, monkeypatch):
    out = tmp_path / "reports"

    def broken(con):
        raise RuntimeError("no ledger today")

    monkeypatch.setattr(site, "ledger", broken)
    first = build(data, out)
    assert "no ledger today" in first.manifest["actions"]["error"]
    assert first.manifest["build_key"] is None
    monkeypatch.undo()
    again = build(data, out)
    assert not again.unchanged and again.manifest["actions"].get("error") is None
    assert build(data, out).unchanged
