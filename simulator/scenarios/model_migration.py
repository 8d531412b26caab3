"""model_migration: an S-curve move of the segment's calls from one model to another."""

from __future__ import annotations

import math

from .. import catalog as C
from ..scenario import Scenario


class ModelMigration(Scenario):
    name = "model_migration"
    description = "an S-curve move from one model to another"
    defaults = {"source": "gpt-4", "target": "claude-sonnet-4", "start_day": None,
                "duration_days": 14, "source_share": 0.55}

    @classmethod
    def check_param(cls, key, value):
        if key in ("source", "target") and value not in C.MODEL_INFO:
            raise ValueError(f"{cls.name}.{key}: unknown model {value!r}")
        super().check_param(key, value)

    @property
    def start_day(self) -> int:
        return self.day_param("start_day", 0.25)

    def fraction(self, day: int) -> float:
        """Share of source-model calls already moved to the target on day `day`."""
        dur = max(1, self.params["duration_days"])
        mid = self.start_day + dur / 2
        x = (day - mid) / (dur / 9.2)  # 1% at the start, 99% at the end
        if x < -40:
            return 0.0
        if x > 40:
            return 1.0
        return 1 / (1 + math.exp(-x))

    def setup(self, rng, c):
        c.favourite_provider = C.MODEL_INFO[self.params["source"]][0]

    def mix_state(self, c, day):
        return (round(self.fraction(day), 3),)

    def models(self, c, state, weights):
        p = self.params
        src, dst = p["source"], p["target"]
        others = sum(weights.values()) - weights.get(src, 0.0)
        share = p["source_share"]  # the source model's share before the move
        weights = {m: w / others * (1 - share) for m, w in weights.items() if m != src}
        weights[src] = share
        moved = weights[src] * state[0]
        weights[src] -= moved
        weights[dst] = weights.get(dst, 0.0) + moved
        return weights
