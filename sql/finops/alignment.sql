-- name: alignment
-- title: Organizational alignment
-- category: finops
-- version: 10
-- description: Who spends what: cost by organization, product, feature and
--   environment, a chargeback that keeps tagged cost with its owner and
--   spreads only untagged (shared) cost over the organizations in proportion
--   to their own cost, and showback of each organization's unit cost
--   against the average (a variance, not a saving), and budget against
--   actual by calendar month when a budgets file is given.
-- param: shared_organizations = shared,unallocated,untagged,unknown | organization_id values that mean the cost is not tagged to an owner (comma separated)
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

-- query: _org_cost
-- Each organization's cost as the chargeback and the statements show it: its
-- cells of customer_org_month_cost (a customer's month, in cents), added.
CREATE OR REPLACE TEMP TABLE alignment_org_cost AS
SELECT organization_id, sum(cost) AS cost, sum(production_cost) AS production_cost
FROM customer_org_month_cost GROUP BY organization_id;

-- query: _chargeback
-- The chargeback rule, defined once in sql/finance.sql (chargeback_allocation):
-- tagged cost stays with its owner, only untagged cost is shared.
CREATE OR REPLACE TEMP TABLE alignment_chargeback AS
SELECT organization_id, calls, direct_cost, own_non_production_cost, production_cost,
       allocation_pct, shared_cost
FROM chargeback_allocation(getvariable('shared_organizations'));

-- query: by_organization
-- title: Cost by organization
-- description: Each organization's calls, cost and share of the whole, split into production and non-production.
-- chart: stacked
-- x: organization_id
-- y: production_cost, non_production_cost
-- customers = distinct customers with calls under the organization;
-- cost_per_call = cost / calls; non-production = staging and development.
-- cost, production_cost and non_production_cost in cents as the chargeback
-- and the statements (the organization's cells of customer_org_month_cost,
-- added, for a tagged organization and an untagged one alike), so the rows
-- add up to the headline's total as shown.
WITH orgs AS (
    SELECT u.organization_id,
           sum(u.calls) AS calls,
           sum(u.cost) AS cost,
           pct(sum(u.cost), any_value(t.cost)) AS share_pct,
           count(DISTINCT u.customer_id) AS customers,
           money(safe_div(sum(u.cost), sum(u.calls))) AS cost_per_call,
           coalesce(sum(u.cost) FILTER (WHERE u.environment = 'production'), 0) AS production_cost,
           money(safe_div(sum(u.cost), count(DISTINCT u.customer_id))) AS cost_per_customer,
           pct(coalesce(sum(u.cost) FILTER (WHERE u.environment <> 'production'), 0), sum(u.cost))
               AS non_production_pct
    FROM alignment_usage AS u CROSS JOIN alignment_totals AS t
    GROUP BY u.organization_id
)
SELECT o.organization_id, o.calls,
       s.cost, o.share_pct, o.customers, o.cost_per_call,
       s.production_cost, s.cost - s.production_cost AS non_production_cost,
       o.cost_per_customer, o.non_production_pct
FROM orgs AS o JOIN alignment_org_cost AS s USING (organization_id)
ORDER BY o.cost DESC, o.organization_id;

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
-- x: _label
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
       c.organization_id || ' / ' || c.product_id AS _label
FROM cells AS c CROSS JOIN alignment_totals AS t
ORDER BY c.cost DESC, c.organization_id, c.product_id;

-- query: org_feature
-- title: Organization by feature
-- description: Cost of each organization's use of each feature; the first share is of all spend, the second of the organization's own.
-- chart: hbar
-- x: _label
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
       c.organization_id || ' / ' || c.feature_id AS _label
FROM cells AS c CROSS JOIN alignment_totals AS t
ORDER BY c.cost DESC, c.organization_id, c.feature_id;

-- query: chargeback
-- title: Chargeback
-- description: What each organization is billed for the period: all its own (tagged) cost, production and non-production, plus its share of untagged shared cost in proportion to its own cost; in cents, as its statement (each month's cost to the cent, added).
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
       c.own_non_production_cost
FROM alignment_chargeback AS c CROSS JOIN period AS p CROSS JOIN alignment_totals AS t
ORDER BY chargeback_cost DESC, c.organization_id;

-- query: chargeback_lines
-- title: Chargeback invoice lines
-- description: Invoice-like lines per organization: its own usage by product, its share of untagged cost (when there is any), the total; each line to the cent, adding up to the total and to the chargeback table.
-- chart: none
-- limit: 40
-- In cents, as the chargeback table: each product line to the cent, the
-- line of the largest product taking the remainder, so the lines add up to
-- the organization's own cost there, and lines and Total to its chargeback.
WITH product_usage AS (
    SELECT organization_id, product_id, sum(calls) AS calls, sum(cost) AS cost
    FROM alignment_usage
    WHERE organization_id IN (SELECT organization_id FROM alignment_chargeback)
    GROUP BY organization_id, product_id
), product_lines AS (
    SELECT u.organization_id, u.product_id, u.calls,
           cents(u.cost) + CASE WHEN row_number() OVER (PARTITION BY u.organization_id
                                                        ORDER BY u.cost DESC, u.product_id) = 1
                                THEN c.direct_cost - sum(cents(u.cost)) OVER (PARTITION BY u.organization_id)
                                ELSE 0 END AS cost
    FROM product_usage AS u JOIN alignment_chargeback AS c USING (organization_id)
),
lines AS (
    SELECT organization_id, 1 AS kind, product_id AS sort_key,
           'Own usage: ' || product_id AS item,
           calls, cost AS amount_usd
    FROM product_lines
    UNION ALL
    SELECT c.organization_id, 2, '',
           format('Shared untagged cost: {:.1f}% of {}', coalesce(c.allocation_pct, 0),
                  usd_text((SELECT coalesce(sum(shared_cost), 0) FROM alignment_chargeback))),
           NULL, c.shared_cost
    FROM alignment_chargeback AS c
    WHERE (SELECT coalesce(sum(shared_cost), 0) FROM alignment_chargeback) <> 0
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
-- variance_cost = cost - tokens * overall cost per token: a variance
-- against the average that nets to zero over all organizations, not a saving.
-- cost is the organization's cost as the chargeback and its statement show
-- it (its cells of customer_org_month_cost); the unit costs and the
-- variance are on the calls' exact cost.
CREATE OR REPLACE TEMP TABLE alignment_showback AS
SELECT u.organization_id,
       sum(u.calls) AS calls,
       sum(u.tokens) AS tokens,
       any_value(s.cost) AS cost,
       pct(sum(u.cost), any_value(t.cost)) AS share_pct,
       money(safe_div(sum(u.cost) * 1000, sum(u.tokens))) AS cost_per_1k_tokens,
       money(safe_div(any_value(t.cost) * 1000, any_value(t.tokens))) AS avg_cost_per_1k_tokens,
       pct(safe_div(sum(u.cost), sum(u.tokens)), safe_div(any_value(t.cost), any_value(t.tokens)))
           AS unit_cost_vs_avg_pct,
       money(sum(u.cost) - safe_div(sum(u.tokens) * any_value(t.cost), any_value(t.tokens))) AS variance_cost,
       money(safe_div(sum(u.cost), sum(u.calls))) AS cost_per_call,
       money(safe_div(any_value(t.cost), any_value(t.calls))) AS avg_cost_per_call
FROM alignment_usage AS u CROSS JOIN alignment_totals AS t
JOIN alignment_org_cost AS s USING (organization_id)
GROUP BY u.organization_id;

-- query: showback
-- title: Showback: unit cost against the average
-- description: Each organization's cost per 1,000 tokens against the average over all calls; the variance is what it pays above (or below) the average unit cost. Variances net to zero: they are not savings.
-- chart: hbar
-- x: organization_id
-- y: variance_cost
SELECT organization_id, calls, tokens, cost, cost_per_1k_tokens, avg_cost_per_1k_tokens,
       unit_cost_vs_avg_pct, variance_cost, cost_per_call, avg_cost_per_call
FROM alignment_showback
ORDER BY variance_cost DESC, organization_id;

-- query: budget_vs_actual
-- title: Budget against actual
-- description: Each monthly budget (calendar month; --budgets FILE) against the scope's actual cost, month to date for the current month with a forecast to its end at the month-to-date run rate. Without a budgets file the table says so: nothing here is a budget otherwise.
-- chart: bar
-- x: _label
-- y: budget_usd, actual, forecast_month_end
-- format: actual=money, forecast_month_end=money
SELECT month, scope, scope_id, budget_usd, actual, used_pct, forecast_month_end, status,
       days_covered, days_in_month, month || ' ' || scope_id AS _label
FROM budget_vs_actual
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       'no budgets given: pass --budgets FILE (month, scope, scope_id, budget_usd)', NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM budget_vs_actual)
ORDER BY month NULLS FIRST, scope, scope_id;

-- query: headline
SELECT label, value, unit FROM (VALUES
    -- the organizations' cost as charged back, in cents (the chargeback rows
    -- and the cost by organization add up to it as shown): every cell of
    -- customer_org_month_cost, tagged or in the shared pool, whether or not
    -- an organization is there to take the pool. Within a few cents of the
    -- calls' cost rounded once (understanding's total AI cost): each
    -- customer's month is rounded first.
    (1, 'Total cost charged back for ' || (SELECT period_label FROM finance_period),
        (SELECT CAST(coalesce(sum(cost), 0) AS DECIMAL(38, 6)) FROM customer_org_month_cost), 'usd'),
    (2, 'Organizations', (SELECT money(count(DISTINCT organization_id)) FROM alignment_usage), 'count'),
    (3, format('Non-production share (target {:.1f}%)', CAST(getvariable('non_production_target_pct') AS DOUBLE)),
        (SELECT money(pct(non_production_cost, cost)) FROM alignment_totals), 'pct'),
    (4, 'Largest organization share', (SELECT money(max(share_pct)) FROM alignment_showback), 'pct')
) AS t(n, label, value, unit)
ORDER BY n;

-- query: recommendations
-- title: Actions
-- description: This report's actions from the one ledger of actions, per 30-day month: the non-production target (a target, not a saving).
-- chart: none
SELECT * FROM report_actions('alignment') ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Budgets over or forecast over, under the one alert policy (money per 30-day month against monthly spend). Non-production spend above its target share is a target in the actions, not an alert: a gap to a target is no money lost or at risk. A unit-cost variance between organizations nets to zero across them and raises no alert, nor does one organization's share of spend, which is no money at stake (see the showback table).
-- chart: none
-- A budget alert is the forecast month-end cost above the budget (the
-- budget is monthly). Non-production spend above its target share is the ledger's
-- target (recommendations), with no severity, as every target.
-- An organization's share of spend is no money at stake (nothing is lost
-- or at risk because one team spends most): the showback table shows each
-- share, and no alert is raised on it.
WITH fp AS (SELECT * FROM finance_period),
alerts AS (
    SELECT format('{} {}: {} for {}', scope, scope_id, status, month) AS title,
           format('Actual {} against a {} budget ({:.1f}%); {} {}: {} over the budget for the month.',
                  usd_text(actual), usd_text(budget_usd), used_pct,
                  CASE WHEN month_state = 'open' THEN 'at the month-to-date rate the month ends at'
                       ELSE 'the month closed at' END,
                  usd_text(forecast_month_end), usd_text(forecast_month_end - budget_usd)) AS detail,
           forecast_month_end - budget_usd AS amount_usd,
           CASE WHEN month_state = 'open' THEN 'forecast cost over budget, ' ELSE 'cost over budget, ' END
               || month AS amount_label
    FROM budget_vs_actual WHERE status IN ('over budget', 'forecast over')
)
SELECT severity, title, detail, amount_usd, amount_label
FROM (SELECT alert_severity(amount_usd) AS severity, *
      FROM alerts)
WHERE severity IS NOT NULL
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;
