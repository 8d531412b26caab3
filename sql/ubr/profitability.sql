-- name: profitability
-- title: Customer profitability
-- category: ubr
-- version: 1
-- description: Revenue from each customer's subscription, prorated on its
--   tenure, against the AI cost it causes: margin per customer and per tier,
--   the margin distribution, the customers that lose money, and what to do
--   about them (upgrade or cap) in dollars.
-- param: cost_cap_pct = 80 min 0 | AI cost cap offered to unprofitable customers, as a percent of their revenue
-- param: top_n = 10 min 1 | Unprofitable customers listed by loss

-- query: _customers
-- One row per customer (aggregated once, then reused by every query).
-- Revenue is customer_economics.revenue: the latest tier's monthly fee *
-- tenure_days / 30, tenure_days counting both the first and the last call
-- date. status: a customer is unprofitable when margin < 0; break-even
-- (margin = 0) counts as profitable, like the 0-20% margin bucket.
CREATE OR REPLACE TEMP TABLE profitability_customers AS
SELECT e.customer_id, e.subscription_tier, e.organization_id, e.product_id,
       e.calls, e.tenure_days, e.monthly_fee, t.tier_rank,
       e.revenue, e.cost,
       e.revenue - e.cost AS margin,
       pct(e.revenue - e.cost, e.revenue) AS margin_pct,
       CASE WHEN e.revenue - e.cost < 0 THEN 'unprofitable' ELSE 'profitable' END AS status
FROM customer_economics AS e
JOIN subscription_tiers AS t USING (subscription_tier);

-- query: _interventions
-- Each unprofitable customer with two remedies, both over its tenure:
-- upgrade: the next tier's fee instead of the current one, prorated like
--   revenue: (next_fee - fee) * tenure_days / 30 (none for the top tier);
-- cap: AI cost limited to cost_cap_pct % of revenue; cap_savings is the
--   cost above that cap.
-- The upgrade is proposed when it alone makes the customer break even
-- (margin + upgrade_revenue >= 0); otherwise the cap.
CREATE OR REPLACE TEMP TABLE profitability_interventions AS
SELECT c.customer_id, c.subscription_tier, c.organization_id, c.tenure_days,
       c.revenue, c.cost, c.margin,
       nt.subscription_tier AS upgrade_tier,
       money((nt.monthly_fee - c.monthly_fee) * c.tenure_days / 30) AS upgrade_revenue,
       money(greatest(0, c.cost - c.revenue * getvariable('cost_cap_pct') / 100)) AS cap_savings
FROM profitability_customers AS c
LEFT JOIN subscription_tiers AS nt ON nt.tier_rank = c.tier_rank + 1
WHERE c.status = 'unprofitable';

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Total margin' AS label, money(sum(margin)) AS value, 'usd' AS unit
    FROM profitability_customers
    UNION ALL
    SELECT 2, 'Margin', money(pct(sum(margin), sum(revenue))), 'pct' FROM profitability_customers
    UNION ALL
    SELECT 3, 'Unprofitable customers', money(count(*) FILTER (WHERE status = 'unprofitable')), 'count'
    FROM profitability_customers
    UNION ALL
    SELECT 4, 'Loss on unprofitable customers',
           money(coalesce(-sum(margin) FILTER (WHERE status = 'unprofitable'), 0)), 'usd'
    FROM profitability_customers
)
ORDER BY position;

-- query: customers
-- title: Margin by customer
-- description: Each customer's prorated subscription revenue against its AI cost, worst margin first.
-- chart: hbar
-- x: customer_id
-- y: margin
-- limit: 25
SELECT customer_id, subscription_tier, organization_id, calls, tenure_days,
       revenue, cost, margin, margin_pct, status,
       product_id, monthly_fee
FROM profitability_customers
ORDER BY margin, customer_id;

-- query: by_tier
-- title: Margin by tier
-- description: Revenue, AI cost and margin of each subscription tier (latest tier of each customer).
-- chart: bar
-- x: subscription_tier
-- y: revenue, cost, margin
-- Every tier is listed, with zeros when no customer is on it.
SELECT t.subscription_tier,
       count(c.customer_id) AS customers,
       coalesce(sum(c.revenue), 0) AS revenue,
       coalesce(sum(c.cost), 0) AS cost,
       coalesce(sum(c.margin), 0) AS margin,
       pct(sum(c.margin), sum(c.revenue)) AS margin_pct,
       count(c.customer_id) FILTER (WHERE c.status = 'unprofitable') AS unprofitable_customers,
       t.monthly_fee,
       money(safe_div(sum(c.cost), count(c.customer_id))) AS avg_cost
FROM subscription_tiers AS t
LEFT JOIN profitability_customers AS c USING (subscription_tier)
GROUP BY t.subscription_tier, t.monthly_fee, t.tier_rank
ORDER BY t.tier_rank, t.subscription_tier;

-- query: margin_buckets
-- title: Customers by margin
-- description: How many customers fall in each margin band.
-- chart: doughnut
-- x: bucket
-- y: customers
-- Bands by margin_pct: over 50% is >= 50, 20-50% is >= 20, 0-20% is >= 0,
-- negative is < 0. Every band is listed, in that order, even when empty.
WITH bands(position, bucket) AS (
    VALUES (1, 'over 50%'), (2, '20-50%'), (3, '0-20%'), (4, 'negative')
), banded AS (
    SELECT CASE WHEN margin_pct >= 50 THEN 'over 50%'
                WHEN margin_pct >= 20 THEN '20-50%'
                WHEN margin_pct >= 0 THEN '0-20%'
                ELSE 'negative' END AS bucket,
           revenue, cost, margin
    FROM profitability_customers
)
SELECT b.bucket,
       count(x.bucket) AS customers,
       pct(count(x.bucket), (SELECT count(*) FROM profitability_customers)) AS share_pct,
       coalesce(sum(x.revenue), 0) AS revenue,
       coalesce(sum(x.cost), 0) AS cost,
       coalesce(sum(x.margin), 0) AS margin
FROM bands AS b
LEFT JOIN banded AS x USING (bucket)
GROUP BY b.position, b.bucket
ORDER BY b.position;

-- query: top_unprofitable
-- title: Top unprofitable customers
-- description: The customers whose AI cost exceeds their subscription revenue the most.
-- chart: hbar
-- x: customer_id
-- y: loss_usd
SELECT customer_id, subscription_tier, organization_id, calls, tenure_days,
       revenue, cost, -margin AS loss_usd, margin_pct
FROM profitability_customers
WHERE status = 'unprofitable'
ORDER BY margin, customer_id
LIMIT getvariable('top_n');

-- query: by_organization
-- title: Margin by organization
-- description: Revenue, cost and margin of each organization's customers.
-- chart: bar
-- x: organization_id
-- y: revenue, cost, margin
SELECT organization_id,
       count(*) AS customers,
       sum(revenue) AS revenue,
       sum(cost) AS cost,
       sum(margin) AS margin,
       pct(sum(margin), sum(revenue)) AS margin_pct,
       count(*) FILTER (WHERE status = 'unprofitable') AS unprofitable_customers
FROM profitability_customers
GROUP BY organization_id
ORDER BY margin, organization_id;

-- query: interventions
-- title: Interventions for unprofitable customers
-- description: For each customer that loses money: the next tier's extra revenue, the saving from a cost cap, and the proposed remedy.
-- chart: hbar
-- x: customer_id
-- y: upgrade_revenue, cap_savings
-- limit: 25
SELECT customer_id, subscription_tier, organization_id, revenue, cost, margin,
       upgrade_tier, upgrade_revenue, cap_savings,
       CASE WHEN upgrade_tier IS NOT NULL AND margin + upgrade_revenue >= 0
            THEN 'upgrade to ' || upgrade_tier
            ELSE 'cap AI cost at ' || getvariable('cost_cap_pct') || '% of revenue' END AS intervention,
       CASE WHEN upgrade_tier IS NOT NULL AND margin + upgrade_revenue >= 0
            THEN upgrade_revenue ELSE cap_savings END AS amount_usd
FROM profitability_interventions
ORDER BY margin, customer_id;

-- query: recommendations
-- title: Recommendations
-- description: Actions that restore margin, largest amount first.
-- An upgrade is recommended for customers it alone brings to break even;
-- the cap for the rest; a tier whose total margin is negative needs a new price.
WITH plan AS (
    SELECT *, upgrade_tier IS NOT NULL AND margin + upgrade_revenue >= 0 AS by_upgrade
    FROM profitability_interventions
), items AS (
    SELECT 'Upgrade ' || count(*) || ' unprofitable customer' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END
               || ' to the next tier' AS title,
           'Their AI cost exceeds what their tier pays; the next tier brings $'
               || format('{:,.2f}', sum(upgrade_revenue)) || ' more revenue over the period and covers the $'
               || format('{:,.2f}', -sum(margin)) || ' loss (' || string_agg(customer_id, ', ' ORDER BY margin, customer_id) || ').' AS detail,
           sum(upgrade_revenue) AS amount_usd
    FROM plan WHERE by_upgrade
    HAVING count(*) > 0
    UNION ALL
    SELECT 'Cap AI cost at ' || getvariable('cost_cap_pct') || '% of revenue for ' || count(*) || ' customer'
               || CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
           'An upgrade would not cover their cost; a usage cap (or overage billing) saves $'
               || format('{:,.2f}', sum(cap_savings)) || ' over the period and leaves each a '
               || (100 - getvariable('cost_cap_pct')) || '% margin.',
           sum(cap_savings)
    FROM plan WHERE NOT by_upgrade
    HAVING count(*) > 0
    UNION ALL
    SELECT 'Reprice the ' || subscription_tier || ' tier',
           'Its ' || count(*) || ' customers cost $' || format('{:,.2f}', sum(cost)) || ' in AI but pay $'
               || format('{:,.2f}', sum(revenue)) || ': a loss of $' || format('{:,.2f}', -sum(margin))
               || ' over the period. Raise the fee or add usage-based overage.',
           -sum(margin)
    FROM profitability_customers
    GROUP BY subscription_tier
    HAVING sum(margin) < 0
)
SELECT CAST(row_number() OVER (ORDER BY amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail, amount_usd
FROM items
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- A tier or the whole book at a loss is high; unprofitable customers are
-- high when their loss is 5% of revenue or more, else medium; thin margins
-- (0-20%) are low.
WITH totals AS (
    SELECT sum(revenue) AS revenue, sum(margin) AS margin FROM profitability_customers
), items AS (
    SELECT 'high' AS severity, 1 AS position,
           'The book loses money' AS title,
           'AI cost exceeds subscription revenue by $' || format('{:,.2f}', -margin) || ' over the period.' AS detail,
           -margin AS amount_usd
    FROM totals WHERE margin < 0
    UNION ALL
    SELECT 'high', 2, 'The ' || subscription_tier || ' tier loses money',
           count(*) || ' customers, margin ' || format('{:.1f}', pct(sum(margin), sum(revenue))) || '%: a loss of $'
               || format('{:,.2f}', -sum(margin)) || '.',
           -sum(margin)
    FROM profitability_customers
    GROUP BY subscription_tier HAVING sum(margin) < 0
    UNION ALL
    SELECT CASE WHEN -sum(c.margin) >= 0.05 * any_value(t.revenue) THEN 'high' ELSE 'medium' END, 3,
           count(*) || ' unprofitable customer' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END,
           'Their AI cost exceeds their revenue by $' || format('{:,.2f}', -sum(c.margin))
               || ' in total; worst: ' || arg_min(c.customer_id, (c.margin, c.customer_id)) || '.',
           -sum(c.margin)
    FROM profitability_customers AS c, totals AS t
    WHERE c.status = 'unprofitable'
    HAVING count(*) > 0
    UNION ALL
    SELECT 'low', 4, count(*) || ' customer' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END || ' with a thin margin (0-20%)',
           'A little more usage makes them unprofitable; their margin is $' || format('{:,.2f}', sum(margin)) || '.',
           sum(margin)
    FROM profitability_customers
    WHERE margin_pct >= 0 AND margin_pct < 20
    HAVING count(*) > 0
)
SELECT severity, title, detail, amount_usd
FROM items
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, position, amount_usd DESC, title;
