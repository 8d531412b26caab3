"""Simulated AI API usage in the finops data contract.

Public API:
    simulate(out, rows=, target_mb=, days=, customers=, start=, seed=, scenarios=,
             params=, volume=, append=, force=, progress=) -> SimulationResult
    run_continuous(out, target_mb=, rows=, rate=, batch_rows=, ..., stop_event=,
                   progress=) -> SimulationResult
    plan(seed=, customers=, days=, start=, scenarios=, params=) -> Plan
    iter_lines(days=, ...) -> iterator of CSV data lines

Scenarios are modules of simulator/scenarios/ implementing the hooks of
simulator/scenario.py (Scenario), registered in simulator/scenarios/__init__.py.

The simulator never imports click; user mistakes raise FinopsError.
"""

from .catalog import HEADER, HEADER_COLUMNS, PRICES, TIER_FEES, cost_micro_usd
from .plan import (DEFAULT_CUSTOMERS, DEFAULT_DAYS, DEFAULT_SEED, DEFAULT_START,
                   DEFAULT_VOLUME, SCENARIO_NAMES, SCENARIOS, Plan)
from .scenario import Scenario
from .run import (DEFAULT_OUT, DEFAULT_RATE, DEFAULT_TARGET_MB, Progress, SimulationResult,
                  TerminalProgress, count_rows, inspect_file, iter_lines, parse_params,
                  parse_scenarios, parse_start, plan, run_continuous, simulate,
                  written_by_simulator)

__all__ = [
    "HEADER", "HEADER_COLUMNS", "PRICES", "TIER_FEES", "cost_micro_usd",
    "DEFAULT_CUSTOMERS", "DEFAULT_DAYS", "DEFAULT_SEED", "DEFAULT_START", "DEFAULT_VOLUME",
    "SCENARIO_NAMES", "SCENARIOS", "Plan", "Scenario",
    "DEFAULT_OUT", "DEFAULT_RATE", "DEFAULT_TARGET_MB", "Progress", "SimulationResult",
    "TerminalProgress", "count_rows", "inspect_file", "iter_lines", "parse_params",
    "parse_scenarios", "parse_start", "plan", "run_continuous", "simulate",
    "written_by_simulator",
]
