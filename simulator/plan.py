"""The simulated business: who the customers are and what happens to them.

A Plan is a pure function of (seed, customers, days, start, scenarios, params).
It holds the population, the scenario segments and their events (churn days,
bursts, tier upgrades...) and answers two questions for the generator: how
many calls a customer is expected to make in each UTC hour of a day, and with
which (feature, task, model) mix. It writes nothing; tests read it as ground
truth for the scenario checks.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from . import catalog as C

# Scenario name -> (what it does, default parameters). Ranges are (low, high)
# and drawn per customer; *_day parameters are day indexes from the start
# (None: placed relative to the number of days).
SCENARIOS: dict[str, tuple[str, dict]] = {
    "base": ("the plain business", {}),
    "seasonal": ("weekly, daily and month-end cycles", {
        "weekly_amplitude": 0.3, "daily_amplitude": 0.5, "month_end_amplitude": 0.2}),
    "burst": ("on some days traffic jumps for 1-3 hours", {
        "day_share": (0.05, 0.10), "multiplier": (5.0, 20.0), "hours": (1, 3)}),
    "gradual_decline": ("daily usage decline, part of the segment churns", {
        "daily_decline": (0.01, 0.03), "churn_share": (0.15, 0.25)}),
    "steady_growth": ("compound daily growth, upgrades when usage outgrows the tier", {
        "daily_growth": (0.02, 0.05), "upgrade_at": 2.5, "cap": 6.0}),
    "viral_spike": ("compound growth after a start day, then a plateau", {
        "start_day": None, "daily_growth": (0.10, 0.30), "plateau_after_days": (8, 14)}),
    "multi_tenant": ("organizations differ in volume and preferred provider", {
        "volume_spread": (3.0, 10.0), "loyalty": 0.75}),
    "model_migration": ("an S-curve move from one model to another", {
        "source": "gpt-4", "target": "claude-sonnet-4", "start_day": None,
        "duration_days": 14, "source_share": 0.55}),
    "weekend_effect": ("quiet weekends and holidays, Friday afternoons taper", {
        "saturday": (0.4, 0.6), "sunday": (0.3, 0.5), "holiday": (0.2, 0.4),
        "friday_taper": 0.5}),
    "timezone": ("customers spread over US, Europe and Asia", {
        "regions": {"us": 1.0, "europe": 1.0, "asia": 1.0}}),
    "feature_launch": ("a new feature launches: a spike, then partial adoption", {
        "feature": "ai_assistant", "launch_day": None, "spike": (3.0, 5.0),
        "adoption": 0.4, "share": 0.35}),
    "cost_optimization": ("simple tasks move to cheaper models, caching drops repeats", {
        "start_day": None, "cheaper_share": 0.7, "cache_rate": 0.25}),
}
SCENARIO_NAMES = tuple(SCENARIOS)

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
APPETITE_CLASS_WEIGHT = {
    "budget": {"budget": 1.6, "mid": 0.7, "premium": 0.15},
    "balanced": {"budget": 1.0, "mid": 1.0, "premium": 1.0},
    "premium": {"budget": 0.2, "mid": 1.0, "premium": 20.0},
}
# Workload token scale: median by archetype, times CONTEXT_PREMIUM for
# premium-appetite customers, snapped to a few buckets (one token table each).
CONTEXT_MEDIAN = {"light": 0.9, "power": 1.8, "heavy": 2.4}
CONTEXT_PREMIUM = 6.0
CONTEXT_BUCKETS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
WEEKEND_FACTOR = 0.7
BUSINESS_HOURS_SHARE = 0.85
PROVIDER_LOYALTY = 0.45  # share of calls that go to the favourite provider

DEFAULT_CUSTOMERS = 200
DEFAULT_DAYS = 45
DEFAULT_START = date(2025, 10, 1)
DEFAULT_SEED = 42
# Calls per customer-day relative to the archetype rates above. The default
# dataset (50 MB, ~150,000 rows) then covers about 45 days of 200 customers.
DEFAULT_VOLUME = 0.23

HOUR_US = 3_600_000_000


def _hour_profile() -> list[float]:
    """Share of a day's calls per local hour: 85% between 8am and 8pm."""
    business = [1.0, 1.5, 1.9, 2.0, 1.6, 1.7, 1.9, 1.9, 1.7, 1.4, 1.1, 0.9]  # 8..19
    night = [0.35, 0.25, 0.2, 0.2, 0.25, 0.35, 0.6, 0.9, 1.1, 0.9, 0.7, 0.5]  # 20..7
    b, n = sum(business), sum(night)
    prof = [0.0] * 24
    for i, w in enumerate(business):
        prof[8 + i] = w / b * BUSINESS_HOURS_SHARE
    for i, w in enumerate(night):
        prof[(20 + i) % 24] = w / n * (1 - BUSINESS_HOURS_SHARE)
    return prof


HOUR_PROFILE = _hour_profile()


def _holidays(year: int) -> set[date]:
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    return {date(year, 1, 1), date(year, 7, 4), thanksgiving, date(year, 12, 24),
            date(year, 12, 25), date(year, 12, 26), date(year, 12, 31)}


@dataclass
class Customer:
    index: int
    customer_id: str
    archetype: str
    rate: float  # calls/day at volume 1
    tier: str
    organization_id: str
    product_id: str
    time_zone: str
    utc_offset: int
    favourite_provider: str
    appetite: str
    features: dict[str, float]
    user_agent: str
    session_length: int
    scenario: str
    context: float = 1.0  # token scale of its workload (long RAG contexts, agents)
    # scenario ground truth (only the fields of its scenario are set)
    churn_day: int | None = None
    decline: float = 0.0
    growth: float = 0.0
    growth_start: int = 0
    plateau_day: int | None = None
    upgrade_day: int | None = None
    upgrade_tier: str | None = None
    burst_share: float = 0.0
    weekend: tuple[float, float, float] = (WEEKEND_FACTOR, WEEKEND_FACTOR, 1.0)
    friday_taper: float = 0.0
    launch_spike: float = 0.0
    adopter: bool = False
    org_volume: float = 1.0
    extra: dict = field(default_factory=dict)

    def tier_on(self, day: int) -> str:
        if self.upgrade_day is not None and day >= self.upgrade_day:
            return self.upgrade_tier  # type: ignore[return-value]
        return self.tier


@dataclass(frozen=True)
class Burst:
    customer: int
    day: int  # local day index
    start_hour: int  # local hour
    hours: int
    multiplier: float


def merge_params(scenarios: tuple[str, ...], params: dict | None) -> dict[str, dict]:
    merged = {name: dict(SCENARIOS[name][1]) for name in scenarios}
    for name, overrides in (params or {}).items():
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r} in params")
        for key, value in overrides.items():
            if key not in SCENARIOS[name][1]:
                known = ", ".join(SCENARIOS[name][1]) or "none"
                raise ValueError(f"unknown parameter {name}.{key} (known: {known})")
            _check_param(name, key, SCENARIOS[name][1][key], value)
        merged.setdefault(name, dict(SCENARIOS[name][1])).update(overrides)
    return merged


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _check_param(scenario: str, key: str, default, value) -> None:
    where = f"{scenario}.{key}"
    if isinstance(default, tuple):
        ok = _is_number(value) or (isinstance(value, (tuple, list)) and len(value) == 2
                                   and all(_is_number(v) for v in value) and value[0] <= value[1])
        if not ok:
            raise ValueError(f"{where} takes a number or a range LO:HI (got {value!r})")
    elif default is None or key.endswith("_day") or key.endswith("_days"):
        if value is None and default is None:
            return
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ValueError(f"{where} takes a day index, 0 or more (got {value!r})")
    elif isinstance(default, (int, float)):
        if not _is_number(value):
            raise ValueError(f"{where} takes a number (got {value!r})")
    elif isinstance(default, str):
        if key in ("source", "target") and value not in C.MODEL_INFO:
            raise ValueError(f"{where}: unknown model {value!r}")
        if not isinstance(value, str) or not value or "," in value or '"' in value:
            raise ValueError(f"{where} takes a plain name (got {value!r})")
    elif isinstance(default, dict) and not isinstance(value, dict):
        raise ValueError(f"{where} takes a mapping")


def _draw(rng: random.Random, value):
    if isinstance(value, tuple):
        lo, hi = value
        if isinstance(lo, int) and isinstance(hi, int):
            return rng.randint(lo, hi)
        return rng.uniform(lo, hi)
    return value


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
            if name not in SCENARIOS:
                raise ValueError(f"unknown scenario {name!r}")
        self.params = merge_params(self.scenarios, params)
        self.organizations = [f"org_{i:03d}" for i in range(1, organizations + 1)]
        rng = random.Random(f"finops-plan:{seed}")
        self._build_population(rng, customers)
        self._build_tokens(rng)
        self._token_tables: dict = {}
        self._holidays = _holidays(start.year) | _holidays(start.year + 1)
        self._mix_cache: dict = {}
        self._rates_cache: dict[int, list] = {}
        self._bursts_cache: dict[int, dict] = {}

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
        mt = self.params.get("multi_tenant")
        if mt:
            lo_hi = mt["volume_spread"]
            spread = _draw(rng, lo_hi)
            # org volume multipliers spread geometrically over 1..spread
            vols = [spread ** (i / max(1, len(orgs) - 1)) for i in range(len(orgs))]
            rng.shuffle(vols)
            mean = sum(vols) / len(vols)
            self.org_volume = {o: v / mean for o, v in zip(orgs, vols)}
            self.org_provider = {o: providers[i % len(providers)] if i < 4 else
                                 rng.choices(providers, cum_weights=pcum)[0]
                                 for i, o in enumerate(orgs)}
        else:
            self.org_volume, self.org_provider = {}, {}
        self.customers: list[Customer] = []
        for i in range(n):
            arch = rng.choices(names, cum_weights=cum)[0]
            lo, hi = ARCHETYPES[arch][1]
            tier = rng.choices(C.TIERS, weights=TIER_BY_ARCHETYPE[arch])[0]
            appetite = rng.choices(*zip(*APPETITE_BY_ARCHETYPE[arch].items()))[0]
            feats = rng.sample(C.FEATURES, rng.randint(2, 4) if arch != "light" else rng.randint(1, 3))
            features = {f: rng.uniform(0.5, 3.0) for f in feats}
            seg = segs[i]
            if seg == "timezone":
                regions = self.params["timezone"]["regions"]
                names_r = sorted(regions)  # a fixed order, whatever order the params came in
                region = rng.choices(names_r, weights=[regions[r] for r in names_r])[0]
                pool = {"us": C.US_ZONES, "europe": C.EUROPE_ZONES, "asia": C.ASIA_ZONES}[region]
                tz = rng.choice(pool)
            else:  # most of the business is in the Americas, some in Europe
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
                session_length=rng.randint(3, 12), scenario=seg,
            )
            c.context = self._context_scale(rng, arch, appetite)
            self._apply_scenario(rng, c)
            self.customers.append(c)
        if "gradual_decline" in self.params:
            seg = [c for c in self.customers if c.scenario == "gradual_decline"]
            share = _draw(rng, self.params["gradual_decline"]["churn_share"])
            k = round(share * len(seg))
            for c in rng.sample(seg, k):
                c.churn_day = max(1, round(self.days * rng.uniform(0.2, 0.9)))
        if "feature_launch" in self.params:
            seg = [c for c in self.customers if c.scenario == "feature_launch"]
            k = round(self.params["feature_launch"]["adoption"] * len(seg))
            for c in rng.sample(seg, k):
                c.adopter = True

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

    def _day_param(self, scenario: str, key: str, default_fraction: float) -> int:
        value = self.params[scenario][key]
        return round(self.days * default_fraction) if value is None else int(value)

    def _apply_scenario(self, rng: random.Random, c: Customer) -> None:
        s, p = c.scenario, self.params.get(c.scenario, {})
        if s == "gradual_decline":
            c.decline = _draw(rng, p["daily_decline"])
        elif s == "steady_growth":
            c.growth = _draw(rng, p["daily_growth"])
            self._plan_upgrade(c, p["upgrade_at"])
        elif s == "viral_spike":
            c.growth = _draw(rng, p["daily_growth"])
            c.growth_start = self._day_param("viral_spike", "start_day", 0.3)
            c.plateau_day = c.growth_start + _draw(rng, p["plateau_after_days"])
            self._plan_upgrade(c, 2.5)
        elif s == "burst":
            c.burst_share = _draw(rng, p["day_share"])
        elif s == "weekend_effect":
            c.weekend = (_draw(rng, p["saturday"]), _draw(rng, p["sunday"]), _draw(rng, p["holiday"]))
            c.friday_taper = p["friday_taper"]
        elif s == "multi_tenant":
            c.org_volume = self.org_volume[c.organization_id]
            c.favourite_provider = self.org_provider[c.organization_id]
            c.extra["loyalty"] = p["loyalty"]
        elif s == "model_migration":
            src = p["source"]
            c.favourite_provider = C.MODEL_INFO[src][0]
        elif s == "feature_launch":
            c.launch_spike = _draw(rng, p["spike"])

    def _plan_upgrade(self, c: Customer, at: float) -> None:
        if c.tier == "enterprise":
            return
        for d in range(self.days):
            if self._trend(c, d) >= at:
                c.upgrade_day = d
                c.upgrade_tier = C.TIERS[C.TIERS.index(c.tier) + 1]
                return

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

    def _trend(self, c: Customer, d: int) -> float:
        """The scenario's long-run multiplier on a local day (no weekly effects)."""
        if c.decline:
            if c.churn_day is not None and d >= c.churn_day:
                return 0.0
            return max(0.05, (1 - c.decline) ** max(0, d))
        if c.scenario == "steady_growth":
            return min(self.params["steady_growth"]["cap"], (1 + c.growth) ** max(0, d))
        if c.scenario == "viral_spike":
            if d < c.growth_start:
                return 1.0
            return (1 + c.growth) ** (min(d, c.plateau_day) - c.growth_start)
        return 1.0

    def day_factor(self, c: Customer, d: int) -> float:
        """Expected calls on local day d relative to the customer's base rate."""
        f = self._trend(c, d)
        if f == 0.0:
            return 0.0
        dt = self.start + timedelta(days=d)
        wd = dt.weekday()
        sat, sun, hol = c.weekend
        if dt in self._holidays and c.scenario == "weekend_effect":
            f *= hol
        elif wd == 5:
            f *= sat
        elif wd == 6:
            f *= sun
        if c.scenario == "seasonal":
            p = self.params["seasonal"]
            f *= 1 + p["weekly_amplitude"] * math.cos(2 * math.pi * (wd - 1) / 7)
            days_in_month = ((dt.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
            if dt.day > days_in_month - 3:
                f *= 1 + p["month_end_amplitude"]
            elif dt.day <= 3:
                f *= 1 - p["month_end_amplitude"] / 2
        elif c.scenario == "multi_tenant":
            f *= c.org_volume
        elif c.scenario == "feature_launch":
            launch = self.launch_day
            if d == launch:
                f *= c.launch_spike
            elif d == launch + 1:
                f *= 1 + (c.launch_spike - 1) * 0.35
            elif d == launch + 2:
                f *= 1 + (c.launch_spike - 1) * 0.1
            if c.adopter and d > launch + 2:
                f *= 1.15  # adopters use the product a bit more
        elif c.scenario == "cost_optimization" and d >= self.optimization_day:
            f *= 1 - self.params["cost_optimization"]["cache_rate"]
        return f

    @property
    def launch_day(self) -> int:
        return self._day_param("feature_launch", "launch_day", 0.5)

    @property
    def optimization_day(self) -> int:
        return self._day_param("cost_optimization", "start_day", 0.5)

    @property
    def migration_start(self) -> int:
        return self._day_param("model_migration", "start_day", 0.25)

    def migration_fraction(self, d: int) -> float:
        """Share of source-model calls already moved to the target on day d (S-curve)."""
        p = self.params["model_migration"]
        dur = max(1, p["duration_days"])
        mid = self.migration_start + dur / 2
        x = (d - mid) / (dur / 9.2)  # 1% at the start, 99% at the end
        if x < -40:
            return 0.0
        if x > 40:
            return 1.0
        return 1 / (1 + math.exp(-x))

    def bursts(self, day: int) -> dict[int, Burst]:
        """Burst events on a local day, by customer index (horizon-independent)."""
        cached = self._bursts_cache.get(day)
        if cached is not None:
            return cached
        out: dict[int, Burst] = {}
        if "burst" in self.params:
            p = self.params["burst"]
            rng = random.Random(f"finops-bursts:{self.seed}:{day}")
            for c in self.customers:
                if c.scenario != "burst":
                    continue
                if rng.random() < c.burst_share:
                    hours = _draw(rng, p["hours"])
                    out[c.index] = Burst(c.index, day, rng.randint(8, 19 - hours + 1), hours,
                                         _draw(rng, p["multiplier"]))
        self._bursts_cache[day] = out
        if len(self._bursts_cache) > 8:
            self._bursts_cache.pop(next(iter(self._bursts_cache)))
        return out

    def hour_rates(self, day: int) -> list[list[float] | None]:
        """Expected calls per UTC hour of UTC day `day`, per customer, at volume 1."""
        cached = self._rates_cache.get(day)
        if cached is not None:
            return cached
        bursts = {d: self.bursts(d) for d in (day - 1, day, day + 1)}
        out: list[list[float] | None] = []
        for c in self.customers:
            off = c.utc_offset
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
                w = HOUR_PROFILE[lh]
                if c.scenario == "seasonal":
                    amp = self.params["seasonal"]["daily_amplitude"]
                    w *= (1 + amp * math.cos(2 * math.pi * (lh - 14) / 24)) / 1.0
                elif c.friday_taper and lh >= 13 and (self.start + timedelta(days=ld)).weekday() == 4:
                    w *= 1 - c.friday_taper * (lh - 12) / 11
                b = bursts[ld].get(c.index) if c.burst_share else None
                if b is not None and b.start_hour <= lh < b.start_hour + b.hours:
                    w = max(w, HOUR_PROFILE[lh]) * b.multiplier
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
        state = self._mix_state(c, day)
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
        features = dict(c.features)
        if c.scenario == "model_migration":
            p = self.params["model_migration"]
            src, dst = p["source"], p["target"]
            total = sum(model_w.values())
            others = total - model_w.get(src, 0.0)
            share = p["source_share"]
            model_w = {m: w / others * (1 - share) for m, w in model_w.items() if m != src}
            model_w[src] = share
            moved = model_w[src] * state[0]
            model_w[src] -= moved
            model_w[dst] = model_w.get(dst, 0.0) + moved
        if c.scenario == "feature_launch" and state[0]:
            p = self.params["feature_launch"]
            total = sum(features.values())
            share = p["share"] if state[0] == 2 else 0.5  # launch days: everyone tries it
            features = {f: w / total * (1 - share) for f, w in features.items()}
            features[p["feature"]] = share
        cheaper = 0.0
        if c.scenario == "cost_optimization" and state[0]:
            cheaper = self.params["cost_optimization"]["cheaper_share"]
        fsum = sum(features.values())
        entries, weights = [], []
        for feat, fw in features.items():
            tasks = C.FEATURE_TASKS.get(feat, {feat: 1})
            tsum = sum(tasks.values())
            for task, tw in tasks.items():
                w_ft = fw / fsum * tw / tsum
                mw = dict(model_w)
                if cheaper and task in C.SIMPLE_TASKS:
                    for m, w in model_w.items():
                        alt = C.CHEAPER_MODEL.get(m)
                        if alt:
                            mw[m] -= w * cheaper
                            mw[alt] = mw.get(alt, 0.0) + w * cheaper
                for m, w in mw.items():
                    if w <= 0:
                        continue
                    prov, inp, outp, _, speed, _ = C.MODEL_INFO[m]
                    entries.append((f"{prov},{m}", inp, outp, speed,
                                    self.token_table(task, c.context), f"{feat},{task}"))
                    weights.append(w_ft * w)
        result = (entries, list(accumulate(weights)))
        self._mix_cache[key] = result
        return result

    def _mix_state(self, c: Customer, day: int) -> tuple:
        if c.scenario == "model_migration":
            return (round(self.migration_fraction(day), 3),)
        if c.scenario == "feature_launch":
            d = day - self.launch_day
            if d < 0 or (d > 2 and not c.adopter):
                return (0,)
            return (1,) if d <= 2 else (2,)
        if c.scenario == "cost_optimization":
            return (day >= self.optimization_day,)
        return ()

    def _provider_weights(self, c: Customer) -> dict[str, float]:
        loyalty = c.extra.get("loyalty", PROVIDER_LOYALTY)
        total = sum(C.PROVIDER_WEIGHTS.values())
        w = {p: (1 - loyalty) * v / total for p, v in C.PROVIDER_WEIGHTS.items()}
        w[c.favourite_provider] += loyalty
        return w

    # --- ground truth for tests and reports -----------------------------------
    def segment(self, scenario: str) -> list[Customer]:
        return [c for c in self.customers if c.scenario == scenario]

    def summary(self) -> dict:
        return {
            "seed": self.seed, "customers": len(self.customers), "days": self.days,
            "start": self.start.isoformat(), "scenarios": list(self.scenarios),
            "segments": {s: len(self.segment(s)) for s in self.scenarios},
            "churned": {c.customer_id: self.date_of(c.churn_day).isoformat()
                        for c in self.customers if c.churn_day is not None},
        }
