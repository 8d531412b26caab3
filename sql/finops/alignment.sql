-- name: alignment
-- title: Organizational alignment
-- category: finops
-- version: 1
-- description: Who spends what: cost by organization, product, feature and
--   environment, a chargeback that spreads non-production cost over the
--   organizations in proportion to their production cost, and showback of
--   each organization's unit cost against the average.
-- param: non_production_target_pct = 10.0 min 0 max 100 | Target share of all spend for staging and development, in percent

-- query: _usage
-- Calls aggregated once by organization, product, feature, environment and
-- customer (a customer has one organization and product, so a few thousand
-- rows); every breakdown below sums these rows, and customer counts stay
-- exact distinct counts. Organization and product are the call's own.
CREATE OR REPLACE TEMP TABLE alignment_usage AS
SELECT organization_id, product_id, feature_id, environment, customer_id,
       count(*) AS calls,
       sum(cost_usd) AS cost,
       sum(total_tokens) AS tokens
FROM calls
GROUP BY organization_id, product_id, feature_id, environment, customer_id;

-- query: _totals
CREATE OR REPLACE TEMP TABLE alignment_totals AS
SELECT coalesce(sum(calls), 0) AS calls,
       coalesce(sum(cost), 0) AS cost,
       coalesce(sum(tokens), 0) AS tokens,
       coalesce(sum(cost) FILTER (WHERE environment <> 'production'), 0) AS non_production_cost
FROM alignment_usage;

-- query: _chargeback
-- Each organization is charged its direct production cost plus a
-- share of the pool of all non-production (staging, development) cost in
-- proportion to its production cost. Shares are rounded to 6 decimals;
-- the rounding remainder goes to the organization with the
-- largest production cost (tie: organization_id), so the chargeback total
-- equals total cost exactly. With no production cost at all, each
-- organization keeps its own non-production cost.
CREATE OR REPLACE TEMP TABLE alignment_chargeback AS
WITH org AS (
    SELECT organization_id,
           sum(calls) AS calls,
           coalesce(sum(cost) FILTER (WHERE environment = 'production'), 0) AS direct_cost,
           coalesce(sum(cost) FILTER (WHERE environment <> 'production'), 0) AS own_non_production_cost
    FROM alignment_usage
    GROUP BY organization_id
),
pool AS (
    SELECT sum(own_non_production_cost) AS pool_cost, sum(direct_cost) AS production_cost FROM org
),
allocated AS (
    SELECT org.*, pool.pool_cost, pool.production_cost,
           CASE WHEN pool.production_cost > 0
                THEN money(safe_div(pool.pool_cost * org.direct_cost, pool.production_cost))
                ELSE org.own_non_production_cost END AS shared_rounded,
           row_number() OVER (ORDER BY org.direct_cost DESC, org.organization_id) AS rank_by_direct
    FROM org CROSS JOIN pool
)
SELECT organization_id, calls, direct_cost, own_non_production_cost,
       pct(direct_cost, production_cost) AS allocation_pct,
       shared_rounded
         + CASE WHEN rank_by_direct = 1 THEN pool_cost - sum(shared_rounded) OVER () ELSE 0 END
         AS shared_cost
FROM allocated;

-- query: by_organization
-- title: Cost by organization
-- description: Each organization's calls, cost and share of the whole, split into production and non-production.
-- chart: stacked
-- x: organization_id
-- y: production_cost, non_production_cost
-- customers = distinct customers with calls under the organization;
-- cost_per_call = cost / calls; non-production = staging and development.
SELECT u.organization_id,
       sum(u.calls) AS calls,
       sum(u.cost) AS cost,
       pct(sum(u.cost), any_value(t.cost)) AS share_pct,
       count(DISTINCT u.customer_id) AS customers,
       money(safe_div(sum(u.cost), sum(u.calls))) AS cost_per_call,
       coalesce(sum(u.cost) FILTER (WHERE u.environment = 'production'), 0) AS production_cost,
       coalesce(sum(u.cost) FILTER (WHERE u.environment <> 'production'), 0) AS non_production_cost,
       money(safe_div(sum(u.cost), count(DISTINCT u.customer_id))) AS cost_per_customer,
       pct(coalesce(sum(u.cost) FILTER (WHERE u.environment <> 'production'), 0), sum(u.cost))
           AS non_production_pct
FROM alignment_usage AS u CROSS JOIN alignment_totals AS t
GROUP BY u.organization_id
ORDER BY cost DESC, u.organization_id;

-- query: environment_split
-- title: Cost by environment
-- description: Production against staging and development.
-- chart: doughnut
-- x: environment
-- y: cost
SELECT u.environment,
       sum(u.calls) AS calls,
       sum(u.cost) AS cost,
       pct(sum(u.cost), any_value(t.cost)) AS share_pct,
       count(DISTINCT u.customer_id) AS customers,
       money(safe_div(sum(u.cost), sum(u.calls))) AS cost_per_call
FROM alignment_usage AS u CROSS JOIN alignment_totals AS t
GROUP BY u.environment
ORDER BY CASE u.environment WHEN 'production' THEN 1 WHEN 'staging' THEN 2 ELSE 3 END, u.environment;

-- query: org_product
-- title: Organization by product
-- description: Cost of each organization's use of each product; the first share is of all spend, the second of the organization's own.
-- chart: hbar
-- x: label
-- y: cost
-- limit: 30
WITH cells AS (
    SELECT organization_id, product_id, sum(calls) AS calls, sum(cost) AS cost,
           count(DISTINCT customer_id) AS customers
    FROM alignment_usage
    GROUP BY organization_id, product_id
)
SELECT c.organization_id, c.product_id, c.calls, c.cost,
       pct(c.cost, t.cost) AS share_pct,
       pct(c.cost, sum(c.cost) OVER (PARTITION BY c.organization_id)) AS org_share_pct,
       c.customers,
       c.organization_id || ' / ' || c.product_id AS label
FROM cells AS c CROSS JOIN alignment_totals AS t
ORDER BY c.cost DESC, c.organization_id, c.product_id;

-- query: org_feature
-- title: Organization by feature
-- description: Cost of each organization's use of each feature; the first share is of all spend, the second of the organization's own.
-- chart: hbar
-- x: label
-- y: cost
-- limit: 30
WITH cells AS (
    SELECT organization_id, feature_id, sum(calls) AS calls, sum(cost) AS cost,
           count(DISTINCT customer_id) AS customers
    FROM alignment_usage
    GROUP BY organization_id, feature_id
)
SELECT c.organization_id, c.feature_id, c.calls, c.cost,
       pct(c.cost, t.cost) AS share_pct,
       pct(c.cost, sum(c.cost) OVER (PARTITION BY c.organization_id)) AS org_share_pct,
       c.customers,
       c.organization_id || ' / ' || c.feature_id AS label
FROM cells AS c CROSS JOIN alignment_totals AS t
ORDER BY c.cost DESC, c.organization_id, c.feature_id;

-- query: chargeback
-- title: Chargeback
-- description: What each organization is billed: its production cost plus its share of non-production cost, in proportion to production cost.
-- chart: stacked
-- x: organization_id
-- y: direct_cost, shared_cost
SELECT c.organization_id,
       'CB-' || strftime(p.last_date, '%Y%m%d') || '-' || c.organization_id AS invoice_number,
       p.first_date AS period_start,
       p.last_date AS period_end,
       c.calls,
       c.direct_cost,
       c.shared_cost,
       c.direct_cost + c.shared_cost AS chargeback_cost,
       pct(c.direct_cost + c.shared_cost, t.cost) AS share_pct,
       c.allocation_pct,
       c.own_non_production_cost,
       c.shared_cost - c.own_non_production_cost AS shared_vs_own_cost
FROM alignment_chargeback AS c CROSS JOIN period AS p CROSS JOIN alignment_totals AS t
ORDER BY chargeback_cost DESC, c.organization_id;

-- query: chargeback_lines
-- title: Chargeback invoice lines
-- description: Invoice-like lines per organization: production usage by product, the shared non-production allocation, the total.
-- chart: none
-- limit: 40
WITH product_lines AS (
    SELECT organization_id, product_id, sum(calls) AS calls, sum(cost) AS cost
    FROM alignment_usage
    WHERE environment = 'production'
    GROUP BY organization_id, product_id
),
lines AS (
    SELECT organization_id, 1 AS kind, product_id AS sort_key,
           'Production usage: ' || product_id AS item,
           calls, cost AS amount_usd
    FROM product_lines
    UNION ALL
    SELECT c.organization_id, 2, '',
           format('Shared non-production (staging, development): {:.1f}% of ${:,.2f}',
                  coalesce(c.allocation_pct, 0), t.non_production_cost),
           NULL, c.shared_cost
    FROM alignment_chargeback AS c CROSS JOIN alignment_totals AS t
    UNION ALL
    SELECT organization_id, 3, '', 'Total', calls, direct_cost + shared_cost
    FROM alignment_chargeback
)
SELECT l.organization_id,
       'CB-' || strftime(p.last_date, '%Y%m%d') || '-' || l.organization_id AS invoice_number,
       CAST(row_number() OVER (PARTITION BY l.organization_id ORDER BY l.kind, l.sort_key) AS INTEGER) AS line,
       l.item, l.calls, l.amount_usd
FROM lines AS l CROSS JOIN period AS p
ORDER BY l.organization_id, line;

-- query: _showback
-- Efficiency is measured per token, so a heavy user is not penalised for
-- volume: unit_cost_vs_avg_pct = 100 * org cost per token / overall cost
-- per token (100 = average, above 100 = dearer, from model choice mostly);
-- excess_cost = cost - tokens * overall cost per token (negative = saving).
CREATE OR REPLACE TEMP TABLE alignment_showback AS
SELECT u.organization_id,
       sum(u.calls) AS calls,
       sum(u.tokens) AS tokens,
       sum(u.cost) AS cost,
       pct(sum(u.cost), any_value(t.cost)) AS share_pct,
       money(safe_div(sum(u.cost) * 1000, sum(u.tokens))) AS cost_per_1k_tokens,
       money(safe_div(any_value(t.cost) * 1000, any_value(t.tokens))) AS avg_cost_per_1k_tokens,
       pct(safe_div(sum(u.cost), sum(u.tokens)), safe_div(any_value(t.cost), any_value(t.tokens)))
           AS unit_cost_vs_avg_pct,
       money(sum(u.cost) - safe_div(sum(u.tokens) * any_value(t.cost), any_value(t.tokens))) AS excess_cost,
       money(safe_div(sum(u.cost), sum(u.calls))) AS cost_per_call,
       money(safe_div(any_value(t.cost), any_value(t.calls))) AS avg_cost_per_call
FROM alignment_usage AS u CROSS JOIN alignment_totals AS t
GROUP BY u.organization_id;

-- query: showback
-- title: Showback: unit cost against the average
-- description: Each organization's cost per 1,000 tokens against the average over all calls; the excess is what it pays above the average unit cost.
-- chart: hbar
-- x: organization_id
-- y: excess_cost
SELECT organization_id, calls, tokens, cost, cost_per_1k_tokens, avg_cost_per_1k_tokens,
       unit_cost_vs_avg_pct, excess_cost, cost_per_call, avg_cost_per_call
FROM alignment_showback
ORDER BY excess_cost DESC, organization_id;

-- query: headline
SELECT label, value, unit FROM (VALUES
    (1, 'Total cost', (SELECT CAST(cost AS DOUBLE) FROM alignment_totals), 'usd'),
    (2, 'Organizations', (SELECT CAST(count(DISTINCT organization_id) AS DOUBLE) FROM alignment_usage), 'count'),
    (3, 'Non-production share', (SELECT pct(non_production_cost, cost) FROM alignment_totals), 'pct'),
    (4, 'Largest organization share', (SELECT max(share_pct) FROM alignment_showback), 'pct')
) AS t(n, label, value, unit)
ORDER BY n;

-- query: recommendations
-- title: Recommendations
-- description: Concrete changes with the dollars at stake over the period of the file.
-- chart: none
-- The two organizations paying most above the average unit cost, when at
-- 110% of it or more (amount: their excess_cost), and non-production spend
-- above the target share (amount: the spend above target).
WITH ranked AS (
    SELECT *, row_number() OVER (ORDER BY excess_cost DESC, organization_id) AS rn
    FROM alignment_showback WHERE excess_cost > 0 AND unit_cost_vs_avg_pct >= 110
),
recs AS (
    SELECT format('Review the model mix of {}', organization_id) AS title,
           format('{} pays {:.1f}% of the average cost per token: ${:,.2f} for {:,} tokens, '
                  || '${:,.2f} more than at the average unit cost over the period.',
                  organization_id, unit_cost_vs_avg_pct, cost, CAST(tokens AS BIGINT), excess_cost) AS detail,
           excess_cost AS amount_usd
    FROM ranked WHERE rn <= 2
    UNION ALL
    SELECT 'Cap staging and development spend',
           format('Non-production cost ${:,.2f} is {:.1f}% of all spend; holding it to the {:.1f}% target '
                  || 'saves ${:,.2f} over the period.',
                  non_production_cost, pct(non_production_cost, cost),
                  CAST(getvariable('non_production_target_pct') AS DOUBLE),
                  money(non_production_cost - cost * CAST(getvariable('non_production_target_pct') AS DOUBLE) / 100)),
           money(non_production_cost - cost * CAST(getvariable('non_production_target_pct') AS DOUBLE) / 100)
    FROM alignment_totals
    WHERE pct(non_production_cost, cost) > CAST(getvariable('non_production_target_pct') AS DOUBLE)
)
SELECT row_number() OVER (ORDER BY amount_usd DESC, title) AS priority, title, detail, amount_usd
FROM recs
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Non-production spend over target, spend concentrated in one organization, unit cost far above average.
-- chart: none
-- Non-production over target: high above twice the target, medium above
-- it. Concentration: one organization with 50% of spend or more is high,
-- 30% medium. Unit cost: an organization at 150% of the average cost per
-- token or more is medium.
WITH alerts AS (
    SELECT CASE WHEN pct(non_production_cost, cost)
                     > 2 * CAST(getvariable('non_production_target_pct') AS DOUBLE) THEN 'high'
                ELSE 'medium' END AS severity,
           'Non-production spend over target' AS title,
           format('Staging and development cost ${:,.2f}, {:.1f}% of all spend (target {:.1f}%).',
                  non_production_cost, pct(non_production_cost, cost),
                  CAST(getvariable('non_production_target_pct') AS DOUBLE)) AS detail,
           non_production_cost AS amount_usd
    FROM alignment_totals
    WHERE pct(non_production_cost, cost) > CAST(getvariable('non_production_target_pct') AS DOUBLE)
    UNION ALL
    SELECT CASE WHEN share_pct >= 50 THEN 'high' ELSE 'medium' END,
           format('Spend concentrated in {}', organization_id),
           format('{} accounts for {:.1f}% of all spend (${:,.2f}).', organization_id, share_pct, cost),
           cost
    FROM alignment_showback WHERE share_pct >= 30
    UNION ALL
    SELECT 'medium',
           format('{} pays {:.0f}% of the average unit cost', organization_id, unit_cost_vs_avg_pct),
           format('{} spends ${:,.2f} on {:,} tokens, ${:,.2f} above the average cost per token.',
                  organization_id, cost, CAST(tokens AS BIGINT), excess_cost),
           excess_cost
    FROM alignment_showback WHERE unit_cost_vs_avg_pct >= 150
)
SELECT severity, title, detail, amount_usd
FROM alerts
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;
