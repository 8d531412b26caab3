"""One definition of each fact: the contract's columns, the tiers and the prices
are sql/calls.sql's reference tables, and the simulator, the tests and the
docs read them from there (finops.engine.reference)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from finops import simulator
from finops.engine import reference as ref_module
from finops.engine.paths import CALLS_SQL
from finops.engine.reference import reference
from finops.engine.session import open_session
from finops.simulator import catalog
from finops.simulator.plan import APPETITE_CLASS_WEIGHT

from conftest import write_calls

ROOT = Path(__file__).resolve().parent.parent


def test_the_loader_reads_the_tables_the_session_loads(tmp_path):
    """The statements the loader picks out of calls.sql make the same tables a real load does."""
    session = open_session(write_calls(tmp_path / "calls.csv", [{}]))
    try:
        for table, rows in (("contract_columns", reference().contract_columns),
                            ("subscription_tiers", reference().subscription_tiers),
                            ("model_prices", reference().model_prices)):
            cur = session.con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            loaded = sorted((tuple(r) for r in cur.fetchall()), key=repr)
            assert loaded == sorted((tuple(r[n] for n in names) for r in rows), key=repr), table
    finally:
        session.close()


def edited_calls_sql(tmp_path: Path, old: str, new: str) -> Path:
    text = CALLS_SQL.read_text(encoding="utf-8")
    assert old in text, f"calls.sql no longer has {old!r}; update this test"
    path = tmp_path / "calls.sql"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_fact_changed_in_sql_is_what_readers_get(tmp_path):
    path = edited_calls_sql(tmp_path, "('pro',        CAST(99 ", "('pro',        CAST(109")
    assert ref_module.load(path).tier_fees()["pro"] == Decimal(109)


def test_columns_added_to_a_reference_table_break_no_reader(tmp_path):
    """Readers go by column name: a column added to each table changes nothing they read."""
    text = CALLS_SQL.read_text(encoding="utf-8")
    path = tmp_path / "calls.sql"
    path.write_text(text + "\n" + "\n".join(
        f"CREATE OR REPLACE TEMP TABLE {t} AS SELECT *, 'note' AS added_note FROM {t};"
        for t in ref_module.REFERENCE_TABLES) + "\n", encoding="utf-8")
    loaded = ref_module.load(path)
    assert loaded.contract_header() == reference().contract_header()
    assert loaded.tier_fees() == reference().tier_fees()
    assert loaded.prices().keys() == reference().prices().keys()
    assert all(r["added_note"] == "note" for r in loaded.model_prices)


def test_optional_contract_columns_are_not_in_the_required_header():
    """Contract 1.1 marks columns `required`; the header a writer must write has only those."""
    columns = ({"position": 1, "column_name": "a", "required": True},
               {"position": 2, "column_name": "b", "required": True},
               {"position": 3, "column_name": "c", "required": False})
    assert ref_module.Reference(columns, (), ()).contract_header() == ("a", "b")
    assert ref_module.Reference(tuple({k: v for k, v in c.items() if k != "required"}
                                      for c in columns), (), ()).contract_header() == ("a", "b", "c")


def test_a_calls_sql_without_a_reference_table_is_a_clear_error(tmp_path):
    path = edited_calls_sql(tmp_path, "CREATE OR REPLACE TEMP TABLE subscription_tiers AS",
                            "CREATE OR REPLACE TEMP TABLE subscription_tiers_gone AS")
    with pytest.raises(RuntimeError, match="defines no table subscription_tiers"):
        ref_module.load(path)


def test_the_simulator_writes_the_contract_header_and_prices_with_the_sql_prices():
    assert simulator.HEADER_COLUMNS == reference().contract_header()
    prices = reference().prices()
    for provider, models in catalog.MODELS.items():
        for model, *_ in models:
            row = prices[(provider, model)]
            assert simulator.PRICES[model] == (row["input_per_1k"], row["output_per_1k"])
            tokens_in, tokens_out = 1234, 567
            exact = (tokens_in * row["input_per_1k"] + tokens_out * row["output_per_1k"]) / 1000
            assert Decimal(simulator.cost_micro_usd(model, tokens_in, tokens_out)) / 10**6 == \
                exact.quantize(Decimal("0.000001"), rounding="ROUND_HALF_UP")
    assert simulator.TIER_FEES == {t: int(f) for t, f in reference().tier_fees().items()}


def test_one_vocabulary_for_model_classes():
    sql_classes = {r["model_class"] for r in reference().model_prices}
    assert set(catalog.MODEL_CLASSES) == sql_classes
    assert all(set(weights) == sql_classes for weights in APPETITE_CLASS_WEIGHT.values())
    for provider, models in catalog.MODELS.items():
        for model, *_, cls in models:
            assert cls == reference().prices()[(provider, model)]["model_class"], model


def test_the_cheaper_model_of_the_simulator_is_the_economy_model_of_the_sql():
    economy = {r["model"]: r["economy_model"] for r in reference().model_prices if r["economy_model"]}
    assert catalog.CHEAPER_MODEL == economy


def test_readme_states_the_contract_header_and_the_tier_fees():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ",".join(reference().contract_header()) in readme.splitlines()
    fees = reference().tier_fees()
    names = "/".join(f"`{t}`" for t in fees)
    amounts = "/".join(f"{int(f)}" for f in fees.values())
    assert re.search(re.escape(names) + r"\s+\(" + re.escape(amounts) + " USD a month", readme)


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row, backticks dropped."""
    return [[cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
            for line in markdown.splitlines() if line.lstrip().startswith("|")]


def check_data_contract_doc(path: Path) -> None:
    """The doc's column table, tier fees and price table say what the SQL defines."""
    text = path.read_text(encoding="utf-8")
    rows = table_rows(text)
    columns = [r[1] for r in rows if len(r) >= 3 and r[0].isdigit()]
    header = list(reference().contract_header())
    assert columns[:len(header)] == header, f"{path}: the column table differs from contract_columns"
    prices = {(p, m): (r["input_per_1k"], r["output_per_1k"]) for (p, m), r in reference().prices().items()}
    documented = {(r[0], r[1]): (Decimal(r[2]), Decimal(r[3])) for r in rows
                  if len(r) >= 4 and (r[0], r[1]) in prices}
    assert documented == prices, f"{path}: the price table differs from model_prices"
    for tier, fee in reference().tier_fees().items():
        assert re.search(rf"\b{tier}\b\W+{int(fee)}\b", text), f"{path}: no fee {int(fee)} for {tier}"


def test_the_data_contract_doc_states_the_sql_facts():
    doc = ROOT / "docs" / "data-contract.md"
    if not doc.exists():
        pytest.skip("docs/data-contract.md is not in this tree yet")
    check_data_contract_doc(doc)


def test_the_doc_check_finds_a_wrong_price(tmp_path):
    """The check above can fail: a doc with one price changed is caught."""
    prices = "\n".join(f"| {r['provider']} | {r['model']} | {r['input_per_1k'].normalize()} | "
                       f"{r['output_per_1k'].normalize()} |" for r in reference().model_prices)
    columns = "\n".join(f"| {c['position']} | {c['column_name']} | {c['column_type']} |"
                        for c in reference().contract_columns)
    fees = ", ".join(f"{t} {int(f)}" for t, f in reference().tier_fees().items())
    good = tmp_path / "good.md"
    good.write_text(f"{columns}\n\nSubscription tiers: {fees}.\n\n{prices}\n", encoding="utf-8")
    check_data_contract_doc(good)
    bad = tmp_path / "bad.md"
    bad.write_text(good.read_text().replace("| gpt-4 | 0.03 |", "| gpt-4 | 0.02 |"), encoding="utf-8")
    with pytest.raises(AssertionError, match="price table"):
        check_data_contract_doc(bad)
