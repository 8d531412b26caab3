"""build_site and `finops build`: statuses, manifest.json, atomic writes, the CLI."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime

import pytest
from click.testing import CliRunner

from finops.engine.files import write_atomic
from finops.engine.site import build_site
from finops.engine.cli import main
from test_build_support import Page, probe_dir, sample_rows

MANIFEST_KEYS = {"generated_at", "build_seconds", "csv_path", "csv_size_mb", "target_size_mb",
                 "progress_pct", "rows", "rows_rejected", "time_range", "categories", "reports",
                 "status", "error", "duplicate_call_ids", "reject_samples", "poll_seconds", "live",
                 "filters", "filtered_rows", "statements",  # issue 13
                 "unpriced_calls", "unknown_price_models", "source_state", "warning",
                 "last_good_at", "actions", "partial_tail_bytes", "build_key"}
REPORT_KEYS = {"id", "title", "category", "description", "version", "file", "headlines", "ok",
               "error", "downloads"}


@pytest.fixture
def data(calls_csv):
    return calls_csv(sample_rows(240))


def test_ok_build_writes_reports_manifest_index_and_assets(tmp_path, data):
    out = tmp_path / "reports"
    result = build_site(data, out, sql_dirs=[probe_dir(tmp_path)], target_mb=0.1,
                        poll_seconds=5, live=True)
    assert result.status == "ok" and result.error is None
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == result.manifest
    assert set(manifest) == MANIFEST_KEYS
    assert datetime.fromisoformat(manifest["generated_at"]).tzinfo is not None
    assert manifest["rows"] == 240 and manifest["rows_rejected"] == 0
    size = os.path.getsize(data)
    assert manifest["csv_size_mb"] == round(size / 1e6, 2)
    assert manifest["progress_pct"] == round(min(100, size / 1e6 / 0.1 * 100), 1)
    assert manifest["time_range"] == {"first_call": "2025-11-01T00:00:00",
                                      "last_call": "2025-11-12T19:59:00"}
    assert manifest["categories"] == {"finops": "FinOps", "ubr": "Usage-based revenue"}
    assert manifest["poll_seconds"] == 5 and manifest["live"] is True
    for entry in manifest["reports"]:
        assert set(entry) == REPORT_KEYS
        assert entry["ok"] and (out / entry["file"]).is_file()
        assert 1 <= len(entry["headlines"]) <= 3
        for h in entry["headlines"]:
            assert set(h) == {"label", "value", "unit", "display"}
    probe = next(e for e in manifest["reports"] if e["id"] == "probe")
    assert probe["version"] == 2 and probe["category"] == "ubr"
    assert [h["label"] for h in probe["headlines"]] == ["Total cost", "Calls", "Production share"]
    assert probe["headlines"][1]["value"] == 240
    # counts are whole numbers in the manifest, never 240.0
    assert all(isinstance(h["value"], int) for e in manifest["reports"] for h in e["headlines"]
               if h["unit"] == "count" and h["value"] is not None)
    assert sorted(p.name for p in (out / "assets").iterdir()) == sorted(
        ["chart.umd.min.js", "live.js", "report.css", "report.js", "viewer.css", "viewer.js"]
        if (out / "assets/viewer.js").exists() else
        ["chart.umd.min.js", "live.js", "report.css", "report.js", "viewer.css"])
    assert not list(out.glob(".*.tmp")) and not list(out.glob("assets/.*.tmp"))


def test_index_has_the_viewer_ids_and_cards(tmp_path, data):
    out = tmp_path / "reports"
    result = build_site(data, out, sql_dirs=[probe_dir(tmp_path)], target_mb=0.1, live=False)
    page = Page((out / "index.html").read_text())
    for element_id in ("dataset-summary", "progress-bar", "progress-label", "last-updated",
                       "auto-reload-badge", "toast", "connection-status", "report-cards",
                       "no-data", "manifest-data"):
        assert page.by_id(element_id) is not None, element_id
    bar = page.by_id("progress-bar")["attrs"]
    assert bar["role"] == "progressbar"
    assert float(bar["aria-valuenow"]) == result.manifest["progress_pct"]
    assert page.by_id("last-updated")["attrs"]["data-generated-at"] == \
        result.manifest["generated_at"]
    assert "hidden" in page.by_id("auto-reload-badge")["attrs"]   # not live
    assert "hidden" in page.by_id("no-data")["attrs"]
    assert "hidden" in page.by_id("error-banner")["attrs"]
    assert page.by_id("toast")["text"].strip() == ""
    assert page.by_id("toast")["attrs"]["aria-live"] == "polite"
    cards = [el["attrs"]["data-report-id"] for el in page.elements
             if "data-report-id" in el["attrs"]]
    assert sorted(cards) == sorted(r.id for r in result.reports)
    assert page.find("a", href="probe.html")
    live = build_site(data, out, sql_dirs=[probe_dir(tmp_path)], live=True)
    assert "hidden" not in Page((out / "index.html").read_text()).by_id(
        "auto-reload-badge")["attrs"]
    assert live.manifest["progress_pct"] is None and live.manifest["target_size_mb"] is None


def test_one_failing_analyzer_is_partial_and_the_others_are_written(tmp_path, data):
    out = tmp_path / "reports"
    result = build_site(data, out, sql_dirs=[probe_dir(tmp_path, broken=True)])
    assert result.status == "partial"
    broken = next(r for r in result.reports if r.id == "broken")
    assert not broken.ok and broken.file is None
    assert "broken.sql:8: query headline:" in broken.error and "no_such_column" in broken.error
    assert all(r.ok for r in result.reports if r.id != "broken")
    assert (out / "probe.html").is_file()
    entry = next(e for e in result.manifest["reports"] if e["id"] == "broken")
    assert entry["ok"] is False and "no_such_column" in entry["error"]
    assert result.manifest["status"] == "partial" and "broken" in result.manifest["error"]


def test_a_malformed_analyzer_file_fails_alone(tmp_path, data):
    folder = probe_dir(tmp_path)
    (folder / "typo.sql").write_text("-- name: typo\n-- title: T\n")
    result = build_site(data, tmp_path / "reports", sql_dirs=[folder])
    assert result.status == "partial"
    typo = next(r for r in result.reports if r.id == "typo")
    assert "typo.sql:1: analyzer header lacks" in typo.error
    assert next(r for r in result.reports if r.id == "probe").ok


def test_missing_csv_keeps_the_previous_reports(tmp_path, data):
    out = tmp_path / "reports"
    good = build_site(data, out, sql_dirs=[probe_dir(tmp_path)])
    before = (out / "probe.html").read_bytes()
    result = build_site(tmp_path / "gone.csv", out, sql_dirs=[probe_dir(tmp_path)])
    assert result.status == "error" and "CSV not found" in result.error
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "error" and "finops simulate" in manifest["error"]
    assert manifest["reports"] == good.manifest["reports"]
    assert (out / "probe.html").read_bytes() == before
    page = Page((out / "index.html").read_text())
    assert "hidden" not in page.by_id("error-banner")["attrs"]
    assert "CSV not found" in page.by_id("error-banner")["text"]


def test_bad_header_is_an_error_not_an_exception(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    result = build_site(bad, tmp_path / "reports")
    assert result.status == "error" and "header" in result.error


def test_no_data_says_how_to_make_data(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = build_site(empty, tmp_path / "reports", target_mb=50)
    assert result.status == "no_data" and result.reports == []
    assert result.manifest["progress_pct"] == 0.0 and result.manifest["rows"] == 0
    page = Page((tmp_path / "reports/index.html").read_text())
    panel = page.by_id("no-data")
    assert "hidden" not in panel["attrs"]
    assert "finops simulate" in panel["text"] and "finops serve --simulate" in panel["text"]


def test_assets_are_copied_only_when_changed(tmp_path, data):
    out = tmp_path / "reports"
    build_site(data, out)
    chart = out / "assets/chart.umd.min.js"
    stamp = chart.stat().st_mtime_ns
    inode = chart.stat().st_ino
    build_site(data, out)
    assert chart.stat().st_ino == inode and chart.stat().st_mtime_ns == stamp
    chart.write_text("stale")
    build_site(data, out)
    assert chart.read_bytes().startswith(b"/*!\n * Chart.js v4")


def test_readers_never_see_a_partial_report(tmp_path, data):
    out = tmp_path / "reports"
    sql_dir = probe_dir(tmp_path)
    build_site(data, out, sql_dirs=[sql_dir])
    target = out / "probe.html"
    stop = threading.Event()
    seen, bad = [], []

    def reader():
        while not stop.is_set():
            text = target.read_bytes().decode("utf-8")
            seen.append(len(text))
            if not text.rstrip().endswith("</html>") or not text.startswith("<!doctype html>"):
                bad.append(text[-80:])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(6):
            build_site(data, out, sql_dirs=[sql_dir])
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 10 and bad == []


def test_write_atomic_leaves_no_temp_file(tmp_path):
    path = tmp_path / "x.html"
    write_atomic(path, "<html></html>")
    write_atomic(path, "<html>2</html>")
    assert path.read_text() == "<html>2</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["x.html"]
    assert oct(path.stat().st_mode & 0o777) == "0o644"


# --- the CLI ------------------------------------------------------------------

def test_cli_build_ok(tmp_path, data):
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["build", "--csv", str(data), "--out", str(out),
                                       "--sql-dir", str(probe_dir(tmp_path)), "--target-mb", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    probe = next(line for line in lines if " probe " in line)
    assert "v2" in probe and "daily 12 rows" in probe and str(out / "probe.html") in probe
    assert lines[-1].startswith("built ") and "240 rows" in lines[-1]
    assert json.loads((out / "manifest.json").read_text())["target_size_mb"] == 1.0


def test_cli_build_quiet_prints_nothing_on_success(tmp_path, data):
    result = CliRunner().invoke(main, ["build", "--csv", str(data), "--out", str(tmp_path / "o"),
                                       "--quiet"])
    assert result.exit_code == 0 and result.output == ""


def test_cli_build_partial_exits_1(tmp_path, data):
    result = CliRunner().invoke(main, ["build", "--csv", str(data), "--out", str(tmp_path / "o"),
                                       "--sql-dir", str(probe_dir(tmp_path, broken=True))])
    assert result.exit_code == 1
    assert "FAILED broken" in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken" in errors[0] and "no_such_column" in errors[0]
    assert (tmp_path / "o/probe.html").is_file()


def test_cli_build_no_data_and_missing_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = CliRunner().invoke(main, ["build", "--csv", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: no data yet") and "finops simulate" in \
        result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["build", "--csv", str(tmp_path / "nope.csv"),
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 2  # a usage error, as in run-sql (test_cli_engine)
    assert result.stderr.strip() == (f"error: CSV not found: {tmp_path / 'nope.csv'}; run "
                                     "`finops simulate` first or pass --csv PATH")


def test_cli_build_reports_rejected_rows(tmp_path, calls_csv):
    csv_path = calls_csv(sample_rows(40) + [{"latency_ms": "0"}])
    result = CliRunner().invoke(main, ["build", "--csv", str(csv_path), "--out",
                                       str(tmp_path / "o")])
    assert ("rejected 1 malformed rows (first: line 42: latency_ms is not a whole number"
            in result.output)


def test_a_last_line_without_a_line_end_is_said_not_read_in_output_footer_and_manifest(
        tmp_path, calls_csv):
    csv_path = calls_csv(sample_rows(40))
    text = csv_path.read_bytes()
    csv_path.write_bytes(text[:-1])  # the last row loses its LF: it may still be written
    tail = len(text) - 1 - (text[:-1].rfind(b"\n") + 1)
    result = CliRunner().invoke(main, ["build", "--csv", str(csv_path), "--out",
                                       str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"has no line end yet ({tail} bytes): not read until a line end follows" in result.stderr
    manifest = json.loads((tmp_path / "o/manifest.json").read_text())
    assert (manifest["rows"], manifest["partial_tail_bytes"]) == (39, tail)
    footer = (tmp_path / "o/understanding.html").read_text()
    assert f"the file's last line, {tail} bytes without a line end" in footer


def test_missing_csv_before_any_report_means_no_data(tmp_path):
    result = build_site(tmp_path / "not-yet.csv", tmp_path / "reports", target_mb=2)
    assert result.status == "no_data" and "CSV not found" in result.error
    manifest = json.loads((tmp_path / "reports" / "manifest.json").read_text())
    assert manifest["progress_pct"] == 0.0 and manifest["rows"] == 0
    page = Page((tmp_path / "reports" / "index.html").read_text())
    assert "hidden" not in page.by_id("no-data")["attrs"]
    assert "hidden" in page.by_id("error-banner")["attrs"]


def test_files_of_a_removed_analyzer_are_deleted_a_failed_ones_kept(tmp_path, data):
    out = tmp_path / "reports"
    extra = probe_dir(tmp_path)
    first = build_site(data, out, sql_dirs=[extra])
    probe = next(r for r in first.reports if r.id == "probe")
    assert (out / "probe.html").exists() and probe.downloads  # its capped table's CSV
    # The probe analyzer breaks: its last good report and downloads stay.
    probe_sql = extra / "probe.sql"
    probe_sql.write_text(probe_sql.read_text().replace(
        "SELECT call_date, sum(cost_usd) AS cost", "SELECT call_date, sum(no_such_column) AS cost"))
    second = build_site(data, out, sql_dirs=[extra])
    assert second.status == "partial"
    assert not next(r for r in second.reports if r.id == "probe").ok
    assert (out / "probe.html").exists()
    assert all((out / name).exists() for name in probe.downloads)
    # The probe analyzer is gone: its files go too; nobody else's do.
    third = build_site(data, out)
    assert third.status == "ok"
    assert not (out / "probe.html").exists()
    assert not any((out / name).exists() for name in probe.downloads)
    assert (out / "understanding.html").exists() and (out / "manifest.json").exists()
    # Files the build never listed are never touched.
    (out / "notes.html").write_text("mine")
    build_site(data, out)
    assert (out / "notes.html").read_text() == "mine"


def test_index_lists_every_action_with_a_reconciled_total(tmp_path, data):
    """The Actions section: the total is the sum of the counted savings, recomputed
    here from the listed actions, and never above the monthly spend."""
    out = tmp_path / "reports"
    result = build_site(data, out)
    actions = result.manifest["actions"]
    total = {row["line"]: row["monthly_usd"] for row in actions["total"]}
    savings = [a for a in actions["items"] if a["kind"] in ("saving", "avoided cost", "overlap")]
    counted = sum(a["counted_monthly_usd"] for a in savings if a["counted"])
    assert total["All savings, each counted once"] == pytest.approx(counted, abs=1e-5)
    assert total["All savings, each counted once"] <= total["Monthly AI spend"]
    assert not any(a["counted"] for a in actions["items"] if a["kind"] in ("target", "revenue at risk"))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="actions"' in index and "per 30-day month" in index
    for a in actions["items"]:
        assert a["title"].replace("'", "&#39;") in index


def test_an_out_folder_that_cannot_be_made_is_one_line_naming_it_and_out(tmp_path, data):
    from finops.engine.errors import FinopsError
    from finops.engine.server import make_server

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(FinopsError) as built:
        build_site(data, blocker / "reports")
    with pytest.raises(FinopsError) as served:
        make_server(blocker / "reports", port=0)
    for exc, action in ((built, "cannot write reports to"), (served, "cannot create")):
        message = str(exc.value)
        assert message.startswith(f"{action} {blocker / 'reports'} (")
        assert message.endswith("; pass --out with a writable folder") and "\n" not in message
