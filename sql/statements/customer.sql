-- name: customer
-- title: Customer statement
-- category: ubr
-- version: 6
-- description: One page per customer for the period: usage, AI cost,
--   subscription revenue (billed day by day at that day's tier, or from the
--   subscriptions file, as customer_economics), margin, AI cost against its
--   fee-based allocation (the fee it pays, not a budget), its budget from the
--   budgets file if any, and the costliest sessions. One run covers every
--   customer (grouped by customer_id), or one when the parameter is set.
-- param: customer_id = | One customer (empty: all, one page each)
-- param: top_sessions = 5 | Sessions listed per customer

-- query: _scope
CREATE OR REPLACE TEMP VIEW statement_customer_calls AS
SELECT * FROM calls
WHERE coalesce(getvariable('customer_id'), '') = ''
   OR customer_id = getvariable('customer_id');

-- query: summary
-- title: Statement
-- description: Usage, cost, revenue and margin for the period. Monthly AI cost and the fee-based allocation (the fee it pays, not a budget) are both per 30-day month of its billed days; allocation risk is high above 100% (it costs more than it pays), medium at 80%. Budget columns come from the budgets file (customer scope, the calendar month of the period's last call date); without one the statement says "no budget".
-- AI cost, revenue and margin are customer_shown's (sql/finance.sql), in
-- cents: the cost is the sum of the "Month by month" rows as shown, the
-- margin the revenue less that cost, as shown; profitability and pricing
-- add the same figures. Allocation figures come from customer_allocation (sql/finance.sql), the
-- same definition realtime shows. budget_* come from budget_vs_actual (the
-- budgets file): budget_risk is its status for the calendar month holding
-- the period's last call date (over budget, forecast over, on track), or
-- 'no budget' when the file has no customer budget for that month.
WITH budget AS (
    SELECT b.scope_id AS customer_id, b.month AS budget_month, b.budget_usd,
           b.actual AS budget_month_cost, b.forecast_month_end AS forecast_month_end_cost,
           b.used_pct AS budget_used_pct, b.status
    FROM budget_vs_actual AS b CROSS JOIN period AS p
    WHERE b.scope = 'customer' AND b.month = strftime(p.last_date, '%Y-%m')
)
SELECT e.customer_id, e.organization_id, e.subscription_tier,
       e.first_date AS first_call_date, e.last_date AS last_call_date,
       e.tenure_days AS billed_days, e.calls,
       e.input_tokens + e.output_tokens AS tokens,
       c.cost AS ai_cost, c.revenue AS subscription_revenue, c.margin,
       pct(c.margin, c.revenue) AS margin_pct,
       a.monthly_cost AS monthly_ai_cost,
       a.allocation,
       a.used_pct AS allocation_used_pct,
       a.risk AS allocation_risk,
       coalesce(b.budget_month, strftime(p.last_date, '%Y-%m')) AS budget_month,
       b.budget_usd, b.budget_month_cost, b.forecast_month_end_cost, b.budget_used_pct,
       coalesce(b.status, 'no budget') AS budget_risk
FROM customer_economics AS e
JOIN customer_shown AS c USING (customer_id)
JOIN customer_allocation AS a USING (customer_id)
LEFT JOIN budget AS b USING (customer_id)
CROSS JOIN period AS p
WHERE coalesce(getvariable('customer_id'), '') = ''
   OR e.customer_id = getvariable('customer_id')
ORDER BY e.customer_id;

-- query: by_feature
-- title: Usage by feature
-- description: The customer's calls and AI cost by feature. Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
SELECT customer_id, feature_id, count(*) AS calls, sum(total_tokens) AS tokens,
       sum(cost_usd) AS cost
FROM statement_customer_calls
GROUP BY customer_id, feature_id
ORDER BY customer_id, cost DESC, feature_id;

-- query: by_model
-- title: Usage by model
-- description: The customer's calls and AI cost by provider and model. Each row is its own cost to the cent (under a cent: < $0.01), so the rows may differ from the statement's total by a few cents of rounding; the Month by month rows add up to it.
SELECT customer_id, provider, model, count(*) AS calls, sum(cost_usd) AS cost
FROM statement_customer_calls
GROUP BY customer_id, provider, model
ORDER BY customer_id, cost DESC, provider, model;

-- query: monthly
-- title: Month by month
-- description: Calls and AI cost in each calendar month (the first and last may be partial), each to the cent, adding up to the statement's AI cost; with the month's budget, the cost it is measured against and its status from the budgets file ("no budget" without one), so a month over budget shows even when the last one is on track.
WITH months AS (
    SELECT customer_id, month, calls, cost
    FROM customer_month_cost
    WHERE coalesce(getvariable('customer_id'), '') = ''
       OR customer_id = getvariable('customer_id')
)
SELECT m.customer_id, m.month, m.calls, m.cost,
       b.budget_usd, b.actual AS budget_month_cost, b.used_pct AS budget_used_pct,
       coalesce(b.status, 'no budget') AS budget_status
FROM months AS m
LEFT JOIN budget_vs_actual AS b
       ON b.scope = 'customer' AND b.scope_id = m.customer_id AND b.month = m.month
ORDER BY m.customer_id, m.month;

-- query: top_sessions
-- title: Costliest sessions
-- description: The customer's sessions with the highest AI cost (calls without a session_id are left out).
SELECT customer_id, session_id, count(*) AS calls, sum(cost_usd) AS cost,
       min("timestamp") AS first_call, max("timestamp") AS last_call
FROM statement_customer_calls
WHERE session_id <> ''
GROUP BY customer_id, session_id
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY sum(cost_usd) DESC, session_id)
        <= getvariable('top_sessions')
ORDER BY customer_id, cost DESC, session_id;
