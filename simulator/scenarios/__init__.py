"""Every scenario, registered in one place: the order of REGISTRY is the order
of `--scenarios all` (which customer gets which segment) and the order in
which scenarios draw from the plan's random stream, so a new scenario goes
at the end. Adding one: a module here with a Scenario subclass (see
simulator/scenario.py for the hooks), one line below, and its test in
tests/test_scenarios.py.
"""

from __future__ import annotations

from ..scenario import Scenario
from .base import Base
from .burst import BurstScenario
from .cost_optimization import CostOptimization
from .feature_launch import FeatureLaunch
from .gradual_decline import GradualDecline
from .model_migration import ModelMigration
from .multi_tenant import MultiTenant
from .seasonal import Seasonal
from .steady_growth import SteadyGrowth
from .timezone import Timezone
from .viral_spike import ViralSpike
from .weekend_effect import WeekendEffect

REGISTRY: dict[str, type[Scenario]] = {cls.name: cls for cls in (
    Base,
    Seasonal,
    BurstScenario,
    GradualDecline,
    SteadyGrowth,
    ViralSpike,
    MultiTenant,
    ModelMigration,
    WeekendEffect,
    Timezone,
    FeatureLaunch,
    CostOptimization,
)}
SCENARIO_NAMES = tuple(REGISTRY)

__all__ = ["REGISTRY", "SCENARIO_NAMES", "Scenario"]
