"""`finops serve` wired together: server + rebuild loop (+ simulator), start and clean stop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

from browser import free_port
from finops import simulator
from finops.engine.live import serve

import conftest

FINOPS = Path(sys.executable).parent / "finops"


wait_for = partial(conftest.wait_for, timeout=10.0)


def test_serve_in_process_with_a_fake_build(tmp_path):
    csv, out = tmp_path / "calls.csv", tmp_path / "site"
    csv.write_text("header\nrow\n")
    builds = []

    def build():
        builds.append(csv.read_text().count("\n"))
        out.mkdir(exist_ok=True)
        (out / "index.html").write_text(f"<p>{builds[-1]} lines</p>")
        (out / "manifest.json").write_text(json.dumps({"rows": builds[-1] - 1}))
        return None

    logs, urls, stop = [], [], threading.Event()
    thread = threading.Thread(target=lambda: logs.append(serve(
        csv, out, port=0, build=build, stop_event=stop, log=logs.append, debounce=0.1,
        min_interval=0, on_ready=urls.append)))
    thread.start()
    try:
        assert wait_for(lambda: urls)
        assert urls[0].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(urls[0]) as r:
            assert r.read() == b"<p>2 lines</p>"
        with urllib.request.urlopen(urls[0] + "manifest.json") as r:
            assert r.headers["Cache-Control"] == "no-store"
        with open(csv, "a") as fh:
            fh.write("row\n")
        assert wait_for(lambda: len(builds) == 2)
        with urllib.request.urlopen(urls[0]) as r:
            assert r.read() == b"<p>3 lines</p>"
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
    summary = logs[-1]
    assert summary.builds == 2 and summary.failed == 0
    assert logs[-2] == "stopped: 2 builds, CSV 0.0 MB"


def test_finops_serve_subprocess_builds_serves_and_stops_on_ctrl_c(tmp_path):
    csv = tmp_path / "calls.csv"
    simulator.simulate(csv, rows=300, seed=2)
    port = free_port()
    proc = subprocess.Popen([str(FINOPS), "serve", "--csv", str(csv), "--out", str(tmp_path / "r"),
                             "--port", str(port), "--target-mb", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(l.rstrip() for l in proc.stdout),
                              daemon=True)
    reader.start()
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_for(lambda: _get(url) is not None, timeout=30), lines
        manifest = json.loads(_get(url + "manifest.json"))
        assert manifest["rows"] == 300 and manifest["live"] is True
        assert manifest["target_size_mb"] == 1.0
        index = _get(url).decode()
        assert 'src="assets/viewer.js"' in index
        assert b"finops live viewer" in _get(url + "assets/viewer.js")
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(30)
        reader.join(5)
    assert rc == 0, lines
    # ok, or partial while someone edits an analyzer in this checkout
    assert any(re.search(r" build (ok|partial) in .*: 300 rows, 0\.1 MB", l) for l in lines), lines
    assert any(f"at http://127.0.0.1:{port}/" in l for l in lines), lines
    assert lines[-1].endswith("stopped: 1 build, CSV 0.1 MB"), lines
    assert not any("Traceback" in l for l in lines)


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read()
    except OSError:
        return None

