"""Turn a Plan into CSV text, one UTC day at a time.

Every day has its own random stream derived from the seed and the date, so a
day's rows do not depend on the days before it: output is reproducible, days
can be generated in any process, and an append continues the same timeline.
This module only builds strings; it never touches files.
"""

from __future__ import annotations

import math
import random
from datetime import date
from itertools import accumulate

from .catalog import ENVIRONMENTS, ENVIRONMENT_CUM_WEIGHTS
from .plan import HOUR_US, Plan

_SECOND_US = 1_000_000
_MMSS_COLON = [f"{s // 60:02d}:{s % 60:02d}" for s in range(3600)]
_MMSS_PLAIN = [f"{s // 60:02d}{s % 60:02d}" for s in range(3600)]
_HOURS = list(range(24))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def day_rows(plan: Plan, day: int, volume: float) -> list[tuple[int, str]]:
    """(microseconds into the UTC day, row text after call_id) for one day, sorted."""
    d = plan.date_of(day)
    rng = random.Random(f"finops-day:{plan.seed}:{d.isoformat()}")
    rnd, gb, choices = rng.random, rng.getrandbits, rng.choices
    noise = plan.latency_noise
    envs_all = ENVIRONMENTS
    env_cum = ENVIRONMENT_CUM_WEIGHTS
    rates_by_customer = plan.hour_rates(day)
    rows: list[tuple[int, str]] = []
    append = rows.append
    for c, rates in zip(plan.customers, rates_by_customer):
        if rates is None:
            continue
        # day-to-day variation beyond Poisson noise (mean 1)
        lam = sum(rates) * volume * math.exp(rng.gauss(-0.02, 0.2))
        n = _poisson(rng, lam)
        if n == 0:
            continue
        hours = choices(_HOURS, cum_weights=list(accumulate(rates)), k=n)
        times = sorted([h * HOUR_US + int(rnd() * HOUR_US) for h in hours])
        entries, cum = plan.mix(c, day)
        picks = choices(entries, cum_weights=cum, k=n)
        envs = choices(envs_all, cum_weights=env_cum, k=n)
        cust = f"{c.customer_id},{plan.tier_on(c, day)},{c.organization_id},{c.product_id}"
        ua = c.user_agent
        slen = c.session_length
        left = 0
        sess = ""
        for t, (pm, a, b, sp, tok, ft), env in zip(times, picks, envs):
            if left == 0:
                sess = f"sess_{gb(64):016x}"
                left = slen
            left -= 1
            i, o, lt = tok[gb(12)]
            cost = (i * a + o * b + 5000) // 10000
            lat = int(lt * sp * noise[gb(10)]) + 1
            if lat > 600000:
                lat = 600000
            append((t, f"{pm},{i},{o},{cost // 1000000}.{cost % 1000000:06d},{lat},{cust},{ft},"
                       f"{env},req_{gb(96):024x},trace_{gb(128):032x},{sess},{ua}\n"))
    rows.sort()
    return rows


class DayRenderer:
    """Formats (time, rest) rows of one day as CSV lines with timestamp and call_id."""

    def __init__(self, d: date):
        ymd = d.strftime("%Y%m%d")
        iso = d.isoformat()
        self.iso = [f"{iso}T{h:02d}:" for h in range(24)]
        self.ids = [f"call_{ymd}{h:02d}" for h in range(24)]

    def lines(self, rows: list[tuple[int, str]], first_seq: int = 1) -> list[str]:
        iso, ids, mc, mp = self.iso, self.ids, _MMSS_COLON, _MMSS_PLAIN
        out = []
        append = out.append
        seq = first_seq
        for t, rest in rows:
            h, r = divmod(t, HOUR_US)
            s, us = divmod(r, _SECOND_US)
            append(f"{iso[h]}{mc[s]}.{us:06d},{ids[h]}{mp[s]}_{seq},{rest}")
            seq += 1
        return out


def day_text(args) -> tuple[int, str, int]:
    """(day, text, rows) for a whole day; the unit of work of a worker process."""
    plan, day, volume = args
    rows = day_rows(plan, day, volume)
    return day, "".join(DayRenderer(plan.date_of(day)).lines(rows)), len(rows)
