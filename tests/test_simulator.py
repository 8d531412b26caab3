"""The simulator: contract-valid rows, a realistic business, scenario effects,
determinism, append and continuous mode, and the `finops simulate` command.

Generated files are small (a few seconds in all); ground truth for the
scenario checks comes from the simulator's own plan.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from finops import simulator
from finops.engine.cli import main
from finops.engine.errors import FinopsError
from finops.engine.reference import reference
from children import deliver_sigint, signal_state

# The data contract's facts, from their one definition (sql/calls.sql's
# reference tables), never from the simulator's own module: the rows are
# checked against what the analyzers will read them with.
HEADER = ",".join(reference().contract_header())
TIERS = tuple(reference().tier_fees())
PRICES: dict[str, dict[str, tuple[Decimal, Decimal]]] = {}
for _row in reference().model_prices:
    PRICES.setdefault(_row["provider"], {})[_row["model"]] = (_row["input_per_1k"], _row["output_per_1k"])
TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?")
COST_RE = re.compile(r"\d+(\.\d{1,6})?")


def contract_problems(fields: list[str]) -> list[str]:
    """Every rule of docs/data-contract.md for one row; [] when the row is valid."""
    if len(fields) != HEADER.count(",") + 1:
        return [f"{len(fields)} fields"]
    (ts, call_id, provider, model, inp, out, cost, lat, cust, tier, org, prod, feat, task, env,
     *_ids) = fields
    bad = []
    if not TS_RE.fullmatch(ts):
        bad.append("timestamp")
    else:
        datetime.fromisoformat(ts)
    if not call_id:
        bad.append("call_id")
    if provider not in PRICES or model not in PRICES.get(provider, {}):
        bad.append("provider/model")
    if not (inp.isdigit() and 1 <= int(inp) <= 1_000_000):
        bad.append("input_tokens")
    if not (out.isdigit() and 0 <= int(out) <= 1_000_000):
        bad.append("output_tokens")
    if not COST_RE.fullmatch(cost):
        bad.append("cost_usd")
    if not (lat.isdigit() and 1 <= int(lat) <= 600_000):
        bad.append("latency_ms")
    if tier not in TIERS:
        bad.append("tier")
    if env not in ("production", "staging", "development"):
        bad.append("environment")
    if not all((cust, org, prod, feat, task)):
        bad.append("empty id")
    if not bad:
        inp_p, out_p = PRICES[provider][model]
        want = ((int(inp) * Decimal(inp_p) + int(out) * Decimal(out_p)) / 1000).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_UP)
        if Decimal(cost) != want:
            bad.append(f"cost {cost} != {want}")
    return bad


def read_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert b"\r" not in data, "LF line endings only"
    text = data.decode("utf-8")
    assert text.endswith("\n")
    lines = text.split("\n")
    assert lines[0] == HEADER
    return list(csv.reader(io.StringIO("\n".join(lines[1:]))))


def gen(tmp_path_factory, name: str, **options) -> tuple[Path, list[list[str]]]:
    path = tmp_path_factory.mktemp("sim") / f"{name}.csv"
    simulator.simulate(path, **options)
    return path, read_rows(path)


def ts(row) -> datetime:
    return datetime.fromisoformat(row[0])


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """Every scenario, 200 customers, 30 days."""
    opts = dict(seed=11, customers=200, days=30)
    path, rows = gen(tmp_path_factory, "full", **opts)
    return path, rows, simulator.plan(**opts)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The plain business, a big population over two weeks."""
    opts = dict(seed=5, customers=600, days=14, scenarios="base")
    path, rows = gen(tmp_path_factory, "base", **opts)
    return path, rows, simulator.plan(**opts)


# --- the contract --------------------------------------------------------------

def test_every_row_satisfies_the_data_contract(full):
    path, rows, _ = full
    assert len(rows) > 50_000
    problems = Counter()
    for r in rows:
        for p in contract_problems(r):
            problems[p.split(" ")[0]] += 1
    assert not problems, problems.most_common(5)
    ids = [r[1] for r in rows]
    assert len(set(ids)) == len(ids), "call_id is unique"
    times = [r[0] for r in rows]
    assert times == sorted(times), "rows are in time order"


def test_customer_identity_is_stable_and_tier_changes_are_planned_upgrades(full):
    _, rows, plan = full
    seen = defaultdict(set)
    tiers = defaultdict(list)
    for r in rows:
        seen[r[8]].add((r[10], r[11]))
        tiers[r[8]].append(r[9])
    assert all(len(v) == 1 for v in seen.values()), "one organization and product per customer"
    by_id = {c.customer_id: c for c in plan.customers}
    for cid, ts_tiers in tiers.items():
        changes = [(a, b) for a, b in zip(ts_tiers, ts_tiers[1:]) if a != b]
        upgrade = plan.upgrade(by_id[cid])
        if upgrade is None:
            assert not changes
        else:
            assert len(changes) <= 1 and all(b == upgrade[1] for _, b in changes)
    assert any(plan.upgrade(c) is not None for c in plan.customers)


# --- a realistic business -------------------------------------------------------

def test_archetype_and_tier_shares_follow_the_spec():
    plan = simulator.plan(seed=1, customers=4000, days=10)
    arch = Counter(c.archetype for c in plan.customers)
    for name, share in (("light", 0.70), ("power", 0.20), ("heavy", 0.10)):
        assert abs(arch[name] / 4000 - share) < 0.025, (name, arch)
    expected = {"light": (0.60, 0.35, 0.05), "power": (0.10, 0.70, 0.20), "heavy": (0.0, 0.20, 0.80)}
    for name, shares in expected.items():
        group = [c.tier for c in plan.customers if c.archetype == name]
        for tier, share in zip(("starter", "pro", "enterprise"), shares):
            assert abs(group.count(tier) / len(group) - share) < 0.05, (name, tier)
    rates = defaultdict(list)
    for c in plan.customers:
        rates[c.archetype].append(c.rate)
    assert 5 <= min(rates["light"]) and max(rates["light"]) <= 20
    assert 50 <= min(rates["power"]) and max(rates["power"]) <= 150
    assert 200 <= min(rates["heavy"]) and max(rates["heavy"]) <= 500


def test_file_tiers_match_the_population(base):
    _, rows, plan = base
    first_tier = {}
    for r in rows:
        first_tier.setdefault(r[8], r[9])
    by_id = {c.customer_id: c for c in plan.customers}
    assert all(by_id[cid].tier == t for cid, t in first_tier.items())
    assert len(first_tier) > 0.95 * len(plan.customers)


def test_provider_shares_follow_market_weights(base):
    _, rows, _ = base
    n = len(rows)
    share = Counter(r[2] for r in rows)
    for prov, want in (("openai", 40), ("anthropic", 25), ("google", 15), ("bedrock", 10),
                       ("azure", 5), ("mistral", 3), ("cohere", 2)):
        assert abs(100 * share[prov] / n - want) < max(4.0, want * 0.3), (prov, 100 * share[prov] / n)


def test_business_hours_share_is_about_85_percent(base):
    _, rows, plan = base
    off = {c.customer_id: c.utc_offset for c in plan.customers}
    local = [(ts(r) + timedelta(hours=off[r[8]])).hour for r in rows]
    share = sum(8 <= h < 20 for h in local) / len(local)
    assert 0.81 <= share <= 0.89, share


def test_weekends_run_at_about_70_percent_of_weekdays(base):
    _, rows, _ = base
    per_day = Counter(r[0][:10] for r in rows)
    week = defaultdict(list)
    for d, n in per_day.items():
        week[datetime.fromisoformat(d).weekday() >= 5].append(n)
    ratio = statistics.mean(week[True]) / statistics.mean(week[False])
    assert 0.6 <= ratio <= 0.8, ratio


def test_environment_shares(base):
    _, rows, _ = base
    env = Counter(r[14] for r in rows)
    n = len(rows)
    assert abs(env["production"] / n - 0.95) < 0.01
    assert abs(env["staging"] / n - 0.04) < 0.008
    assert abs(env["development"] / n - 0.01) < 0.004


def test_tokens_are_shaped_by_task(base):
    _, rows, _ = base
    med = defaultdict(lambda: ([], []))
    for r in rows:
        med[r[13]][0].append(int(r[4]))
        med[r[13]][1].append(int(r[5]))
    mi = {t: statistics.median(v[0]) for t, v in med.items()}
    mo = {t: statistics.median(v[1]) for t, v in med.items()}
    assert mi["summarization"] > 2 * mi["chat"] and mi["analysis"] > 2 * mi["chat"]
    assert mo["code_generation"] > 1.5 * mo["chat"]
    assert mi["qa"] < mi["chat"] and mo["qa"] < mo["chat"]


def test_latency_grows_with_tokens_and_has_outliers(base):
    _, rows, _ = base
    pairs = sorted((int(r[5]), int(r[7])) for r in rows if r[3] == "gpt-4o")
    q = len(pairs) // 4
    low = statistics.median(lat for _, lat in pairs[:q])
    high = statistics.median(lat for _, lat in pairs[-q:])
    assert high > 2 * low
    ratio = [lat / max(1, out) for out, lat in pairs]
    assert max(ratio) > 3 * statistics.median(ratio), "rare slow outliers"


def test_sessions_span_several_calls_of_one_customer_and_day(base):
    _, rows, _ = base
    sess = defaultdict(set)
    size = Counter()
    for r in rows:
        sess[r[17]].add((r[8], r[0][:10]))
        size[r[17]] += 1
    assert all(len(v) == 1 for v in sess.values())
    assert statistics.mean(size.values()) > 2


def test_default_business_has_a_minority_of_unprofitable_customers(full):
    _, rows, _ = full
    fee = reference().tier_fees()
    cost, tier, days = defaultdict(Decimal), {}, defaultdict(set)
    for r in rows:
        cost[r[8]] += Decimal(r[6])
        tier[r[8]] = r[9]
        days[r[8]].add(r[0][:10])
    first_last = {}
    for r in rows:
        d = r[0][:10]
        a, b = first_last.get(r[8], (d, d))
        first_last[r[8]] = (min(a, d), max(b, d))
    unprofitable = 0
    for cid, c in cost.items():
        a, b = first_last[cid]
        tenure = (datetime.fromisoformat(b) - datetime.fromisoformat(a)).days + 1
        if c > Decimal(fee[tier[cid]]) * tenure / 30:
            unprofitable += 1
    share = unprofitable / len(cost)
    assert 0.02 <= share <= 0.25, share


# --- determinism, append, continuous ---------------------------------------------

def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    simulator.simulate(a, rows=3000, seed=9)
    simulator.simulate(b, rows=3000, seed=9)
    simulator.simulate(c, rows=3000, seed=10)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert len(read_rows(a)) == 3000


def test_target_mb_stops_at_the_size_on_a_row_boundary(tmp_path):
    out = tmp_path / "t.csv"
    r = simulator.simulate(out, target_mb=1.5, seed=2)
    size = out.stat().st_size
    assert 1_500_000 <= size < 1_501_000 and r.file_bytes == size
    assert out.read_bytes().endswith(b"\n")


def test_append_continues_ids_and_time_and_rewrites_nothing(tmp_path):
    out = tmp_path / "a.csv"
    simulator.simulate(out, rows=1500, seed=4)
    before = out.read_bytes()
    r = simulator.simulate(out, rows=1500, seed=4, append=True)
    after = out.read_bytes()
    assert after.startswith(before) and r.appended
    assert after.count(HEADER.encode()) == 1
    rows = read_rows(out)
    assert len(rows) == 3000
    assert all(not contract_problems(x) for x in rows)
    assert ts(rows[1500]) > ts(rows[1499])
    assert len({x[1] for x in rows}) == 3000
    if rows[1500][0][:10] == rows[1499][0][:10]:  # same day: the id sequence continues
        assert int(rows[1500][1].rsplit("_", 1)[1]) == int(rows[1499][1].rsplit("_", 1)[1]) + 1


def test_append_refuses_a_file_that_is_not_the_contract(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FinopsError, match="header"):
        simulator.simulate(bad, rows=10, append=True)
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes((HEADER + "\r\n").encode())
    with pytest.raises(FinopsError, match="header"):
        simulator.simulate(crlf, rows=10, append=True)
    assert bad.read_text() == "a,b,c\n1,2,3\n"


def test_append_to_a_cut_last_line_keeps_new_rows_whole(tmp_path):
    out = tmp_path / "cut.csv"
    simulator.simulate(out, rows=200, seed=4)
    data = out.read_bytes()
    out.write_bytes(data[:-200])  # a writer died mid-line
    simulator.simulate(out, rows=100, seed=4, append=True)
    lines = out.read_text().split("\n")
    assert lines[-1] == ""
    bad = [ln for ln in lines[1:-1] if contract_problems(next(csv.reader([ln])))]
    assert len(bad) == 1  # only the cut line, now closed; nothing after it is harmed
    assert len(lines) - 2 == 300


def test_continuous_mode_stops_cleanly_on_stop_event(tmp_path):
    out = tmp_path / "live.csv"
    stop = threading.Event()
    seen = []

    set_at = []

    def progress(p):
        seen.append(p.rows)
        if p.rows >= 3000 and not stop.is_set():
            set_at.append(p.rows)
            stop.set()

    r = simulator.run_continuous(out, target_mb=50, rate=20000, seed=3, stop_event=stop, progress=progress)
    # Not one more batch after the event: progress is reported between
    # batches, and the next batch checks the event first. (Progress reports
    # are throttled in time, so how many rows pass before the first report at
    # or over 3,000 depends on the machine's load; the stop itself does not.)
    assert r.stopped and r.rows == set_at[0] >= 3000
    rows = read_rows(out)
    assert len(rows) == r.rows and all(not contract_problems(x) for x in rows)
    # running it again continues the same file up to the target
    r2 = simulator.run_continuous(out, rows=r.rows + 500, rate=None, seed=3)
    assert r2.rows == 500 and len(read_rows(out)) == r.rows + 500


def test_a_concurrent_reader_never_sees_a_partial_row_except_the_last(tmp_path):
    out = tmp_path / "live.csv"
    stop = threading.Event()
    t = threading.Thread(target=simulator.run_continuous, args=(out,),
                         kwargs=dict(rows=20000, rate=15000, batch_rows=97, seed=8, stop_event=stop))
    t.start()
    checks = 0
    try:
        deadline = time.time() + 10
        while t.is_alive() and time.time() < deadline:
            if out.exists():
                data = out.read_bytes()
                lines = data.split(b"\n")
                complete = lines[:-1]  # the piece after the last newline may be partial
                for ln in complete[1:]:
                    assert len(ln.split(b",")) == 19, ln
                if complete:
                    assert complete[0] == HEADER.encode()
                checks += 1
            time.sleep(0.01)
    finally:
        stop.set()
        t.join()
    assert checks >= 5
    assert all(not contract_problems(x) for x in read_rows(out))


def test_ctrl_c_leaves_a_valid_file(tmp_path):
    out = tmp_path / "int.csv"
    proc = subprocess.Popen([sys.executable, "-m", "finops.engine.cli", "simulate", "--continuous",
                             "--rate", "5000", "--target-mb", "500", "--out", str(out), "--seed", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=deliver_sigint)
    deadline = time.time() + 20
    while time.time() < deadline and (not out.exists() or out.stat().st_size < 300_000):
        time.sleep(0.05)
    # A target far beyond what 20 s can write: the run is still going when
    # the signal comes, however slow a busy machine makes this test.
    before = signal_state(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the simulator ignored Ctrl-C for 20 s ({before})")
    assert proc.returncode == 130, (before, err)
    assert b"interrupted" in err and b"Traceback" not in err
    rows = read_rows(out)  # ends with a newline: no partial last line
    assert len(rows) > 500 and all(not contract_problems(x) for x in rows)


# --- the command ----------------------------------------------------------------

def run_cli(*args):
    return CliRunner().invoke(main, ["simulate", *args])


def test_cli_writes_a_file(tmp_path):
    out = tmp_path / "x.csv"
    r = run_cli("--rows", "800", "--seed", "1", "--out", str(out), "--scenarios", "base,burst")
    assert r.exit_code == 0, r.output
    assert len(read_rows(out)) == 800
    r = run_cli("--rows", "200", "--out", str(out), "--append", "--seed", "1", "--scenarios", "base,burst")
    assert r.exit_code == 0, r.output
    assert len(read_rows(out)) == 1000


def test_simulate_refuses_to_overwrite_a_file_it_did_not_write_unless_forced(tmp_path):
    small = dict(customers=5, days=2)  # a tiny business: the test is about the file, not the rows
    SMALL = ("--customers", "5", "--days", "2")
    theirs = tmp_path / "calls.csv"
    theirs.write_text("their,own,data\n1,2,3\n")
    r = run_cli("--rows", "50", *SMALL, "--out", str(theirs))
    assert r.exit_code == 2 and "was not written by `finops simulate`" in r.output
    assert "--force" in r.output and len(r.output.strip().splitlines()) == 1
    assert theirs.read_text() == "their,own,data\n1,2,3\n"
    # a file in the contract's format (real data, say) is theirs too without the sidecar
    real = tmp_path / "real.csv"
    simulator.simulate(real, rows=20, seed=1, **small)
    Path(f"{real}.plan.json").unlink()
    before = real.read_bytes()
    with pytest.raises(FinopsError, match="not written by"):
        simulator.simulate(real, rows=50, seed=2, **small)
    assert real.read_bytes() == before
    # --force replaces it; the simulator's own file is then replaced without asking
    r = run_cli("--rows", "50", *SMALL, "--seed", "3", "--out", str(theirs), "--force", "--quiet")
    assert r.exit_code == 0, r.output
    assert len(read_rows(theirs)) == 50 and simulator.written_by_simulator(theirs)
    r = run_cli("--rows", "70", *SMALL, "--seed", "4", "--out", str(theirs), "--quiet")
    assert r.exit_code == 0, r.output
    assert len(read_rows(theirs)) == 70
    # an empty file holds nothing to lose
    empty = tmp_path / "empty.csv"
    empty.touch()
    simulator.simulate(empty, rows=10, seed=1, **small)
    assert len(read_rows(empty)) == 10
    # continuous mode starting fresh asks the same
    with pytest.raises(FinopsError, match="not written by"):
        simulator.run_continuous(real, rows=10, rate=None, fresh=True, **small)
    assert real.read_bytes() == before


def test_cli_default_run_writes_50_mb_to_the_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if True:
        r = CliRunner().invoke(main, ["simulate", "--quiet"])
        assert r.exit_code == 0, r.output
        path = Path("data/simulated_calls.csv")
        size = path.stat().st_size
        assert 50_000_000 <= size < 50_002_000
        first = path.open().readlines()[1][:10]
        with path.open("rb") as fh:
            fh.seek(-2000, os.SEEK_END)
            last = fh.read().split(b"\n")[-2][:10].decode()
        span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).days + 1
        assert first == "2025-10-01" and 30 <= span <= 60, span


@pytest.mark.parametrize("args, message", [
    (["--scenarios", "base,nope"], "unknown scenario 'nope'"),
    (["--start", "2025-02-30"], "bad start date"),
    (["--rows", "10", "--target-mb", "1"], "only one of them"),
    (["--rows", "0"], "--rows must be at least 1"),
    (["--target-mb", "-3"], "--target-mb must be a positive number"),
    (["--days", "0"], "--days must be"),
    (["--rate", "10"], "--rate only applies with --continuous"),
    (["--param", "burst.multiplier=x:y"], "burst.multiplier takes a number or a range"),
    (["--param", "burst.nope=1"], "unknown parameter burst.nope"),
    (["--param", "oops"], "use SCENARIO.NAME=VALUE"),
    (["--append", "--force"], "--force only applies to a new file"),
])
def test_cli_user_errors_are_one_line_with_exit_2(tmp_path, args, message):
    r = run_cli("--out", str(tmp_path / "e.csv"), *args)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert r.output.count("\n") == 1 and "Traceback" not in r.output


def test_cli_append_refuses_a_bad_header(tmp_path):
    out = tmp_path / "h.csv"
    out.write_text("timestamp,cost\n")
    r = run_cli("--out", str(out), "--append", "--rows", "5")
    assert r.exit_code == 2 and "header" in r.output and r.output.count("\n") == 1
    assert out.read_text() == "timestamp,cost\n"
