"""viral_spike: compound growth from a start day, then a plateau (and an upgrade)."""

from __future__ import annotations

from ..scenario import Scenario, draw

UPGRADE_AT = 2.5  # usage multiple at which a growing customer moves up a tier


class ViralSpike(Scenario):
    name = "viral_spike"
    description = "compound growth after a start day, then a plateau"
    defaults = {"start_day": None, "daily_growth": (0.10, 0.30), "plateau_after_days": (8, 14)}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.growth: dict[int, float] = {}
        self.plateau: dict[int, int] = {}  # customer index -> day growth stops

    @property
    def start_day(self) -> int:
        return self.day_param("start_day", 0.3)

    def setup(self, rng, c):
        self.growth[c.index] = draw(rng, self.params["daily_growth"])
        self.plateau[c.index] = self.start_day + draw(rng, self.params["plateau_after_days"])
        self.plan_upgrade(c, UPGRADE_AT)

    def trend(self, c, day):
        start = self.start_day
        if day < start:
            return 1.0
        return (1 + self.growth[c.index]) ** (min(day, self.plateau[c.index]) - start)
