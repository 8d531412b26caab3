"""The live page in a real browser shows what went wrong with the data, and recovers.

`finops serve` runs as a subprocess over a small CSV; headless Chromium keeps
the page open while the CSV goes missing and comes back. The banner and the
toast must name the state without a reload; screenshots at 1280 and 390 px
land in tests/artifacts/.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cdp import Chromium, find_chromium, free_port
from finops import simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).parent / "artifacts"
FINOPS = Path(sys.executable).parent / "finops"


@pytest.fixture
def chromium():
    if not find_chromium():
        pytest.skip("chromium is not installed (apt-get install -y chromium); "
                    "the live state test needs a real browser")
    browser = Chromium.launch()
    yield browser
    browser.stop()


def test_missing_csv_banner_appears_live_and_goes_away(tmp_path, chromium):
    csv = tmp_path / "data" / "calls.csv"
    csv.parent.mkdir()
    simulator.simulate(csv, rows=500, seed=8)
    port = free_port()
    lines: list[str] = []
    proc = subprocess.Popen([str(FINOPS), "serve", "--csv", str(csv), "--out", str(tmp_path / "r"),
                             "--port", str(port), "--poll-seconds", "1", "--target-mb", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=lambda: lines.extend(l.rstrip() for l in proc.stdout), daemon=True).start()
    try:
        end = time.monotonic() + 60
        while not any(" at http://" in l for l in lines) and time.monotonic() < end:
            time.sleep(0.1)
        page = chromium.new_page(f"http://127.0.0.1:{port}/")
        page.evaluate("window.__sameDocument = true")
        assert page.evaluate("document.getElementById('error-banner').hidden")
        cards = page.evaluate("document.querySelectorAll('#report-cards [data-report-id]').length")
        assert cards >= 5

        csv.rename(csv.with_name("moved.csv"))
        page.wait_for("!document.getElementById('error-banner').hidden", timeout=20)
        banner = page.evaluate("document.getElementById('error-banner').textContent")
        assert "The CSV is missing" in banner and "last good build" in banner
        page.wait_for("document.getElementById('toast').textContent.indexOf('The CSV is missing') >= 0",
                      timeout=5)
        # The last good reports are still there, and the page was never reloaded.
        assert page.evaluate("document.querySelectorAll('#report-cards [data-report-id]').length") == cards
        assert page.evaluate("window.__sameDocument === true")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(ARTIFACTS / "state-missing-1280.png")
        page.send("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1,
                  mobile=True)
        page.screenshot(ARTIFACTS / "state-missing-390.png")
        page.send("Emulation.clearDeviceMetricsOverride")

        csv.with_name("moved.csv").rename(csv)
        page.wait_for("document.getElementById('error-banner').hidden", timeout=20)
        assert page.evaluate("window.__sameDocument === true")
        assert not page.errors, page.errors
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, lines
