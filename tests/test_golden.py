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


def test_golden_files_match_the_hashes_recorded_apart_from_them():
    """tests/golden/SHA256SUMS is written by `make golden`; a hand edit of a golden
    file or of the fixture no longer matches it."""
    if not golden.SUMS.exists():
        pytest.fail(f"{golden.SUMS} is missing: run `make golden`")
    sums = golden.read_sums()
    assert set(sums) == {p.name for p in golden.hashed_files()}, "run `make golden`"
    edited = [name for name, digest in sums.items()
              if golden.file_hash(golden.GOLDEN_DIR / name) != digest]
    assert not edited, f"edited by hand (hash differs from SHA256SUMS): {edited}; run `make golden`"
    for path in golden.hashed_files():
        assert b"\r\n" not in path.read_bytes(), f"{path} has CRLF line endings"


def test_a_hand_edit_fails_the_hash_check(tmp_path, monkeypatch):
    for path in golden.hashed_files():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    monkeypatch.setattr(golden, "FIXTURE", tmp_path / golden.FIXTURE.name)
    monkeypatch.setattr(golden, "SUMS", tmp_path / "SHA256SUMS")
    golden.write_sums()
    test_golden_files_match_the_hashes_recorded_apart_from_them()
    target = tmp_path / f"{NAMES[0]}.json"
    target.write_text(target.read_text(encoding="utf-8").replace('"version"', '"version" ', 1),
                      encoding="utf-8")
    with pytest.raises(AssertionError, match="edited by hand"):
        test_golden_files_match_the_hashes_recorded_apart_from_them()


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
