"""Each scenario of simulator/scenarios/, one test (or a few) per scenario, and
the scenario machinery: the registry, the hook interface, parameter checks
and the bytes a seed gives.

Ground truth for the checks comes from the running scenario itself
(`plan.scenario(name)`): its drawn days, bursts and churns.
"""

from __future__ import annotations

import hashlib
import pkgutil
import sys
import statistics
from collections import Counter, defaultdict
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from finops import simulator
from finops.engine.errors import FinopsError
from finops.engine.reference import reference
from finops.simulator import scenarios
from finops.simulator.generate import DayRenderer, day_rows
from finops.simulator.plan import Customer, Plan
from finops.simulator.scenario import Scenario

from test_simulator import gen, ts


# --- the machinery ----------------------------------------------------------------

def test_every_scenario_module_is_registered_once_under_its_own_name():
    modules = {m.name for m in pkgutil.iter_modules(scenarios.__path__)}
    assert modules == set(scenarios.REGISTRY)
    for name, cls in scenarios.REGISTRY.items():
        assert issubclass(cls, Scenario) and cls.name == name
        assert cls.__module__ == f"{scenarios.__name__}.{name}"
        assert cls.description and sys.modules[cls.__module__].__doc__, name
    assert simulator.SCENARIO_NAMES == tuple(scenarios.REGISTRY)
    assert simulator.SCENARIO_NAMES[0] == "base"


def test_customer_holds_no_scenario_state():
    """Per-scenario state lives in the scenario: Customer keeps what every customer has."""
    assert {f.name for f in fields(Customer)} == {
        "index", "customer_id", "archetype", "rate", "tier", "organization_id", "product_id",
        "time_zone", "utc_offset", "favourite_provider", "appetite", "features", "user_agent",
        "session_length", "scenario", "context", "loyalty"}


def test_a_new_scenario_needs_only_its_class(monkeypatch):
    """The hook interface is enough: a scenario defined here, registered, runs end to end."""

    class Freeze(Scenario):
        name = "freeze"
        description = "calls stop on a freeze day and pick up again after it"
        defaults = {"freeze_day": 3}

        def trend(self, c, day):
            return 0.0 if day == self.params["freeze_day"] else 1.0

    monkeypatch.setitem(scenarios.REGISTRY, "freeze", Freeze)
    plan = Plan(seed=2, customers=8, days=6, scenarios=("base", "freeze"),
                params={"freeze": {"freeze_day": 2}})
    frozen = {c.customer_id for c in plan.segment("freeze")}
    assert frozen and len(frozen) == 4
    text = "".join(line for day in range(plan.days)
                   for line in DayRenderer(plan.date_of(day)).lines(day_rows(plan, day, 1.0)))
    rows = [line.split(",") for line in text.splitlines()]
    local_day = {c.customer_id: c.utc_offset for c in plan.customers}
    days_of = defaultdict(set)
    for r in rows:
        t = datetime.fromisoformat(r[0]) + timedelta(hours=local_day[r[8]])
        days_of[r[8]].add((t.date() - plan.start).days)
    assert all(2 not in days_of[cid] for cid in frozen)
    assert all(3 in days_of[cid] for cid in frozen if days_of[cid])
    assert any(2 in days for cid, days in days_of.items() if cid not in frozen)
    with pytest.raises(ValueError, match="freeze.freeze_day takes a day index"):
        Plan(seed=2, customers=8, days=6, scenarios=("freeze",), params={"freeze": {"freeze_day": -1}})


# Output of the generator for fixed options, pinned so that a refactor cannot
# change the bytes a seed gives unnoticed. History: scenarios became modules
# with the same bytes (9ba6c29e.../61fdd706... before and after); the output
# then changed once, on purpose, when the simulator took model classes and
# economy models from sql/calls.sql (one vocabulary with the analyzers).
PINNED = [
    (dict(seed=7, days=30, customers=24),
     "06b2d4f3d242e8111df986f7b080919ec4a8bd507b625a2fa9b3f8e47fe5ba87"),
    (dict(seed=8, days=30, customers=36,
          params={"burst": {"multiplier": (2.0, 3.0)},
                  "model_migration": {"target": "claude-opus-4", "start_day": 3},
                  "timezone": {"regions": {"asia": 2.0, "us": 1.0}}}),
     "62a2fc2bdb98a8d7d17abe4bdfe036df0892b85640a74a5e24258c2b430b6655"),
]


@pytest.mark.parametrize("options,sha256", PINNED)
def test_a_seed_gives_the_pinned_bytes(options, sha256):
    text = "".join(simulator.iter_lines(volume=0.2, **options))
    assert hashlib.sha256(text.encode()).hexdigest() == sha256


@pytest.mark.parametrize("params,message", [
    ({"burst": {"multiplier": (2.0, 3.0)}}, "burst, which is not a selected scenario"),
    ({"nope": {"x": 1}}, "unknown scenario 'nope'"),
    ({"base": {"x": 1}}, "unknown parameter base.x"),
    ({"model_migration": {"target": "gpt-9"}}, "unknown model 'gpt-9'"),
    ({"seasonal": {"weekly_amplitude": -1}}, "takes a number"),
    ({"viral_spike": {"start_day": 1.5}}, "takes a day index"),
])
def test_bad_parameters_are_refused_with_the_reason(params, message):
    scen = "base" if "burst" in params else None
    with pytest.raises(FinopsError, match=message):
        simulator.plan(seed=1, customers=5, days=5, scenarios=scen, params=params)


def scenario_run(tmp_path_factory, name, **kw):
    opts = dict(seed=kw.pop("seed", 3), customers=kw.pop("customers", 60), days=kw.pop("days", 30),
                scenarios=name, **kw)
    path, rows = gen(tmp_path_factory, name, **opts)
    return rows, simulator.plan(**{k: v for k, v in opts.items() if k != "volume"})


def test_burst_hours_run_5_to_20_times_normal(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "burst", volume=1.0, customers=40)
    off = {c.customer_id: c.utc_offset for c in plan.customers}
    idx = {c.customer_id: c.index for c in plan.customers}
    counts = Counter()
    for r in rows:
        t = ts(r) + timedelta(hours=off[r[8]])
        counts[(idx[r[8]], (t.date() - plan.start).days, t.hour)] += 1
    ratios = []
    bursts = plan.scenario("burst").bursts
    for day in range(plan.days):
        for ci, b in bursts(day).items():
            if (plan.start + timedelta(days=day)).weekday() >= 5:
                continue
            normal_days = [d for d in range(plan.days) if ci not in bursts(d)
                           and (plan.start + timedelta(days=d)).weekday() < 5]
            hrs = range(b.start_hour, b.start_hour + b.hours)
            base_n = sum(counts[(ci, d, h)] for d in normal_days for h in hrs) / len(normal_days)
            burst_n = sum(counts[(ci, day, h)] for h in hrs)
            if base_n >= 3:
                ratios.append(burst_n / base_n)
    assert len(ratios) >= 10
    assert 5 <= statistics.median(ratios) <= 20, statistics.median(ratios)
    burst_days = sum(len(bursts(d)) for d in range(plan.days)) / (plan.days * len(plan.customers))
    assert 0.04 <= burst_days <= 0.12


def test_churned_customers_stop_and_never_return(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "gradual_decline", customers=80, days=40)
    churn_day = plan.scenario("gradual_decline").churn_day
    churned = [c for c in plan.customers if churn_day(c) is not None]
    assert 0.12 <= len(churned) / len(plan.customers) <= 0.28
    last = {}
    for r in rows:
        last[r[8]] = ts(r)
    for c in churned:
        cutoff = datetime.combine(plan.date_of(churn_day(c)), datetime.min.time()) - timedelta(hours=c.utc_offset)
        assert last[c.customer_id] < cutoff, c.customer_id
    # the rest decline: the last week is quieter than the first
    per_week = Counter()
    for r in rows:
        per_week[(ts(r).date() - plan.start).days // 7] += 1
    assert per_week[4] < 0.8 * per_week[0]


def test_model_migration_follows_an_s_curve(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "model_migration", customers=40, days=35)
    src, dst = "gpt-4", "claude-sonnet-4"
    per_day = defaultdict(Counter)
    for r in rows:
        if r[3] in (src, dst):
            per_day[(ts(r).date() - plan.start).days][r[3]] += 1
    share = {d: c[dst] / (c[src] + c[dst]) for d, c in per_day.items() if c[src] + c[dst] >= 20}
    start, dur = plan.scenario("model_migration").start_day, 14
    before = [s for d, s in share.items() if d < start - 1]
    after = [s for d, s in share.items() if d > start + dur + 1]
    middle = [s for d, s in share.items() if abs(d - (start + dur / 2)) <= 1]
    assert before and after and middle
    # the target model has its own base share; the curve is what moves
    assert max(before) < 0.2 and min(after) > 0.85
    assert 0.3 < statistics.mean(middle) < 0.75
    ordered = [statistics.mean(share[d] for d in range(k, k + 3) if d in share)
               for k in range(start - 2, start + dur, 3)]
    assert ordered == sorted(ordered), "monotone rise"
    # slow at both ends, fast in the middle: an S, not a line
    assert ordered[1] - ordered[0] < ordered[len(ordered) // 2] - ordered[len(ordered) // 2 - 1]


def test_feature_launch_appears_on_its_day_with_a_spike_then_adoption(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "feature_launch", customers=50, days=30)
    launch = plan.scenario("feature_launch").launch_day
    days_with = sorted({(ts(r).date() - plan.start).days for r in rows if r[12] == "ai_assistant"})
    assert days_with[0] >= launch - 1 and launch in days_with
    per_day = Counter((ts(r).date() - plan.start).days for r in rows)
    weekday_before = [per_day[d] for d in range(launch - 10, launch)
                      if plan.date_of(d).weekday() < 5]
    assert per_day[launch] >= 2.5 * statistics.mean(weekday_before)
    users = {r[8] for r in rows if r[12] == "ai_assistant" and (ts(r).date() - plan.start).days > launch + 4}
    assert 0.25 <= len(users) / len(plan.customers) <= 0.55


def test_cost_optimization_moves_simple_tasks_to_the_economy_models(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "cost_optimization", customers=60, days=30)
    start = plan.scenario("cost_optimization").start_day
    prices = {r["model"]: r for r in reference().model_prices}
    simple = {"chat", "qa", "translation", "summarization"}  # analyzers.md's simple task types
    premium, cost, calls = Counter(), defaultdict(Decimal), Counter()
    for r in rows:
        d = (ts(r).date() - plan.start).days
        if d in (start - 1, start) or r[13] not in simple:
            continue  # local days straddle the UTC boundary
        k = d > start
        calls[k] += 1
        cost[k] += Decimal(r[6])
        premium[k] += prices[r[3]]["model_class"] == "premium"
    share_before, share_after = premium[False] / calls[False], premium[True] / calls[True]
    # cheaper_share 0.7 of the premium calls move to their economy model
    assert 0.2 < share_after / share_before < 0.4, (share_before, share_after)
    assert cost[True] / calls[True] < Decimal("0.7") * cost[False] / calls[False]


def test_steady_growth_compounds_and_upgrades(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "steady_growth", customers=40, days=28)
    per_week = Counter((ts(r).date() - plan.start).days // 7 for r in rows)
    assert per_week[3] > 1.5 * per_week[0]
    upgraded = [c for c in plan.customers if plan.upgrade(c) is not None]
    assert upgraded and all(c.tier != "enterprise" for c in upgraded)
    for c in upgraded:
        day, tier = plan.upgrade(c)
        assert plan.tier_on(c, day - 1) == c.tier and plan.tier_on(c, day) == tier != c.tier


def test_viral_spike_grows_after_its_start_day(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "viral_spike", customers=40, days=40)
    per_day = Counter((ts(r).date() - plan.start).days for r in rows)
    s = plan.scenario("viral_spike").start_day
    assert statistics.mean(per_day[d] for d in range(s + 15, s + 22)) > 4 * statistics.mean(
        per_day[d] for d in range(s - 7, s))


def test_weekend_effect_quiets_weekends(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "weekend_effect", customers=60, days=28)
    per_day = Counter(ts(r).date() for r in rows)
    by_wd = defaultdict(list)
    for d, n in per_day.items():
        by_wd[d.weekday()].append(n)
    weekday = statistics.mean(n for wd in range(4) for n in by_wd[wd])
    assert 0.35 <= statistics.mean(by_wd[5]) / weekday <= 0.65
    assert 0.25 <= statistics.mean(by_wd[6]) / weekday <= 0.55


def test_multi_tenant_organizations_differ_in_volume_and_provider(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "multi_tenant", customers=120, days=10)
    per_cust = Counter(r[8] for r in rows)
    by_org = defaultdict(list)
    org_of = {c.customer_id: c.organization_id for c in plan.customers}
    rate_of = {c.customer_id: c.rate for c in plan.customers}
    for cid, n in per_cust.items():
        by_org[org_of[cid]].append(n / rate_of[cid])
    means = [statistics.mean(v) for v in by_org.values() if len(v) >= 3]
    assert max(means) / min(means) >= 2.5
    top = defaultdict(Counter)
    for r in rows:
        top[r[10]][r[2]] += 1
    assert len({c.most_common(1)[0][0] for c in top.values()}) >= 3


def test_timezone_segment_follows_the_sun(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "timezone", customers=90, days=7)
    region = {c.customer_id: c.time_zone.split("/")[0] for c in plan.customers}
    peak = {}
    for reg in ("America", "Europe", "Asia"):
        hours = Counter(ts(r).hour for r in rows if region[r[8]] == reg)
        peak[reg] = max(range(24), key=lambda h: sum(hours[(h + k) % 24] for k in range(-3, 4)))
    assert len(set(peak.values())) == 3, peak


def test_seasonal_month_end_and_weekly_cycle(tmp_path_factory):
    rows, plan = scenario_run(tmp_path_factory, "seasonal", customers=60, days=35,
                              start="2025-10-01")
    per_day = Counter(ts(r).date() for r in rows)
    monday = statistics.mean(n for d, n in per_day.items() if d.weekday() == 1)
    friday = statistics.mean(n for d, n in per_day.items() if d.weekday() == 4)
    assert monday > 1.2 * friday  # the weekly cycle peaks early in the week
