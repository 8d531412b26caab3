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

from browser import free_port
from children import deliver_sigint
from finops import simulator

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).parent / "artifacts"
FINOPS = Path(sys.executable).parent / "finops"


def test_missing_csv_banner_appears_live_and_goes_away(tmp_path, open_page):
    csv = tmp_path / "data" / "calls.csv"
    csv.parent.mkdir()
    simulator.simulate(csv, rows=500, seed=8)
    port = free_port()
    lines: list[str] = []
    proc = subprocess.Popen([str(FINOPS), "serve", "--csv", str(csv), "--out", str(tmp_path / "r"),
                             "--port", str(port), "--poll-seconds", "1", "--target-mb", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=deliver_sigint)
    threading.Thread(target=lambda: lines.extend(l.rstrip() for l in proc.stdout), daemon=True).start()
    try:
        end = time.monotonic() + 60
        while not any(" at http://" in l for l in lines) and time.monotonic() < end:
            time.sleep(0.1)
        page = open_page(f"http://127.0.0.1:{port}/")
        page.evaluate("window.__sameDocument = true")
        banner = page.locator("#error-banner")
        assert banner.is_hidden()
        cards = page.locator("#report-cards [data-report-id]").count()
        assert cards >= 5

        csv.rename(csv.with_name("moved.csv"))
        banner.wait_for(state="visible", timeout=20_000)
        text = banner.inner_text()
        assert "The CSV is missing" in text and "last good build" in text
        page.wait_for_function(
            "document.getElementById('toast').textContent.indexOf('The CSV is missing') >= 0",
            timeout=5_000)
        # The last good reports are still there, and the page was never reloaded.
        assert page.locator("#report-cards [data-report-id]").count() == cards
        assert page.evaluate("window.__sameDocument === true")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "state-missing-1280.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "state-missing-390.png"))
        assert banner.is_visible()

        csv.with_name("moved.csv").rename(csv)
        banner.wait_for(state="hidden", timeout=20_000)
        assert page.evaluate("window.__sameDocument === true")
        assert not page.errors, page.errors
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, lines
