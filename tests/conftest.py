"""Shared test helpers: hand-made CSVs in the data contract, and analyzer runs."""

from __future__ import annotations

import csv
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from finops.engine import analyze
from finops.engine.reference import reference

# Browser fixtures (tests/browser.py) as a plugin: one session-wide Chromium.
pytest_plugins = ["browser"]

# The contract's columns, from their one definition (sql/calls.sql).
HEADER = list(reference().contract_header())

DEFAULT_ROW = {
    "timestamp": "2025-11-01T10:00:00", "provider": "openai", "model": "gpt-4o",
    "input_tokens": "100", "output_tokens": "100", "cost_usd": "0.001250",
    "latency_ms": "400", "customer_id": "cust_0001", "subscription_tier": "pro",
    "organization_id": "org_001", "product_id": "product_a", "feature_id": "chat",
    "task_type": "chat", "environment": "production", "request_id": "req_1",
    "trace_id": "trace_1", "session_id": "sess_1", "user_agent": "test/1.0",
}


def whole_day_time(day: int) -> str:
    """A call time that keeps a fixture's end days complete: 00:30 on day 1, 23:30
    on later days. A file whose first call is after 01:00 or last call before 23:00
    has a partial end day, counted for the part covered (sql/calls.sql covered_days);
    fixtures worked out on whole days put their calls here."""
    return "00:30:00" if day == 1 else "23:30:00"


def write_calls(path: Path, rows: list[dict], *, newline: str = "\n") -> Path:
    """Write rows (dicts overriding DEFAULT_ROW) as a contract CSV; call_ids default to call_N."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        writer.writerow(HEADER)
        for n, row in enumerate(rows, start=1):
            full = {**DEFAULT_ROW, "call_id": f"call_{n}", **row}
            writer.writerow([full[c] for c in HEADER])
    return path


@pytest.fixture
def calls_csv(tmp_path):
    """Factory: calls_csv(rows, name='calls.csv') -> Path of a contract CSV."""

    def make(rows: list[dict], name: str = "calls.csv", **kwargs) -> Path:
        return write_calls(tmp_path / name, rows, **kwargs)

    return make


@pytest.fixture(scope="session")
def simulated_csv(tmp_path_factory):
    """Factory: simulated_csv(dest, rows=..., seed=..., **options) -> dest, a copy
    (with the simulator's sidecar, so append works) of a file simulated once
    per run for those options. Every test gets its own copy: nothing it does
    (appends, a store beside it) reaches another test."""
    made: dict[tuple, Path] = {}

    def copy_to(dest: Path, **options) -> Path:
        from finops import simulator
        from finops.simulator.run import SIDECAR_SUFFIX

        key = tuple(sorted(options.items()))
        if key not in made:
            source = tmp_path_factory.mktemp("simulated") / "calls.csv"
            simulator.simulate(source, **options)
            made[key] = source
        source = made[key]
        dest = Path(dest)
        shutil.copyfile(source, dest)
        sidecar = source.with_name(source.name + SIDECAR_SUFFIX)
        if sidecar.exists():
            shutil.copyfile(sidecar, dest.with_name(dest.name + SIDECAR_SUFFIX))
        return dest

    return copy_to


# A user's own analyzer (--sql-dir) for the live-loop tests: counts calls.
MINE_SQL = """-- name: mine
-- title: My analyzer
-- category: finops
-- version: 1
-- description: Counts calls, for the live-loop tests.

-- query: totals
SELECT count(*) AS calls, sum(cost_usd) AS cost FROM calls
"""


@pytest.fixture
def live_project(tmp_path, simulated_csv):
    """(data/calls.csv of 400 simulated rows, my_sql/mine.sql holding MINE_SQL) under tmp_path."""
    data, extra = tmp_path / "data", tmp_path / "my_sql"
    data.mkdir()
    extra.mkdir()
    (extra / "mine.sql").write_text(MINE_SQL)
    return simulated_csv(data / "calls.csv", rows=400, seed=5), extra / "mine.sql"


def run_query(analyzer: str, csv_path: Path, query: str, **params) -> list[dict]:
    """Rows of one analyzer query as JSON-ready dicts (what run-sql --format json prints)."""
    _, results = analyze.run_sql(analyzer, csv_path, query=query,
                             params={k: str(v) for k, v in params.items()})
    return results[0].to_json()["queries"][query]


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    """Poll predicate until it holds or timeout seconds pass; its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class RunningLoop:
    """A RebuildLoop (engine/watch.py) in a thread, stopped and joined on exit;
    its log lines in .logs. Used as `with RunningLoop(build, plan) as running:`."""

    def __init__(self, build, plan, *, debounce: float = 0.15, join_seconds: float = 30,
                 **kwargs):
        from finops.engine.watch import RebuildLoop

        self.logs: list[str] = []
        self.join_seconds = join_seconds
        self.loop = RebuildLoop(build, plan, log=self.logs.append, debounce=debounce, **kwargs)
        self.thread = threading.Thread(target=self.loop.run, daemon=True)

    def __enter__(self):
        self.loop.start_watchers()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.loop.stop_event.set()
        self.thread.join(self.join_seconds)
        self.loop.join(5)
        assert not self.thread.is_alive()

    @property
    def builds(self) -> int:
        return self.loop.record.builds


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every test that needs one (starting one takes seconds)."""
    pytest.importorskip("pyspark")
    import shutil
    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime")
    from finops.engine import spark as spark_engine
    # The test JVM lives minutes, not hours: C1 only (no C2 compiles
    # competing for the 2 cores) and the serial collector. These choose how
    # the JVM compiles and collects, not what Spark computes; they cut the
    # Spark tests' CPU by about a third (BENCHMARKS.md, "Test suite"). C1
    # alone gets a 48 MB code cache, which Spark's generated classes filled
    # in the filtered build ("Out of space in CodeCache for adapters" killed
    # the JVM): 256 MB, near the default JVM's 240 MB.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--driver-java-options "
                          "'-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=256m' "
                          "pyspark-shell")
    session = spark_engine.spark_session("local[2]")
    yield session
    session.stop()



# `make test` runs the suite with pytest-xdist, `--dist loadscope`. A test
# module stays in one worker (its module-wide fixtures, a built site or a
# Chromium, are made once); the long modules below, whose tests share
# nothing costlier than a simulated file, go test by test to whichever
# worker is free. The Spark tests are two scopes, each on one worker with
# its own Spark session: the filtered build on Spark (its own attach, the
# longest single test), and the rest (test_spark_engine.py's fixture and
# test_spark_read.py). One scope for all of them made one worker's chain
# the sum of both, longer than the rest of the suite on the other core;
# the second session's start costs about 10 s of CPU.
_SPLIT_MODULES = {"tests/test_store.py", "tests/test_calls_contract.py", "tests/test_build.py",
                  "tests/test_sql_finance.py", "tests/test_sql_agents.py"}


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # xdist's default reorders the scopes by their number of tests, which
    # put every one-test scope (the Spark build, the fuzz test) after all
    # the rest: hand them out in collection order (longest first, below).
    config.option.loadscopereorder = False

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module.startswith("tests/test_spark_") and module != "tests/test_spark_build.py":
                return "spark"
            return nodeid if module in _SPLIT_MODULES else module

    return Scheduling(config, log)


# The longest modules run first, so no worker is left with one of them at
# the end while the other idles (xdist hands out work in collection order).
# test_spark_engine.py opens the scope test_spark_read.py joins.
_FIRST_MODULES = ("test_spark_engine.py", "test_spark_build.py", "test_uptodate.py",
                  "test_browser_explore.py", "test_browser_live.py", "test_finance_cache.py",
                  "test_calls_fuzz.py", "test_store.py", "test_calls_contract.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        name = item.path.name
        return _FIRST_MODULES.index(name) if name in _FIRST_MODULES else len(_FIRST_MODULES)
    items.sort(key=rank)  # stable: the order within a module is kept

