"""gradual_decline: usage declines a little every day and part of the segment churns."""

from __future__ import annotations

from ..scenario import Scenario, draw


class GradualDecline(Scenario):
    name = "gradual_decline"
    description = "daily usage decline, part of the segment churns"
    defaults = {"daily_decline": (0.01, 0.03), "churn_share": (0.15, 0.25)}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.decline: dict[int, float] = {}
        self.churn: dict[int, int] = {}  # customer index -> day it stops calling

    def setup(self, rng, c):
        self.decline[c.index] = draw(rng, self.params["daily_decline"])

    def finish(self, rng, segment):
        share = draw(rng, self.params["churn_share"])
        for c in rng.sample(segment, round(share * len(segment))):
            self.churn[c.index] = max(1, round(self.plan.days * rng.uniform(0.2, 0.9)))

    def churn_day(self, c):
        return self.churn.get(c.index)

    def trend(self, c, day):
        churn = self.churn.get(c.index)
        if churn is not None and day >= churn:
            return 0.0
        return max(0.05, (1 - self.decline[c.index]) ** max(0, day))
