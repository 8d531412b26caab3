"""weekend_effect: quiet weekends and holidays, Friday afternoons taper off."""

from __future__ import annotations

from datetime import date, timedelta

from ..scenario import Scenario, draw


def us_holidays(year: int) -> set[date]:
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    return {date(year, 1, 1), date(year, 7, 4), thanksgiving, date(year, 12, 24),
            date(year, 12, 25), date(year, 12, 26), date(year, 12, 31)}


class WeekendEffect(Scenario):
    name = "weekend_effect"
    description = "quiet weekends and holidays, Friday afternoons taper"
    defaults = {"saturday": (0.4, 0.6), "sunday": (0.3, 0.5), "holiday": (0.2, 0.4),
                "friday_taper": 0.5}

    def __init__(self, plan, params):
        super().__init__(plan, params)
        self.factors: dict[int, tuple[float, float, float]] = {}  # (saturday, sunday, holiday)
        year = plan.start.year
        self.holidays = us_holidays(year) | us_holidays(year + 1)

    def setup(self, rng, c):
        p = self.params
        self.factors[c.index] = (draw(rng, p["saturday"]), draw(rng, p["sunday"]),
                                 draw(rng, p["holiday"]))

    def weekday_factor(self, c, dt):
        sat, sun, hol = self.factors[c.index]
        if dt in self.holidays:
            return hol
        wd = dt.weekday()
        return sat if wd == 5 else sun if wd == 6 else 1.0

    def hour_weight(self, c, day, hour, w):
        taper = self.params["friday_taper"]
        if taper and hour >= 13 and self.plan.date_of(day).weekday() == 4:
            return w * (1 - taper * (hour - 12) / 11)
        return w
