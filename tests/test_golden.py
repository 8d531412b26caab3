"""Every analyzer's output on the golden fixture equals its golden file.

Regenerate with `make golden` (tests/update_golden.py); never edit by hand.
"""

from __future__ import annotations

import json

import pytest

from finops.engine import catalog
from finops.engine.check import check_analyzers

import update_golden as golden

NAMES = list(catalog.discover())


@pytest.fixture(scope="module")
def outputs():
    return golden.current_output()


def test_builtin_analyzers_pass_finops_check():
    """`finops check` runs first: the eight analyzers have no problem at all."""
    checked = check_analyzers(use_cache=False)
    assert checked.ok, "finops check found:\n" + "\n".join(map(str, checked.problems))
    assert sorted(checked.analyzers) == sorted(NAMES) and len(NAMES) >= 8


def load(name: str) -> dict:
    path = golden.golden_path(name)
    if not path.exists():
        pytest.fail(f"no golden file for analyzer {name}: run `make golden`")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_golden_file_is_not_edited_by_hand(name):
    doc = load(name)
    assert doc["sha256"] == golden.content_hash(doc["output"]), (
        f"{golden.golden_path(name)} was edited by hand; regenerate it with `make golden`")
    assert b"\r\n" not in golden.golden_path(name).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_output_matches_golden(name, outputs):
    doc = load(name)
    current = outputs[name]
    if current == doc["output"]:
        return
    changed = sorted(q for q in set(current["queries"]) | set(doc["output"]["queries"])
                     if current["queries"].get(q) != doc["output"]["queries"].get(q))
    if current["version"] == doc["version"]:
        pytest.fail(f"{name}: output changed (queries: {', '.join(changed) or 'header/source'}) "
                    f"but its version is still {doc['version']}: bump `-- version:` in "
                    f"sql/*/{name}.sql, then run `make golden`")
    pytest.fail(f"{name}: version {current['version']} has no golden output yet "
                f"(golden is v{doc['version']}): run `make golden`")


def test_no_stale_golden_files():
    stale = {p.stem for p in golden.GOLDEN_DIR.glob("*.json")} - set(NAMES)
    assert not stale, f"golden files for analyzers that no longer exist: {sorted(stale)}"


def test_golden_source_block_counts_the_planted_bad_lines(outputs):
    source = next(iter(outputs.values()))["source"]
    assert source["rows_rejected"] == 2 and source["duplicate_call_ids"] == 1
