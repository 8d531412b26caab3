"""`finops serve` wired together: server + rebuild loop (+ simulator), start and clean stop."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from browser import free_port
from finops import simulator
from finops.engine.live import serve

import conftest
from children import deliver_sigint

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
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=deliver_sigint)
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


# A query DuckDB runs for minutes unless interrupted: a build that is still
# inside DuckDB whenever the test stops the server.
SLOW_SQL = conftest.MINE_SQL + """
-- query: slow
SELECT sum(hash(i)) AS h FROM range(100000000000) t(i)
"""


@pytest.mark.parametrize("signals", [1, 2], ids=["sigterm", "sigterm-twice"])
def test_stop_during_a_build_interrupts_it_and_exits_cleanly(tmp_path, signals):
    """SIGTERM while a rebuild is inside DuckDB: the query is interrupted, the
    build publishes nothing, and the process exits 0 without DuckDB aborting
    the interpreter's exit. Twice is what `timeout 75 make demo` delivers
    (from timeout and from make); the second one once cut the stop short and
    the exit aborted ("terminate called ... FATAL: exception not rethrown")."""
    csv, extra, out = tmp_path / "calls.csv", tmp_path / "my_sql", tmp_path / "r"
    simulator.simulate(csv, rows=300, seed=2)
    extra.mkdir()
    (extra / "mine.sql").write_text(conftest.MINE_SQL)
    proc = subprocess.Popen([str(FINOPS), "serve", "--csv", str(csv), "--out", str(out),
                             "--port", str(free_port()), "--sql-dir", str(extra)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=deliver_sigint)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(l.rstrip() for l in proc.stdout),
                              daemon=True)
    reader.start()
    try:
        assert wait_for(lambda: any(" serving " in l for l in lines), timeout=30), lines
        first = json.loads((out / "manifest.json").read_text())
        (extra / "mine.sql").write_text(SLOW_SQL)  # the rebuild runs in serve's build thread
        # A build works in a staging folder; the slow query keeps it there.
        assert wait_for(lambda: any(out.glob(".staging-*")), timeout=10), lines
        time.sleep(1.0)
        for _ in range(signals):
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.1)
        rc = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        reader.join(5)
    text = "\n".join(lines)
    assert rc == 0, text
    for sign in ("terminate called", "FATAL", "Traceback", "Fatal Python error"):
        assert sign not in text, text
    assert "build stopped: finops is stopping" in text, text
    assert re.search(r"stopped: 1 build, CSV 0\.1 MB$", lines[-1]), text
    # The interrupted build published nothing and left no staging folder.
    assert json.loads((out / "manifest.json").read_text())["generated_at"] == first["generated_at"]
    assert not any(out.glob(".staging-*"))


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read()
    except OSError:
        return None



def test_network_bind_needs_named_hosts(tmp_path):
    from click.testing import CliRunner

    from finops.engine.cli import main

    result = CliRunner().invoke(main, ["serve", "--csv", str(tmp_path / "c.csv"), "--out",
                                       str(tmp_path / "out"), "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--allow-host" in lines[0] and "network" in lines[0]


def test_network_bind_warns_and_prints_the_real_urls(tmp_path):
    csv = tmp_path / "calls.csv"
    csv.write_text("")
    logs, urls, stop = [], [], threading.Event()
    thread = threading.Thread(target=lambda: serve(
        csv, tmp_path / "out", host="0.0.0.0", port=0, allow_hosts=["reports.lan"],
        build=lambda: None, stop_event=stop, log=logs.append, on_ready=urls.append))
    thread.start()
    try:
        assert wait_for(lambda: urls)
        port = urls[0].rsplit(":", 1)[1].strip("/")
        # Loopback still answers; the named host is accepted, any other name refused.
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"reports.lan:{port}"})
        try:
            urllib.request.urlopen(req, timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 404  # accepted: there is just no index yet
        evil = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"evil.lan:{port}"})
        try:
            urllib.request.urlopen(evil, timeout=5)
            raise AssertionError("a foreign Host was answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 421
    finally:
        stop.set()
        thread.join(20)
    warning = next(l for l in logs if l.startswith("warning:"))
    assert "0.0.0.0" in warning and "reports.lan" in warning and "anyone" in warning
    serving = next(l for l in logs if l.startswith("serving"))
    assert f"http://127.0.0.1:{port}/" in serving and f"http://reports.lan:{port}/" in serving


def test_a_stop_signal_takes_no_lock_the_main_thread_may_hold():
    """serve's signal handler runs between two bytecodes of the main thread,
    also inside stop_event.wait() or inside the handler of an earlier signal.
    When it set the Event itself, a second SIGTERM landing in the first one's
    set() waited for the Event's own (non-reentrant) lock: `timeout 40 make
    demo` hung for good. Here the handler runs while its caller holds that lock."""
    from finops.engine.live import _install_stop_signals, _restore_signals
    from finops.engine.session import QueryStop

    stop_event, queries = threading.Event(), QueryStop()
    previous = _install_stop_signals(stop_event, queries)
    try:
        handler = signal.getsignal(signal.SIGTERM)
        outcomes = []

        def inside_the_events_lock():
            with stop_event._cond:  # as the main thread is, inside wait() or set()
                for _ in range(2):  # the first signal, then the second
                    try:
                        handler(signal.SIGTERM, None)
                        outcomes.append("returned")
                    except KeyboardInterrupt:
                        outcomes.append("KeyboardInterrupt")

        caller = threading.Thread(target=inside_the_events_lock, daemon=True)
        caller.start()
        caller.join(5)
        assert not caller.is_alive(), "the handler waited for a lock its caller holds"
        assert outcomes == ["KeyboardInterrupt", "returned"]
        assert queries.stopped
    finally:
        _restore_signals(previous)
