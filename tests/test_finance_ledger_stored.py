"""The ledger of actions is stored once per load (sql/finance.sql's `actions`
table) and follows an analyzer parameter that changes a finance assumption:
recomputed for that analyzer, back to the stored rows after it."""

from __future__ import annotations

import pytest

from finops.engine import analyze, catalog
from finops.engine.session import open_session


def _switching_calls(calls_csv):
    # gpt-4 on qa (a simple task by default): a model-switching saving
    return calls_csv([
        {"provider": "openai", "model": "gpt-4", "task_type": "qa", "feature_id": "qa",
         "input_tokens": "1000", "output_tokens": "500", "cost_usd": "0.060000",
         "timestamp": f"2025-11-{day:02d}T10:00:00"}
        for day in range(1, 11)
    ])


def _action_ids(result) -> list[str]:
    return [row["action_id"] for row in result.to_json()["queries"]["recommendations"]]


@pytest.fixture
def session(calls_csv):
    s = open_session(_switching_calls(calls_csv), cache=False)
    yield s
    s.close()


@pytest.mark.parametrize("name, value, changed", [
    ("commitment_discount_pct", 20, False),      # the table says '20.0': same number
    ("commitment_discount_pct", 20.0, False),
    ("commitment_discount_pct", 25.0, True),
    ("cost_cap_pct", 80, False),
    ("cost_cap_pct", 79.5, True),
    ("simple_tasks", "qa,chat,summarization,translation", False),
    ("simple_tasks", "qa, chat, summarization, translation", False),  # spaces are ignored
    ("simple_tasks", "qa,chat", True),
])
def test_a_parameter_changes_an_assumption_only_by_its_value(session, name, value, changed):
    con = session.con
    query = f"SELECT assumption_changed('{name}')"
    assert con.execute(query).fetchone()[0] is False
    con.execute(f"SET VARIABLE {name} = ?", [value])
    try:
        assert con.execute(query).fetchone()[0] is changed
    finally:
        con.execute(f"RESET VARIABLE {name}")


def test_the_stored_ledger_follows_a_changed_parameter_and_comes_back(session):
    optimization = catalog.discover()["optimization"]
    default = _action_ids(analyze.run_analyzer(session.con, optimization, only="recommendations"))
    assert "switch:openai/gpt-4/qa" in default
    stored = session.con.execute("SELECT count(*) FROM actions").fetchone()[0]

    # qa is no longer a simple task: no switch for it while this analyzer runs
    changed = analyze.run_analyzer(session.con, optimization, {"simple_tasks": "chat"},
                                   only="recommendations")
    assert "switch:openai/gpt-4/qa" not in _action_ids(changed)

    # the next analyzer (and the index) read the ledger at the assumptions' values again
    assert session.con.execute("SELECT count(*) FROM actions").fetchone()[0] == stored
    again = _action_ids(analyze.run_analyzer(session.con, optimization, only="recommendations"))
    assert again == default


def test_the_stored_levers_follow_a_changed_parameter_and_come_back(session):
    """The levers (ledger_switches, ledger_commitment, ...) are stored tables
    too: a report's own tables read them under its parameters."""
    optimization = catalog.discover()["optimization"]

    def switching(overrides=None):
        result = analyze.run_analyzer(session.con, optimization, overrides, only="model_switching")
        return [(row["from_model"], row["task_type"])
                for row in result.to_json()["queries"]["model_switching"]]

    def commitment_discount():
        return session.con.execute(
            "SELECT discount_pct FROM ledger_commitment WHERE basis = 'current'").fetchone()[0]

    assert switching() == [("gpt-4", "qa")]
    assert switching({"simple_tasks": "chat"}) == []
    assert switching() == [("gpt-4", "qa")]
    assert commitment_discount() == 20.0
    result = analyze.run_analyzer(session.con, optimization, {"commitment_discount_pct": "35"},
                                  only="commitment")
    assert result.to_json()["queries"]["commitment"][0]["discount_pct"] == 35.0
    assert commitment_discount() == 20.0
