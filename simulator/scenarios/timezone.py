"""timezone: the segment's customers live in US, European and Asian time zones."""

from __future__ import annotations

from .. import catalog as C
from ..scenario import Scenario

REGION_ZONES = {"us": C.US_ZONES, "europe": C.EUROPE_ZONES, "asia": C.ASIA_ZONES}


class Timezone(Scenario):
    name = "timezone"
    description = "customers spread over US, Europe and Asia"
    defaults = {"regions": {"us": 1.0, "europe": 1.0, "asia": 1.0}}

    def time_zone(self, rng):
        regions = self.params["regions"]
        names = sorted(regions)  # a fixed order, whatever order the params came in
        region = rng.choices(names, weights=[regions[r] for r in names])[0]
        return rng.choice(REGION_ZONES[region])
