"""seasonal: weekly, daily and month-end cycles on top of the usual week."""

from __future__ import annotations

import math
from datetime import timedelta

from ..scenario import Scenario


class Seasonal(Scenario):
    name = "seasonal"
    description = "weekly, daily and month-end cycles"
    defaults = {"weekly_amplitude": 0.3, "daily_amplitude": 0.5, "month_end_amplitude": 0.2}

    def day_factor(self, c, day, dt, f):
        p = self.params
        # the week peaks on Tuesday and bottoms out on Friday/Saturday
        f *= 1 + p["weekly_amplitude"] * math.cos(2 * math.pi * (dt.weekday() - 1) / 7)
        days_in_month = ((dt.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
        if dt.day > days_in_month - 3:  # month-end closing
            f *= 1 + p["month_end_amplitude"]
        elif dt.day <= 3:
            f *= 1 - p["month_end_amplitude"] / 2
        return f

    def hour_weight(self, c, day, hour, w):
        amp = self.params["daily_amplitude"]
        return w * ((1 + amp * math.cos(2 * math.pi * (hour - 14) / 24)) / 1.0)  # peak at 2pm
