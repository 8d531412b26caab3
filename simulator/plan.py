"""The simulated business: who the customers are and what happens to them.

A Plan is a pure function of (seed, customers, days, start, scenarios, params).
It holds the population, split into one segment per selected scenario, and
one running instance of each scenario (simulator/scenarios/), which holds
its own events (churn days, bursts, tier upgrades...). It answers two
questions for the generator, asking each customer's scenario through the
hooks of simulator/scenario.py: how many calls a customer is expected to
make in each UTC hour of a day, and with which (feature, task, model) mix.
It writes nothing; tests read it (`plan.scenario(name)`) as ground truth for
the scenario checks.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate

from . import catalog as C
from .scenario import Scenario
from .scenarios import REGISTRY, SCENARIO_NAMES

# Scenario name -> (what it does, default parameters); each scenario is a
# module of simulator/scenarios/.
SCENARIOS: dict[str, tuple[str, dict]] = {
    name: (cls.description, cls.defaults) for name, cls in REGISTRY.items()}

ARCHETYPES = {  # name: (population share, calls/day at volume 1)
    "light": (70, (5, 20)),
    "power": (20, (50, 150)),
    "heavy": (10, (200, 500)),
}
TIER_BY_ARCHETYPE = {
    "light": (60, 35, 5),
    "power": (10, 70, 20),
    "heavy": (0, 20, 80),
}
# Premium appetite: how strongly a customer reaches for premium models.
APPETITE_BY_ARCHETYPE = {
    "light": {"budget": 45, "balanced": 50, "premium": 5},
    "power": {"budget": 30, "balanced": 40, "premium": 30},
    "heavy": {"budget": 20, "balanced": 40, "premium": 40},
}
# Weight an appetite gives each model class (model_prices.model_class).
APPETITE_CLASS_WEIGHT = {
    "budget": {"economy": 1.6, "standard": 0.7, "premium": 0.15},
    "balanced": {"economy": 1.0, "standard": 1.0, "premium": 1.0},
    "premium": {"economy": 0.2, "standard": 1.0, "premium": 20.0},
}
# Workload token scale: median by archetype, times CONTEXT_PREMIUM for
# premium-appetite customers, snapped to a few buckets (one token table each).
CONTEXT_MEDIAN = {"light": 0.9, "power": 1.8, "heavy": 2.4}
CONTEXT_PREMIUM = 6.0
CONTEXT_BUCKETS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
PROVIDER_LOYALTY = 0.45  # share of calls that go to the favourite provider

DEFAULT_CUSTOMERS = 200
DEFAULT_DAYS = 45
DEFAULT_START = date(2025, 10, 1)
DEFAULT_SEED = 42
# Calls per customer-day relative to the archetype rates above. The default
# dataset (50 MB, ~150,000 rows) then covers about 45 days of 200 customers.
DEFAULT_VOLUME = 0.23

HOUR_US = 3_600_000_000


HOUR_PROFILE = C.HOUR_PROFILE


@dataclass
class Customer:
    """What every customer has; a scenario's own per-customer state lives in the scenario."""

    index: int
    customer_id: str
    archetype: str
    rate: float  # calls/day at volume 1
    tier: str  # the tier it starts on (a scenario may plan an upgrade: Plan.tier_on)
    organization_id: str
    product_id: str
    time_zone: str
    utc_offset: int
    favourite_provider: str
    appetite: str
    features: dict[str, float]
    user_agent: str
    session_length: int
    scenario: str  # the name of its segment's scenario
    context: float = 1.0  # token scale of its workload (long RAG contexts, agents)
    loyalty: float = PROVIDER_LOYALTY  # share of calls that go to the favourite provider


def merge_params(scenarios: tuple[str, ...], params: dict | None) -> dict[str, dict]:
    """Each selected scenario's parameters: its defaults with the overrides checked and applied."""
    merged = {name: dict(REGISTRY[name].defaults) for name in scenarios}
    for name, overrides in (params or {}).items():
        if name not in REGISTRY:
            raise ValueError(f"unknown scenario {name!r} in params")
        if name not in merged:
            raise ValueError(f"parameters for {name}, which is not a selected scenario "
                             f"(selected: {', '.join(scenarios)}); add {name} to the scenarios "
                             "or drop its parameters")
        cls = REGISTRY[name]
        for key, value in overrides.items():
            if key not in cls.defaults:
                known = ", ".join(cls.defaults) or "none"
                raise ValueError(f"unknown parameter {name}.{key} (known: {known})")
            cls.check_param(key, value)
        merged[name].update(overrides)
    return merged


class Plan:
    """The population and scenario timeline for one simulation run."""

    def __init__(self, *, seed: int = DEFAULT_SEED, customers: int = DEFAULT_CUSTOMERS,
                 days: int = DEFAULT_DAYS, start: date = DEFAULT_START,
                 scenarios: tuple[str, ...] | None = None, params: dict | None = None,
                 organizations: int = 10):
        if customers < 1:
            raise ValueError("customers must be at least 1")
        if days < 1:
            raise ValueError("days must be at least 1")
        self.seed = seed
        self.days = days
        self.start = start
        self.scenarios = tuple(scenarios) if scenarios else SCENARIO_NAMES
        for name in self.scenarios:
            if name not in REGISTRY:
                raise ValueError(f"unknown scenario {name!r}")
        self.params = merge_params(self.scenarios, params)
        self.organizations = [f"org_{i:03d}" for i in range(1, organizations + 1)]
        # one instance per selected scenario, in registry order (the order they draw in)
        self.units: dict[str, Scenario] = {name: cls(self, self.params[name])
                                           for name, cls in REGISTRY.items() if name in self.params}
        # the hooks a scenario overrides; the others are skipped in the hot loops
        self._shapes_hours = {name for name, u in self.units.items()
                              if type(u).hour_weight is not Scenario.hour_weight}
        rng = random.Random(f"finops-plan:{seed}")
        self._build_population(rng, customers)
        self._build_tokens(rng)
        self._token_tables: dict = {}
        self._mix_cache: dict = {}
        self._rates_cache: dict[int, list] = {}

    def scenario(self, name: str) -> Scenario:
        """The running instance of a selected scenario (its parameters and ground truth)."""
        return self.units[name]

    # --- population -------------------------------------------------------
    def _build_population(self, rng: random.Random, n: int) -> None:
        names = list(ARCHETYPES)
        cum = list(accumulate(ARCHETYPES[a][0] for a in names))
        providers = list(C.PROVIDER_WEIGHTS)
        pcum = list(accumulate(C.PROVIDER_WEIGHTS.values()))
        # balanced segments: every selected scenario gets its share of customers
        segs = [self.scenarios[i % len(self.scenarios)] for i in range(n)]
        rng.shuffle(segs)
        orgs = self.organizations
        org_weights = [1.0 / (i + 1) ** 0.6 for i in range(len(orgs))]  # a few big orgs
        org_cum = list(accumulate(org_weights))
        for unit in self.units.values():
            unit.prepare(rng)
        self.customers: list[Customer] = []
        for i in range(n):
            arch = rng.choices(names, cum_weights=cum)[0]
            lo, hi = ARCHETYPES[arch][1]
            tier = rng.choices(C.TIERS, weights=TIER_BY_ARCHETYPE[arch])[0]
            appetite = rng.choices(*zip(*APPETITE_BY_ARCHETYPE[arch].items()))[0]
            feats = rng.sample(C.FEATURES, rng.randint(2, 4) if arch != "light" else rng.randint(1, 3))
            features = {f: rng.uniform(0.5, 3.0) for f in feats}
            unit = self.units[segs[i]]
            tz = unit.time_zone(rng)
            if tz is None:  # most of the business is in the Americas, some in Europe
                tz = rng.choices(C.US_ZONES + ("Europe/London", "Europe/Berlin"),
                                 weights=(35, 20, 8, 25, 6, 6))[0]
            c = Customer(
                index=i, customer_id=f"cust_{i + 1:04d}", archetype=arch,
                rate=rng.uniform(lo, hi), tier=tier,
                organization_id=orgs[rng.choices(range(len(orgs)), cum_weights=org_cum)[0]],
                product_id=rng.choices(C.PRODUCTS, weights=(60, 40))[0],
                time_zone=tz, utc_offset=math.floor(C.TIME_ZONES[tz]),
                favourite_provider=rng.choices(providers, cum_weights=pcum)[0],
                appetite=appetite, features=features,
                user_agent=rng.choice(C.USER_AGENTS),
                session_length=rng.randint(3, 12), scenario=unit.name,
            )
            c.context = self._context_scale(rng, arch, appetite)
            unit.setup(rng, c)
            self.customers.append(c)
        for unit in self.units.values():
            unit.finish(rng, self.segment(unit.name))

    @staticmethod
    def _context_scale(rng: random.Random, archetype: str, appetite: str) -> float:
        """Heavy users and premium-model users send longer contexts: they are the
        customers whose AI cost can outgrow their subscription fee."""
        median = CONTEXT_MEDIAN[archetype] * (CONTEXT_PREMIUM if appetite == "premium" else 1.0)
        k = rng.lognormvariate(math.log(median), 0.35)
        return min(CONTEXT_BUCKETS, key=lambda b: abs(math.log(b / k)))

    def token_table(self, task: str, scale: float) -> list[tuple[int, int, int]]:
        """(input, output, latency-ms-at-speed-1) for a task and workload scale:
        inputs grow with the context, outputs with its square root; latency is
        about 2 ms per output token plus a little per input token."""
        key = (task, scale)
        table = self._token_tables.get(key)
        if table is None:
            so = math.sqrt(scale)
            table = [(min(120000, max(10, int(i * scale))), min(16000, max(12, int(o * so))), 0)
                     for i, o, _ in self.tokens[task]]
            table = [(i, o, 2 * o + i // 4 + 120) for i, o, _ in table]
            self._token_tables[key] = table
        return table

    def _build_tokens(self, rng: random.Random) -> None:
        """Per task, 4096 (input, output) token draws; rows index them."""
        self.tokens = {}
        for task, (im, isg, om, osg) in C.TASK_TOKENS.items():
            table = []
            for _ in range(4096):
                i = rng.lognormvariate(math.log(im), isg)
                o = rng.lognormvariate(math.log(om), osg)
                if rng.random() < 0.006:  # the long tail: huge contexts, runaway outputs
                    i *= rng.uniform(4, 15)
                    o *= rng.uniform(1.5, 4)
                i = min(60000, max(10, int(i)))
                o = min(12000, max(12, int(o)))
                table.append((i, o, i + o))
            self.tokens[task] = table
        # latency noise: +-30%, with rare slow outliers
        self.latency_noise = [rng.uniform(0.7, 1.3) * (rng.uniform(3, 8) if rng.random() < 0.012 else 1.0)
                              for _ in range(1024)]

    # --- time ---------------------------------------------------------------
    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def tier_on(self, c: Customer, day: int) -> str:
        """The customer's tier on a day (a scenario may have planned an upgrade)."""
        return self.units[c.scenario].tier_on(c, day)

    def upgrade(self, c: Customer) -> tuple[int, str] | None:
        """(day, new tier) of the customer's planned upgrade, or None."""
        return self.units[c.scenario].upgrades.get(c.index)

    def day_factor(self, c: Customer, d: int) -> float:
        """Expected calls on local day d relative to the customer's base rate."""
        unit = self.units[c.scenario]
        f = unit.trend(c, d)
        if f == 0.0:
            return 0.0
        dt = self.start + timedelta(days=d)
        f *= unit.weekday_factor(c, dt)
        return unit.day_factor(c, d, dt, f)

    def hour_rates(self, day: int) -> list[list[float] | None]:
        """Expected calls per UTC hour of UTC day `day`, per customer, at volume 1."""
        cached = self._rates_cache.get(day)
        if cached is not None:
            return cached
        out: list[list[float] | None] = []
        profile = C.HOUR_PROFILE
        for c in self.customers:
            off = c.utc_offset
            shape = self.units[c.scenario].hour_weight if c.scenario in self._shapes_hours else None
            factors = {}
            rates = [0.0] * 24
            any_calls = False
            for h in range(24):
                lt = h + off
                ld = day + lt // 24
                lh = lt % 24
                f = factors.get(ld)
                if f is None:
                    f = factors[ld] = self.day_factor(c, ld)
                if f == 0.0:
                    continue
                w = profile[lh]
                if shape is not None:
                    w = shape(c, ld, lh, w)
                rates[h] = c.rate * f * w
                any_calls = True
            out.append(rates if any_calls else None)
        self._rates_cache[day] = out
        if len(self._rates_cache) > 4:
            self._rates_cache.pop(next(iter(self._rates_cache)))
        return out

    def expected_calls(self, day: int) -> float:
        """Expected calls on a UTC day at volume 1 (hour-exact, includes bursts)."""
        return sum(sum(r) for r in self.hour_rates(day) if r)

    def rough_calls(self, day: int) -> float:
        """A cheap day-level estimate of expected_calls, for sizing runs."""
        return sum(c.rate * self.day_factor(c, day) for c in self.customers)

    # --- what a call uses ----------------------------------------------------
    def mix(self, c: Customer, day: int):
        """(entries, cum_weights) of (feature, task, model) for a customer-day.

        An entry is (provider_model, input_units, output_units, speed,
        token_table, feature_task) so the generator formats a row without lookups.
        """
        unit = self.units[c.scenario]
        state = unit.mix_state(c, day)
        key = (c.index, state)
        hit = self._mix_cache.get(key)
        if hit is not None:
            return hit
        provider_w = self._provider_weights(c)
        appetite = APPETITE_CLASS_WEIGHT[c.appetite]
        model_w: dict[str, float] = {}
        for prov, pw in provider_w.items():
            models = C.MODELS[prov]
            tot = sum(pop * appetite[cls] for _, _, _, pop, _, cls in models)
            for m, _, _, pop, _, cls in models:
                model_w[m] = pw * pop * appetite[cls] / tot
        model_w = unit.models(c, state, model_w)
        features = unit.features(c, state, dict(c.features))
        fsum = sum(features.values())
        entries, weights = [], []
        for feat, fw in features.items():
            tasks = C.FEATURE_TASKS.get(feat, {feat: 1})
            tsum = sum(tasks.values())
            for task, tw in tasks.items():
                w_ft = fw / fsum * tw / tsum
                for m, w in unit.task_models(c, state, task, model_w).items():
                    if w <= 0:
                        continue
                    prov, inp, outp, _, speed, _ = C.MODEL_INFO[m]
                    entries.append((f"{prov},{m}", inp, outp, speed,
                                    self.token_table(task, c.context), f"{feat},{task}"))
                    weights.append(w_ft * w)
        result = (entries, list(accumulate(weights)))
        self._mix_cache[key] = result
        return result

    def _provider_weights(self, c: Customer) -> dict[str, float]:
        loyalty = c.loyalty
        total = sum(C.PROVIDER_WEIGHTS.values())
        w = {p: (1 - loyalty) * v / total for p, v in C.PROVIDER_WEIGHTS.items()}
        w[c.favourite_provider] += loyalty
        return w

    # --- ground truth for tests and reports -----------------------------------
    def segment(self, scenario: str) -> list[Customer]:
        return [c for c in self.customers if c.scenario == scenario]

    def summary(self) -> dict:
        churned = {}
        for c in self.customers:
            day = self.units[c.scenario].churn_day(c)
            if day is not None:
                churned[c.customer_id] = self.date_of(day).isoformat()
        return {
            "seed": self.seed, "customers": len(self.customers), "days": self.days,
            "start": self.start.isoformat(), "scenarios": list(self.scenarios),
            "segments": {s: len(self.segment(s)) for s in self.scenarios},
            "churned": churned,
        }
