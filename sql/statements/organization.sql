-- name: organization
-- title: Organization statement
-- category: finops
-- version: 6
-- description: A showback/chargeback statement per organization for the
--   period: its cost by product, feature, model and environment, its share
--   of the shared (untagged) cost, and the same month by month. One run
--   covers every organization (grouped by organization_id), or one when the
--   parameter is set; finops build writes one page per organization from it.
-- param: organization_id = | One organization (empty: all, one page each)
-- param: shared_organizations = shared,unallocated,untagged,unknown | organization_id values that mean the cost is not tagged to an owner (comma separated), as in alignment

-- query: _scope
-- The organizations this run covers.
CREATE OR REPLACE TEMP VIEW statement_org_calls AS
SELECT * FROM calls
WHERE coalesce(getvariable('organization_id'), '') = ''
   OR organization_id = getvariable('organization_id');

-- query: _chargeback
-- The chargeback rule of alignment, defined once in sql/finance.sql
-- (chargeback_allocation): tagged cost stays with its owner; only untagged
-- cost is a shared pool, spread in proportion to own cost. The pool and the
-- proportions are over all organizations in the period, whatever the
-- organization_id parameter.
CREATE OR REPLACE TEMP TABLE statement_org_chargeback AS
SELECT organization_id, calls, customers, direct_cost, production_cost, own_non_production_cost,
       shared_cost, pool_cost, allocation_pct
FROM chargeback_allocation(getvariable('shared_organizations'));

-- query: summary
-- title: Statement
-- description: The organization's cost for the period: its own (tagged) cost, production and non-production (showback), plus its allocated share of untagged shared cost, is the total charged (chargeback). The allocation share is its part of all tagged cost, the key the shared pool is spread by (none when there is no shared pool). Its budget is for the calendar month of the period's last call date, from the budgets file ("no budget" without one).
WITH budget AS (
    SELECT b.scope_id AS organization_id, b.budget_usd, b.actual AS budget_month_cost,
           b.forecast_month_end AS forecast_month_end_cost, b.used_pct AS budget_used_pct, b.status
    FROM budget_vs_actual AS b CROSS JOIN period AS p
    WHERE b.scope = 'organization' AND b.month = strftime(p.last_date, '%Y-%m')
)
SELECT c.organization_id, p.first_date AS period_start, p.last_date AS period_end,
       c.calls, c.customers,
       c.production_cost,
       c.own_non_production_cost,
       c.direct_cost AS showback_cost,
       c.shared_cost AS allocated_shared_cost,
       c.direct_cost + c.shared_cost AS chargeback_cost,
       c.pool_cost AS shared_pool_cost,
       CASE WHEN c.pool_cost > 0 THEN c.allocation_pct END AS allocation_share_pct,
       strftime(p.last_date, '%Y-%m') AS budget_month,
       bu.budget_usd, bu.budget_month_cost, bu.forecast_month_end_cost, bu.budget_used_pct,
       coalesce(bu.status, 'no budget') AS budget_status
FROM statement_org_chargeback AS c CROSS JOIN period AS p
LEFT JOIN budget AS bu USING (organization_id)
WHERE coalesce(getvariable('organization_id'), '') = ''
   OR c.organization_id = getvariable('organization_id')
ORDER BY c.organization_id;

-- query: by_product
-- title: Cost by product
-- description: Every call of the organization, by product. Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
-- chart: hbar
-- x: product_id
-- y: cost
SELECT organization_id, product_id, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER (PARTITION BY organization_id)) AS share_pct
FROM statement_org_calls
GROUP BY organization_id, product_id
ORDER BY organization_id, cost DESC, product_id;

-- query: by_feature
-- title: Cost by feature
-- description: Every call of the organization, by feature. Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
-- chart: hbar
-- x: feature_id
-- y: cost
SELECT organization_id, feature_id, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER (PARTITION BY organization_id)) AS share_pct
FROM statement_org_calls
GROUP BY organization_id, feature_id
ORDER BY organization_id, cost DESC, feature_id;

-- query: by_model
-- title: Cost by model
-- description: Every call of the organization, by provider and model. Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
-- chart: hbar
-- x: model
-- y: cost
SELECT organization_id, provider, model, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER (PARTITION BY organization_id)) AS share_pct
FROM statement_org_calls
GROUP BY organization_id, provider, model
ORDER BY organization_id, cost DESC, provider, model;

-- query: by_environment
-- title: Cost by environment
-- description: Production is charged directly; staging and development are the organization's own non-production cost (showback). Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
-- chart: doughnut
-- x: environment
-- y: cost
SELECT organization_id, environment, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER (PARTITION BY organization_id)) AS share_pct
FROM statement_org_calls
GROUP BY organization_id, environment
ORDER BY organization_id, cost DESC, environment;

-- query: monthly
-- title: Month by month
-- description: Each calendar month of the period (the first and last may be partial): the organization's own cost, and its allocated share of untagged shared cost spread over the months in proportion to each month's pool, each figure to the cent, so the months add up to the statement as shown; and each month's budget, the cost it is measured against (the organization's own cost, as in the summary: not the allocated shared cost) and its status from the budgets file ("no budget" without one), so a month over budget shows even when the last one is on track.
-- chart: stacked
-- x: month
-- y: production_cost, own_non_production_cost, allocated_shared_cost
-- The months of the chargeback rule in cents (chargeback_months in
-- sql/finance.sql): each month's costs to the cent, the allocated share
-- spread by each month's pool with the last month taking the remainder, so
-- every column adds up to the summary as shown.
SELECT a.organization_id, a.month, a.calls, a.production_cost, a.own_non_production_cost,
       a.allocated_shared_cost,
       a.production_cost + a.own_non_production_cost + a.allocated_shared_cost AS chargeback_cost,
       b.budget_usd, b.actual AS budget_month_cost, b.used_pct AS budget_used_pct,
       coalesce(b.status, 'no budget') AS budget_status
FROM chargeback_months(getvariable('shared_organizations')) AS a
LEFT JOIN budget_vs_actual AS b
       ON b.scope = 'organization' AND b.scope_id = a.organization_id AND b.month = a.month
WHERE coalesce(getvariable('organization_id'), '') = ''
   OR a.organization_id = getvariable('organization_id')
ORDER BY a.organization_id, a.month;

-- query: customers
-- title: Customers of the organization
-- description: The organization's customers by cost in the period; each links to its own statement and shows the cost that statement shows (each month to the cent, added), so the rows add up to the organization's own cost (showback).
-- A customer's cells of customer_org_month_cost (sql/finance.sql), the
-- figures its statement and the chargeback add.
SELECT organization_id, customer_id, CAST(sum(calls) AS BIGINT) AS calls, sum(cost) AS cost
FROM customer_org_month_cost
WHERE coalesce(getvariable('organization_id'), '') = ''
   OR organization_id = getvariable('organization_id')
GROUP BY organization_id, customer_id
ORDER BY organization_id, cost DESC, customer_id;
