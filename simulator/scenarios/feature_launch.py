"""feature_launch: a new feature launches on a day: a spike, then partial adoption."""

from __future__ import annotations

from ..scenario import Scenario, draw


class FeatureLaunch(Scenario):
    name = "feature_launch"
    description = "a new feature launches: a spike, then partial adoption"
    defaults = {"feature": "ai_assistant", "launch_day": None, "spike": (3.0, 5.0),
                "adoption": 0.4, "share": 0.35}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.spike: dict[int, float] = {}
        self.adopters: set[int] = set()  # customer indexes that keep using the feature

    @property
    def launch_day(self) -> int:
        return self.day_param("launch_day", 0.5)

    def setup(self, rng, c):
        self.spike[c.index] = draw(rng, self.params["spike"])

    def finish(self, rng, segment):
        for c in rng.sample(segment, round(self.params["adoption"] * len(segment))):
            self.adopters.add(c.index)

    def day_factor(self, c, day, dt, f):
        launch, spike = self.launch_day, self.spike[c.index]
        if day == launch:
            f *= spike
        elif day == launch + 1:
            f *= 1 + (spike - 1) * 0.35
        elif day == launch + 2:
            f *= 1 + (spike - 1) * 0.1
        if c.index in self.adopters and day > launch + 2:
            f *= 1.15  # adopters use the product a bit more
        return f

    def mix_state(self, c, day):
        d = day - self.launch_day
        if d < 0 or (d > 2 and c.index not in self.adopters):
            return (0,)  # before the launch, or a customer who did not adopt it
        return (1,) if d <= 2 else (2,)  # launch days: everyone tries it; then adopters

    def features(self, c, state, weights):
        if not state[0]:
            return weights
        p = self.params
        total = sum(weights.values())
        share = p["share"] if state[0] == 2 else 0.5
        weights = {f: w / total * (1 - share) for f, w in weights.items()}
        weights[p["feature"]] = share
        return weights
