-- name: pricing
-- title: Pricing strategy
-- category: ubr
-- version: 2
-- description: Re-bills every customer's actual usage under four pricing
--   models (flat subscription, tiered with overage, usage-based, hybrid) and
--   compares revenue, margin, who pays more or less, the impact on low,
--   medium and high usage segments, churn risk and a migration plan.
-- param: tiered_allowance_pct = 50 min 0 | Tiered: AI-cost allowance included in the fee, percent of the fee
-- param: tiered_overage_markup = 1.5 min 0 | Tiered: price of AI cost beyond the allowance, times cost
-- param: usage_markup = 2.0 min 0 | Usage-based: price, times AI cost
-- param: hybrid_base_pct = 50 min 0 | Hybrid: base fee, percent of the subscription fee
-- param: hybrid_markup = 1.3 min 0 | Hybrid: price of AI cost on top of the base, times cost
-- param: churn_increase_pct = 25 min 0 | A customer whose bill rises by more than this percent is a churn risk

-- query: _customers
-- Each customer's revenue under every model, all prorated on tenure like
-- the flat fee (tenure_days counts both end dates):
--   flat        = fee * tenure_days / 30 (customer_economics.revenue)
--   tiered      = flat + 1.5 * greatest(0, cost - 0.5 * flat)
--   usage_based = 2 * cost
--   hybrid      = 0.5 * flat + 1.3 * cost
-- (the factors are the parameters above). usage_segment: customers ranked
-- by AI cost per tenure day and cut in three equal groups (ntile), ties
-- broken by customer_id.
CREATE OR REPLACE TEMP TABLE pricing_customers AS
SELECT customer_id, subscription_tier, tenure_days, calls, cost,
       revenue AS flat_revenue,
       money(revenue + getvariable('tiered_overage_markup')
             * greatest(0, cost - revenue * getvariable('tiered_allowance_pct') / 100)) AS tiered_revenue,
       money(getvariable('usage_markup') * cost) AS usage_based_revenue,
       money(revenue * getvariable('hybrid_base_pct') / 100 + getvariable('hybrid_markup') * cost) AS hybrid_revenue,
       CASE ntile(3) OVER (ORDER BY safe_div(cost, tenure_days), customer_id)
            WHEN 1 THEN 'low' WHEN 2 THEN 'medium' ELSE 'high' END AS usage_segment
FROM customer_economics;

-- query: _revenue
-- The same, one row per customer and model (long form).
CREATE OR REPLACE TEMP TABLE pricing_revenue AS
SELECT m.position, m.model, c.customer_id, c.subscription_tier, c.usage_segment,
       c.cost, c.flat_revenue,
       CASE m.model WHEN 'flat' THEN c.flat_revenue
                    WHEN 'tiered' THEN c.tiered_revenue
                    WHEN 'usage_based' THEN c.usage_based_revenue
                    ELSE c.hybrid_revenue END AS revenue
FROM pricing_customers AS c
CROSS JOIN (VALUES (1, 'flat'), (2, 'tiered'), (3, 'usage_based'), (4, 'hybrid')) AS m(position, model);

-- query: _models
-- Per model. customers_paying_more / _less compare each customer's revenue
-- under the model with its flat revenue (so flat has 0 and 0). A churn
-- risk is a customer whose bill rises by more than churn_increase_pct;
-- revenue_at_risk is what those customers would pay under the model.
CREATE OR REPLACE TEMP TABLE pricing_models AS
SELECT position, model,
       sum(revenue) AS revenue,
       sum(cost) AS cost,
       sum(revenue) - sum(cost) AS margin,
       pct(sum(revenue) - sum(cost), sum(revenue)) AS margin_pct,
       count(*) FILTER (WHERE revenue > flat_revenue) AS customers_paying_more,
       count(*) FILTER (WHERE revenue < flat_revenue) AS customers_paying_less,
       sum(revenue) - sum(flat_revenue) AS extra_revenue,
       count(*) AS customers,
       count(*) FILTER (WHERE revenue > flat_revenue * (1 + getvariable('churn_increase_pct') / 100)) AS churn_risk_customers,
       coalesce(sum(revenue) FILTER (WHERE revenue > flat_revenue * (1 + getvariable('churn_increase_pct') / 100)), 0) AS revenue_at_risk
FROM pricing_revenue
GROUP BY position, model;

-- query: headline
-- title: Headline
-- The recommended model is the one with the highest margin (ties: list order).
WITH best AS (
    SELECT * FROM pricing_models ORDER BY margin DESC, position LIMIT 1
)
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Margin under flat pricing' AS label,
           (SELECT margin FROM pricing_models WHERE model = 'flat') AS value, 'usd' AS unit
    UNION ALL
    SELECT 2, 'Extra margin, best model (' || model || ')',
           margin - (SELECT margin FROM pricing_models WHERE model = 'flat'), 'usd' FROM best
    UNION ALL
    SELECT 3, 'Customers at churn risk (' || model || ')', CAST(churn_risk_customers AS DECIMAL(38, 6)), 'count' FROM best
)
ORDER BY position;

-- query: models
-- title: Pricing models compared
-- description: Revenue and margin if every customer's actual usage had been billed under each model.
-- chart: bar
-- x: model
-- y: revenue, cost, margin
SELECT model, revenue, cost, margin, margin_pct, customers_paying_more, customers_paying_less,
       extra_revenue, pct(extra_revenue, revenue - extra_revenue) AS extra_revenue_pct,
       churn_risk_customers, revenue_at_risk
FROM pricing_models
ORDER BY position;

-- query: parameters
-- title: Model parameters
-- description: How each model bills a customer; amounts are prorated on the customer's tenure.
-- chart: none
SELECT model, parameter, value, formula FROM (VALUES
    (1, 1, 'flat', 'monthly fee (USD)', NULL, 'fee * tenure_days / 30: starter 29, pro 99, enterprise 299'),
    (2, 1, 'tiered', 'AI-cost allowance (% of fee)', getvariable('tiered_allowance_pct'),
        'flat + overage markup * max(0, cost - allowance% * flat)'),
    (2, 2, 'tiered', 'overage markup (x cost)', getvariable('tiered_overage_markup'), NULL),
    (3, 1, 'usage_based', 'markup (x cost)', getvariable('usage_markup'), 'markup * cost'),
    (4, 1, 'hybrid', 'base fee (% of fee)', getvariable('hybrid_base_pct'), 'base% * flat + markup * cost'),
    (4, 2, 'hybrid', 'markup (x cost)', getvariable('hybrid_markup'), NULL)
) AS p(position, n, model, parameter, value, formula)
ORDER BY position, n;

-- query: segment_impact
-- title: Impact by usage segment
-- description: Revenue under each model for light, medium and heavy users (thirds by AI cost per day).
-- chart: bar
-- x: usage_segment
-- y: flat_revenue, tiered_revenue, usage_based_revenue, hybrid_revenue
SELECT usage_segment, count(*) AS customers,
       sum(cost) AS cost,
       sum(flat_revenue) AS flat_revenue,
       sum(tiered_revenue) AS tiered_revenue,
       sum(usage_based_revenue) AS usage_based_revenue,
       sum(hybrid_revenue) AS hybrid_revenue,
       pct(sum(cost), sum(flat_revenue)) AS cost_to_flat_revenue_pct
FROM pricing_customers
GROUP BY usage_segment
ORDER BY CASE usage_segment WHEN 'low' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END;

-- query: churn_risk
-- title: Churn risk by model
-- description: Customers whose bill would rise by more than the churn threshold, and what they would pay.
-- chart: bar
-- x: model
-- y: revenue_at_risk
SELECT model, churn_risk_customers, pct(churn_risk_customers, customers) AS churn_risk_pct,
       revenue_at_risk,
       customers_paying_more, customers_paying_less
FROM pricing_models
ORDER BY position;

-- query: migration_plan
-- title: Migration plan to the best model
-- description: Move customers in three waves: those who pay less or the same first, modest increases next, churn risks last with a grandfathered price.
-- chart: bar
-- x: phase
-- y: flat_revenue, new_revenue
-- The target is the non-flat model with the highest margin; wave 2 is a
-- rise up to churn_increase_pct, wave 3 more than that.
WITH target AS (
    SELECT model FROM pricing_models WHERE model <> 'flat' ORDER BY margin DESC, position LIMIT 1
), waved AS (
    SELECT r.*,
           CASE WHEN r.revenue <= r.flat_revenue THEN 1
                WHEN r.revenue <= r.flat_revenue * (1 + getvariable('churn_increase_pct') / 100) THEN 2
                ELSE 3 END AS step
    FROM pricing_revenue AS r JOIN target USING (model)
)
SELECT s.step,
       s.phase,
       (SELECT model FROM target) AS to_model,
       count(w.customer_id) AS customers,
       coalesce(sum(w.flat_revenue), 0) AS flat_revenue,
       coalesce(sum(w.revenue), 0) AS new_revenue,
       coalesce(sum(w.revenue) - sum(w.flat_revenue), 0) AS extra_revenue
FROM (VALUES (1, 'pay less or the same: migrate now'),
             (2, 'modest increase: migrate with notice'),
             (3, 'increase above churn threshold: grandfather or discount')) AS s(step, phase)
LEFT JOIN waved AS w USING (step)
GROUP BY s.step, s.phase
ORDER BY s.step;

-- query: recommendations
-- title: Recommendations
-- description: Which model to move to and how to protect the customers it hurts.
-- The model decision comes first, then the customers to protect; the
-- grandfathering amount is the revenue of the customers at churn risk.
WITH flat AS (SELECT * FROM pricing_models WHERE model = 'flat'),
best AS (SELECT * FROM pricing_models WHERE model <> 'flat' ORDER BY margin DESC, position LIMIT 1),
items AS (
    SELECT 1 AS position, 'Move to ' || b.model || ' pricing' AS title,
           'Billing the same usage under ' || b.model || ' brings $' || format('{:,.2f}', b.revenue)
               || ' instead of $' || format('{:,.2f}', f.revenue) || ' (margin ' || format('{:.1f}', b.margin_pct)
               || '% vs ' || format('{:.1f}', f.margin_pct) || '%): $' || format('{:,.2f}', b.margin - f.margin)
               || ' more margin over the period; ' || b.customers_paying_more || ' customers pay more, '
               || b.customers_paying_less || ' less.' AS detail,
           b.margin - f.margin AS amount_usd
    FROM best AS b, flat AS f
    WHERE b.margin > f.margin
    UNION ALL
    SELECT 1, 'Keep flat pricing',
           'No alternative model beats the flat margin of $' || format('{:,.2f}', f.margin)
               || '; the best, ' || b.model || ', would change margin by $' || format('{:,.2f}', b.margin - f.margin) || '.',
           f.margin - b.margin
    FROM best AS b, flat AS f
    WHERE b.margin <= f.margin
    UNION ALL
    SELECT 2, 'Grandfather ' || b.churn_risk_customers || ' customers under ' || b.model,
           'Their bill would rise by more than ' || getvariable('churn_increase_pct') || '%; they would pay $'
               || format('{:,.2f}', b.revenue_at_risk) || '. Offer a transition discount before moving them.',
           b.revenue_at_risk
    FROM best AS b
    WHERE b.churn_risk_customers > 0
)
SELECT CAST(row_number() OVER (ORDER BY position, amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail, amount_usd
FROM items
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- Flat pricing at a loss is high; a model that puts a quarter or more of
-- the customers at churn risk is medium, fewer is low.
WITH items AS (
    SELECT 'high' AS severity, 0 AS position, 'Flat pricing loses money' AS title,
           'Subscription fees fall $' || format('{:,.2f}', -margin) || ' short of AI cost over the period.' AS detail,
           -margin AS amount_usd
    FROM pricing_models WHERE model = 'flat' AND margin < 0
    UNION ALL
    SELECT CASE WHEN pct(churn_risk_customers, customers) >= 25 THEN 'medium' ELSE 'low' END, position,
           model || ' pricing raises ' || churn_risk_customers || ' bills by more than '
               || getvariable('churn_increase_pct') || '%',
           format('{:.1f}', pct(churn_risk_customers, customers)) || '% of customers; they would pay $'
               || format('{:,.2f}', revenue_at_risk) || '.',
           revenue_at_risk
    FROM pricing_models WHERE churn_risk_customers > 0
)
SELECT severity, title, detail, amount_usd
FROM items
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, position, title;
