"""base: the plain business of simulator.md, with no overlay."""

from __future__ import annotations

from ..scenario import Scenario


class Base(Scenario):
    name = "base"
    description = "the plain business"
    defaults: dict = {}
