"""The finance and list-price tables kept in the store (engine/finance_cache.py).

A load that finds the store up to date writes them; a later load with the
same key reads them where they lie. Every test compares with a direct read
of the CSV (--no-cache), which never uses the cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finops.engine import analyze, finance_cache, store
from finops.engine.console import dumps
from finops.engine.paths import FINANCE_SQL
from finops.engine.session import open_session



def run_json(name: str, path, cache: bool = True, **kwargs) -> str:
    """What `run-sql NAME --format json` prints for these analyzers."""
    _, results = analyze.run_sql(name, path, cache=cache, **kwargs)
    return dumps([r.to_json() for r in results])


def run_all(path, cache: bool = True, **kwargs) -> str:
    return run_json("all", path, cache, **kwargs)


def store_dir(path: Path) -> Path:
    return path.parent / (path.name + store.STORE_SUFFIX)


def cache_files(path: Path, name: str = "finance") -> list[Path]:
    """The cache files of one kind in the store (one per key, the newest first)."""
    return sorted(store_dir(path).glob(f"{name}-*.duckdb"), key=lambda p: p.stat().st_mtime_ns,
                  reverse=True)


def where_agent_runs(path: Path, **kwargs) -> str:
    """The database agent_runs is read from in a new session: memory, or the cache."""
    session = open_session(path, **kwargs)
    try:
        return session.con.execute(
            "SELECT database_name FROM duckdb_tables() WHERE table_name = 'agent_runs' "
            "ORDER BY database_name = 'memory' DESC").fetchone()[0]
    finally:
        session.close()


@pytest.fixture
def calls(simulated_csv, tmp_path) -> Path:
    return simulated_csv(tmp_path / "calls.csv", seed=5, rows=4000)


def test_written_once_the_store_is_up_to_date_then_read_with_the_same_answers(calls):
    direct = run_all(calls, cache=False)
    assert run_all(calls) == direct  # ingests the file: no cache written
    assert not cache_files(calls)
    assert run_all(calls) == direct  # nothing new: computed, then written
    assert len(cache_files(calls)) == 1 and len(cache_files(calls, "list_prices")) == 1
    assert where_agent_runs(calls) != "memory"  # read from the cache ...
    assert run_all(calls) == direct  # ... with the same JSON, on two connections


def test_an_append_computes_afresh_and_writes_nothing(calls):
    from finops import simulator

    run_all(calls)
    run_all(calls)
    written = [(p, p.stat().st_mtime_ns) for p in cache_files(calls)]
    simulator.simulate(calls, append=True, rows=300)
    assert where_agent_runs(calls) == "memory"  # new bytes: the old key no longer holds
    assert [(p, p.stat().st_mtime_ns) for p in cache_files(calls)] == written
    assert run_all(calls) == run_all(calls, cache=False)


def test_a_changed_subscriptions_file_is_never_answered_from_the_cache(calls, tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,organization_id,subscription_tier,start_date,end_date,"
                    "monthly_price,discount_pct\n")
    run_all(calls, subscriptions=subs)
    before = run_all(calls, subscriptions=subs)
    assert where_agent_runs(calls, subscriptions=subs) != "memory"
    # The same path, a customer now billed from the file at $777 a month.
    subs.write_text(subs.read_text() + "cust_0001,org_001,enterprise,2020-01-01,,777,\n")
    assert where_agent_runs(calls, subscriptions=subs) == "memory"
    after = run_all(calls, subscriptions=subs)
    assert after != before
    assert after == run_all(calls, cache=False, subscriptions=subs)


def test_a_damaged_or_foreign_cache_file_is_computed_again(calls):
    direct = run_all(calls, cache=False)
    run_all(calls)
    run_all(calls)
    [path] = cache_files(calls)
    path.write_bytes(b"not a database" * 1000)
    assert run_all(calls) == direct
    assert where_agent_runs(calls) != "memory"  # rewritten whole, and read again
    [prices] = cache_files(calls, "list_prices")
    shutil.copyfile(path, prices)  # the finance tables, under the list prices' key
    assert run_all(calls) == direct


def test_the_key_follows_the_sql_run_and_the_inputs(calls, tmp_path):
    run_all(calls)
    session = open_session(calls)
    try:
        sql = FINANCE_SQL.read_text()
        key = finance_cache.cache_key(session.store, {}, sql)
        assert finance_cache.cache_key(session.store, {}, sql + "\n-- a comment\n") != key
        other = tmp_path / "budgets.csv"
        other.write_text("month,scope,scope_id,budget_usd\n")
        assert finance_cache.cache_key(session.store, {"budgets": other}, sql) != key
        other.write_text("month,scope,scope_id,budget_usd\n2025-01,customer,c1,10\n")
        assert finance_cache.cache_key(session.store, {"budgets": other}, sql) not in (
            key, finance_cache.cache_key(session.store, {}, sql))
    finally:
        session.close()


def test_two_sets_of_inputs_in_turn_both_stay_cached(calls, tmp_path):
    subs = tmp_path / "subs.csv"
    subs.write_text("customer_id,organization_id,subscription_tier,start_date,end_date,"
                    "monthly_price,discount_pct\ncust_0001,org_001,pro,2020-01-01,,50,\n")
    run_all(calls)
    run_all(calls)
    run_all(calls, subscriptions=subs)
    assert len(cache_files(calls)) == 2
    assert where_agent_runs(calls) != "memory"
    assert where_agent_runs(calls, subscriptions=subs) != "memory"
    assert run_all(calls, subscriptions=subs) == run_all(calls, cache=False, subscriptions=subs)
    budgets = tmp_path / "budgets.csv"
    budgets.write_text("month,scope,scope_id,budget_usd\n")
    run_all(calls, budgets=budgets)  # a third key: the oldest file goes
    assert len(cache_files(calls)) == 2


def test_an_ad_hoc_query_sees_the_plain_catalog_and_writes_nothing(calls):
    run_all(calls)
    _, result = analyze.adhoc_query(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name <> 'memory'", calls)
    assert result.rows == [(0,)]
    assert not cache_files(calls)
    run_all(calls)
    _, result = analyze.adhoc_query(
        "SELECT database_name FROM duckdb_tables() WHERE table_name = 'agent_runs'", calls)
    assert result.rows == [("memory",)]


def test_a_param_that_changes_an_assumption_stores_the_ledger_over_the_cache(calls):
    run_all(calls)
    run_all(calls)
    params = {"target_cache_hit_pct": "80"}
    assert run_json("optimization", calls, params=params) == \
        run_json("optimization", calls, cache=False, params=params)
    # and the stored ledger is back to the defaults for the next analyzer
    assert run_all(calls) == run_all(calls, cache=False)


def test_the_written_tables_are_those_of_the_defaults_even_when_a_param_stores_the_ledger_again(
        calls):
    """The cache is written by a thread while the analyzers run; a --param that
    stores the ledger again right away must not reach the file (its snapshot
    is taken before the analyzers start)."""
    run_all(calls)  # ingests: nothing written
    params = {"target_cache_hit_pct": "95", "commitment_discount_pct": "45"}
    with_params = run_json("optimization", calls, params=params)
    assert cache_files(calls)  # written during that run
    assert with_params == run_json("optimization", calls, cache=False, params=params)
    assert where_agent_runs(calls) != "memory"
    assert run_all(calls) == run_all(calls, cache=False)


def test_finops_cache_tables_0_computes_every_time_and_writes_nothing(calls, monkeypatch):
    monkeypatch.setenv("FINOPS_CACHE_TABLES", "0")
    run_all(calls)
    run_all(calls)
    assert not cache_files(calls)
    assert where_agent_runs(calls) == "memory"


def test_a_half_written_cache_left_by_a_killed_process_is_swept(calls):
    from finops import simulator

    run_all(calls)
    folder = store_dir(calls)
    left = [folder / ".finance-0123456789abcdef.duckdb.abc123.tmp",
            folder / ".finance-0123456789abcdef.duckdb.abc123.tmp.wal"]
    for path in left:
        path.write_bytes(b"half")
    simulator.simulate(calls, append=True, rows=50)  # the next load takes the exclusive lock
    run_all(calls)
    assert not any(path.exists() for path in left)


class _FakeWrite:
    """Stands for a cache write left to run when the session closes."""

    def __init__(self) -> None:
        self.ran = self.discarded = False

    def run(self) -> None:
        self.ran = True

    def discard(self) -> None:
        self.discarded = True


def test_closing_on_an_error_or_ctrl_c_writes_nothing_else_writes_every_file():
    class Store:
        writers: list = []

    store_ = Store()
    pending = [_FakeWrite(), _FakeWrite()]
    store_.writers = list(pending)
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        finance_cache.wait(store_)
    assert not store_.writers and all(w.discarded and not w.ran for w in pending)

    pending = [_FakeWrite(), _FakeWrite()]
    store_.writers = list(pending)
    finance_cache.wait(store_)
    assert not store_.writers and all(w.ran and not w.discarded for w in pending)

    # Ctrl-C during one write: it stops, the ones not begun are dropped.
    class _Stopped(_FakeWrite):
        def run(self) -> None:
            raise KeyboardInterrupt
    later, stopped = _FakeWrite(), _Stopped()
    store_.writers = [later, stopped]  # popped from the end: stopped runs first
    with pytest.raises(KeyboardInterrupt):
        finance_cache.wait(store_)
    assert not store_.writers and later.discarded and not later.ran


def test_a_cache_file_written_to_since_is_computed_afresh(calls):
    """A damaged block of a cached table failed the analyzer that read it, on
    every run until the store was deleted: a cache file written to since it
    was written (its stamp differs, whatever its mtime) is never attached."""
    import os

    direct = run_all(calls, cache=False)
    run_all(calls)
    run_all(calls)  # writes the cache
    cache = cache_files(calls)[0]
    before = cache.stat()
    with open(cache, "r+b") as fh:  # four data blocks (DuckDB's blocks are 256 KB)
        fh.seek(2 * 262144)
        fh.write(os.urandom(4 * 262144))
    os.utime(cache, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert where_agent_runs(calls) == "memory"
    assert run_all(calls) == direct
