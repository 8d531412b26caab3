"""The reports in a real headless Chromium, opened from file:// with no server.

--dump-dom gives the DOM after the scripts ran: report.js sets
data-charts-drawn on <body> and keeps script errors in data-js-errors.
Screenshots at desktop and phone width go to tests/artifacts/ for a human
to look at. Skipped where Debian's chromium is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from finops.engine.site import build_site
from test_build_support import Page, external_references, probe_dir, sample_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                       "(apt-get install -y chromium) so the reports cannot be checked in a browser"),
]


def chromium(profile: Path, *args: str, timeout: int = 60) -> str:
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from conftest import write_calls

    tmp = tmp_path_factory.mktemp("browser")
    csv_path = write_calls(tmp / "calls.csv", sample_rows(360, hostile=True))
    result = build_site(csv_path, tmp / "reports", sql_dirs=[probe_dir(tmp)], target_mb=0.2)
    assert result.status == "ok", result.error
    return tmp, result


def test_every_report_draws_all_its_charts_without_errors(site):
    tmp, result = site
    for report in result.reports:
        path = result.out_dir / report.file
        source = path.read_text(encoding="utf-8")
        assert external_references(source) == []
        dom = chromium(tmp / "profile", "--dump-dom", path.resolve().as_uri())
        page = Page(dom)
        body = page.find("body")[0]["attrs"]
        canvases = len(page.find("canvas"))
        assert body.get("data-js-errors") is None, (report.id, body.get("data-js-errors"))
        assert body.get("data-charts-drawn") == str(canvases), report.id
        assert not page.find("img"), "a hostile value became markup"


def test_index_opens_without_errors(site):
    tmp, result = site
    dom = chromium(tmp / "profile", "--dump-dom", (result.out_dir / "index.html").resolve().as_uri())
    page = Page(dom)
    embedded = json.loads(page.by_id("manifest-data")["text"])
    assert embedded["generated_at"] == result.manifest["generated_at"]
    assert len([el for el in page.elements if "data-report-id" in el["attrs"]]) == \
        len(result.reports)


@pytest.mark.parametrize("width,height,name", [(1280, 2000, "desktop"), (390, 1800, "phone")])
def test_screenshots(site, width, height, name):
    tmp, result = site
    ARTIFACTS.mkdir(exist_ok=True)
    for page_name in ("index", "probe", *[r.id for r in result.reports if r.id != "probe"][:2]):
        shot = ARTIFACTS / f"{page_name}-{name}.png"
        shot.unlink(missing_ok=True)
        chromium(tmp / "profile", f"--screenshot={shot}", f"--window-size={width},{height}",
                 (result.out_dir / f"{page_name}.html").resolve().as_uri())
        assert shot.is_file() and shot.stat().st_size > 10_000
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
