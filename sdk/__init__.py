"""finops: SQL-first analytics for AI API spend.

This is what `import finops` gives an application:

    import finops
    with finops.attribute(customer_id="cust_42", organization_id="org_7",
                          subscription_tier="pro", feature_id="chat"):
        client.chat.completions.create(...)   # its GenAI span is tagged

and `finops.otel` (install `finops[otel]`) meters those spans into a calls
CSV. The analytics themselves live in finops.engine (the `finops` command),
finops.sql and finops.simulator. This module stays light: importing it
imports neither DuckDB nor OpenTelemetry.
"""

from __future__ import annotations

from .attribution import ATTRIBUTION_FIELDS, attribute, current_attribution

__version__ = "0.1.0"
__all__ = ["ATTRIBUTION_FIELDS", "attribute", "current_attribution", "__version__"]
