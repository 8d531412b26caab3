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
from finops.engine.session import open_session

CACHE = "finance.duckdb"


def run_all(path, cache: bool = True, **kwargs) -> str:
    _, results = analyze.run_sql("all", path, cache=cache, **kwargs)
    return dumps([r.to_json() for r in results])


def cache_file(path: Path) -> Path:
    return path.parent / (path.name + store.STORE_SUFFIX) / CACHE


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
    assert not cache_file(calls).exists()
    assert run_all(calls) == direct  # nothing new: computed, then written
    assert cache_file(calls).exists()
    assert where_agent_runs(calls) != "memory"  # read from the cache ...
    assert run_all(calls) == direct  # ... with the same JSON, on two connections
    assert (cache_file(calls).parent / "list_prices.duckdb").exists()


def test_an_append_computes_afresh_and_writes_nothing(calls):
    from finops import simulator

    run_all(calls)
    run_all(calls)
    written = cache_file(calls).stat().st_mtime_ns
    simulator.simulate(calls, append=True, rows=300)
    assert where_agent_runs(calls) == "memory"  # new bytes: the old key no longer holds
    assert cache_file(calls).stat().st_mtime_ns == written
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
    path = cache_file(calls)
    path.write_bytes(b"not a database" * 1000)
    assert run_all(calls) == direct
    assert where_agent_runs(calls) != "memory"  # rewritten whole, and read again
    shutil.copyfile(path, path.with_name("list_prices.duckdb"))  # another key's tables
    assert run_all(calls) == direct


def test_the_key_follows_the_sql_and_the_inputs(calls, tmp_path, monkeypatch):
    run_all(calls)
    session = open_session(calls)
    try:
        key = finance_cache.cache_key(session.store, {})
        changed = tmp_path / "finance.sql"
        changed.write_text(finance_cache.FINANCE_SQL.read_text() + "\n-- a comment\n")
        monkeypatch.setattr(finance_cache, "FINANCE_SQL", changed)
        assert finance_cache.cache_key(session.store, {}) != key
        monkeypatch.undo()
        other = tmp_path / "budgets.csv"
        other.write_text("month,scope,scope_id,budget_usd\n")
        assert finance_cache.cache_key(session.store, {"budgets": other}) != key
    finally:
        session.close()


def test_a_param_that_changes_an_assumption_stores_the_ledger_over_the_cache(calls):
    run_all(calls)
    run_all(calls)
    params = {"target_cache_hit_pct": "80"}
    _, cached = analyze.run_sql("optimization", calls, params=params)
    _, direct = analyze.run_sql("optimization", calls, params=params, cache=False)
    assert dumps([r.to_json() for r in cached]) == dumps([r.to_json() for r in direct])
    # and the stored ledger is back to the defaults for the next analyzer
    assert run_all(calls) == run_all(calls, cache=False)


def test_the_written_tables_are_those_of_the_defaults_even_when_a_param_stores_the_ledger_again(
        calls):
    """The cache is written by a thread while the analyzers run; a --param that
    stores the ledger again right away must not reach the file (its snapshot
    is taken before the analyzers start)."""
    run_all(calls)  # ingests: nothing written
    params = {"target_cache_hit_pct": "95", "commitment_discount_pct": "45"}
    _, with_params = analyzer_json("optimization", calls, params=params)
    assert cache_file(calls).exists()  # written during that run
    assert with_params == analyzer_json("optimization", calls, params=params, cache=False)[1]
    assert where_agent_runs(calls) != "memory"
    assert run_all(calls) == run_all(calls, cache=False)


def analyzer_json(name, path, **kwargs):
    source, results = analyze.run_sql(name, path, **kwargs)
    return source, dumps([r.to_json() for r in results])


def test_finops_cache_tables_0_computes_every_time_and_writes_nothing(calls, monkeypatch):
    monkeypatch.setenv("FINOPS_CACHE_TABLES", "0")
    run_all(calls)
    run_all(calls)
    assert not cache_file(calls).exists()
    assert where_agent_runs(calls) == "memory"


def test_a_half_written_cache_left_by_a_killed_process_is_swept(calls):
    from finops import simulator

    run_all(calls)
    folder = cache_file(calls).parent
    left = [folder / ".finance.duckdb.abc123.tmp", folder / ".finance.duckdb.abc123.tmp.wal"]
    for path in left:
        path.write_bytes(b"half")
    simulator.simulate(calls, append=True, rows=50)  # the next load takes the exclusive lock
    run_all(calls)
    assert not any(path.exists() for path in left)
