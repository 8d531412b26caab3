"""cost_optimization: from a start day, simple tasks move to cheaper models and caching drops repeats."""

from __future__ import annotations

from .. import catalog as C
from ..scenario import Scenario


class CostOptimization(Scenario):
    name = "cost_optimization"
    description = "simple tasks move to cheaper models, caching drops repeats"
    defaults = {"start_day": None, "cheaper_share": 0.7, "cache_rate": 0.25}

    @property
    def start_day(self) -> int:
        return self.day_param("start_day", 0.5)

    def day_factor(self, c, day, dt, f):
        if day >= self.start_day:
            f *= 1 - self.params["cache_rate"]  # cached answers are calls not made
        return f

    def mix_state(self, c, day):
        return (day >= self.start_day,)

    def task_models(self, c, state, task, weights):
        cheaper = self.params["cheaper_share"] if state[0] else 0.0
        if not cheaper or task not in C.SIMPLE_TASKS:
            return weights
        moved = dict(weights)
        for m, w in weights.items():
            alt = C.CHEAPER_MODEL.get(m)
            if alt:
                moved[m] -= w * cheaper
                moved[alt] = moved.get(alt, 0.0) + w * cheaper
        return moved
