-- name: realtime
-- title: Real-time decision making
-- category: finops
-- version: 2
-- description: What needs action now: calls far above their model's normal
--   cost, customers whose daily spend spikes, each customer's spend against
--   its monthly allocation, premium models on simple tasks, and the alert
--   rules evaluated with the dollars at stake.
-- param: sigma = 3.0 min 0 | A call is anomalous when its cost is more than this many standard deviations above its model's mean
-- param: spike_ratio = 5.0 min 1 | A customer-day is a spike when its cost is more than this many times the customer's baseline
-- param: usage_revenue_pct = 30.0 min 0 | Alert when a customer's AI cost exceeds this share of its revenue (percent)
-- param: allocation_pct = 100.0 min 1 | A customer's monthly AI allocation as a share of its tier's monthly fee (percent)

-- query: _model_stats
-- Mean and sample standard deviation (as stddev_samp) of cost per model. A
-- model with one call has a NULL deviation and so no anomalies. Computed
-- from exact integer sums of micro-dollars, sd = sqrt((n * sum(x^2) -
-- sum(x)^2) / (n * (n - 1))): a parallel sum of doubles differs in its last
-- bits from run to run, which would make z-scores (and golden files) flaky.
CREATE OR REPLACE TEMP TABLE realtime_model_stats AS
WITH sums AS (
    SELECT provider, model, count(*) AS calls,
           -- micro-dollars as BIGINT, whole and fraction apart: exact, and no
           -- overflow for a call up to the contract's limit ($999,999,999,999.999999)
           sum(CAST(trunc(cost_usd) AS BIGINT) * 1000000
               + CAST((cost_usd - trunc(cost_usd)) * 1000000 AS BIGINT)) AS sx,
           sum(CAST(CAST(trunc(cost_usd) AS BIGINT) * 1000000
                    + CAST((cost_usd - trunc(cost_usd)) * 1000000 AS BIGINT) AS HUGEINT)
               * CAST(CAST(trunc(cost_usd) AS BIGINT) * 1000000
                      + CAST((cost_usd - trunc(cost_usd)) * 1000000 AS BIGINT) AS HUGEINT)) AS sxx
    FROM calls
    GROUP BY provider, model
)
SELECT provider, model, calls,
       CAST(sx AS DOUBLE) / calls / 1000000 AS mean_cost,
       CASE WHEN calls > 1
            THEN sqrt(CAST(calls * sxx - sx * sx AS DOUBLE) / (calls * (calls - 1))) / 1000000
       END AS sd_cost
FROM sums;

-- query: _customer_days
-- Cost per customer and active day (a day with at least one call).
CREATE OR REPLACE TEMP TABLE realtime_customer_days AS
SELECT customer_id, call_date, count(*) AS calls, sum(cost_usd) AS cost
FROM calls
GROUP BY customer_id, call_date;

-- query: _budget
-- monthly_cost = the customer's cost on the 30 days ending at the file's
-- last call date, both ends included (call_date >= last_date - 29);
-- allocation = latest tier's monthly fee x allocation_pct / 100;
-- used_pct = pct(monthly_cost, allocation); risk high at >= 100%, medium at
-- >= 80%, else low; revenue_at_risk = the monthly fee when risk is high.
CREATE OR REPLACE TEMP TABLE realtime_budget AS
WITH recent AS (
    SELECT d.customer_id, sum(d.cost) AS cost, sum(d.calls) AS calls
    FROM realtime_customer_days AS d CROSS JOIN period AS p
    WHERE d.call_date >= p.last_date - 29
    GROUP BY d.customer_id
),
budget AS (
    SELECT e.customer_id, e.subscription_tier, e.organization_id,
           coalesce(r.cost, CAST(0 AS DECIMAL(38, 6))) AS monthly_cost,
           money(e.monthly_fee * getvariable('allocation_pct') / 100) AS allocation,
           e.monthly_fee, e.revenue, e.cost AS total_cost,
           coalesce(r.calls, 0) AS monthly_calls
    FROM customer_economics AS e
    LEFT JOIN recent AS r USING (customer_id)
)
SELECT *, pct(monthly_cost, allocation) AS used_pct,
       CASE WHEN pct(monthly_cost, allocation) >= 100 THEN 'high'
            WHEN pct(monthly_cost, allocation) >= 80 THEN 'medium'
            ELSE 'low' END AS risk
FROM budget;

-- query: _spikes
-- baseline = the customer's average daily cost over its other active days
-- ((customer total - this day) / (active days - 1)); a customer with one
-- active day has no baseline and is never a spike. ratio = cost / baseline.
CREATE OR REPLACE TEMP TABLE realtime_spikes AS
WITH days AS (
    SELECT customer_id, call_date, calls, cost,
           sum(cost) OVER (PARTITION BY customer_id) AS customer_cost,
           count(*) OVER (PARTITION BY customer_id) AS active_days
    FROM realtime_customer_days
)
SELECT customer_id, call_date, calls, cost,
       money((customer_cost - cost) / (active_days - 1)) AS baseline,
       safe_div(cost * (active_days - 1), customer_cost - cost) AS ratio,
       active_days
FROM days
WHERE active_days > 1
  AND safe_div(cost * (active_days - 1), customer_cost - cost) > getvariable('spike_ratio');

-- query: _anomalies
-- Calls whose cost is more than sigma standard deviations above their
-- model's mean: z_score = (cost - mean) / stddev_samp > sigma. Calls are
-- filtered against the small per-model table, one hash join.
CREATE OR REPLACE TEMP TABLE realtime_anomalies AS
SELECT c.call_id, c.customer_id, c.model, c.cost_usd,
       safe_div(CAST(c.cost_usd AS DOUBLE) - s.mean_cost, s.sd_cost) AS z_score,
       c.provider, c."timestamp", c.task_type, c.feature_id,
       money(s.mean_cost) AS model_avg_cost
FROM calls AS c
JOIN realtime_model_stats AS s
  ON s.provider = c.provider AND s.model = c.model
WHERE s.sd_cost > 0
  AND CAST(c.cost_usd AS DOUBLE) > s.mean_cost + getvariable('sigma') * s.sd_cost;

-- query: _inefficient
-- Premium models on simple tasks (qa, chat, summarization, translation),
-- repriced with the same tokens at the economy model of the same provider
-- family from model_prices.
CREATE OR REPLACE TEMP TABLE realtime_inefficient AS
WITH usage AS (
    SELECT provider, model, task_type, count(*) AS calls, sum(cost_usd) AS cost,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
    FROM calls
    WHERE task_type IN ('qa', 'chat', 'summarization', 'translation')
    GROUP BY provider, model, task_type
)
SELECT u.provider, u.model, u.task_type, m.economy_model, u.calls, u.cost,
       token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS economy_cost,
       u.cost - token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS savings
FROM usage AS u
JOIN model_prices AS m ON m.provider = u.provider AND m.model = u.model AND m.model_class = 'premium'
JOIN model_prices AS e ON e.provider = m.provider AND e.model = m.economy_model;

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Customers over allocation' AS label,
           money(count(*) FILTER (WHERE risk = 'high')) AS value, 'count' AS unit
    FROM realtime_budget
    UNION ALL
    SELECT 2, 'Revenue at risk',
           money(coalesce(sum(monthly_fee) FILTER (WHERE risk = 'high'), 0)), 'usd'
    FROM realtime_budget
    UNION ALL
    SELECT 3, 'Anomalous calls', money(count(*)), 'count' FROM realtime_anomalies
    UNION ALL
    SELECT 4, 'Daily spikes', money(count(*)), 'count' FROM realtime_spikes
)
ORDER BY position;

-- query: anomalous_calls
-- title: Anomalous calls
-- description: Calls costing more than sigma (default 3) standard deviations above their model's mean, worst first.
-- chart: none
-- limit: 50
SELECT call_id, customer_id, model, cost_usd, z_score,
       provider, "timestamp", task_type, feature_id, model_avg_cost
FROM realtime_anomalies
ORDER BY z_score DESC, call_id;

-- query: daily_spikes
-- title: Daily cost spikes
-- description: Customer-days costing more than 5 times (by default) the customer's average over its other active days.
-- chart: bar
-- x: customer_id
-- y: cost, baseline
-- limit: 50
SELECT customer_id, call_date, cost, baseline, ratio, calls, active_days
FROM realtime_spikes
ORDER BY ratio DESC, customer_id, call_date;

-- query: budget_status
-- title: Budget status
-- description: Each customer's AI cost in the 30 days ending at the last call date against its allocation (the tier's monthly fee); high risk at 100%, medium at 80%.
-- chart: hbar
-- x: customer_id
-- y: used_pct
-- limit: 15
SELECT customer_id, subscription_tier, monthly_cost, allocation, used_pct, risk,
       CASE WHEN risk = 'high' THEN monthly_fee ELSE CAST(0 AS DECIMAL(18, 6)) END AS revenue_at_risk,
       organization_id, monthly_calls
FROM realtime_budget
ORDER BY used_pct DESC NULLS LAST, customer_id;

-- query: budget_by_risk
-- title: Customers by budget risk
-- description: How many customers are at each risk level, and the monthly fees they pay.
-- chart: doughnut
-- x: risk
-- y: customers
SELECT r.risk, count(b.customer_id) AS customers,
       coalesce(sum(b.monthly_cost), 0) AS monthly_cost,
       coalesce(sum(b.monthly_fee), 0) AS monthly_fee
FROM (VALUES ('high', 1), ('medium', 2), ('low', 3)) AS r(risk, position)
LEFT JOIN realtime_budget AS b USING (risk)
GROUP BY r.risk, r.position
ORDER BY r.position;

-- query: inefficient_patterns
-- title: Premium models on simple tasks
-- description: Simple-task calls on premium models and what the same tokens cost on the provider's economy model.
-- chart: hbar
-- x: label
-- y: savings
-- limit: 25
SELECT model, task_type, economy_model, calls, cost, economy_cost, savings,
       pct(savings, cost) AS savings_pct, provider,
       task_type || ': ' || model AS label
FROM realtime_inefficient
ORDER BY savings DESC, model, task_type;

-- query: _rules
-- The alert rules, evaluated. amount_usd is the money each rule puts at
-- stake: AI cost above usage_revenue_pct of revenue (the excess), spike
-- cost above baseline (the excess), the monthly fees of customers at or
-- over 80% of their allocation, and anomalous cost above the model mean.
-- top_customers lists the customers by the amount they put at stake.
CREATE OR REPLACE TEMP TABLE realtime_rules AS
SELECT 1 AS position, 'AI cost over ' || format('{:.0f}', getvariable('usage_revenue_pct')) || '% of revenue' AS rule,
       'customer cost > ' || format('{:.0f}', getvariable('usage_revenue_pct')) || '% x prorated revenue' AS condition,
       count(*) AS triggered, count(*) AS customers,
       coalesce(sum(total_cost - money(revenue * getvariable('usage_revenue_pct') / 100)), 0) AS amount_usd,
       string_agg(customer_id, ', ' ORDER BY total_cost - revenue * getvariable('usage_revenue_pct') / 100 DESC, customer_id) AS top_customers
FROM realtime_budget
WHERE total_cost > revenue * getvariable('usage_revenue_pct') / 100
UNION ALL
SELECT 2, 'Daily spike over ' || format('{:.0f}', getvariable('spike_ratio')) || 'x the customer average',
       'customer-day cost > ' || format('{:.0f}', getvariable('spike_ratio')) || ' x baseline',
       coalesce(sum(days), 0), count(*), coalesce(sum(excess), 0),
       string_agg(customer_id, ', ' ORDER BY excess DESC, customer_id)
FROM (SELECT customer_id, count(*) AS days, sum(cost - baseline) AS excess
      FROM realtime_spikes GROUP BY customer_id)
UNION ALL
SELECT 3, 'Over 80% of allocation', 'last 30 days cost >= 80% x allocation',
       count(*), count(*),
       coalesce(sum(monthly_fee), 0),
       string_agg(customer_id, ', ' ORDER BY used_pct DESC, customer_id)
FROM realtime_budget
WHERE used_pct >= 80
UNION ALL
SELECT 4, 'Anomalous call cost', 'call cost > model mean + ' || format('{:.0f}', getvariable('sigma')) || ' sd',
       coalesce(sum(anomalies), 0), count(*), coalesce(sum(excess), 0),
       string_agg(customer_id, ', ' ORDER BY excess DESC, customer_id)
FROM (SELECT customer_id, count(*) AS anomalies, sum(cost_usd - model_avg_cost) AS excess
      FROM realtime_anomalies GROUP BY customer_id);

-- query: alert_rules
-- title: Alert rules
-- description: Each rule, its condition, how often it fired and the dollars at stake.
-- chart: none
SELECT rule, condition, CASE WHEN triggered > 0 THEN 'triggered' ELSE 'ok' END AS status,
       triggered, customers, amount_usd
FROM realtime_rules
ORDER BY position;

-- query: alerts
-- title: Alerts
-- description: Rules that fired; customers over their allocation are high severity.
-- chart: none
-- Severity levels: over 100% of allocation is high (revenue at risk); 80-100% of
-- allocation, cost over the revenue share and spikes are medium;
-- anomalous calls are low. Details name up to five customers.
WITH over_budget AS (
    SELECT risk, count(*) AS customers, sum(monthly_fee) AS fees, sum(monthly_cost) AS cost,
           list(customer_id ORDER BY used_pct DESC, customer_id) AS ids
    FROM realtime_budget
    WHERE risk IN ('high', 'medium')
    GROUP BY risk
),
items AS (
    SELECT CASE risk WHEN 'high' THEN 'high' ELSE 'medium' END AS severity,
           CASE risk WHEN 'high' THEN 'Customers over their AI allocation'
                     ELSE 'Customers at 80-100% of their AI allocation' END AS title,
           format('{:,} customer(s) spent ${:,.2f} on AI in the last 30 days against ${:,.2f} of monthly fees: {}{}.',
                  customers, cost, fees, array_to_string(ids[1:5], ', '),
                  CASE WHEN customers > 5 THEN format(' and {:,} more', customers - 5) ELSE '' END) AS detail,
           fees AS amount_usd, CASE risk WHEN 'high' THEN 1 ELSE 2 END AS position
    FROM over_budget
    UNION ALL
    SELECT CASE WHEN position = 4 THEN 'low' ELSE 'medium' END, rule,
           format('{:,} triggered for {:,} customers; ${:,.2f} at stake (customers: {}{}).',
                  triggered, customers, amount_usd,
                  array_to_string(string_split(top_customers, ', ')[1:5], ', '),
                  CASE WHEN customers > 5 THEN format(' and {:,} more', customers - 5) ELSE '' END),
           amount_usd, position + 2
    FROM realtime_rules
    WHERE triggered > 0 AND position IN (1, 2, 4)
)
SELECT severity, title, detail, amount_usd
FROM items
ORDER BY position, title;

-- query: recommendations
-- title: Prioritised actions
-- description: What to do first, by dollars at stake: customers over allocation, the biggest spikes and premium models on simple tasks.
-- chart: none
-- One item per customer over allocation (monthly fee at risk), per spike
-- (cost above baseline) and per premium-model pattern (savings scaled to a
-- month: x 30 / period_days, so they compare with monthly fees), at most
-- five of each kind, then ranked by amount.
WITH items AS (
    SELECT format('Upgrade or cap {} ({})', customer_id, subscription_tier) AS title,
           format('{} spent ${:,.2f} on AI in the last 30 days, {:.0f}% of its ${:,.2f} allocation; its ${:,.2f} monthly fee is at risk.',
                  customer_id, monthly_cost, used_pct, allocation, monthly_fee) AS detail,
           monthly_fee AS amount_usd
    FROM realtime_budget
    WHERE risk = 'high'
    QUALIFY row_number() OVER (ORDER BY used_pct DESC, customer_id) <= 5
    UNION ALL
    SELECT format('Investigate {}''s spike on {}', customer_id, call_date),
           format('${:,.2f} in one day, {:.1f}x its ${:,.2f} daily baseline.', cost, ratio, baseline),
           cost - baseline
    FROM realtime_spikes
    QUALIFY row_number() OVER (ORDER BY cost - baseline DESC, customer_id, call_date) <= 5
    UNION ALL
    SELECT format('Move {} calls from {} to {}', task_type, model, economy_model),
           format('{:,} calls cost ${:,.2f}; the same tokens on {} cost ${:,.2f}: saves ${:,.2f} over the {} days, ${:,.2f} a month.',
                  i.calls, i.cost, i.economy_model, i.economy_cost, i.savings, p.period_days,
                  money(i.savings * 30 / p.period_days)),
           money(i.savings * 30 / p.period_days)
    FROM realtime_inefficient AS i CROSS JOIN period AS p
    WHERE i.savings > 0
    QUALIFY row_number() OVER (ORDER BY i.savings DESC, i.model, i.task_type) <= 5
)
SELECT CAST(row_number() OVER (ORDER BY amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail, amount_usd
FROM items
ORDER BY priority;
