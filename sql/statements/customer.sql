-- name: customer
-- title: Customer statement
-- category: ubr
-- version: 3
-- description: One page per customer for the period: usage, AI cost,
--   subscription revenue (billed day by day at that day's tier, or from the
--   subscriptions file, as customer_economics), margin, the AI cost of the
--   last 30 days against the monthly fee (a fee-based allocation, not a
--   budget: budgets come from --budgets), and the costliest sessions. One
--   run covers every customer (grouped by customer_id), or one when the
--   parameter is set.
-- param: customer_id = | One customer (empty: all, one page each)
-- param: top_sessions = 5 | Sessions listed per customer

-- query: _scope
CREATE OR REPLACE TEMP VIEW statement_customer_calls AS
SELECT * FROM calls
WHERE coalesce(getvariable('customer_id'), '') = ''
   OR customer_id = getvariable('customer_id');

-- query: summary
-- title: Statement
-- description: Usage, cost, revenue and margin for the period; the fee-based allocation is the tier's monthly fee, and "used" is the AI cost of the 30 days ending at the period's last call date against it (high at 100%, medium at 80%). It is not a budget.
WITH recent AS (
    SELECT c.customer_id, sum(c.cost_usd) AS cost
    FROM statement_customer_calls AS c CROSS JOIN period AS p
    WHERE c.call_date >= p.last_date - 29
    GROUP BY c.customer_id
)
SELECT e.customer_id, e.organization_id, e.subscription_tier,
       e.first_date AS first_call_date, e.last_date AS last_call_date,
       e.tenure_days AS billed_days, e.calls,
       e.input_tokens + e.output_tokens AS tokens,
       e.cost AS ai_cost, e.revenue AS subscription_revenue, e.revenue - e.cost AS margin,
       pct(e.revenue - e.cost, e.revenue) AS margin_pct,
       coalesce(r.cost, 0) AS last_30_days_cost,
       e.monthly_fee,
       pct(coalesce(r.cost, 0), e.monthly_fee) AS fee_allocation_used_pct,
       CASE WHEN pct(coalesce(r.cost, 0), e.monthly_fee) >= 100 THEN 'high'
            WHEN pct(coalesce(r.cost, 0), e.monthly_fee) >= 80 THEN 'medium'
            ELSE 'low' END AS fee_allocation_risk
FROM customer_economics AS e
LEFT JOIN recent AS r USING (customer_id)
WHERE coalesce(getvariable('customer_id'), '') = ''
   OR e.customer_id = getvariable('customer_id')
ORDER BY e.customer_id;

-- query: by_feature
-- title: Usage by feature
-- description: The customer's calls and AI cost by feature.
SELECT customer_id, feature_id, count(*) AS calls, sum(total_tokens) AS tokens,
       sum(cost_usd) AS cost
FROM statement_customer_calls
GROUP BY customer_id, feature_id
ORDER BY customer_id, cost DESC, feature_id;

-- query: by_model
-- title: Usage by model
-- description: The customer's calls and AI cost by provider and model.
SELECT customer_id, provider, model, count(*) AS calls, sum(cost_usd) AS cost
FROM statement_customer_calls
GROUP BY customer_id, provider, model
ORDER BY customer_id, cost DESC, provider, model;

-- query: monthly
-- title: Month by month
-- description: Calls and AI cost in each calendar month (the first and last may be partial).
SELECT customer_id, strftime(call_date, '%Y-%m') AS month, count(*) AS calls,
       sum(cost_usd) AS cost
FROM statement_customer_calls
GROUP BY customer_id, month
ORDER BY customer_id, month;

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
