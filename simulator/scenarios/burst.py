"""burst: on some days a customer's traffic jumps for one to three hours."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .. import catalog as C
from ..scenario import Scenario, draw


@dataclass(frozen=True)
class Burst:
    customer: int
    day: int  # local day index
    start_hour: int  # local hour
    hours: int
    multiplier: float


class BurstScenario(Scenario):
    name = "burst"
    description = "on some days traffic jumps for 1-3 hours"
    defaults = {"day_share": (0.05, 0.10), "multiplier": (5.0, 20.0), "hours": (1, 3)}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.share: dict[int, float] = {}  # customer index -> share of days with a burst
        self._cache: dict[int, dict[int, Burst]] = {}

    def setup(self, rng, c):
        self.share[c.index] = draw(rng, self.params["day_share"])

    def bursts(self, day: int) -> dict[int, Burst]:
        """Burst events on a local day, by customer index (horizon-independent)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        p = self.params
        out: dict[int, Burst] = {}
        # a stream of its own per day, so a day's bursts do not depend on other days
        rng = random.Random(f"finops-bursts:{self.plan.seed}:{day}")
        for c in self.plan.customers:
            if c.scenario != self.name:
                continue
            if rng.random() < self.share[c.index]:
                hours = draw(rng, p["hours"])
                out[c.index] = Burst(c.index, day, rng.randint(8, 19 - hours + 1), hours,
                                     draw(rng, p["multiplier"]))
        self._cache[day] = out
        if len(self._cache) > 8:
            self._cache.pop(next(iter(self._cache)))
        return out

    def hour_weight(self, c, day, hour, w):
        if not self.share[c.index]:
            return w
        b = self.bursts(day).get(c.index)
        if b is not None and b.start_hour <= hour < b.start_hour + b.hours:
            return max(w, C.HOUR_PROFILE[hour]) * b.multiplier
        return w
