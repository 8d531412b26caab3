-- name: pricing
-- title: Pricing strategy
-- category: ubr
-- version: 9
-- description: Re-bills every customer's actual usage under four pricing
--   models (flat subscription, tiered with overage, usage-based, hybrid) and
--   compares revenue, margin, who pays more or less, the impact on low,
--   medium and high usage segments; each plan with its migration policy
--   (customers whose bill would rise past the churn threshold keep their
--   bill for grandfather_days), churn risk and a migration plan.
-- param: tiered_allowance_pct = 50 min 0 | Tiered: AI-cost allowance included in the fee, percent of the fee
-- param: tiered_overage_markup = 1.5 min 0 | Tiered: price of AI cost beyond the allowance, times cost
-- param: usage_markup = 2.0 min 0 | Usage-based: price, times AI cost
-- param: hybrid_base_pct = 50 min 0 | Hybrid: base fee, percent of the subscription fee
-- param: hybrid_markup = 1.3 min 0 | Hybrid: price of AI cost on top of the base, times cost
-- param: churn_increase_pct = 25 min 0 | A customer whose bill rises by more than this percent is a churn risk, and is grandfathered
-- param: grandfather_days = 180 min 0 | Days grandfathered customers keep their current bill

-- query: _customers
-- Each customer's bill under every plan over its billed days: the shared
-- definition (pricing_plan_bills in sql/finance.sql), with this run's
-- parameters:
--   flat        = revenue (each billed day at that day's fee)
--   tiered      = flat + overage markup * max(0, cost - allowance% * flat)
--   usage_based = usage markup * cost
--   hybrid      = base% * flat + hybrid markup * cost
-- usage_segment: customers ranked by AI cost per billed day and cut in
-- three equal groups (ntile), ties broken by customer_id.
-- Money is shown and added in cents: each customer's cost and current
-- revenue as its statement shows them (customer_shown), each plan's bill
-- rounded to the cent (cents()); every table below adds these, so a plan's
-- revenue less its cost is its margin as shown, and the flat plan's revenue
-- is the sum of the customer statements'.
CREATE OR REPLACE TEMP TABLE pricing_customers AS
SELECT b.customer_id, any_value(b.subscription_tier) AS subscription_tier,
       any_value(b.tenure_days) AS tenure_days, any_value(b.calls) AS calls, any_value(c.cost) AS cost,
       any_value(c.revenue) AS flat_revenue,
       any_value(cents(b.new_revenue)) FILTER (WHERE b.plan = 'tiered') AS tiered_revenue,
       any_value(cents(b.new_revenue)) FILTER (WHERE b.plan = 'usage_based') AS usage_based_revenue,
       any_value(cents(b.new_revenue)) FILTER (WHERE b.plan = 'hybrid') AS hybrid_revenue,
       CASE ntile(3) OVER (ORDER BY safe_div(any_value(b.cost), any_value(b.tenure_days)), b.customer_id)
            WHEN 1 THEN 'low' WHEN 2 THEN 'medium' ELSE 'high' END AS usage_segment
FROM pricing_plan_bills AS b JOIN customer_shown AS c USING (customer_id)
GROUP BY b.customer_id;

-- query: _revenue
-- The same, one row per customer and plan (long form), with the policy;
-- in cents as pricing_customers (the flat plan's bill is its revenue).
CREATE OR REPLACE TEMP TABLE pricing_revenue AS
SELECT b.position, b.plan AS model, b.customer_id, b.subscription_tier, c.usage_segment,
       c.cost, c.flat_revenue,
       CASE WHEN b.plan = 'flat' THEN c.flat_revenue ELSE cents(b.new_revenue) END AS revenue,
       b.grandfathered,
       CASE WHEN b.grandfathered THEN c.flat_revenue
            WHEN b.plan = 'flat' THEN c.flat_revenue ELSE cents(b.new_revenue) END AS revenue_while_grandfathered
FROM pricing_plan_bills AS b JOIN pricing_customers AS c USING (customer_id);

-- query: _shown
-- Each plan's money as shown: the sums of pricing_revenue's cents, so a
-- plan's revenue less its cost is its margin to the cent, and its gains are
-- the differences of the revenue columns shown beside them.
CREATE OR REPLACE TEMP TABLE pricing_shown AS
SELECT model, sum(revenue) AS revenue, sum(cost) AS cost, sum(revenue) - sum(cost) AS margin,
       pct(sum(revenue) - sum(cost), sum(revenue)) AS margin_pct,
       sum(flat_revenue) AS current_revenue,
       sum(revenue) - sum(flat_revenue) AS extra_revenue,
       sum(revenue_while_grandfathered) AS revenue_while_grandfathered,
       sum(revenue_while_grandfathered) - sum(flat_revenue) AS gain_now,
       sum(revenue) - sum(flat_revenue) AS gain_full,
       coalesce(sum(flat_revenue) FILTER (WHERE grandfathered), 0) AS revenue_exposed,
       coalesce(sum(revenue) FILTER (WHERE grandfathered), 0) AS grandfathered_new_revenue
FROM pricing_revenue
GROUP BY model;

-- query: _models
-- Per plan (pricing_plans in sql/finance.sql). customers_paying_more /
-- _less compare each customer's bill with its current one. With the
-- migration policy: grandfathered_customers keep their bill until
-- grandfathered_until; gain_now = revenue while they do - current revenue;
-- gain_full = once it ends, if all stayed; revenue_exposed = the current
-- revenue of the grandfathered customers, likely to leave when it ends.
-- churn severity scales with that revenue (against all revenue, not AI
-- spend) and the share of customers affected, whichever is larger, on the
-- alert policy's thresholds (alert_severity_at_share): high at 10% of
-- revenue or 10% of customers, medium at 3%, low above the policy's floors
-- ($10 a month exposed, 1%).
CREATE OR REPLACE TEMP TABLE pricing_models AS
SELECT p.*, p.plan AS model,
       p.grandfathered_customers AS churn_risk_customers,
       p.revenue - p.current_revenue AS extra_revenue,
       CASE WHEN p.grandfathered_customers = 0 THEN NULL
            ELSE alert_severity_at_share(per_month(p.revenue_exposed, fp.covered_days),
                                         greatest(pct(p.revenue_exposed, p.current_revenue),
                                                  pct(p.grandfathered_customers, p.customers))) END
           AS churn_severity
FROM pricing_plans AS p CROSS JOIN finance_period AS fp;

-- query: headline
-- title: Headline
-- The recommended plan is the ledger's (pricing_plan_choice): the largest
-- gain while grandfathering lasts, when it reaches the dollar floor. Gains
-- and revenue at risk are per 30-day month, as in the ledger.
WITH fp AS (SELECT * FROM finance_period),
best AS (SELECT * FROM pricing_models WHERE model = (SELECT plan FROM pricing_plan_choice))
SELECT label, value, unit FROM (
    -- in cents: the revenue and the AI cost each a 30-day month to the cent
    -- (cents()), the revenue from the customers' revenue as shown (in
    -- cents, added), as the index's ledger shows monthly revenue and spend
    -- (finance_period)
    SELECT 1 AS position, 'Margin per 30-day month under current pricing' AS label,
           (SELECT CAST(cents(per_month(s.current_revenue, fp.covered_days))
                        - cents(per_month(m.cost, fp.covered_days)) AS DECIMAL(38, 6))
            FROM pricing_shown AS s, pricing_models AS m, fp
            WHERE s.model = 'flat' AND m.model = 'flat') AS value, 'usd' AS unit
    UNION ALL
    SELECT 2, 'Gain per 30-day month while grandfathering, ' || coalesce((SELECT plan FROM pricing_plan_choice), 'no plan worth it'),
           coalesce((SELECT per_month(gain_now, fp.covered_days) FROM best, fp), CAST(0 AS DECIMAL(38, 6))), 'usd'
    UNION ALL
    SELECT 3, 'Revenue exposed per 30-day month when grandfathering ends',
           coalesce((SELECT per_month(revenue_exposed, fp.covered_days) FROM best, fp), CAST(0 AS DECIMAL(38, 6))), 'usd'
)
ORDER BY position;

-- query: models
-- title: Pricing plans compared
-- description: Each plan re-billing the same usage over each customer's billed days, with its migration policy: grandfathered customers keep their bill until the stated date; gain while grandfathered, gain once it ends, and the current revenue of the grandfathered (at risk).
-- chart: bar
-- x: model
-- y: revenue, cost, margin
-- format: revenue_while_grandfathered=money, gain_now=money, gain_full=money
SELECT m.model, s.revenue, s.cost, s.margin, s.margin_pct, m.customers_paying_more, m.customers_paying_less,
       s.extra_revenue, pct(s.extra_revenue, s.current_revenue) AS extra_revenue_pct,
       m.grandfathered_customers, m.grandfathered_until, s.revenue_while_grandfathered,
       s.gain_now, s.gain_full, s.revenue_exposed, m.churn_severity
FROM pricing_models AS m JOIN pricing_shown AS s USING (model)
ORDER BY m.position;

-- query: parameters
-- title: Model parameters
-- description: How each plan bills a customer over its billed days, and the migration policy.
-- chart: none
SELECT model, parameter, value, formula FROM (VALUES
    (1, 1, 'flat', 'monthly fee (USD)', NULL, 'sum over billed days of that day''s fee x the part of it covered / 30: starter 29, pro 99, enterprise 299'),
    (2, 1, 'tiered', 'AI-cost allowance (% of fee)', getvariable('tiered_allowance_pct'),
        'flat + overage markup * max(0, cost - allowance% * flat)'),
    (2, 2, 'tiered', 'overage markup (x cost)', getvariable('tiered_overage_markup'), NULL),
    (3, 1, 'usage_based', 'markup (x cost)', getvariable('usage_markup'), 'markup * cost'),
    (4, 1, 'hybrid', 'base fee (% of fee)', getvariable('hybrid_base_pct'), 'base% * flat + markup * cost'),
    (4, 2, 'hybrid', 'markup (x cost)', getvariable('hybrid_markup'), NULL),
    (5, 1, 'policy', 'churn threshold (% bill increase)', getvariable('churn_increase_pct'),
        'customers over it keep their current bill while grandfathered'),
    (5, 2, 'policy', 'grandfathering (days)', getvariable('grandfather_days'), 'from the last call date')
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
-- title: Churn risk by plan
-- description: Under each plan, if it were adopted: customers whose bill would rise by more than the churn threshold (grandfathered), the current revenue they bring (exposed when the grandfathering ends: not revenue at risk today), and its severity: the larger of the shares of revenue and of customers affected, high at 10%, medium at 3%, low from 1% (and $10 a month).
-- chart: bar
-- x: model
-- y: revenue_exposed
SELECT m.model, m.churn_risk_customers, pct(m.churn_risk_customers, m.customers) AS churn_risk_pct,
       s.revenue_exposed, pct(s.revenue_exposed, s.current_revenue) AS revenue_exposed_pct,
       s.grandfathered_new_revenue, m.churn_severity,
       m.customers_paying_more, m.customers_paying_less
FROM pricing_models AS m JOIN pricing_shown AS s USING (model)
ORDER BY m.position;

-- query: migration_plan
-- title: Migration plan to the recommended plan
-- description: Three waves: those who pay less or the same first, modest increases next, increases above the churn threshold grandfathered until the stated date.
-- chart: bar
-- x: phase
-- y: flat_revenue, new_revenue
-- format: revenue_while_grandfathered=money
-- The target is the ledger's recommended plan (pricing_plan_choice); with
-- none, to_model says so and every wave is empty.
WITH target AS (
    SELECT (SELECT plan FROM pricing_plan_choice) AS model
), waved AS (
    SELECT r.*,
           CASE WHEN r.revenue <= r.flat_revenue THEN 1
                WHEN NOT r.grandfathered THEN 2
                ELSE 3 END AS step
    FROM pricing_revenue AS r JOIN target USING (model)
)
SELECT s.step,
       s.phase,
       coalesce((SELECT model FROM target), 'no plan recommended') AS to_model,
       count(w.customer_id) AS customers,
       coalesce(sum(w.flat_revenue), 0) AS flat_revenue,
       coalesce(sum(w.revenue), 0) AS new_revenue,
       coalesce(sum(w.revenue_while_grandfathered), 0) AS revenue_while_grandfathered,
       coalesce(sum(w.revenue) - sum(w.flat_revenue), 0) AS extra_revenue
FROM (VALUES (1, 'pay less or the same: migrate now'),
             (2, 'modest increase: migrate with notice'),
             (3, 'increase above churn threshold: grandfathered')) AS s(step, phase)
LEFT JOIN waved AS w USING (step)
GROUP BY s.step, s.phase
ORDER BY s.step;

-- query: recommendations
-- title: Actions
-- description: This report's actions from the one ledger of actions, per 30-day month: the plan worth moving to with its migration policy, and the revenue it puts at risk.
-- chart: none
SELECT * FROM report_actions('pricing') ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Current pricing at a loss, and the revenue the recommended plan (if any) would expose when its grandfathering ends; the loss is rated by the alert policy on its monthly amount, the exposure by the plan's churn severity (shares of revenue and of customers).
-- chart: none
WITH fp AS (SELECT * FROM finance_period),
items AS (
    SELECT 'high' AS severity, 0 AS position, 'Current pricing loses money' AS title,
           format('Subscription fees fall {} short of AI cost over the {}.', usd_text(-margin), days_text(fp.covered_days)) AS detail,
           per_month(-margin, fp.covered_days) AS amount_usd,
           'loss (fees below AI cost), a 30-day month' AS amount_label
    FROM pricing_models, fp WHERE model = 'flat' AND margin < 0
    UNION ALL
    SELECT churn_severity, position,
           format('The recommended {} pricing raises {} bills by more than {}%', model, churn_risk_customers, getvariable('churn_increase_pct')),
           format('If adopted, {:.1f}% of customers, bringing {} of current revenue over the {} ({} a 30-day month), '
                  || 'would be likely to leave when their grandfathering ends on {}.',
                  pct(churn_risk_customers, customers), usd_text(revenue_exposed), days_text(fp.covered_days),
                  usd_text(per_month(revenue_exposed, fp.covered_days)), grandfathered_until),
           per_month(revenue_exposed, fp.covered_days), 'revenue exposed when grandfathering ends, a 30-day month'
    FROM pricing_models, fp
    -- only the recommended plan: a plan nobody adopts exposes nothing
    WHERE model = (SELECT plan FROM pricing_plan_choice)
      AND churn_risk_customers > 0 AND churn_severity IS NOT NULL
)
SELECT severity, title, detail, amount_usd, amount_label
FROM items
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, position, title;
