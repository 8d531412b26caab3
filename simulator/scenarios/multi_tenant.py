"""multi_tenant: organizations differ in volume and each prefers its own provider."""

from __future__ import annotations

from itertools import accumulate

from .. import catalog as C
from ..scenario import Scenario, draw


class MultiTenant(Scenario):
    name = "multi_tenant"
    description = "organizations differ in volume and preferred provider"
    defaults = {"volume_spread": (3.0, 10.0), "loyalty": 0.75}

    def prepare(self, rng):
        orgs = self.plan.organizations
        providers = list(C.PROVIDER_WEIGHTS)
        pcum = list(accumulate(C.PROVIDER_WEIGHTS.values()))
        spread = draw(rng, self.params["volume_spread"])
        # org volume multipliers spread geometrically over 1..spread, mean 1
        vols = [spread ** (i / max(1, len(orgs) - 1)) for i in range(len(orgs))]
        rng.shuffle(vols)
        mean = sum(vols) / len(vols)
        self.org_volume = {o: v / mean for o, v in zip(orgs, vols)}
        # the first four organizations prefer four different providers
        self.org_provider = {o: providers[i % len(providers)] if i < 4 else
                             rng.choices(providers, cum_weights=pcum)[0]
                             for i, o in enumerate(orgs)}

    def setup(self, rng, c):
        c.favourite_provider = self.org_provider[c.organization_id]
        c.loyalty = self.params["loyalty"]

    def day_factor(self, c, day, dt, f):
        return f * self.org_volume[c.organization_id]
