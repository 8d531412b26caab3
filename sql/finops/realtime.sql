-- name: realtime
-- title: Real-time decision making
-- category: finops
-- version: 13
-- description: What needs action now: calls whose cost per token is far off
--   their model and task, customers whose daily spend spikes, customers whose
--   AI cost runs past their fee (a margin finding), customers the calls show
--   likely to leave (revenue at risk, with the evidence), and the alert rules
--   evaluated under the alert policy.
-- param: robust_z = 3.5 min 0 | A call is anomalous when its log cost per token is more than this many robust deviations (1.4826 x MAD) above the median of its model and task
-- param: min_calls = 20 min 1 | Fewest calls a model and task need before their calls are scored
-- param: spike_ratio = 5.0 min 1 | A customer-day is a spike when its cost is more than this many times the customer's baseline
-- param: spike_min_days = 7 min 1 | Fewest other active days a customer needs for a baseline
-- param: spike_min_usd = 1.0 min 0 | Smallest excess over the baseline, in dollars, that makes a spike
-- param: usage_revenue_pct = 30.0 min 0 | Alert when a customer's AI cost exceeds this share of its revenue (percent)
-- param: allocation_pct = 100.0 min 1 | A customer's fee-based allocation as a share of its monthly fee (percent); not a budget

-- query: _priced
-- Each priced call's log cost per token. For a model in model_prices the
-- tokens are weighted by its list prices (cost / list-price cost of the
-- same input and output tokens), so the input/output mix does not move it;
-- for other models it is cost / total_tokens. A view: _scored keeps only
-- what the baselines need, _anomalies reads the calls again for the few
-- it lists (the same expression gives the same value both times).
CREATE OR REPLACE TEMP VIEW realtime_priced AS
SELECT *, ln(CAST(cost_usd AS DOUBLE) / unit_base) AS log_cpt
FROM (
    SELECT c.call_id, c.customer_id, c.provider, c.model, c.task_type, c.cost_usd,
           c."timestamp", c.feature_id, c.total_tokens,
           coalesce(nullif(CAST((c.input_tokens * p.input_per_1k + c.output_tokens * p.output_per_1k) / 1000 AS DOUBLE), 0),
                    CAST(c.total_tokens AS DOUBLE)) AS unit_base
    FROM calls AS c
    LEFT JOIN model_prices AS p USING (provider, model)
    WHERE c.cost_usd > 0
);

-- query: _groups
-- Each model and task type a number, so the scores below hold 12 bytes a
-- call (at 15M calls, names and ids beside every score took a gigabyte and
-- spilled to disk). finance_usage (sql/finance.sql) has every model and
-- task type the calls have.
CREATE OR REPLACE TEMP TABLE realtime_groups AS
SELECT provider, model, task_type,
       CAST(row_number() OVER (ORDER BY provider, model, task_type) AS INTEGER) AS group_id
FROM (SELECT DISTINCT provider, model, task_type FROM finance_usage);

-- query: _scored
CREATE OR REPLACE TEMP TABLE realtime_scored AS
SELECT g.group_id, x.log_cpt
FROM realtime_priced AS x
JOIN realtime_groups AS g USING (provider, model, task_type);

-- query: _model_stats
-- Robust baselines per model and task type on the log of cost per token
-- (see _priced): token-driven costs are skewed, so the mean and
-- standard deviation of raw cost flag long prompts, not wrong prices. The
-- median and the median absolute deviation (MAD, scaled by 1.4826 to match
-- a standard deviation under normality) of log cost per token give
-- robust_z = (log cpt - median) / (1.4826 * MAD). The spread is floored at
-- 0.05 (5% on the price scale): costs billed at list price, rounded to six
-- decimals, have a MAD near 0, and a rounding difference is no anomaly. A
-- model and task with fewer than min_calls calls is not scored. One-sided at
-- robust_z > 3.5, a log-normal cost per token flags 0.023% of calls
-- (1 - Phi(3.5)): the expected false-alarm rate.
CREATE OR REPLACE TEMP TABLE realtime_model_stats AS
WITH med AS (
    SELECT group_id, count(*) AS calls, median(log_cpt) AS median_log_cpt
    FROM realtime_scored GROUP BY group_id
), spread AS (
    SELECT m.group_id, m.calls, m.median_log_cpt,
           greatest(1.4826 * median(abs(x.log_cpt - m.median_log_cpt)), 0.05) AS robust_sd
    FROM med AS m JOIN realtime_scored AS x USING (group_id)
    GROUP BY m.group_id, m.calls, m.median_log_cpt
)
SELECT g.provider, g.model, g.task_type, s.calls, s.median_log_cpt, s.robust_sd
FROM spread AS s JOIN realtime_groups AS g USING (group_id);

-- query: _customer_days
-- Cost per customer and active day (a day with at least one call): the
-- shared per-customer-day aggregate of sql/finance.sql.
CREATE OR REPLACE TEMP TABLE realtime_customer_days AS
SELECT customer_id, call_date, calls, cost
FROM customer_call_days;

-- query: _budget
-- Each customer's AI cost against its fee-based allocation, from the one
-- definition (customer_allocation in sql/finance.sql): both per 30-day
-- month of the customer's billed days (monthly_cost = cost x 30 / billed
-- days; allocation = its average monthly fee x allocation_pct / 100, not a
-- budget: budgets are set by finance); risk high above 100% (at the default
-- allocation_pct, exactly profitability's unprofitable customers), medium at
-- >= 80%, else low: a margin finding. revenue_at_risk is the current
-- monthly fee of a customer the calls show likely to leave (churn_signals
-- in sql/finance.sql), with its evidence; 0 otherwise.
CREATE OR REPLACE TEMP TABLE realtime_budget AS
WITH scaled AS (
    SELECT customer_id, billed_days, monthly_cost,
           money(allocation * getvariable('allocation_pct') / 100) AS allocation,
           used_pct * 100 / getvariable('allocation_pct') AS used_pct
    FROM customer_allocation
)
SELECT e.customer_id, e.subscription_tier, e.organization_id,
       a.monthly_cost, a.allocation, a.used_pct, allocation_risk(a.monthly_cost, a.used_pct) AS risk,
       a.billed_days,
       e.monthly_fee, e.revenue, e.cost AS total_cost, e.tenure_days, e.calls,
       coalesce(c.revenue_at_risk, CAST(0 AS DECIMAL(18, 6))) AS revenue_at_risk,
       c.evidence AS churn_evidence
FROM customer_economics AS e
JOIN scaled AS a USING (customer_id)
LEFT JOIN churn_signals AS c USING (customer_id);

-- query: _spikes
-- baseline = the customer's average daily cost over its other active days
-- ((customer total - this day) / (active days - 1)); ratio = cost /
-- baseline. A spike needs ratio > spike_ratio, at least spike_min_days
-- other active days behind the baseline, and an excess (cost - baseline)
-- of spike_min_usd or more.
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
       active_days,
       cost - money((customer_cost - cost) / (active_days - 1)) AS excess_cost
FROM days
WHERE active_days - 1 >= getvariable('spike_min_days')
  AND safe_div(cost * (active_days - 1), customer_cost - cost) > getvariable('spike_ratio')
  AND cost - money((customer_cost - cost) / (active_days - 1)) >= getvariable('spike_min_usd');

-- query: _anomalies
-- Calls whose robust_z (see _model_stats) exceeds robust_z; expected_cost =
-- the call's (price-weighted) tokens at its model and task's median cost per token,
-- excess_cost = cost - expected_cost.
CREATE OR REPLACE TEMP TABLE realtime_anomalies AS
SELECT x.call_id, x.customer_id, x.model, x.cost_usd,
       (x.log_cpt - s.median_log_cpt) / s.robust_sd AS z_score,
       x.provider, x."timestamp", x.task_type, x.feature_id, x.total_tokens,
       money(x.unit_base * exp(s.median_log_cpt)) AS expected_cost,
       x.cost_usd - money(x.unit_base * exp(s.median_log_cpt)) AS excess_cost
FROM realtime_priced AS x
JOIN realtime_model_stats AS s USING (provider, model, task_type)
WHERE s.calls >= getvariable('min_calls') AND s.robust_sd > 0
  AND (x.log_cpt - s.median_log_cpt) / s.robust_sd > getvariable('robust_z');

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Revenue at risk per 30-day month' AS label,
           money(coalesce(sum(revenue_at_risk), 0)) AS value, 'usd' AS unit
    FROM realtime_budget
    UNION ALL
    SELECT 2, 'Customers likely to leave', money(count(*) FILTER (WHERE revenue_at_risk > 0)), 'count'
    FROM realtime_budget
    UNION ALL
    SELECT 3, 'Customers over their fee-based allocation',
           money(count(*) FILTER (WHERE risk = 'high')), 'count'
    FROM realtime_budget
    UNION ALL
    SELECT 4, 'Anomalous calls', money(count(*)), 'count' FROM realtime_anomalies
)
ORDER BY position;

-- query: revenue_at_risk
-- title: Revenue at risk
-- description: Customers the calls show likely to leave, their current monthly fee and the evidence.
-- chart: hbar
-- x: customer_id
-- y: revenue_at_risk
-- limit: 25
SELECT customer_id, subscription_tier, organization_id, revenue_at_risk, churn_evidence
FROM realtime_budget
WHERE revenue_at_risk > 0
ORDER BY revenue_at_risk DESC, customer_id;

-- query: anomalous_calls
-- title: Anomalous calls
-- description: Calls whose cost per token is more than 3.5 robust deviations above the median of their model and task (log scale); expected false-alarm rate 0.023% of calls.
-- chart: none
-- limit: 50
SELECT call_id, customer_id, model, cost_usd, z_score,
       provider, "timestamp", task_type, feature_id, total_tokens, expected_cost, excess_cost
FROM realtime_anomalies
ORDER BY z_score DESC, call_id;

-- query: daily_spikes
-- title: Daily cost spikes
-- description: Customer-days costing more than 5 times (by default) the customer's average over at least 7 other active days, and at least $1 above it; alerted only at $10 or more above it (the alert policy's dollar floor).
-- chart: bar
-- x: customer_id
-- y: cost, baseline
-- limit: 50
SELECT customer_id, call_date, cost, baseline, ratio, calls, active_days, excess_cost,
       excess_cost >= (SELECT dollar_floor_usd FROM alert_policy) AS alerted
FROM realtime_spikes
ORDER BY ratio DESC, customer_id, call_date;

-- query: budget_status
-- title: AI cost against the fee-based allocation
-- description: Each customer's AI cost against a fee-based allocation (its monthly fee; not a budget), both per 30-day month of its billed days: high over 100% (the customers that lose money), medium at 80%. A margin finding; revenue at risk comes from churn evidence only.
-- chart: hbar
-- x: customer_id
-- y: used_pct
-- limit: 15
SELECT customer_id, subscription_tier, monthly_cost, allocation, used_pct, risk,
       revenue_at_risk, organization_id, billed_days, calls, churn_evidence
FROM realtime_budget
ORDER BY used_pct DESC NULLS LAST, customer_id;

-- query: budget_by_risk
-- title: Customers by allocation use
-- description: How many customers are at each level of AI cost against their fee, their AI cost and their fee-based allocation, per 30-day month.
-- chart: doughnut
-- x: risk
-- y: customers
SELECT r.risk, count(b.customer_id) AS customers,
       coalesce(sum(b.monthly_cost), 0) AS monthly_cost,
       coalesce(sum(b.allocation), 0) AS allocation
FROM (VALUES ('high', 1), ('medium', 2), ('low', 3)) AS r(risk, position)
LEFT JOIN realtime_budget AS b USING (risk)
GROUP BY r.risk, r.position
ORDER BY r.position;

-- query: _rules
-- The alert rules, evaluated. amount_usd is the money of the customers or
-- days the rule finds: for AI cost over usage_revenue_pct of revenue, the
-- cost those customers run above usage_revenue_pct of their revenue (the
-- rule's own measure, over all the customers it counts); for AI cost over
-- 80% of the fee-based allocation, the cost its customers run above the
-- revenue they pay (their loss, as profitability's alert); spike cost above
-- baseline (the excess); anomalous cost above the expected cost. All over
-- the period, then per 30-day month (stake_usd), except spikes: a spike is a
-- one-off day, so its excess is not a monthly rate; stake_usd is the excess
-- over the period, of the spikes whose excess meets the alert policy's
-- dollar floor (smaller ones are listed in daily_spikes, not alerted).
-- Severity is the one alert policy (alert_severity in sql/finance.sql) on
-- stake_usd against monthly spend.
CREATE OR REPLACE TEMP TABLE realtime_rules AS
WITH fp AS (SELECT * FROM finance_period),
rules AS (
    SELECT 1 AS position, 'AI cost over ' || format('{:.0f}', getvariable('usage_revenue_pct')) || '% of revenue' AS rule,
           'customer cost > ' || format('{:.0f}', getvariable('usage_revenue_pct')) || '% x revenue' AS condition,
           count(*) AS triggered, count(*) AS customers,
           coalesce(sum(total_cost - revenue * getvariable('usage_revenue_pct') / 100), 0) AS amount_usd,
           string_agg(customer_id, ', ' ORDER BY total_cost - revenue * getvariable('usage_revenue_pct') / 100 DESC, customer_id) AS top_customers,
           count(*) FILTER (WHERE total_cost > revenue) AS losing
    FROM realtime_budget
    WHERE total_cost > revenue * getvariable('usage_revenue_pct') / 100
    UNION ALL
    SELECT 2, 'Daily spike over ' || format('{:.0f}', getvariable('spike_ratio')) || 'x the customer average',
           'customer-day cost > ' || format('{:.0f}', getvariable('spike_ratio')) || ' x baseline and >= '
               || usd_text(greatest(getvariable('spike_min_usd'), any_value(p.dollar_floor_usd))) || ' above it',
           coalesce(sum(days), 0), count(days), coalesce(sum(excess), 0),
           string_agg(customer_id, ', ' ORDER BY excess DESC, customer_id), NULL
    FROM (SELECT customer_id, count(*) AS days, sum(excess_cost) AS excess
          FROM realtime_spikes
          WHERE excess_cost >= (SELECT dollar_floor_usd FROM alert_policy)
          GROUP BY customer_id) AS s
    RIGHT JOIN alert_policy AS p ON true
    UNION ALL
    SELECT 3, 'AI cost over 80% of the fee-based allocation', 'cost a 30-day month >= 80% x allocation',
           count(*), count(*),
           -- the loss as the customers' statements show it (customer_shown, in
           -- cents), as profitability's alert on the same loss
           coalesce(sum(greatest(s.cost - s.revenue * getvariable('allocation_pct') / 100, 0)), 0),
           string_agg(b.customer_id, ', ' ORDER BY b.used_pct DESC, b.customer_id),
           count(*) FILTER (WHERE b.risk = 'high')
    FROM realtime_budget AS b JOIN customer_shown AS s USING (customer_id)
    WHERE b.used_pct >= 80
    UNION ALL
    SELECT 4, 'Anomalous cost per token', 'log cost per token > median + ' || format('{:.1f}', getvariable('robust_z')) || ' robust sd',
           coalesce(sum(anomalies), 0), count(*), coalesce(sum(excess), 0),
           string_agg(customer_id, ', ' ORDER BY excess DESC, customer_id), NULL
    FROM (SELECT customer_id, count(*) AS anomalies, sum(excess_cost) AS excess
          FROM realtime_anomalies GROUP BY customer_id)
)
SELECT r.*,
       -- rules 1 and 3 find the customers of profitability's unprofitable-customer
       -- alert (rule 1 with the thin-margin ones too): one loss, one alert, in the
       -- report that owns it
       r.position IN (1, 3) AS alerted_in_profitability,
       r.position = 2 AS one_off,
       CASE WHEN r.position = 2 THEN money(r.amount_usd)
            ELSE per_month(r.amount_usd, fp.covered_days) END AS stake_usd,
       alert_severity(CASE WHEN r.position = 2 THEN money(r.amount_usd)
                           ELSE per_month(r.amount_usd, fp.covered_days) END) AS severity
FROM rules AS r CROSS JOIN fp;

-- query: alert_rules
-- title: Alert rules
-- description: Each rule, its condition, how often it fired, its dollars (cost above 30% of revenue, by default, for the revenue rule; the loss for the allocation rule; the excess over the expected cost for anomalies: each a 30-day month; for spikes the one-off excess over the baseline in the period, of spikes at least $10 above it) and the severity the alert policy gives them (none below $10 or 1% of monthly spend).
-- chart: none
SELECT rule, condition,
       CASE WHEN triggered = 0 THEN 'ok' WHEN severity IS NULL THEN 'below materiality'
            WHEN alerted_in_profitability AND position = 1 THEN 'triggered: its losing customers alerted in profitability'
            WHEN alerted_in_profitability THEN 'triggered: alerted in profitability'
            ELSE 'triggered' END AS status,
       triggered, customers, stake_usd AS amount_usd,
       CASE WHEN one_off THEN 'one-off, over the period' ELSE 'a 30-day month' END AS amount_period,
       coalesce(severity, '—') AS severity
FROM realtime_rules
ORDER BY position;

-- query: alerts
-- title: Alerts
-- description: Rules that fired above materiality; severity from the alert policy on the dollars at stake (a 30-day month; for spikes, the one-off excess in the period). Customers costing more than they pay are one loss, alerted once, in profitability (the alert rules table shows both rules that find them).
-- chart: none
SELECT severity, rule AS title,
       format('{:,} triggered for {:,} customer(s){}; {} (customers: {}{}).',
              triggered, customers,
              CASE WHEN losing IS NOT NULL THEN format(', {:,} of them costing more than they pay', losing) ELSE '' END,
              CASE WHEN one_off
                   THEN format('{} of one-off excess over the baseline in {}, not a monthly rate',
                               usd_text(stake_usd), (SELECT period_label FROM finance_period))
                   ELSE format('{} at stake a 30-day month', usd_text(stake_usd)) END,
              array_to_string(string_split(top_customers, ', ')[1:5], ', '),
              CASE WHEN customers > 5 THEN format(' and {:,} more', customers - 5) ELSE '' END) AS detail,
       stake_usd AS amount_usd,
       CASE position WHEN 2 THEN 'one-off excess over the baseline, in the period'
                     WHEN 4 THEN 'cost above the expected, a 30-day month'
                     WHEN 1 THEN 'cost above the revenue share, a 30-day month'
                     ELSE 'loss (cost above revenue), a 30-day month' END AS amount_label
FROM realtime_rules
WHERE triggered > 0 AND severity IS NOT NULL AND NOT alerted_in_profitability
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;

-- query: recommendations
-- title: Actions
-- description: This report's actions from the one ledger of actions: customers to contact before they leave, and caps or upgrades for customers whose AI cost runs past their fee; per 30-day month.
-- chart: none
SELECT * FROM report_actions('realtime') ORDER BY priority;
