-- name: profitability
-- title: Customer profitability
-- category: ubr
-- version: 11
-- description: Revenue from each customer's subscription, each day billed at
--   that day's tier, against the AI cost it causes: margin per customer and
--   per tier, the margin distribution, the customers that lose money, and
--   what to do about them (upgrade or cap) per 30-day month. Calls without
--   a customer (customer_id 'unattributed') have no subscription and no
--   revenue: they are no customer here and are shown apart.
-- param: cost_cap_pct = 80 min 0 | AI cost cap offered to unprofitable customers, as a percent of their current tier's monthly fee
-- param: top_n = 10 min 1 | Unprofitable customers listed by loss

-- query: _customers
-- One row per customer (aggregated once, then reused by every query).
-- Revenue is customer_economics.revenue (sql/finance.sql): each billed day
-- at that day's monthly fee / 30 (the file's partial end day for the part
-- the calls cover), over the days from the first call date to the end of
-- the period, or to the last call date for a lapsed customer (silent
-- quiet_days, 7, or more before the file's last call date: lapsed), or
-- the subscriptions file's days. Revenue, cost and margin are in cents as
-- each customer's statement shows them (customer_shown), so every total
-- below (tiers, bands, organizations, the headline) is the sum of the
-- customers' statements. status: a customer is unprofitable when margin < 0 (the
-- unrounded margin, as the ledger's caps); break-even
-- (margin = 0) counts as profitable, like the 0-20% margin bucket.
CREATE OR REPLACE TEMP TABLE profitability_customers AS
SELECT e.customer_id, e.subscription_tier, e.organization_id, e.product_id,
       e.calls, e.tenure_days, e.monthly_fee, t.tier_rank,
       c.revenue, c.cost, e.tier_changes, e.revenue_source, e.lapsed,
       c.margin,
       pct(c.margin, c.revenue) AS margin_pct,
       CASE WHEN e.revenue - e.cost < 0 THEN 'unprofitable' ELSE 'profitable' END AS status
FROM customer_economics AS e
JOIN customer_shown AS c USING (customer_id)
JOIN subscription_tiers AS t USING (subscription_tier);

-- query: _interventions
-- Each unprofitable customer with two remedies, from the ledger's
-- definition (ledger_caps in sql/finance.sql), over its billed days:
-- upgrade: the next tier's fee instead of the current one,
--   (next_fee - fee) * covered billed days / 30 (none above the top tier);
-- cap: AI cost limited to cost_cap_pct % of its current tier's fee over its
--   billed days (the revenue of the tier it is on now); cap_savings is the
--   cost above that cap.
-- The upgrade is proposed when it alone makes the customer break even
-- (margin + upgrade_revenue >= 0) and its fee rise is within pricing's
-- churn rule (upgrade_rise_pct <= churn_increase_pct: the customer stays);
-- otherwise the cap (ledger_caps.proposed).
CREATE OR REPLACE TEMP TABLE profitability_interventions AS
SELECT customer_id, subscription_tier, organization_id, tenure_days,
       revenue, cost, revenue - cost AS margin,
       upgrade_tier, upgrade_revenue, upgrade_rise_pct, upgrade_keeps_customer, cap_savings,
       proposed AS cap_proposed, upgrade_proposed
FROM ledger_caps;

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Total margin for ' || (SELECT period_label FROM finance_period) AS label, money(sum(margin)) AS value, 'usd' AS unit
    FROM profitability_customers
    UNION ALL
    SELECT 2, 'Margin', money(pct(sum(margin), sum(revenue))), 'pct' FROM profitability_customers
    UNION ALL
    -- why some revenue stops before the period's end (the customers table's lapsed column)
    SELECT 3, format('Lapsed customers (silent {}+ days: billed to their last call)',
                     (SELECT value FROM finance_assumptions WHERE name = 'quiet_days')),
           money(count(*) FILTER (WHERE lapsed)), 'count'
    FROM profitability_customers
    UNION ALL
    SELECT 4, 'Loss on unprofitable customers for ' || (SELECT period_label FROM finance_period),
           money(coalesce(-sum(margin) FILTER (WHERE status = 'unprofitable'), 0)), 'usd'
    FROM profitability_customers
)
ORDER BY position;

-- query: customers
-- title: Margin by customer
-- description: Each customer's subscription revenue (each day at that day's tier, from its first call to the end of the period, or to its last call when it has lapsed: silent for the quiet days of the finance assumptions, 7 by default, or more before the file's last call date) against its AI cost, worst margin first.
-- chart: hbar
-- x: customer_id
-- y: margin
-- limit: 25
SELECT customer_id, subscription_tier, organization_id, calls, tenure_days,
       revenue, cost, margin, margin_pct, status,
       product_id, monthly_fee, tier_changes, revenue_source, lapsed
FROM profitability_customers
ORDER BY margin, customer_id;

-- query: unattributed
-- title: AI cost without a customer
-- description: Calls made outside any attribution block (customer_id 'unattributed'): no subscription pays for them, so they have no revenue and no margin and are not a customer above. Attribute them to bill or allocate them (agents report).
-- chart: none
SELECT calls, cost, input_tokens, output_tokens, active_days, first_date, last_date
FROM unattributed_usage
WHERE calls > 0;

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
-- description: For each customer that loses money, over its billed days: the next tier's extra revenue (none above the top tier) and its fee rise, the cost a cap at a share of its current tier's fee avoids, and the proposed remedy: the upgrade only when it covers the loss and its fee rise is within pricing's churn rule (a bill rising more than the churn threshold of the finance assumptions, 25% by default, makes the customer likely to leave), else the cap; none when its cost is already within the cap at the fee it pays now.
-- chart: hbar
-- x: customer_id
-- y: upgrade_revenue, cap_savings
-- limit: 25
SELECT customer_id, subscription_tier, organization_id, revenue, cost, margin,
       upgrade_tier, upgrade_revenue, upgrade_rise_pct, cap_savings,
       CASE WHEN upgrade_proposed THEN 'upgrade to ' || upgrade_tier
            WHEN cap_proposed THEN 'cap AI cost at ' || getvariable('cost_cap_pct') || '% of its current fee'
            ELSE 'none: its cost is within the cap at its current fee' END AS intervention,
       CASE WHEN upgrade_proposed THEN upgrade_revenue
            WHEN cap_proposed THEN cap_savings ELSE 0 END AS amount_usd
FROM profitability_interventions
ORDER BY margin, customer_id;

-- query: recommendations
-- title: Actions
-- description: This report's actions from the one ledger of actions, per 30-day month: upgrades that cover a customer's loss, caps for the rest, and customers likely to leave.
-- chart: none
SELECT * FROM report_actions('profitability') ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Losses, and AI cost outside a subscription, under the alert policy: severity by the money at stake per 30-day month against monthly spend; nothing below $10 a month or 1% of spend.
-- A tier or the whole book at a loss, unprofitable customers, thin margins
-- (0-20%, margin at stake). Amounts are per 30-day month (x 30 / period days).
WITH fp AS (SELECT * FROM finance_period),
totals AS (
    SELECT sum(revenue) AS revenue, sum(margin) AS margin FROM profitability_customers
), items AS (
    SELECT 1 AS position, 'The book loses money' AS title,
           format('AI cost exceeds subscription revenue by {} over the {}.', usd_text(-margin), days_text(fp.covered_days)) AS detail,
           per_month(-margin, fp.covered_days) AS amount_usd,
           'loss (cost above revenue), a 30-day month' AS amount_label
    FROM totals, fp WHERE margin < 0
    UNION ALL
    SELECT 2, 'The ' || subscription_tier || ' tier loses money',
           format('{} customers, margin {:.1f}%: a loss of {} over the {}. Raise the fee or add usage-based overage.',
                  count(*), pct(sum(margin), sum(revenue)), usd_text(-sum(margin)), days_text(any_value(fp.covered_days))),
           per_month(-sum(margin), any_value(fp.covered_days)), 'loss (cost above revenue), a 30-day month'
    FROM profitability_customers, fp
    GROUP BY subscription_tier HAVING sum(margin) < 0
    UNION ALL
    SELECT 3, format('{} unprofitable customer{}', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END),
           format('Their AI cost exceeds their revenue by {} over the {}; worst: {}.',
                  usd_text(-sum(c.margin)), days_text(any_value(fp.covered_days)), arg_min(c.customer_id, (c.margin, c.customer_id))),
           per_month(-sum(c.margin), any_value(fp.covered_days)), 'loss (cost above revenue), a 30-day month'
    FROM profitability_customers AS c, fp
    WHERE c.status = 'unprofitable'
    HAVING count(*) > 0
    UNION ALL
    SELECT 4, format('{} customer{} with a thin margin (0-20%)', count(*), CASE WHEN count(*) = 1 THEN '' ELSE 's' END),
           format('A little more usage makes them unprofitable; their margin is {} over the {}.',
                  usd_text(sum(margin)), days_text(any_value(fp.covered_days))),
           per_month(sum(margin), any_value(fp.covered_days)), 'their margin (revenue less cost), a 30-day month'
    FROM profitability_customers, fp
    WHERE margin_pct >= 0 AND margin_pct < 20
    HAVING count(*) > 0
    UNION ALL
    SELECT 5, format('Usage outside the subscription: {} customer{}', count(DISTINCT u.customer_id),
                     CASE WHEN count(DISTINCT u.customer_id) = 1 THEN '' ELSE 's' END),
           format('Calls on days no subscription covers (subscriptions file): {}; {} of AI cost no fee pays for over the {}. At each customer''s monthly fee those days would bill {} (days from the first to the last such call x fee / 30), the amount this alert is sized on. Bill it or end the access.',
                  string_agg(format('{} {} ({:,} calls over {} days, {} to {}, {} of AI cost, {} unbilled)',
                                    u.customer_id, u.side, u.calls, u.days,
                                    u.first_date, u.last_date, usd_text(u.cost), usd_text(u.unbilled_fee)), '; '
                             ORDER BY u.unbilled_fee DESC, u.customer_id, u.side),
                  usd_text(sum(u.cost)), days_text(any_value(fp.covered_days)), usd_text(sum(u.unbilled_fee))),
           per_month(sum(u.unbilled_fee), any_value(fp.covered_days)), 'fees not billed, a 30-day month'
    FROM unbilled_usage AS u, fp
    HAVING count(*) > 0
)
SELECT severity, title, detail || format(' That is {} a 30-day month.', usd_text(amount_usd)) AS detail, amount_usd,
       amount_label
FROM (SELECT alert_severity(i.amount_usd) AS severity, i.*
      FROM items AS i CROSS JOIN fp)
WHERE severity IS NOT NULL
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, position, amount_usd DESC, title;
