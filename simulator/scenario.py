"""The hook interface every scenario implements, and its parameter checks.

A scenario is an overlay on one segment of the population (simulator.md):
a class with a name, a description, default parameters, and the few hooks
it needs; every hook has a neutral default, so a scenario overrides only
what it changes. Its per-customer state (drawn growth rates, churn days,
burst days...) lives in the scenario instance, keyed by customer index,
never in Customer. The scenarios themselves are in simulator/scenarios/,
one module each, registered in simulator/scenarios/__init__.py.

Hooks that take the plan's shared random stream (`rng`) run in a fixed
order (prepare, then time_zone and setup per customer, then finish), and
in registry order across scenarios: a hook must draw the same numbers in
the same order every run, or the same seed stops giving the same bytes.
Hooks that shape a number take it and return it (`f`, `w`, `weights`) so
that the arithmetic, and so the output, does not depend on how many
scenarios exist. This module writes nothing and never imports click.
"""

from __future__ import annotations

import math
import random
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from . import catalog as C

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .plan import Customer, Plan


def draw(rng: random.Random, value):
    """A parameter's value for one customer: a (low, high) range is drawn, a number kept."""
    if isinstance(value, tuple):
        lo, hi = value
        if isinstance(lo, int) and isinstance(hi, int):
            return rng.randint(lo, hi)
        return rng.uniform(lo, hi)
    return value


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


class Scenario:
    """One named, parameterised pattern over its segment of customers."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Parameter -> default. Ranges are (low, high) and drawn per customer;
    # *_day parameters are day indexes from the start (None: placed
    # relative to the number of days).
    defaults: ClassVar[dict] = {}

    def __init__(self, plan: Plan, params: dict):
        self.plan = plan
        self.params = params
        self.upgrades: dict[int, tuple[int, str]] = {}  # customer index -> (day, new tier)

    # --- parameters -----------------------------------------------------------
    @classmethod
    def check_param(cls, key: str, value) -> None:
        """Raise ValueError for a value the parameter cannot take."""
        default = cls.defaults[key]
        where = f"{cls.name}.{key}"
        if isinstance(default, tuple):
            ok = _is_number(value) or (isinstance(value, (tuple, list)) and len(value) == 2
                                       and all(_is_number(v) for v in value) and value[0] <= value[1])
            if not ok:
                raise ValueError(f"{where} takes a number or a range LO:HI (got {value!r})")
        elif default is None or key.endswith("_day") or key.endswith("_days"):
            if value is None and default is None:
                return
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ValueError(f"{where} takes a day index, 0 or more (got {value!r})")
        elif isinstance(default, (int, float)):
            if not _is_number(value):
                raise ValueError(f"{where} takes a number (got {value!r})")
        elif isinstance(default, str):
            if not isinstance(value, str) or not value or "," in value or '"' in value:
                raise ValueError(f"{where} takes a plain name (got {value!r})")
        elif isinstance(default, dict) and not isinstance(value, dict):
            raise ValueError(f"{where} takes a mapping")

    def day_param(self, key: str, default_fraction: float) -> int:
        """A *_day parameter, or the given fraction of the run when it is None."""
        value = self.params[key]
        return round(self.plan.days * default_fraction) if value is None else int(value)

    # --- population (rng: the plan's shared stream) ----------------------------
    def prepare(self, rng: random.Random) -> None:
        """Before any customer is drawn."""

    def time_zone(self, rng: random.Random) -> str | None:
        """A segment customer's home time zone; None: the business's usual draw."""
        return None

    def setup(self, rng: random.Random, c: Customer) -> None:
        """A customer of this segment was just drawn."""

    def finish(self, rng: random.Random, segment: list[Customer]) -> None:
        """The whole population is drawn; segment: this scenario's customers."""

    # --- time ---------------------------------------------------------------------
    def trend(self, c: Customer, day: int) -> float:
        """The long-run multiplier on local day `day` (no weekly effects); 0 stops calls."""
        return 1.0

    def weekday_factor(self, c: Customer, dt: date) -> float:
        """Volume on date dt relative to a weekday: weekends at WEEKEND_FACTOR."""
        return C.WEEKEND_FACTOR if dt.weekday() >= 5 else 1.0

    def day_factor(self, c: Customer, day: int, dt: date, f: float) -> float:
        """The day's multiplier f (trend times weekday factor), reshaped."""
        return f

    def hour_weight(self, c: Customer, day: int, hour: int, w: float) -> float:
        """The share w of a day's calls in local hour `hour` of local day `day`, reshaped."""
        return w

    # --- what a call uses ------------------------------------------------------------
    def mix_state(self, c: Customer, day: int) -> tuple:
        """What the three mix hooks depend on that day (the mix is cached by it)."""
        return ()

    def models(self, c: Customer, state: tuple, weights: dict[str, float]) -> dict[str, float]:
        """Model -> weight for the customer, reshaped."""
        return weights

    def features(self, c: Customer, state: tuple, weights: dict[str, float]) -> dict[str, float]:
        """Feature -> weight for the customer, reshaped."""
        return weights

    def task_models(self, c: Customer, state: tuple, task: str,
                    weights: dict[str, float]) -> dict[str, float]:
        """Model -> weight for one task type (return a new dict to change it)."""
        return weights

    # --- ground truth (what tests and reports can check against) ---------------------
    def tier_on(self, c: Customer, day: int) -> str:
        up = self.upgrades.get(c.index)
        if up is not None and day >= up[0]:
            return up[1]
        return c.tier

    def churn_day(self, c: Customer) -> int | None:
        """The day the customer stops calling for good, or None."""
        return None

    # --- helpers for scenarios ------------------------------------------------------
    def plan_upgrade(self, c: Customer, at: float) -> None:
        """Upgrade the customer one tier on the first day its trend reaches `at`."""
        if c.tier == C.TIERS[-1]:  # the top tier has nowhere to go
            return
        for d in range(self.plan.days):
            if self.trend(c, d) >= at:
                self.upgrades[c.index] = (d, C.TIERS[C.TIERS.index(c.tier) + 1])
                return
