"""Analyzers run on two connections at once (analyze.run_each): the same
answers as one after another, filters and finance variables included, an
error in its place, and nothing left running inside DuckDB when it stops."""

from __future__ import annotations

import threading

import pytest

from finops.engine import analyze, explore
from finops.engine import filters as flt
from finops.engine.errors import FinopsError
from finops.engine.session import open_session


@pytest.fixture(scope="module")
def session_csv(tmp_path_factory):
    from finops import simulator

    path = tmp_path_factory.mktemp("concurrent") / "calls.csv"
    simulator.simulate(path, rows=4000, seed=23, days=20)
    return path


def answers(session, analyzers, connections):
    out = {}
    for analyzer, result, error, seconds in analyze.run_each(
            session, analyzers, analyze.run_analyzer, connections=connections):
        assert error is None, f"{analyzer.name}: {error}"
        assert seconds >= 0
        out[analyzer.name] = result.to_json()["queries"]
    return out


def analyzer_names(found):
    return [a.name for a in found]


@pytest.mark.parametrize("filters", [flt.Filters(), flt.parse([("model", "gpt-4o-mini")])],
                         ids=["whole-file", "filtered"])
def test_two_connections_give_what_one_gives(session_csv, filters):
    analyzers = analyze.checked_selection("all")
    session = open_session(session_csv, cache=False)
    try:
        explore.prepare(session.con, filters)
        one = answers(session, analyzers, 1)
        two = answers(session, analyzers, 2)
    finally:
        session.close()
    assert list(two) == analyzer_names(analyzers)  # in order, every one
    assert two == one
    if not filters.empty:  # the second connection saw the filter, not the whole file
        whole = open_session(session_csv, cache=False)
        try:
            assert answers(whole, analyzers[:1], 1) != {analyzers[0].name: one[analyzers[0].name]}
        finally:
            whole.close()


def test_an_error_takes_its_place_and_the_others_run(session_csv):
    analyzers = analyze.checked_selection("all")
    broken = analyzers[1].name

    def run(con, analyzer):
        if analyzer.name == broken:
            raise FinopsError(f"{analyzer.name} broke")
        return analyze.run_analyzer(con, analyzer)

    session = open_session(session_csv)
    try:
        seen = [(a.name, r is not None, str(e) if e else None)
                for a, r, e, _ in analyze.run_each(session, analyzers, run, connections=2)]
    finally:
        session.close()
    assert [name for name, _, _ in seen] == analyzer_names(analyzers)
    assert [(ok, e) for name, ok, e in seen if name == broken] == [(False, f"{broken} broke")]
    assert all(ok for name, ok, _ in seen if name != broken)


def test_stopping_early_leaves_nothing_running(session_csv):
    analyzers = analyze.checked_selection("all")
    session = open_session(session_csv)
    try:
        runs = analyze.run_each(session, analyzers, analyze.run_analyzer, connections=2)
        next(runs)
        runs.close()  # what an error raised by the caller, or Ctrl-C, does
        assert not [t for t in threading.enumerate() if t.name.startswith("finops-analyzer")]
        # The session itself is still whole.
        assert session.con.execute("SELECT count(*) > 0 FROM calls").fetchone()[0]
    finally:
        session.close()


def test_run_sql_with_a_finance_param_matches_the_analyzer_alone(session_csv):
    """A --param that moves a finance assumption stores the ledger again: such
    runs take one connection, and `all` answers as the analyzer run alone."""
    _, alone = analyze.run_sql("optimization", session_csv, params={"commitment_discount_pct": "30"})
    _, together = analyze.run_sql("all", session_csv, params={"commitment_discount_pct": "30"})
    mine = next(r for r in together if r.analyzer.name == "optimization")
    assert mine.to_json()["queries"] == alone[0].to_json()["queries"]
