"""Regenerate every analyzer's golden output (and, when asked, the fixture CSV).

    .venv/bin/python tests/update_golden.py             (or: make golden)
    .venv/bin/python tests/update_golden.py --fixture   (also remake the fixture CSV)

The fixture is the simulator's output for fixed options plus a few bad lines
appended on purpose, so the golden `source` block covers rejected rows too.
It is committed data, made by the simulator before it took model classes
from sql/calls.sql (which changed its output for a seed); `--fixture`
remakes it with today's simulator and so changes every golden output.
Golden files are never typed by hand: each records the analyzer's version,
and tests/golden/SHA256SUMS (written here, `sha256sum -c` format) holds the
hash of every golden file and of the fixture, apart from them, so a hand
edit of one fails tests/test_golden.py; it also fails on output that changed
while the version did not, and on a stale file.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = HERE / "golden"
FIXTURE = GOLDEN_DIR / "fixture_calls.csv"
SUMS = GOLDEN_DIR / "SHA256SUMS"
SIMULATE_ARGS = ["--seed", "11", "--rows", "2500", "--days", "21", "--customers", "40",
                 "--start", "2025-10-01", "--quiet"]
BAD_LINES = [
    # a repeated call_id (counted once), a contract-rule break, a short line
    None,  # filled with a copy of the second data line
    "2025-10-05T10:00:00,bad_tier_1,openai,gpt-4o,10,10,0.000125,100,cust_x,gold,org_001,"
    "product_a,chat,chat,production,r,t,s,ua",
    "2025-10-05T10:00:00,short_1,openai,gpt-4o,10",
]
SIGNIFICANT = 10  # floats compare to this many significant digits (DOUBLE sums vary in the last bits)


def make_fixture() -> None:
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "finops.engine.cli", "simulate", "--out", str(FIXTURE), "--force",
                    *SIMULATE_ARGS], check=True)
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    extra = [lines[2] if line is None else line for line in BAD_LINES]
    FIXTURE.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")


def normalise(value):
    """Floats rounded to SIGNIFICANT digits, recursively."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else value
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    return value


def current_output() -> dict[str, dict]:
    """Each built-in analyzer's JSON on the fixture, normalised, single-threaded."""
    from finops.engine import analyze, catalog
    from finops.engine.check import CheckFailed, check_analyzers
    from finops.engine.session import open_session

    checked = check_analyzers()  # `finops check` first: golden output of a broken file is no reference
    if not checked.ok:
        raise CheckFailed(checked.problems)
    session = open_session(FIXTURE, threads=1)
    try:
        source = session.source.to_dict()
        source["csv_path"] = "tests/golden/fixture_calls.csv"
        out = {}
        for analyzer in catalog.discover().values():
            result = analyze.run_analyzer(session.con, analyzer)
            out[analyzer.name] = normalise(result.to_json(source))
        return out
    finally:
        session.close()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashed_files() -> list[Path]:
    """The files SHA256SUMS covers: every golden file and the fixture."""
    return sorted([*GOLDEN_DIR.glob("*.json"), FIXTURE])


def read_sums() -> dict[str, str]:
    """File name -> recorded sha256, from SHA256SUMS."""
    sums = {}
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def write_sums() -> None:
    text = "".join(f"{file_hash(p)}  {p.name}\n" for p in hashed_files())
    SUMS.write_bytes(text.encode("utf-8"))


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


def write_golden(name: str, doc: dict) -> None:
    payload = {"analyzer": name, "version": doc["version"], "output": doc}
    text = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    golden_path(name).write_bytes(text.encode("utf-8"))  # LF endings on every platform


def main(argv: list[str]) -> None:
    # The fixture is committed data: remade only when asked, so a change to
    # the simulator never shows up as a change of every analyzer's output.
    if "--fixture" in argv or not FIXTURE.exists():
        make_fixture()
    outputs = current_output()
    for old in GOLDEN_DIR.glob("*.json"):
        if old.stem not in outputs:
            old.unlink()
    for name, doc in outputs.items():
        write_golden(name, doc)
        print(f"wrote {golden_path(name).relative_to(HERE.parent)} (v{doc['version']})")
    write_sums()
    print(f"wrote {SUMS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main(sys.argv[1:])
