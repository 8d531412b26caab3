"""An independent cross-check of every contract query of docs/analyzers.md.

Each contract query is recomputed here in plain Python from the CSV (the csv
module, Decimal/Fraction for money, our own linear-interpolation quantile)
following the words of docs/analyzers.md and docs/data-contract.md, and compared with
what the engine returns (`finops.engine.analyze.run_sql(...)`, the rows
`run-sql --format json` prints):

- money to 1e-6 (absolute), ratios / percentiles / z-scores to 1e-9
  (relative), counts, ids, dates and labels exactly;
- row sets always; row order where the contract defines one (anomalous_calls
  worst first, daily by date, forecast by horizon, margin buckets and pricing
  models in the listed order).

Data: tests/golden/fixture_calls.csv (a simulator file with planted bad
lines) and a small hand-made CSV of edge cases written into tmp_path.
The reference code runs none of the analyzers' SQL and shares no code with
the engine; it takes only the facts (columns, tiers, prices) from their one
definition, the reference tables of sql/calls.sql (finops.engine.reference).

Rounding convention (the contract's "money as a number with up to 6
decimals"): an amount the engine reports per row (a customer's revenue, a
customer-feature's attributed revenue, a model's repriced cost) is rounded to
6 decimals, and totals are sums of those reported amounts. The data contract
rounds half-up (cost_usd; DuckDB's DECIMAL round), and so does the engine's
money() macro since this check found it rounding an exact half micro-dollar
by its binary double, mostly down; test_exact_ties_round_half_up pins the
cases found. The main comparison accepts either way for such ties (`Tied`:
between all-down and all-up), and a percentage of two such amounts
(savings_pct, margin_pct of pricing and features) is checked as
100 * numerator / denominator of the engine's own row.

Money a reader compares across pages is in cents (docs/analyzers.md): a
customer's revenue, cost and margin in profitability, each customer's bill
under each pricing plan, and an organization's cost in alignment (its customers'
months), are rounded to the cent (half-up) before they are added (cents(),
shown_cost()).

Not a spec rule, a convention of the SQL (safe_div) followed here: a day whose
customer's other active days cost 0 has no baseline and no ratio, so it is
never a daily spike.

Also a script: `python tests/test_contract_crosscheck.py FILE.csv ...`
cross-checks any contract CSV and prints every difference.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from finops.engine.reference import reference

FIXTURE = Path(__file__).parent / "golden" / "fixture_calls.csv"

# docs/data-contract.md: columns and reference tables.
# The facts (the contract's columns, the tiers, the price list) are read from
# their one definition, sql/calls.sql's reference tables; what is computed
# from them below is this module's own.
_REF = reference()
HEADER = list(_REF.contract_header())
TIER_FEES = _REF.tier_fees()
PRICES = {  # model: (provider, input per 1k, output per 1k)
    r["model"]: (r["provider"], r["input_per_1k"], r["output_per_1k"]) for r in _REF.model_prices}
# The premium models and the cheaper model of the same provider each is
# repriced at (checked below to be same-provider and cheaper).
PREMIUM_TO_ECONOMY = {r["model"]: r["economy_model"] for r in _REF.model_prices
                      if r["model_class"] == "premium"}
SIMPLE_TASKS = {"qa", "chat", "summarization", "translation"}
# docs (analyzers.md, issue 11): the SLA per model class, base ms + ms per output token
CLASSES = {
    "premium": {"gpt-4", "gpt-4-turbo", "gpt-4o", "claude-opus-4", "claude-sonnet-4",
                "claude-3.5-sonnet", "claude-v2", "gemini-1.5-pro", "gpt-4-azure", "mistral-large"},
    "standard": {"gpt-3.5-turbo", "claude-instant", "gemini-pro", "gpt-35-turbo-azure",
                 "mistral-medium", "command", "command-r"},
    "economy": {"gpt-4o-mini", "claude-haiku-4", "titan-text-express", "titan-text-lite",
                "gemini-1.5-flash", "mistral-small", "command-light"},
}
SLA = {"premium": (2000, 15), "standard": (1000, 6), "economy": (1000, 5), "unpriced": (2000, 15)}
# Student t 0.975 quantiles (a df beyond the table uses the largest listed df not above it)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
        17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
        25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
        120: 1.980, 100000: 1.960}


def model_class(c) -> str:
    if PRICES.get(c.model, ("",))[0] != c.provider:
        return "unpriced"
    return next(k for k, models in CLASSES.items() if c.model in models)

MONEY_TOL = 1e-6 * (1 + 1e-6)   # 1e-6, with room for a float's last bit
REL_TOL = 1e-9

Q6 = Decimal("0.000001")


def _exact_decimal(x) -> Decimal:
    if isinstance(x, Fraction):
        # 28 significant digits: exact enough to round to 6 places and to see a tie
        return Decimal(x.numerator) / Decimal(x.denominator)
    return Decimal(x)


def money(x) -> Decimal:
    """An exact amount (Decimal or Fraction) rounded half-up to 6 decimals: the data
    contract's `round(..., 6)` (cost_usd; DuckDB rounds a DECIMAL half away from 0)."""
    return _exact_decimal(x).quantize(Q6, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Tied:
    """A reported amount whose 6-decimal rounding(s) may have been exact ties: the
    amount, or a sum of such amounts, lies between all-ties-down (lo) and
    all-ties-up (hi); the engine rounds ties up (test_exact_ties_round_half_up)."""
    lo: Decimal
    hi: Decimal

    def __add__(self, other):
        if isinstance(other, Tied):
            return Tied(self.lo + other.lo, self.hi + other.hi)
        return Tied(self.lo + other, self.hi + other)

    __radd__ = __add__

    def __sub__(self, other):
        return Tied(self.lo - other, self.hi - other)

    def __rsub__(self, other):
        return Tied(other - self.hi, other - self.lo)


Q2 = Decimal("0.01")


def cents(x) -> Decimal:
    """An amount to the cent, half-up: the statements' and the customer reports'
    shown figures (docs/analyzers.md: a customer's cost, revenue and margin, and
    each pricing bill, in cents; their totals add the cents)."""
    return _exact_decimal(x).quantize(Q2, rounding=ROUND_HALF_UP)


def shown_cost(calls) -> Decimal:
    """A customer's AI cost as its statement shows it: each calendar month's cost
    to the cent, added."""
    months = group(calls, lambda c: (c.date.year, c.date.month))
    return sum((cents(total_cost(cs)) for cs in months.values()), Decimal(0))


def money_tied(x) -> Tied:
    d = _exact_decimal(x)
    return Tied(d.quantize(Q6, rounding=ROUND_HALF_DOWN), d.quantize(Q6, rounding=ROUND_HALF_UP))


def frac(x) -> Fraction:
    return Fraction(x) if not isinstance(x, Fraction) else x


def quantile_cont(values, q) -> float:
    """Continuous quantile, linear interpolation between ranks (DuckDB quantile_cont,
    numpy's default 'linear')."""
    xs = sorted(values)
    pos = (len(xs) - 1) * Fraction(str(q))
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


# -- reading the CSV as the data contract says ------------------------------------------

@dataclass(frozen=True)
class Call:
    ts: dt.datetime
    call_id: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost: Decimal
    latency_ms: int
    customer_id: str
    tier: str
    organization_id: str
    product_id: str
    feature_id: str
    task_type: str
    environment: str

    @property
    def date(self) -> dt.date:
        return self.ts.date()


TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?")
INT_RE = re.compile(r"\d{1,7}")
COST_RE = re.compile(r"\d{1,12}(\.\d{0,6})?")


def _valid(f: dict) -> bool:
    """The data contract's column rules (a row breaking one is skipped)."""
    if not TS_RE.fullmatch(f["timestamp"]):
        return False
    try:
        dt.datetime.fromisoformat(f["timestamp"])
    except ValueError:
        return False
    for col in ("call_id", "model", "customer_id", "organization_id", "product_id",
                "feature_id", "task_type"):
        if not f[col]:
            return False
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", f["provider"]):
        return False
    if not (INT_RE.fullmatch(f["input_tokens"]) and 1 <= int(f["input_tokens"]) <= 1_000_000):
        return False
    if not (INT_RE.fullmatch(f["output_tokens"]) and 0 <= int(f["output_tokens"]) <= 1_000_000):
        return False
    if not COST_RE.fullmatch(f["cost_usd"]):
        return False
    if not (re.fullmatch(r"\d{1,6}", f["latency_ms"]) and 1 <= int(f["latency_ms"]) <= 600_000):
        return False
    if f["subscription_tier"] not in TIER_FEES:
        return False
    return f["environment"] in ("production", "staging", "development")


def load_calls(path) -> list[Call]:
    """Valid rows, each call_id once (its first occurrence), in file order."""
    calls, seen = [], set()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == HEADER
        for row in reader:
            if not row:
                continue
            if len(row) != len(HEADER):  # wrong field count: skipped
                continue
            f = dict(zip(HEADER, row))
            if not _valid(f):
                continue
            if f["call_id"] in seen:  # a repeated call_id is counted once
                continue
            seen.add(f["call_id"])
            calls.append(Call(
                dt.datetime.fromisoformat(f["timestamp"]), f["call_id"], f["provider"], f["model"],
                int(f["input_tokens"]), int(f["output_tokens"]), Decimal(f["cost_usd"]),
                int(f["latency_ms"]), f["customer_id"], f["subscription_tier"],
                f["organization_id"], f["product_id"], f["feature_id"], f["task_type"],
                f["environment"]))
    return calls


# -- the reference: every contract query, from the spec's words ----------------------

def group(calls, key):
    out = defaultdict(list)
    for c in calls:
        out[key(c)].append(c)
    return out


def total_cost(calls) -> Decimal:
    return sum((c.cost for c in calls), Decimal(0))


def pct(part, whole):
    return None if whole == 0 else float(100 * frac(part) / frac(whole))


def per_1k(calls) -> Decimal:
    tokens = sum(c.input_tokens + c.output_tokens for c in calls)
    return money(frac(total_cost(calls)) * 1000 / tokens)


def period(calls):
    first = min(c.date for c in calls)
    last = max(c.date for c in calls)
    return first, last, (last - first).days + 1


def day_parts(calls) -> tuple[dict, Fraction]:
    """The part of each end day the calls cover, and the covered days: the first day
    from its first call to midnight when that call is after 01:00, the last day from
    midnight to its last call when that is before 23:00 (each to 6 decimals); whole
    days when the calls cover less than one day."""
    first, last, days = period(calls)
    first_ts, last_ts = min(c.ts for c in calls), max(c.ts for c in calls)
    midnight = lambda d: dt.datetime.combine(d, dt.time())  # noqa: E731

    def ms(t: dt.datetime) -> int:  # whole milliseconds since 1970, as epoch_ms
        return (t - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)

    def part(millis: int) -> Fraction:
        return Fraction(Decimal(str(round(millis / 86400000, 6))))
    f1 = (part(ms(midnight(first)) + 86400000 - ms(first_ts))
          if first_ts > midnight(first) + dt.timedelta(hours=1) else Fraction(1))
    f2 = (part(ms(last_ts) - ms(midnight(last)))
          if last_ts < midnight(last) + dt.timedelta(hours=23) else Fraction(1))
    covered = days - (1 - f1) - (1 - f2)
    if covered < 1:
        return {}, Fraction(days)
    parts = {first: f1}
    parts[last] = parts.get(last, 1) * f2 if last == first else f2
    return parts, covered


@dataclass
class Customer:
    customer_id: str
    tier: str
    organization_id: str
    calls: list
    tenure_days: int
    covered_days: Fraction  # billed days, a partial end day of the file for its part
    fee: Decimal          # the current monthly fee: its last billed day's
    revenue: Decimal      # sum over billed days of that day's fee x its covered part / 30
    cost: Decimal
    day_tiers: dict       # billed day -> tier


def customers(calls) -> dict[str, Customer]:
    """Each customer billed day by day from its first call date to the file's last
    date, or to its last call date when it has lapsed (silent 7 days or more before
    the file's last date), each day at the tier of its latest call on or before it."""
    out = {}
    parts, _ = day_parts(calls)
    _, file_last, _ = period(calls)
    for cid, cs in group(calls, lambda c: c.customer_id).items():
        latest = max(cs, key=lambda c: (c.ts, c.call_id))  # latest tier / organization
        first, last = min(c.date for c in cs), max(c.date for c in cs)
        if (file_last - last).days < 7:
            last = file_last
        day_tier = {d: max(dcs, key=lambda c: (c.ts, c.call_id)).tier
                    for d, dcs in group(cs, lambda c: c.date).items()}
        tiers, tier = {}, None
        for i in range((last - first).days + 1):
            d = first + dt.timedelta(days=i)
            tier = day_tier.get(d, tier)
            tiers[d] = tier
        revenue = money(sum(Fraction(TIER_FEES[t]) * parts.get(d, 1) for d, t in tiers.items()) / 30)
        covered = sum(Fraction(parts.get(d, 1)) for d in tiers)
        out[cid] = Customer(cid, latest.tier, latest.organization_id, cs, len(tiers), covered,
                            TIER_FEES[tiers[last]], revenue, total_cost(cs), tiers)
    return out


def churn_revenue_at_risk(calls) -> dict[str, Decimal]:
    """Customers still billed that the calls show likely to leave (calls down 50% or
    more in the last 14 days against the 14 before with at least 20 then, or a
    downgrade; not silent 7 days or more, which is lapsed): their current monthly fee."""
    _, last, _ = period(calls)
    rank = {"starter": 1, "pro": 2, "enterprise": 3}
    out = {}
    for cid, cu in customers(calls).items():
        last_call = max(c.date for c in cu.calls)
        quiet = (last - last_call).days
        if quiet >= 30:
            continue
        recent = sum(1 for c in cu.calls if c.date > last - dt.timedelta(days=14))
        prior = sum(1 for c in cu.calls
                    if last - dt.timedelta(days=28) < c.date <= last - dt.timedelta(days=14))
        declined = prior >= 20 and recent <= prior * 0.5
        downgraded = rank[cu.day_tiers[max(cu.day_tiers)]] < max(rank[t] for t in cu.day_tiers.values())
        # silent 7+ days: lapsed, billed only to its last call: its fee is at risk
        if quiet >= 7 or declined or downgraded:
            out[cid] = cu.fee
    return out


def t975(df: int) -> float:
    return T975[max(k for k in T975 if k <= max(df, 1))]


def solve(a, b):
    """x with a x = b (Fractions, Gauss-Jordan)."""
    n = len(a)
    m = [list(row) + [v] for row, v in zip(a, b)]
    for col in range(n):
        piv = next(r for r in range(col, n) if m[r][col] != 0)
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col and m[r][col] != 0:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col])]
    return [m[i][n] / m[i][i] for i in range(n)]


def forecast_path(days, horizon):
    """The forecast model of analyzers.md on a list of (date, cost) complete days:
    OLS of cost on one level per weekday (one level under 14 days) and a day-index
    trend; sigma2 = SSR / (n - levels - 1); the sum of the next h days is
    sum(max(floor, pred)), floor = the lowest complete day (not below 0), its standard
    error sqrt(sigma2 (h + a' (X'X)^-1 a)) with a the sum of the h design rows; bounds
    +/- t975(df) x se, the lower one a running max and never below h x floor.
    A falling line (mean of the levels + slope x t) at or below $0 on the 30th day
    ahead makes it the run-rate: weekday levels of the last 14 days, no slope,
    sigma2 = SSR / (n - levels). Returns the path, the model and its floor."""
    out, beta, floor = _fit_path(days, horizon, slope=True)
    levels = beta[:-1]
    if beta[-1] < 0 and sum(levels) / len(levels) + beta[-1] * (len(days) - 1 + 30) <= 0:
        out, _, floor = _fit_path(days[-14:], horizon, slope=False)
        return out, "run-rate", floor
    return out, "trend", floor


def _fit_path(days, horizon, slope):
    n = len(days)
    weekly = n >= 14
    groups = sorted({d.isoweekday() for d, _ in days}) if weekly else [0]

    def row(d, t):
        levels = [Fraction(int((d.isoweekday() if weekly else 0) == g)) for g in groups]
        return levels + [Fraction(t)] if slope else levels

    xs = [row(d, t) for t, (d, _) in enumerate(days)]
    ys = [frac(c) for _, c in days]
    k = len(groups) + int(slope)
    xtx = [[sum(x[i] * x[j] for x in xs) for j in range(k)] for i in range(k)]
    if n > len(groups) or not slope:
        beta = solve(xtx, [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(k)])
    else:  # one day per level, no slope
        xtx = None
        beta = [sum(y for (d, _), y in zip(days, ys)) / n] * len(groups) + [Fraction(0)]
    ssr = sum((y - sum(b * v for b, v in zip(beta, x))) ** 2 for x, y in zip(xs, ys))
    df = n - len(groups) - int(slope)
    sigma2 = float(ssr) / df if df > 0 else None
    out, cum, a, low_max = [], Fraction(0), [Fraction(0)] * k, 0.0
    floor = max(Fraction(0), min(ys))
    last = days[-1][0]
    for h in range(1, horizon + 1):
        x = row(last + dt.timedelta(days=h), n - 1 + h)
        pred = sum(b * v for b, v in zip(beta, x))
        cum += max(floor, pred)
        a = [u + v for u, v in zip(a, x)]
        if sigma2 is None or xtx is None:
            se = 0.0
        else:
            z = solve(xtx, a)
            se = math.sqrt(sigma2 * (h + float(sum(u * v for u, v in zip(a, z)))))
        tq = t975(df)
        low_max = max(low_max, max(float(h * floor), float(cum) - tq * se))
        out.append((float(cum), low_max, float(cum) + tq * se, float(pred)))
    return out, (beta if slope else beta + [Fraction(0)]), floor


def ref_understanding(calls):
    total = total_cost(calls)
    first, last, days = period(calls)
    summary = [{
        "total_cost": total, "total_calls": len(calls),
        "total_input_tokens": sum(c.input_tokens for c in calls),
        "total_output_tokens": sum(c.output_tokens for c in calls),
        "avg_cost_per_call": money(frac(total) / len(calls)),
        "first_call": min(c.ts for c in calls), "last_call": max(c.ts for c in calls),
        "period_days": days, "daily_burn": money(frac(total) / day_parts(calls)[1]),
    }]
    by_provider = [{
        "provider": p, "calls": len(cs), "cost": total_cost(cs),
        "share_pct": pct(total_cost(cs), total), "cost_per_1k_tokens": per_1k(cs),
    } for p, cs in group(calls, lambda c: c.provider).items()]
    by_model = [{
        "provider": p, "model": m, "calls": len(cs), "cost": total_cost(cs),
        "share_pct": pct(total_cost(cs), total), "cost_per_1k_tokens": per_1k(cs),
        "avg_input_tokens": float(Fraction(sum(c.input_tokens for c in cs), len(cs))),
        "avg_output_tokens": float(Fraction(sum(c.output_tokens for c in cs), len(cs))),
    } for (p, m), cs in group(calls, lambda c: (c.provider, c.model)).items()]
    per_day = group(calls, lambda c: c.date)
    daily = []
    for i in range(days):
        d = first + dt.timedelta(days=i)
        cs = per_day.get(d, [])
        daily.append({"call_date": d, "calls": len(cs), "cost": total_cost(cs)})
    # forecast: the model of analyzers.md on complete days (the first date unless its
    # first call came after 01:00, the last date unless its last call came before 23:00)
    first_ts, last_ts = min(c.ts for c in calls), max(c.ts for c in calls)
    complete = [(r["call_date"], r["cost"]) for i, r in enumerate(daily)
                if not (i == 0 and first_ts > dt.datetime.combine(first, dt.time(1)))
                and not (i == len(daily) - 1 and last_ts < dt.datetime.combine(last, dt.time(23)))]
    # fitted on the last 28 complete days (forecast_window_days), all when fewer
    path, model, floor_all = forecast_path(complete[-28:], 365)
    floor_all = float(floor_all)
    # the backtest: the same model on the 28 days before the last 14, against them;
    # e = |error of the 14-day sum| widens the range by sqrt(max(h, 14) / 14)
    e = 0.0
    if len(complete) - 14 >= 14:
        held, fit = complete[-14:], complete[:-14][-28:]
        held_path, _, _ = forecast_path(fit, 14)
        predicted = held_path[13][0]  # the projected sum of the 14 held-out days
        actual = float(sum(frac(c) for _, c in held))
        e = abs((predicted - actual) / actual) if actual else 0.0
    low_max = 0.0
    widened = []
    for h, (cum, _, high, pred) in enumerate(path, start=1):
        half = max(high - cum, e * math.sqrt(max(h, 14) / 14) * cum)
        low_max = max(low_max, max(h * floor_all, cum - half))
        widened.append((cum, low_max, cum + half, pred))
    path = widened
    forecast = []
    for h in (30, 90, 365):
        ok = h <= 2 * len(complete)
        cum, low, high, _ = path[h - 1]
        forecast.append({"horizon_days": h, "projected_cost": money(Fraction(cum)) if ok else None,
                         "low": money(Fraction(low)) if ok else None,
                         "high": money(Fraction(high)) if ok else None, "model": model})
    return {"summary": summary, "by_provider": by_provider, "by_model": by_model,
            "daily": daily, "forecast": forecast}


def ref_performance(calls):
    rows = []
    for (p, m), cs in group(calls, lambda c: (c.provider, c.model)).items():
        lat = [c.latency_ms for c in cs]
        rows.append({
            "provider": p, "model": m, "calls": len(cs),
            "p50_ms": quantile_cont(lat, 0.5), "p95_ms": quantile_cont(lat, 0.95),
            "p99_ms": quantile_cont(lat, 0.99),
            "avg_ms": float(Fraction(sum(lat), len(lat))),
            "tokens_per_second": float(Fraction(sum(c.output_tokens for c in cs))
                                       / (Fraction(sum(lat)) / 1000)),
            "cost_per_1k_tokens": per_1k(cs),
            "sla_pct": pct(sum(1 for c in cs if c.latency_ms <= SLA[model_class(c)][0]
                               + SLA[model_class(c)][1] * c.output_tokens), len(cs)),
        })
    return {"latency_by_model": rows}


def ref_realtime(calls):
    # anomalous_calls: robust z of log cost per token (tokens weighted by the model's
    # list prices when it has them) against the median and 1.4826 x MAD (floored at
    # 0.05) of its model and task type, for groups of 20 calls or more; z > 3.5.
    anomalous = []
    for (p, m, task), cs in group([c for c in calls if c.cost > 0],
                                  lambda c: (c.provider, c.model, c.task_type)).items():
        if len(cs) < 20:
            continue

        def base(c):
            if PRICES.get(c.model, ("",))[0] == c.provider:
                _, ip, op = PRICES[c.model]
                listed = float((c.input_tokens * Decimal(ip) + c.output_tokens * Decimal(op)) / 1000)
                if listed:
                    return listed
            return float(c.input_tokens + c.output_tokens)

        logs = [math.log(float(c.cost) / base(c)) for c in cs]
        med = statistics.median(logs)
        sd = max(1.4826 * statistics.median([abs(v - med) for v in logs]), 0.05)
        for c, v in zip(cs, logs):
            if (v - med) / sd > 3.5:
                anomalous.append({"call_id": c.call_id, "customer_id": c.customer_id,
                                  "model": c.model, "cost_usd": c.cost, "z_score": (v - med) / sd})
    anomalous.sort(key=lambda r: -r["z_score"])
    # daily_spikes: baseline = mean daily cost over the customer's other active days
    # (at least 7 of them); ratio > 5 and at least $1 above the baseline.
    spikes = []
    for cid, cs in group(calls, lambda c: c.customer_id).items():
        days = {d: total_cost(dcs) for d, dcs in group(cs, lambda c: c.date).items()}
        if len(days) - 1 < 7:
            continue
        whole = sum(days.values())
        for d, cost in days.items():
            baseline = Fraction(whole - cost) / (len(days) - 1)
            if baseline == 0:       # no ratio (see the report: undocumented case)
                continue
            ratio = frac(cost) / baseline
            if ratio > 5 and frac(cost) - frac(money(baseline)) >= 1:
                spikes.append({"customer_id": cid, "call_date": d, "cost": cost,
                               "baseline": money(baseline), "ratio": float(ratio)})
    at_risk = churn_revenue_at_risk(calls)
    # budget_status: cost and fee both per 30-day month of the customer's billed days;
    # used = cost / revenue, high above 100% (a loss), medium from 80%.
    budget = []
    for cid, cu in customers(calls).items():
        parts, _ = day_parts(calls)
        monthly = money(frac(cu.cost) * 30 / cu.covered_days)
        allocation = money(sum(Fraction(TIER_FEES[t]) * parts.get(d, 1) for d, t in cu.day_tiers.items())
                           / cu.covered_days)
        used = pct(cu.cost, cu.revenue)
        risk = "high" if used > 100 else "medium" if used >= 80 else "low"
        budget.append({"customer_id": cid, "subscription_tier": cu.tier, "monthly_cost": monthly,
                       "allocation": allocation, "used_pct": used, "risk": risk,
                       "revenue_at_risk": at_risk.get(cid, Decimal(0))})
    return {"anomalous_calls": anomalous, "daily_spikes": spikes, "budget_status": budget}


def ref_optimization(calls):
    rows = []
    simple = [c for c in calls if c.model in PREMIUM_TO_ECONOMY and c.task_type in SIMPLE_TASKS
              and PRICES.get(c.model, ("",))[0] == c.provider]
    for (model, task), cs in group(simple, lambda c: (c.model, c.task_type)).items():
        to = PREMIUM_TO_ECONOMY[model]
        _, ip, op = PRICES[to]
        # the same tokens (summed over the calls) at the cheaper model's list price
        projected = money_tied(Fraction(sum(c.input_tokens for c in cs)) * Fraction(ip) / 1000
                               + Fraction(sum(c.output_tokens for c in cs)) * Fraction(op) / 1000)
        current = total_cost(cs)
        rows.append({"from_model": model, "to_model": to, "task_type": task, "calls": len(cs),
                     "current_cost": current, "projected_cost": projected,
                     "savings": current - projected,
                     "savings_pct": pct(current - projected.hi, current)})
    return {"model_switching": rows}


def ref_alignment(calls):
    """Cost by organization in cents as the chargeback and the statements: each of
    its customers' calendar months, own cost and production cost, to the cent,
    added (non-production the difference), for a tagged and an untagged
    organization alike."""
    total = total_cost(calls)
    rows = []
    for org, cs in group(calls, lambda c: c.organization_id).items():
        cost = total_cost(cs)
        spans = list(group(cs, lambda c: (c.customer_id, c.date.year, c.date.month)).values())
        shown = sum((cents(total_cost(m)) for m in spans), Decimal(0))
        production = sum((cents(total_cost([c for c in m if c.environment == "production"])) for m in spans),
                         Decimal(0))
        rows.append({
            "organization_id": org, "calls": len(cs), "cost": shown, "share_pct": pct(cost, total),
            "customers": len({c.customer_id for c in cs}),
            "cost_per_call": money(frac(cost) / len(cs)),
            "production_cost": production,
            "non_production_cost": shown - production,
        })
    return {"by_organization": rows}


def margin_bucket(margin_pct: float) -> str:
    if margin_pct >= 50:
        return "over 50%"
    if margin_pct >= 20:
        return "20-50%"
    if margin_pct >= 0:
        return "0-20%"
    return "negative"


def ref_profitability(calls):
    cus = customers(calls)
    rows = []
    for cu in cus.values():
        # shown in cents as the customer's statement; status on the exact margin
        revenue, cost = cents(cu.revenue), shown_cost(cu.calls)
        margin = revenue - cost
        rows.append({"customer_id": cu.customer_id, "subscription_tier": cu.tier,
                     "organization_id": cu.organization_id, "calls": len(cu.calls),
                     "tenure_days": cu.tenure_days, "revenue": revenue, "cost": cost,
                     "margin": margin, "margin_pct": pct(margin, revenue),
                     "status": "unprofitable" if cu.revenue - cu.cost < 0 else "profitable"})
    by_tier = []
    for tier, rs in group(rows, lambda r: r["subscription_tier"]).items():
        revenue = sum(r["revenue"] for r in rs)
        cost = sum(r["cost"] for r in rs)
        by_tier.append({"subscription_tier": tier, "customers": len(rs), "revenue": revenue,
                        "cost": cost, "margin": revenue - cost, "margin_pct": pct(revenue - cost, revenue),
                        "unprofitable_customers": sum(r["status"] == "unprofitable" for r in rs)})
    counts = defaultdict(int)
    for r in rows:
        counts[margin_bucket(r["margin_pct"])] += 1
    buckets = [{"bucket": b, "customers": counts[b]}
               for b in ("over 50%", "20-50%", "0-20%", "negative")]
    return {"customers": rows, "by_tier": by_tier, "margin_buckets": buckets}


def ref_pricing(calls):
    cus = list(customers(calls).values())
    bills = {  # model -> customer revenue (exact)
        "flat": lambda cu: frac(cu.revenue),
        "tiered": lambda cu: frac(cu.revenue) + Fraction(3, 2) * max(
            Fraction(0), frac(cu.cost) - frac(cu.revenue) / 2),
        "usage_based": lambda cu: 2 * frac(cu.cost),
        "hybrid": lambda cu: frac(cu.revenue) / 2 + Fraction(13, 10) * frac(cu.cost),
    }
    rows = []
    # each customer's bill and cost in cents (its statement's), the plan's totals their sums
    cost = sum(shown_cost(cu.calls) for cu in cus)
    for model, bill in bills.items():
        revenue = sum((Tied(cents(t.lo), cents(t.hi)) for t in (money_tied(bill(cu)) for cu in cus)),
                      Tied(Decimal(0), Decimal(0)))
        rows.append({"model": model, "revenue": revenue, "cost": cost, "margin": revenue - cost,
                     "margin_pct": pct(revenue.hi - cost, revenue.hi),
                     "customers_paying_more": sum(bill(cu) > cu.revenue for cu in cus),
                     "customers_paying_less": sum(bill(cu) < cu.revenue for cu in cus)})
    return {"models": rows}


def ref_features(calls):
    cus = customers(calls)
    per_feature = defaultdict(lambda: {"calls": 0, "cost": Decimal(0), "customers": 0,
                                       "attributed_revenue": Tied(Decimal(0), Decimal(0))})
    for cu in cus.values():
        for feature, cs in group(cu.calls, lambda c: c.feature_id).items():
            f = per_feature[feature]
            f["calls"] += len(cs)
            f["cost"] += total_cost(cs)
            f["customers"] += 1
            # the customer's revenue split over its features by call share
            f["attributed_revenue"] += money_tied(frac(cu.revenue) * len(cs) / len(cu.calls))
    rows = []
    for feature, f in per_feature.items():
        margin = f["attributed_revenue"] - f["cost"]
        revenue_up = f["attributed_revenue"].hi   # every tie rounded half-up
        rows.append({"feature_id": feature, "calls": f["calls"], "cost": f["cost"],
                     "customers": f["customers"],
                     "adoption_pct": pct(f["customers"], len(cus)),
                     "cost_per_customer": money(frac(f["cost"]) / f["customers"]),
                     "attributed_revenue": f["attributed_revenue"], "margin": margin,
                     "margin_pct": pct(revenue_up - f["cost"], revenue_up),
                     "_adoption": Fraction(100 * f["customers"], len(cus)),
                     "_margin": 100 * frac(revenue_up - f["cost"]) / frac(revenue_up)})
    # quadrant: split at the medians over all features; at or above is high
    med_adoption = statistics.median([r["_adoption"] for r in rows])
    med_margin = statistics.median([r["_margin"] for r in rows])
    for r in rows:
        high_a = r.pop("_adoption") >= med_adoption
        high_m = r.pop("_margin") >= med_margin
        r["quadrant"] = {(True, True): "invest", (True, False): "optimize",
                         (False, True): "maintain", (False, False): "sunset"}[(high_a, high_m)]
    return {"features": rows}


REFERENCE = {
    "understanding": ref_understanding, "performance": ref_performance, "realtime": ref_realtime,
    "optimization": ref_optimization, "alignment": ref_alignment,
    "profitability": ref_profitability, "pricing": ref_pricing, "features": ref_features,
}

# -- the contract: columns by kind, the row key, and the defined order ---------------

M, R, X = "money", "ratio", "exact"
CONTRACT = {
    ("understanding", "summary"): dict(key=[], cols=dict(
        total_cost=M, total_calls=X, total_input_tokens=X, total_output_tokens=X,
        avg_cost_per_call=M, first_call=X, last_call=X, period_days=X, daily_burn=M)),
    ("understanding", "by_provider"): dict(key=["provider"], cols=dict(
        calls=X, cost=M, share_pct=R, cost_per_1k_tokens=M)),
    ("understanding", "by_model"): dict(key=["provider", "model"], cols=dict(
        calls=X, cost=M, share_pct=R, cost_per_1k_tokens=M, avg_input_tokens=R,
        avg_output_tokens=R)),
    ("understanding", "daily"): dict(key=["call_date"], ordered=True, cols=dict(calls=X, cost=M)),
    ("understanding", "forecast"): dict(key=["horizon_days"], ordered=True, cols=dict(
        projected_cost=M, low=M, high=M, model=X)),
    ("performance", "latency_by_model"): dict(key=["provider", "model"], cols=dict(
        calls=X, p50_ms=R, p95_ms=R, p99_ms=R, avg_ms=R, tokens_per_second=R,
        cost_per_1k_tokens=M, sla_pct=R)),
    ("realtime", "anomalous_calls"): dict(key=["call_id"], ordered="z_score desc", cols=dict(
        customer_id=X, model=X, cost_usd=M, z_score=R)),
    ("realtime", "daily_spikes"): dict(key=["customer_id", "call_date"], cols=dict(
        cost=M, baseline=M, ratio=R)),
    ("realtime", "budget_status"): dict(key=["customer_id"], cols=dict(
        subscription_tier=X, monthly_cost=M, allocation=M, used_pct=R, risk=X,
        revenue_at_risk=M)),
    ("optimization", "model_switching"): dict(key=["from_model", "task_type"], cols=dict(
        to_model=X, calls=X, current_cost=M, projected_cost=M, savings=M,
        savings_pct=("pct", "savings", "current_cost"))),
    ("alignment", "by_organization"): dict(key=["organization_id"], cols=dict(
        calls=X, cost=M, share_pct=R, customers=X, cost_per_call=M, production_cost=M,
        non_production_cost=M)),
    ("profitability", "customers"): dict(key=["customer_id"], cols=dict(
        subscription_tier=X, organization_id=X, calls=X, tenure_days=X, revenue=M, cost=M,
        margin=M, margin_pct=R, status=X)),
    # the engine also lists tiers nobody is on (zeros); those extra rows are checked apart
    ("profitability", "by_tier"): dict(key=["subscription_tier"], extra_rows_ok="customers", cols=dict(
        customers=X, revenue=M, cost=M, margin=M, margin_pct=R, unprofitable_customers=X)),
    ("profitability", "margin_buckets"): dict(key=["bucket"], ordered=True, cols=dict(customers=X)),
    ("pricing", "models"): dict(key=["model"], ordered=True, cols=dict(
        revenue=M, cost=M, margin=M, margin_pct=("pct", "margin", "revenue"), customers_paying_more=X,
        customers_paying_less=X)),
    ("features", "features"): dict(key=["feature_id"], cols=dict(
        calls=X, cost=M, customers=X, adoption_pct=R, cost_per_customer=M,
        attributed_revenue=M, margin=M, margin_pct=("pct", "margin", "attributed_revenue"),
        quadrant=X)),
}


def _norm_key(v):
    """JSON dates/timestamps are ISO strings; the reference has date objects."""
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _same(kind, expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind == M and isinstance(expected, Tied):
        return float(expected.lo) - MONEY_TOL <= float(actual) <= float(expected.hi) + MONEY_TOL
    if kind == M:
        return abs(float(expected) - float(actual)) <= MONEY_TOL
    if kind == R:
        return math.isclose(float(expected), float(actual), rel_tol=REL_TOL, abs_tol=1e-12)
    if isinstance(expected, dt.datetime):
        return expected == dt.datetime.fromisoformat(actual)
    if isinstance(expected, dt.date):
        return expected == dt.date.fromisoformat(actual)
    return expected == actual


def compare(analyzer, query, expected, actual) -> list[str]:
    """Every difference between the reference rows and the engine's rows."""
    spec = CONTRACT[(analyzer, query)]
    key, cols = spec["key"], spec["cols"]
    problems = []
    for row in actual[:1]:
        missing = [c for c in key + list(cols) if c not in row]
        if missing:
            return [f"columns missing: {missing}"]

    def k(row):
        return tuple(_norm_key(row[c]) for c in key)

    exp = {k(r): r for r in expected}
    act = {k(r): r for r in actual}
    if len(act) != len(actual):
        problems.append("engine rows repeat a key")
    extra = set(act) - set(exp)
    if spec.get("extra_rows_ok"):
        col = spec["extra_rows_ok"]
        bad = [e for e in extra if act[e][col] != 0]
        problems += [f"unexpected row {e}: {act[e]}" for e in sorted(bad, key=str)]
    else:
        problems += [f"unexpected row {e}: {act[e]}" for e in sorted(extra, key=str)]
    problems += [f"missing row {e}: {exp[e]}" for e in sorted(set(exp) - set(act), key=str)]
    for kk in sorted(set(exp) & set(act), key=str):
        for col, kind in cols.items():
            if isinstance(kind, tuple):
                # a percentage of two reported amounts (each checked to 1e-6 on its own):
                # 100 * numerator / denominator of the engine's own row, to 1e-9
                _, num, den = kind
                a = act[kk]
                same = (a[col] is None) == (a[den] in (0, None)) and (
                    a[col] is None or math.isclose(a[col], 100 * a[num] / a[den], rel_tol=REL_TOL))
                if not same:
                    problems.append(f"{kk} {col}: engine {a[col]!r} is not 100 * {num} / {den} "
                                    f"= {a[num]!r} / {a[den]!r}")
                continue
            if not _same(kind, exp[kk][col], act[kk][col]):
                problems.append(f"{kk} {col}: expected {exp[kk][col]!r}, engine {act[kk][col]!r}")
    order = spec.get("ordered")
    if order is True:
        want = [k(r) for r in expected]
        got = [k(r) for r in actual if k(r) in exp]
        if want != got:
            problems.append(f"order: expected {want[:10]}..., engine {got[:10]}...")
    elif order == "z_score desc":
        zs = [r["z_score"] for r in actual]
        if any(a < b for a, b in zip(zs, zs[1:])):
            problems.append("anomalous_calls are not worst (highest z) first")
    return problems


# -- the hand-made edge-case file ------------------------------------------------------

def _row(ts, cust, tier, org, model, cost, *, call_id, lat=500, inp=100, out=100,
         feature="chat", task="chat", env="production", product="product_a", ua="test/1.0"):
    return [ts, call_id, PRICES[model][0] if model in PRICES else "openai", model, str(inp),
            str(out), cost, str(lat), cust, tier, org, product, feature, task, env, "req", "trace",
            "sess", ua]


def edge_case_rows() -> list[list[str]]:
    """Rows of the edge-case file (see the comments); 2025-02-01 .. 2025-03-10, 38 days,
    most of them without calls."""
    rows = []
    n = iter(range(1, 10_000))

    def add(*args, **kw):
        rows.append(_row(*args, call_id=f"e{next(n)}", **kw))

    # a customer with one call, on a model with a single call
    add("2025-02-20T12:00:00", "c_one", "starter", "org_a", "command-light", "0.000123")
    # a tier upgrade (and organization move) mid-period: latest tier pro, org_b
    add("2025-02-01T09:00:00", "c_up", "starter", "org_a", "gpt-4o", "0.200000")
    add("2025-02-03T09:00:00", "c_up", "starter", "org_a", "claude-opus-4", "1.500000",
        task="qa", feature="qa", lat=2000)
    add("2025-03-01T09:00:00", "c_up", "pro", "org_b", "gpt-4o", "0.300000",
        task="summarization", feature="summarization", lat=2001)
    add("2025-03-10T08:00:00", "c_up", "pro", "org_b", "gpt-4o", "0.050000",
        task="code_generation", feature="code_generation", inp=1000, out=5000)
    # a daily spike: four days at 0.01 then one at 1.00 (ratio 100)
    for day in ("10", "11", "12", "13"):
        add(f"2025-02-{day}T10:00:00", "c_spike", "pro", "org_b", "gemini-1.5-flash", "0.010000")
    add("2025-02-20T10:00:00", "c_spike", "pro", "org_b", "gemini-1.5-pro", "1.000000",
        task="translation", feature="translation", inp=20000, out=9000)
    # a spike with a baseline of 7 other days, exactly $1 above it (ratio 11); c_spike
    # above has only 4 other days: no baseline
    for day in range(1, 8):
        add(f"2025-02-{day:02d}T10:00:00", "c_spike7", "pro", "org_b", "gemini-pro", "0.100000")
    add("2025-02-08T10:00:00", "c_spike7", "pro", "org_b", "gemini-pro", "1.100000")
    # ratio exactly 5 (0.5 against a baseline of 0.1): not a spike
    add("2025-02-14 10:00:00", "c_five", "pro", "org_b", "gemini-pro", "0.100000")
    add("2025-02-15T10:00:00", "c_five", "pro", "org_b", "gemini-pro", "0.100000")
    add("2025-02-16T10:00:00", "c_five", "pro", "org_b", "gemini-pro", "0.500000")
    # other active days that cost 0: a baseline of 0, no ratio
    add("2025-02-15T11:00:00", "c_zero", "starter", "org_b", "gemini-pro", "0.000000")
    add("2025-02-15T12:00:00", "c_zero", "starter", "org_b", "gemini-pro", "0")
    add("2025-02-16T11:00:00", "c_zero", "starter", "org_b", "gemini-pro", "0.050000")
    # a staging-only organization (and a model with a single call)
    add("2025-02-21T10:00:00", "c_stage", "enterprise", "org_stage", "mistral-large", "0.020000",
        task="qa", feature="qa", env="staging")
    add("2025-02-22T10:00:00", "c_stage", "enterprise", "org_stage", "mistral-large", "0.030000",
        task="analysis", feature="analysis", env="development", product="product_b")
    add("2025-02-22T11:00:00", "c_stage", "enterprise", "org_stage", "mistral-medium", "0.004000",
        env="staging", product="product_b")
    # allocation: 30 billed days (Feb 1 - Mar 2; silent 8 days before Mar 10: lapsed,
    # billed to its last call), cost 23.20 against 29 of revenue: exactly 80% (medium)
    add("2025-02-01T10:00:00", "c_med", "starter", "org_c", "claude-sonnet-4", "10.000000",
        task="code_generation", feature="code_generation")
    add("2025-03-02T10:00:00", "c_med", "starter", "org_c", "claude-sonnet-4", "13.200000",
        task="code_generation", feature="code_generation")
    # one billed day (lapsed), revenue 0.966667: a cost one millionth above it is over (high)
    add("2025-02-27T10:00:00", "c_high", "starter", "org_c", "claude-3.5-sonnet", "0.966668",
        task="analysis", feature="analysis")
    # silent 5 days before the last date (under 7): billed to the period's end,
    # Mar 1 - Mar 10 (a whole day: c_old calls at 23:59), 10 days of pro: 33.00
    add("2025-03-01T10:00:00", "c_quiet", "pro", "org_c", "gpt-4o", "0.100000")
    add("2025-03-05T10:00:00", "c_quiet", "pro", "org_c", "gpt-4o", "0.100000")
    # the window's edges: 2025-02-08 is out, 2025-02-09 (last date - 29) is in
    add("2025-02-01T00:00:00", "c_old", "pro", "org_c", "gpt-4-turbo", "5.000000")
    add("2025-02-08T23:59:59.999999", "c_old", "pro", "org_c", "gpt-4-turbo", "7.000000")
    add("2025-02-09T00:00:00", "c_old", "pro", "org_c", "gpt-4-turbo", "0.500000")
    add("2025-03-10T23:59:59.999999", "c_old", "pro", "org_c", "gpt-4-turbo", "0.250000")
    # all calls before the window: monthly cost 0
    add("2025-02-02T10:00:00", "c_early", "pro", "org_e", "command", "0.300000")
    # margins exactly 50%, 20% and 0% over a 30-day tenure (buckets' lower edges)
    add("2025-02-01T10:00:00", "c_m50", "starter", "org_d", "claude-v2", "7.250000",
        task="analysis", feature="analysis")
    add("2025-03-02T10:00:00", "c_m50", "starter", "org_d", "claude-v2", "7.250000",
        task="analysis", feature="analysis")
    add("2025-02-05T10:00:00", "c_m20", "pro", "org_d", "gpt-4-azure", "39.600000",
        task="analysis", feature="analysis")
    add("2025-03-06T10:00:00", "c_m20", "pro", "org_d", "gpt-4-azure", "39.600000",
        task="analysis", feature="analysis")
    add("2025-02-07T10:00:00", "c_m0", "enterprise", "org_d", "gpt-4", "149.500000",
        task="analysis", feature="analysis")
    add("2025-03-08T10:00:00", "c_m0", "enterprise", "org_d", "gpt-4", "149.500000",
        task="analysis", feature="analysis")
    # anomalies: one outlier among 13 calls (z = 12 / sqrt(13) = 3.33) and among 20
    # (z = 19 / sqrt(20) = 4.25); the second is worse and comes first
    for i in range(12):
        add(f"2025-02-{10 + i:02d}T08:00:00", "c_bulk", "enterprise", "org_e", "gpt-4o-mini",
            "0.000100", lat=100 + 50 * i, feature="search", task="qa")
    add("2025-02-23T08:00:00", "c_bulk", "enterprise", "org_e", "gpt-4o-mini", "0.050000",
        lat=1999, feature="search", task="qa")
    for i in range(19):
        add(f"2025-02-{10 + i % 15:02d}T09:{i:02d}:00", "c_bulk", "enterprise", "org_e",
            "titan-text-lite", "0.000200", lat=300 + 7 * i, feature="search", task="chat",
            ua='Mozilla/5.0 (X11, "quoted")')
    add("2025-02-25T09:00:00", "c_bulk", "enterprise", "org_e", "titan-text-lite", "0.010000",
        feature="search", task="chat")
    # amounts that end in an exact half micro-dollar before rounding: 20,715 input tokens
    # at mistral-small's 0.0001 / 1k = 0.0020715; a revenue of 1.933333 split over two
    # features = 0.9666665 each (and half of it is the hybrid model's base fee)
    add("2025-02-27T10:00:00", "c_tie", "pro", "org_a", "mistral-large", "0.082860",
        inp=20715, out=0)
    add("2025-02-27T10:00:00", "c_half", "starter", "org_a", "command-r", "0.001000")
    add("2025-02-28T10:00:00", "c_half", "starter", "org_a", "command-r", "0.001000",
        feature="qa", task="qa")
    # rows the contract skips: a negative cost, an unknown tier, an unknown environment,
    # a non-numeric token count, and a repeated call_id (its second occurrence)
    add("2025-02-26T10:00:00", "c_bad", "pro", "org_a", "gpt-4o", "-1.000000")
    add("2025-02-26T10:00:00", "c_bad", "gold", "org_a", "gpt-4o", "1.000000")
    add("2025-02-26T10:00:00", "c_bad", "pro", "org_a", "gpt-4o", "1.000000", env="prod")
    add("2025-02-26T10:00:00", "c_bad", "pro", "org_a", "gpt-4o", "1.000000", inp="1.5")
    dup = list(rows[1])
    dup[6] = "99.000000"
    rows.append(dup)
    return rows


def write_edge_case_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(edge_case_rows())
        fh.write("2025-02-26T10:00:00,e_short,openai,gpt-4o,10\n")  # wrong field count
    return path


# -- the tests -------------------------------------------------------------------------

def engine_rows(path) -> dict:
    from finops.engine.analyze import run_sql
    _, results = run_sql("all", path)
    return {r.analyzer.name: r.to_json()["queries"] for r in results}


def crosscheck(path) -> dict:
    """(analyzer, query) -> list of differences, for one CSV."""
    calls = load_calls(path)
    engine = engine_rows(path)
    out = {}
    for analyzer, ref in REFERENCE.items():
        expected = ref(calls)
        for query, rows in expected.items():
            out[(analyzer, query)] = compare(analyzer, query, rows, engine[analyzer][query])
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    edge = write_edge_case_csv(tmp_path_factory.mktemp("crosscheck") / "edge_cases.csv")
    return {"fixture": crosscheck(FIXTURE), "edge_cases": crosscheck(edge)}


@pytest.mark.parametrize("dataset", ["fixture", "edge_cases"])
@pytest.mark.parametrize("analyzer,query", sorted(CONTRACT))
def test_contract_query_matches_reference(results, dataset, analyzer, query):
    problems = results[dataset][(analyzer, query)]
    assert not problems, f"{analyzer}.{query} on {dataset}:\n" + "\n".join(problems[:20])


# -- findings: what the engine does against what the contract says ---------------------

@pytest.mark.parametrize("dataset,analyzer,query,column", [
    ("edge_cases", "optimization", "model_switching", "projected_cost"),
    ("edge_cases", "features", "features", "attributed_revenue"),
    ("fixture", "pricing", "models", "revenue"),
    ("fixture", "features", "features", "attributed_revenue"),
])
def test_exact_ties_round_half_up(tmp_path, dataset, analyzer, query, column):
    path = FIXTURE if dataset == "fixture" else write_edge_case_csv(tmp_path / "e.csv")
    expected = REFERENCE[analyzer](load_calls(path))[query]
    actual = engine_rows(path)[analyzer][query]
    key = CONTRACT[(analyzer, query)]["key"]
    act = {tuple(r[c] for c in key): r[column] for r in actual}
    off = {}
    for row in expected:
        want = row[column].hi if isinstance(row[column], Tied) else row[column]
        got = act[tuple(row[c] for c in key)]
        if abs(float(want) - got) > 1e-9:   # each reported amount is exact to 6 decimals
            off[tuple(row[c] for c in key)] = (str(want), got)
    assert not off, off


def test_every_contract_query_is_checked():
    covered = {(a, q) for a, ref in REFERENCE.items() for q in ref(load_calls(FIXTURE))}
    assert covered == set(CONTRACT)


def test_fixture_skips_exactly_the_planted_bad_rows():
    calls = load_calls(FIXTURE)
    with open(FIXTURE, newline="", encoding="utf-8") as fh:
        lines = sum(1 for _ in csv.reader(fh)) - 1
    # the short line, the unknown tier ("gold") and the repeated call_id
    assert len(calls) == lines - 3 == 2500
    assert "bad_tier_1" not in {c.call_id for c in calls}


def test_edge_case_file_holds_its_edge_cases(tmp_path):
    calls = load_calls(write_edge_case_csv(tmp_path / "e.csv"))
    cus = customers(calls)
    assert len(cus["c_one"].calls) == 1
    assert {c.tier for c in cus["c_up"].calls} == {"starter", "pro"} and cus["c_up"].tier == "pro"
    assert sum(c.model == "command-light" for c in calls) == 1
    assert {c.environment for c in calls if c.organization_id == "org_stage"} <= {"staging", "development"}
    days = {c.date for c in calls}
    assert dt.date(2025, 3, 3) not in days and min(days) < dt.date(2025, 3, 3) < max(days)
    assert "c_bad" not in cus and cus["c_up"].cost == Decimal("2.05")
    ref = ref_realtime(calls)
    # one anomaly: the 20-call model and task's outlier; the 13-call one is too few to score
    assert [r["model"] for r in ref["anomalous_calls"]] == ["titan-text-lite"]
    spikes = {(r["customer_id"], r["call_date"].isoformat()) for r in ref["daily_spikes"]}
    assert spikes == {("c_spike7", "2025-02-08")}  # c_spike: 4 other days, no baseline
    assert not {cid for cid, _ in spikes} & {"c_five", "c_zero"}  # ratio 5; baseline 0
    risk = {r["customer_id"]: r["risk"] for r in ref["budget_status"]}
    assert (risk["c_med"], risk["c_high"]) == ("medium", "high")
    assert (cus["c_med"].tenure_days, cus["c_high"].tenure_days) == (30, 1)   # lapsed
    assert cus["c_quiet"].tenure_days == 10                                # billed to the end
    assert cus["c_quiet"].revenue == Decimal("33")
    at_risk = {r["customer_id"] for r in ref["budget_status"] if r["revenue_at_risk"]}
    # silent 18 days: lapsed (billed to its last call), its fee at risk; gone 36 days: not
    assert "c_one" in at_risk and "c_early" not in at_risk
    # c_up was starter for 28 days and pro for 10: (28 * 29 + 10 * 99) / 30
    assert cus["c_up"].revenue == money(Fraction(28 * 29 + 10 * 99, 30))
    buckets = {r["customer_id"]: margin_bucket(r["margin_pct"])
               for r in ref_profitability(calls)["customers"]}
    assert (buckets["c_m50"], buckets["c_m20"], buckets["c_m0"]) == ("over 50%", "20-50%", "0-20%")


def test_quantile_is_linear_interpolation():
    data = [1, 2, 3, 4, 10, 250, 251, 7000]
    inclusive = statistics.quantiles(data, n=100, method="inclusive")  # numpy 'linear'
    assert quantile_cont(data, 0.5) == statistics.median(data)
    assert math.isclose(quantile_cont(data, 0.95), inclusive[94])
    assert math.isclose(quantile_cont(data, 0.99), inclusive[98])
    assert quantile_cont([42], 0.99) == 42


def test_economy_models_are_cheaper_models_of_the_same_provider():
    for premium, economy in PREMIUM_TO_ECONOMY.items():
        p, e = PRICES[premium], PRICES[economy]
        assert p[0] == e[0]
        assert Decimal(e[1]) < Decimal(p[1]) and Decimal(e[2]) < Decimal(p[2])


if __name__ == "__main__":
    failed = False
    for csv_path in sys.argv[1:]:
        for (analyzer, query), problems in crosscheck(csv_path).items():
            status = "ok" if not problems else f"{len(problems)} difference(s)"
            print(f"{csv_path} {analyzer}.{query}: {status}")
            for p in problems[:10]:
                print("    " + p)
            failed |= bool(problems)
    sys.exit(1 if failed else 0)
