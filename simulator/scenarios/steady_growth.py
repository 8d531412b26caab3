"""steady_growth: compound daily growth; a customer upgrades when usage outgrows its tier."""

from __future__ import annotations

from ..scenario import Scenario, draw


class SteadyGrowth(Scenario):
    name = "steady_growth"
    description = "compound daily growth, upgrades when usage outgrows the tier"
    defaults = {"daily_growth": (0.02, 0.05), "upgrade_at": 2.5, "cap": 6.0}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.growth: dict[int, float] = {}

    def setup(self, rng, c):
        self.growth[c.index] = draw(rng, self.params["daily_growth"])
        self.plan_upgrade(c, self.params["upgrade_at"])

    def trend(self, c, day):
        return min(self.params["cap"], (1 + self.growth[c.index]) ** max(0, day))
