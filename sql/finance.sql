-- name: finance
-- title: Shared finance definitions: revenue by day, alert policy, the ledger of actions
-- version: 2
-- description: Read after calls.sql. Bills each customer day by day at that
--   day's tier (or at the optional subscriptions file), defines the alert
--   policy every analyzer applies, and the one ledger of actions whose rows
--   every report's recommendations and the index's Actions section show.
--   Its parameter is the subscriptions file (a header-only file when none
--   is given):
--
--   SET VARIABLE csv_path = 'data/simulated_calls.csv';
--   SET VARIABLE subscriptions_path = 'sql/empty_subscriptions.csv';
--   SET VARIABLE budgets_path = 'sql/empty_budgets.csv';
--   .read sql/calls.sql
--   .read sql/finance.sql

-- Assumptions ---------------------------------------------------------------
-- Every figure an action rests on, once. An analyzer parameter of the same
-- name (run-sql --param) overrides it while that analyzer runs; the index's
-- ledger uses these values.
CREATE OR REPLACE TEMP TABLE finance_assumptions AS
SELECT * FROM (VALUES
    ('simple_tasks', 'qa,chat,summarization,translation',
     'Task types an economy model handles well (model switching scope)'),
    ('commitment_percentile', '0.1', 'Percentile of daily spend to commit to (0-1)'),
    ('commitment_discount_pct', '20.0', 'Discount on committed spend, percent'),
    ('cost_cap_pct', '80', 'AI cost cap offered to unprofitable customers, percent of their current tier''s monthly fee'),
    ('churn_increase_pct', '25', 'A bill rising by more than this percent makes its customer likely to leave'),
    ('grandfather_days', '180', 'Days grandfathered customers keep their current bill after a plan change'),
    ('quiet_days', '7', 'A customer silent this many days before the file''s last call date has lapsed: billed to its last call, not to the end of the period'),
    ('decline_pct', '50', 'A customer whose calls fell by this percent (last 14 days vs the 14 before) shows churn evidence'),
    ('tiered_allowance_pct', '50', 'Tiered plan: AI-cost allowance included in the fee, percent of the fee'),
    ('tiered_overage_markup', '1.5', 'Tiered plan: price of AI cost beyond the allowance, times cost'),
    ('usage_markup', '2.0', 'Usage-based plan: price, times AI cost'),
    ('hybrid_base_pct', '50', 'Hybrid plan: base fee, percent of the subscription fee'),
    ('hybrid_markup', '1.3', 'Hybrid plan: price of AI cost on top of the base, times cost'),
    ('non_production_target_pct', '10.0', 'Target share of all spend for staging and development, percent'),
    ('target_cache_hit_pct', '50.0', 'Share of input tokens a well-cached prompt reads from the prompt cache (percent)'),
    ('outlier_ratio', '10.0', 'An agent run is an outlier when it costs more than this many times the median run of its feature on the same model'),
    ('min_feature_runs', '5', 'A feature (and a feature on one model) needs this many agent runs before its median is a norm'),
    ('materiality_usd', '1.00', 'Agent review targets below this many dollars over the period are not listed')
) AS t(name, value, description);

-- The table's values as one constant: an assumption read from it is folded
-- when a query is planned, where a lookup in the table (a subquery) made
-- every filter on it a nested-loop join over the usage.
SET VARIABLE finance_assumption_values = (SELECT map(list(name ORDER BY name), list(value ORDER BY name))
                                          FROM finance_assumptions);

-- An assumption: the running analyzer's --param value, else the table's.
CREATE OR REPLACE TEMP MACRO assumption(key) AS
    coalesce(CAST(getvariable(key) AS VARCHAR), getvariable('finance_assumption_values')[key]);
CREATE OR REPLACE TEMP MACRO assumption_num(key) AS CAST(assumption(key) AS DOUBLE);
-- Is this a task type an economy model handles well (the simple_tasks assumption)?
CREATE OR REPLACE TEMP MACRO simple_task(task) AS
    list_contains(string_split(replace(assumption('simple_tasks'), ' ', ''), ','), task);

-- Does the running analyzer change this assumption (a --param value other
-- than the table's)? Then the stored ledger (`actions`, below) is stale.
CREATE OR REPLACE TEMP MACRO assumption_changed(key) AS
    getvariable(key) IS NOT NULL
    AND CASE WHEN try_cast(CAST(getvariable(key) AS VARCHAR) AS DOUBLE) IS NOT NULL
               AND try_cast(getvariable('finance_assumption_values')[key] AS DOUBLE) IS NOT NULL
             THEN try_cast(CAST(getvariable(key) AS VARCHAR) AS DOUBLE)
                  <> try_cast(getvariable('finance_assumption_values')[key] AS DOUBLE)
             ELSE replace(CAST(getvariable(key) AS VARCHAR), ' ', '')
                  IS DISTINCT FROM replace(getvariable('finance_assumption_values')[key], ' ', '') END;

-- Alert policy --------------------------------------------------------------
-- Every alert and action is measured per 30-day month. One severity
-- function for every alert and action, on one basis: the money at stake a
-- 30-day month (money lost, spent or at risk, never a gap to a target or a
-- variance that nets to zero) as a share of the monthly AI spend
-- (finance_period.monthly_spend), whether the money is cost or revenue:
--   below $10 a month or below 1% of monthly spend: no alert;
--   high at 10% of monthly spend or more, medium at 3%, low below.
-- A rate-based alert also needs at least min_observations observations.
CREATE OR REPLACE TEMP TABLE alert_policy AS
SELECT CAST(10 AS DECIMAL(18, 2)) AS dollar_floor_usd, 1.0 AS share_floor_pct,
       3.0 AS medium_share_pct, 10.0 AS high_share_pct, 20 AS min_observations;

-- The policy's thresholds on a share already measured (share_pct, percent):
-- the dollar floor on the monthly amount, then the share floors.
CREATE OR REPLACE TEMP MACRO alert_severity_at_share(monthly_usd, share_pct) AS
    CASE WHEN monthly_usd IS NULL OR share_pct IS NULL THEN NULL
         WHEN abs(monthly_usd) < (SELECT dollar_floor_usd FROM alert_policy)
           OR share_pct < (SELECT share_floor_pct FROM alert_policy) THEN NULL
         WHEN share_pct >= (SELECT high_share_pct FROM alert_policy) THEN 'high'
         WHEN share_pct >= (SELECT medium_share_pct FROM alert_policy) THEN 'medium'
         ELSE 'low' END;
CREATE OR REPLACE TEMP MACRO alert_severity_of(monthly_usd, monthly_base) AS
    CASE WHEN monthly_base IS NULL OR monthly_base <= 0 THEN NULL
         ELSE alert_severity_at_share(monthly_usd, pct(abs(monthly_usd), monthly_base)) END;
-- alert_severity(monthly_usd), against the monthly spend, follows
-- finance_period below (DuckDB binds a macro's nested macros when it is made).

-- The standard normal distribution function, Abramowitz & Stegun 7.1.26
-- (absolute error under 1.5e-7): p-values of the tests below.
CREATE OR REPLACE TEMP MACRO normal_cdf(z) AS
    CASE WHEN z >= 0 THEN 1 - 0.5 * (((((1.061405429 * (1 / (1 + 0.3275911 * z / sqrt(2))) - 1.453152027)
                                       * (1 / (1 + 0.3275911 * z / sqrt(2))) + 1.421413741)
                                       * (1 / (1 + 0.3275911 * z / sqrt(2))) - 0.284496736)
                                       * (1 / (1 + 0.3275911 * z / sqrt(2))) + 0.254829592)
                                       * (1 / (1 + 0.3275911 * z / sqrt(2)))) * exp(-z * z / 2)
         ELSE 0.5 * (((((1.061405429 * (1 / (1 - 0.3275911 * z / sqrt(2))) - 1.453152027)
                        * (1 / (1 - 0.3275911 * z / sqrt(2))) + 1.421413741)
                        * (1 / (1 - 0.3275911 * z / sqrt(2))) - 0.284496736)
                        * (1 / (1 - 0.3275911 * z / sqrt(2))) + 0.254829592)
                        * (1 / (1 - 0.3275911 * z / sqrt(2)))) * exp(-z * z / 2) END;

-- An amount over the file's period as a 30-day month; days is the time the
-- amount covers: finance_period.covered_days for the file (a partial end
-- day counts for its covered part), customer_economics.covered_days for a
-- customer's billed days.
CREATE OR REPLACE TEMP MACRO per_month(amount, days) AS
    money(safe_div(amount * 30, days));
-- An amount to the cent (half away from zero). The index's ledger shows each
-- line and adds its totals in cents, so what it shows adds up to the cent.
CREATE OR REPLACE TEMP MACRO cents(amount) AS
    CAST(round(amount, 2) AS DECIMAL(38, 2));
-- Money in prose: $1,234.56, a negative amount -$1,234.56 (never $-1,234.56),
-- as the reports' amount columns write it. Every amount a sentence states
-- goes through here: it is rounded by cents() first, so a sentence says
-- what the table beside it says. format('{:,.2f}') alone would round the
-- amount as a binary double: 198.315 would read $198.31 next to a
-- table's $198.32.
CREATE OR REPLACE TEMP MACRO usd_text(amount) AS
    CASE WHEN cents(amount) < 0 THEN '-' ELSE '' END || format('${:,.2f}', abs(cents(amount)));
-- A number of days as text: whole days as a whole number, else 2 decimals.
CREATE OR REPLACE TEMP MACRO days_text(days) AS
    CASE WHEN days = round(days) THEN format('{} days', CAST(round(days) AS BIGINT))
         ELSE format('{:.2f} days', days) END;

-- Latency SLAs ------------------------------------------------------------------
-- A call meets its SLA when latency_ms <= base_ms + per_output_token_ms x
-- output_tokens: a fixed allowance for the request plus time per token
-- generated, so a long answer is not a miss. Set per model class; a row
-- for a model (model not NULL) overrides its class. A model meets the SLA
-- when target_pct of its calls do (with at least min_observations calls).
CREATE OR REPLACE TEMP TABLE sla_targets AS
SELECT * FROM (VALUES
    ('premium',  CAST(NULL AS VARCHAR), 2000, 15.0, 95.0),
    ('standard', NULL,                  1000,  6.0, 95.0),
    ('economy',  NULL,                  1000,  5.0, 95.0),
    ('unpriced', NULL,                  2000, 15.0, 95.0)
) AS t(model_class, model, base_ms, per_output_token_ms, target_pct);

-- Subscriptions (optional) -------------------------------------------------
-- customer_id, organization_id, subscription_tier, start_date, end_date
-- (inclusive; empty = still subscribed), monthly_price (empty = the tier's
-- fee), discount_pct (empty = 0). A row that breaks these rules stops the
-- load with its line number.
CREATE OR REPLACE TEMP TABLE subscriptions_raw AS
SELECT row_number() OVER () + 1 AS line, *
FROM read_csv(getvariable('subscriptions_path'), header = true, auto_detect = false,
              delim = ',', quote = '"', escape = '"',
              columns = {'customer_id': 'VARCHAR', 'organization_id': 'VARCHAR',
                         'subscription_tier': 'VARCHAR', 'start_date': 'VARCHAR',
                         'end_date': 'VARCHAR', 'monthly_price': 'VARCHAR',
                         'discount_pct': 'VARCHAR'});

SELECT error('subscriptions file line ' || line || ': ' || reason)
FROM (
    SELECT line, CASE
        WHEN coalesce(customer_id, '') = '' THEN 'customer_id is empty'
        WHEN subscription_tier NOT IN (SELECT subscription_tier FROM subscription_tiers)
            THEN 'unknown subscription_tier: ' || coalesce(subscription_tier, '(empty)')
        WHEN try_cast(start_date AS DATE) IS NULL
            THEN 'start_date is not a YYYY-MM-DD date: ' || coalesce(start_date, '(empty)')
        WHEN coalesce(end_date, '') <> '' AND try_cast(end_date AS DATE) IS NULL
            THEN 'end_date is not a YYYY-MM-DD date: ' || end_date
        WHEN try_cast(end_date AS DATE) < try_cast(start_date AS DATE)
            THEN 'end_date is before start_date'
        WHEN coalesce(monthly_price, '') <> '' AND coalesce(try_cast(monthly_price AS DECIMAL(18, 6)), -1) < 0
            THEN 'monthly_price is not a non-negative amount: ' || monthly_price
        WHEN coalesce(discount_pct, '') <> ''
             AND coalesce(try_cast(discount_pct AS DOUBLE), -1) NOT BETWEEN 0 AND 100
            THEN 'discount_pct is not a percent in 0..100: ' || discount_pct
    END AS reason
    FROM subscriptions_raw
)
WHERE reason IS NOT NULL
ORDER BY line
LIMIT 1;

CREATE OR REPLACE TEMP TABLE subscriptions AS
SELECT s.line, s.customer_id, nullif(s.organization_id, '') AS organization_id,
       s.subscription_tier,
       CAST(s.start_date AS DATE) AS start_date,
       CAST(nullif(s.end_date, '') AS DATE) AS end_date,
       coalesce(CAST(nullif(s.monthly_price, '') AS DECIMAL(18, 6)), t.monthly_fee) AS monthly_price,
       coalesce(CAST(nullif(s.discount_pct, '') AS DOUBLE), 0) AS discount_pct
FROM subscriptions_raw AS s
JOIN subscription_tiers AS t USING (subscription_tier);

-- Budgets (optional) ---------------------------------------------------------
-- month (YYYY-MM, a calendar month), scope (organization, product, feature or
-- customer), scope_id, budget_usd. A row that breaks these rules stops the
-- load with its line number; a scope and month listed twice is an error.
CREATE OR REPLACE TEMP TABLE budgets_raw AS
SELECT row_number() OVER () + 1 AS line, *
FROM read_csv(getvariable('budgets_path'), header = true, auto_detect = false,
              delim = ',', quote = '"', escape = '"',
              columns = {'month': 'VARCHAR', 'scope': 'VARCHAR', 'scope_id': 'VARCHAR',
                         'budget_usd': 'VARCHAR'});

SELECT error('budgets file line ' || line || ': ' || reason)
FROM (
    SELECT line, CASE
        WHEN NOT regexp_full_match(coalesce(month, ''), '\d{4}-\d{2}')
             OR try_cast(month || '-01' AS DATE) IS NULL
            THEN 'month is not a calendar month YYYY-MM: ' || coalesce(month, '(empty)')
        WHEN coalesce(scope, '') NOT IN ('organization', 'product', 'feature', 'customer')
            THEN 'scope is not organization, product, feature or customer: ' || coalesce(scope, '(empty)')
        WHEN coalesce(scope_id, '') = '' THEN 'scope_id is empty'
        WHEN coalesce(try_cast(budget_usd AS DECIMAL(18, 2)), -1) < 0
            THEN 'budget_usd is not a non-negative amount: ' || coalesce(budget_usd, '(empty)')
        WHEN count(*) OVER (PARTITION BY month, scope, scope_id) > 1
            THEN 'a second budget for ' || scope || ' ' || scope_id || ' in ' || month
    END AS reason
    FROM budgets_raw
)
WHERE reason IS NOT NULL
ORDER BY line
LIMIT 1;

CREATE OR REPLACE TEMP TABLE budgets AS
SELECT line, CAST(month || '-01' AS DATE) AS month, scope, scope_id,
       CAST(budget_usd AS DECIMAL(18, 2)) AS budget_usd
FROM budgets_raw;

-- Cost as every statement and report shows it ------------------------------
-- One definition of a shown cost: a customer's cost in one organization in
-- one calendar month, to the cent (cents()), and its production part to
-- the cent. Every cost a page shows for a customer, an organization or the
-- whole book is a sum of these cells: a customer's statement (its months),
-- an organization's statement and chargeback (its customers, its months,
-- production and non-production, the shared pool), alignment's cost by
-- organization and showback, profitability by organization, and the
-- budgets of an organization or a customer. So a customer's row on its
-- organization's statement is its own statement's cost, the customers add
-- up to the organization, and the organizations to the total, to the cent.
-- (A cost rounded once from the calls, such as understanding's total AI
-- cost, can differ from a sum of cells by a few cents.) exact_cost is the
-- calls' cost unrounded, for proportions only (the chargeback's key): a
-- share follows what was spent, not how a small cost happens to round.
CREATE OR REPLACE TEMP TABLE customer_org_month_cost AS
SELECT customer_id, organization_id, strftime(call_date, '%Y-%m') AS month,
       count(*) AS calls,
       cents(sum(cost_usd)) AS cost,
       sum(cost_usd) AS exact_cost,
       cents(coalesce(sum(cost_usd) FILTER (WHERE environment = 'production'), 0)) AS production_cost
FROM calls
GROUP BY customer_id, organization_id, strftime(call_date, '%Y-%m');
-- A customer's month as its statement's "Month by month" row shows it: the
-- sum of its cells (one, unless it called under two organizations).
CREATE OR REPLACE TEMP TABLE customer_month_cost AS
SELECT customer_id, month, CAST(sum(calls) AS BIGINT) AS calls, sum(cost) AS cost
FROM customer_org_month_cost
GROUP BY customer_id, month;

-- Budget against actual, per budget row. actual = the scope's cost in that
-- calendar month: for an organization or a customer the sum of its cells
-- of customer_org_month_cost (as its statement's month row shows it), for a
-- product or a feature the cost of its calls. For the month holding the file's last call date, the
-- month to date runs to that date and the forecast to the end of the
-- month adds the month-to-date daily run rate over the days left:
-- forecast = actual + actual / days covered x days left. A month the file
-- has passed is final (forecast = actual); a month after it, or one that
-- ends before the file's first call date, has no data (actual and used_pct
-- NULL: not "on track").
-- status: over budget (actual above it), forecast over, on track, no data.
CREATE OR REPLACE TEMP VIEW budget_vs_actual AS
WITH spend AS (
    SELECT b.line, sum(c.cost_usd) AS actual
    FROM budgets AS b
    JOIN calls AS c
      ON date_trunc('month', c.call_date) = b.month
     AND CASE b.scope WHEN 'product' THEN c.product_id ELSE c.feature_id END = b.scope_id
    WHERE b.scope IN ('product', 'feature')
    GROUP BY b.line
    UNION ALL
    -- DECIMAL(38, 6), as the calls' sum: a union with DECIMAL(38, 2) would cut
    -- that to cents
    SELECT b.line, CAST(sum(m.cost) AS DECIMAL(38, 6)) AS actual
    FROM budgets AS b
    JOIN customer_org_month_cost AS m
      ON m.month = strftime(b.month, '%Y-%m')
     AND CASE b.scope WHEN 'organization' THEN m.organization_id ELSE m.customer_id END = b.scope_id
    WHERE b.scope IN ('organization', 'customer')
    GROUP BY b.line
),
shaped AS (
    SELECT b.*, coalesce(s.actual, CAST(0 AS DECIMAL(38, 6))) AS actual,
           CAST(date_diff('day', b.month, b.month + INTERVAL 1 MONTH) AS INTEGER) AS days_in_month,
           -- days of the month the calls cover, a partial first or last day
           -- of the file counted for its part (calls.sql's period)
           CAST(greatest(0, date_diff('day', greatest(b.month, p.first_date),
                                      least(b.month_end, p.last_date)) + 1)
                AS DECIMAL(18, 6))
             - CASE WHEN p.first_date BETWEEN b.month AND b.month_end
                    THEN 1 - p.first_day_covered ELSE 0 END
             - CASE WHEN p.last_date BETWEEN b.month AND b.month_end
                    THEN 1 - p.last_day_covered ELSE 0 END AS days_covered,
           CASE WHEN b.month > p.last_date THEN 'future'
                WHEN b.month_end < p.first_date THEN 'before'
                WHEN b.month_end <= p.last_date THEN 'closed'
                ELSE 'open' END AS month_state
    FROM (SELECT *, CAST(month + INTERVAL 1 MONTH AS DATE) - 1 AS month_end FROM budgets) AS b
    LEFT JOIN spend AS s USING (line)
    CROSS JOIN period AS p
)
SELECT strftime(month, '%Y-%m') AS month, scope, scope_id, budget_usd,
       CASE WHEN month_state IN ('future', 'before') THEN NULL ELSE actual END AS actual,
       CASE WHEN month_state IN ('future', 'before') THEN NULL ELSE pct(actual, budget_usd) END AS used_pct,
       round(days_covered, 2) AS days_covered, days_in_month,
       CASE month_state WHEN 'future' THEN NULL WHEN 'before' THEN NULL WHEN 'closed' THEN actual
            ELSE money(actual + safe_div(actual, days_covered) * (days_in_month - days_covered)) END
           AS forecast_month_end,
       CASE WHEN month_state IN ('future', 'before') THEN 'no data'
            WHEN actual > budget_usd THEN 'over budget'
            WHEN month_state = 'open'
                 AND actual + safe_div(actual, days_covered) * (days_in_month - days_covered) > budget_usd
                THEN 'forecast over'
            ELSE 'on track' END AS status,
       month_state, line
FROM shaped;

-- Revenue by day ------------------------------------------------------------
-- Each customer's tier on each day it made calls: the tier of its last call
-- that day (a mid-day upgrade bills that day at the new tier); with the
-- day's usage, so customer_economics below does not scan the calls again.
CREATE OR REPLACE TEMP TABLE customer_call_days AS
SELECT customer_id, call_date,
       last_call.subscription_tier, last_call.organization_id, last_call.product_id,
       calls, cost, input_tokens, output_tokens
FROM (
    SELECT customer_id, call_date,
           -- one arg_max for the three (each one is a pass over the key)
           arg_max({'subscription_tier': subscription_tier, 'organization_id': organization_id,
                    'product_id': product_id}, ("timestamp", call_id)) AS last_call,
           count(*) AS calls,
           sum(cost_usd) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens
    FROM calls
    GROUP BY customer_id, call_date
) AS days;

-- Calls made outside any attribution block (finops.otel writes customer_id
-- 'unattributed' for them, issue 10) are spend without a customer: no
-- subscription pays for them, so they are never billed as a customer
-- (no revenue days, not in customer_economics, no plan, cap or churn) and
-- are shown apart, in this one row. A customer of that name listed in
-- the subscriptions file is a real subscription and is billed as such.
CREATE OR REPLACE TEMP MACRO unattributed_customer() AS 'unattributed';

CREATE OR REPLACE TEMP TABLE unattributed_usage AS
SELECT coalesce(sum(calls), 0) AS calls,
       coalesce(sum(cost), CAST(0 AS DECIMAL(38, 6))) AS cost,
       coalesce(sum(input_tokens), 0) AS input_tokens,
       coalesce(sum(output_tokens), 0) AS output_tokens,
       count(*) AS active_days,
       min(call_date) AS first_date, max(call_date) AS last_date
FROM customer_call_days
WHERE customer_id = unattributed_customer()
  AND customer_id NOT IN (SELECT customer_id FROM subscriptions);

-- Has a customer lapsed? Silent quiet_days or more before the file's last
-- call date (the churn rule's evidence of a customer gone): the one rule
-- of where a customer's bill stops (revenue_days), of the lapsed count
-- (customer_economics.lapsed) and of churn_signals. quiet_days is read
-- when the file is loaded: no analyzer takes it as a --param.
-- (Whole days by date_diff: a date minus a date is an interval on Spark.)
CREATE OR REPLACE TEMP MACRO customer_lapsed(last_call_date, file_last_date) AS
    date_diff('day', last_call_date, file_last_date) >= assumption_num('quiet_days');

-- One row per customer and billed day, with that day's monthly fee.
-- From the calls: every day from the customer's first call date to the
-- end of the file's period (a subscriber pays for the days it does not
-- call), or to its last call date when it has lapsed (customer_lapsed),
-- at the tier of its latest call day on or before it (days without calls
-- keep the tier they had). From the subscriptions file, for the customers it
-- lists (it replaces what the calls imply): every subscribed day inside the
-- file's period, at price x (1 - discount). day_fraction is the part of the
-- day the file covers (period.first_day_covered / last_day_covered on a
-- partial first or last date of the file, else 1): revenue is matched to
-- the same time as the cost it is set against, so a file cut at 19:59 bills
-- its last day 20/24 of a day. Revenue = sum(fee x day_fraction) / 30.
CREATE OR REPLACE TEMP TABLE revenue_days AS
WITH spans AS (
    SELECT c.customer_id, min(c.call_date) AS first_date,
           CASE WHEN customer_lapsed(max(c.call_date), any_value(p.last_date)) THEN max(c.call_date)
                ELSE any_value(p.last_date) END AS last_date
    FROM customer_call_days AS c CROSS JOIN period AS p
    WHERE c.customer_id NOT IN (SELECT customer_id FROM subscriptions)
      AND c.customer_id <> unattributed_customer()  -- no subscription: never billed
    GROUP BY c.customer_id
),
days AS (
    SELECT customer_id, CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS bill_date
    FROM spans
),
-- A day's tier is the one of the customer's last call day on or before it:
-- a running last value (portable SQL; an ASOF JOIN has no Spark match).
from_calls AS (
    SELECT d.customer_id, d.bill_date, d.subscription_tier, t.monthly_fee, 'calls' AS source
    FROM (
        SELECT d.customer_id, d.bill_date,
               last_value(c.subscription_tier IGNORE NULLS) OVER (
                   PARTITION BY d.customer_id ORDER BY d.bill_date
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS subscription_tier
        FROM days AS d
        LEFT JOIN customer_call_days AS c
          ON c.customer_id = d.customer_id AND c.call_date = d.bill_date
    ) AS d
    JOIN subscription_tiers AS t USING (subscription_tier)
),
from_file AS (
    SELECT s.customer_id, CAST(g.bill_date AS DATE) AS bill_date, s.subscription_tier,
           money(s.monthly_price * (100 - s.discount_pct) / 100) AS monthly_fee,
           s.start_date, s.line
    FROM subscriptions AS s
    CROSS JOIN period AS p
    CROSS JOIN LATERAL (
        SELECT unnest(generate_series(greatest(s.start_date, p.first_date),
                                      least(coalesce(s.end_date, p.last_date), p.last_date),
                                      INTERVAL 1 DAY)) AS bill_date
    ) AS g
),
billed AS (
    SELECT * FROM from_calls
    UNION ALL
    -- Overlapping subscription rows of one customer bill a day once: the later start.
    SELECT customer_id, bill_date, arg_max(subscription_tier, (start_date, line)),
           arg_max(monthly_fee, (start_date, line)), 'subscriptions'
    FROM from_file
    GROUP BY customer_id, bill_date
)
SELECT b.*,
       CASE WHEN b.bill_date = p.first_date THEN p.first_day_covered
            WHEN b.bill_date = p.last_date THEN p.last_day_covered
            ELSE CAST(1 AS DECIMAL(18, 6)) END AS day_fraction
FROM billed AS b CROSS JOIN period AS p;

-- One row per customer, computed once per load (analyzers read it often):
-- the latest tier (and organization and product), calls and cost, the days
-- billed in the period (tenure_days; covered_days counts a partial end day
-- of the file for its covered part), revenue = sum of each billed day's
-- monthly fee x day_fraction / 30, and the current monthly fee (its last
-- billed day's). lapsed: billed from its calls and silent quiet_days or
-- more before the file's last call date, so billed to its last call only
-- (customer_lapsed); a subscriptions row's end date is never a lapse.
-- A customer listed in the subscriptions file without calls has cost 0.
CREATE OR REPLACE TEMP TABLE customer_economics AS
WITH usage AS (
    -- the latest call is the last call of the latest day
    SELECT customer_id,
           arg_max(subscription_tier, call_date) AS subscription_tier,
           arg_max(organization_id, call_date) AS organization_id,
           arg_max(product_id, call_date) AS product_id,
           CAST(sum(calls) AS BIGINT) AS calls,
           sum(cost) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           min(call_date) AS first_date,
           max(call_date) AS last_date
    FROM customer_call_days
    GROUP BY customer_id
),
billed AS (
    SELECT customer_id,
           count(*) AS tenure_days,
           sum(day_fraction) AS covered_days,
           money(sum(monthly_fee * day_fraction) / 30) AS revenue,
           arg_max(monthly_fee, bill_date) AS monthly_fee,
           arg_max(subscription_tier, bill_date) AS billed_tier,
           count(DISTINCT subscription_tier) - 1 AS tier_changes,
           any_value(source) AS revenue_source
    FROM revenue_days
    GROUP BY customer_id
),
listed AS (
    SELECT customer_id, arg_max(organization_id, (start_date, line)) AS organization_id
    FROM subscriptions GROUP BY customer_id
)
SELECT coalesce(u.customer_id, b.customer_id) AS customer_id,
       coalesce(CASE WHEN b.revenue_source = 'subscriptions' THEN b.billed_tier END,
                u.subscription_tier, b.billed_tier) AS subscription_tier,
       coalesce(u.organization_id, l.organization_id, 'unknown') AS organization_id,
       coalesce(u.product_id, 'unknown') AS product_id,
       coalesce(u.calls, 0) AS calls,
       coalesce(u.cost, CAST(0 AS DECIMAL(38, 6))) AS cost,
       coalesce(u.input_tokens, 0) AS input_tokens,
       coalesce(u.output_tokens, 0) AS output_tokens,
       u.first_date, u.last_date,
       coalesce(b.tenure_days, 0) AS tenure_days,
       coalesce(b.covered_days, 0) AS covered_days,
       coalesce(b.monthly_fee, CAST(0 AS DECIMAL(18, 6))) AS monthly_fee,
       coalesce(b.revenue, CAST(0 AS DECIMAL(38, 6))) AS revenue,
       coalesce(b.tier_changes, 0) AS tier_changes,
       coalesce(b.revenue_source, 'calls') AS revenue_source,
       coalesce(b.revenue_source, 'calls') = 'calls' AND coalesce(customer_lapsed(u.last_date, p.last_date), false)
           AS lapsed
FROM usage AS u
FULL JOIN billed AS b USING (customer_id)
LEFT JOIN listed AS l USING (customer_id)
CROSS JOIN period AS p
-- spend without a customer is shown apart (unattributed_usage above)
WHERE coalesce(u.customer_id, b.customer_id) <> unattributed_customer()
   OR b.revenue_source = 'subscriptions';

-- A customer's figures as its statement shows them, in cents (cents()): its
-- AI cost month by month (customer_month_cost above, as the statement's
-- "Month by month" rows), the period's cost the sum of those months; its
-- revenue to the cent; its margin the two as shown. The statements, the
-- profitability report and the pricing report show and add these, so a
-- total over customers is the sum of their statements to the cent.
CREATE OR REPLACE TEMP TABLE customer_shown AS
WITH months AS (SELECT customer_id, sum(cost) AS cost FROM customer_month_cost GROUP BY customer_id)
SELECT e.customer_id, coalesce(m.cost, cents(0)) AS cost, cents(e.revenue) AS revenue,
       cents(e.revenue) - coalesce(m.cost, cents(0)) AS margin
FROM customer_economics AS e LEFT JOIN months AS m USING (customer_id);

-- Fee-based allocation -------------------------------------------------------
-- Each customer's AI cost against the fee it pays, on one basis for every
-- report that shows it (realtime, the customer statements): a 30-day month
-- of the days it was billed in the period (billed_days = tenure_days; the
-- file's partial end day counted for its covered part, covered_days).
--   monthly_cost = cost x 30 / covered billed days;
--   allocation   = its monthly fee averaged over its covered billed days
--                  (its current fee unless its tier changed);
--   used_pct     = pct(monthly_cost, allocation), computed exactly as
--                  pct(cost, revenue) (the same ratio on the period's
--                  figures, free of the per-month rounding);
--   risk         = high above 100%, medium at 80% or more, else low.
-- used_pct above 100 is exactly a customer whose cost
-- exceeds its revenue: profitability's unprofitable customers. A customer
-- with cost but no billed day has its cost per 30-day month of the period
-- and no allocation: high. A margin finding, never a budget (budgets come
-- from the budgets file: budget_vs_actual).
CREATE OR REPLACE TEMP MACRO allocation_risk(monthly_cost, used_pct) AS
    CASE WHEN used_pct IS NULL THEN CASE WHEN monthly_cost > 0 THEN 'high' ELSE 'low' END
         WHEN used_pct > 100 THEN 'high'
         WHEN used_pct >= 80 THEN 'medium'
         ELSE 'low' END;
CREATE OR REPLACE TEMP VIEW customer_allocation AS
WITH fees AS (
    SELECT customer_id, sum(monthly_fee * day_fraction) / sum(day_fraction) AS average_fee
    FROM revenue_days GROUP BY customer_id
),
shaped AS (
    SELECT e.customer_id, e.tenure_days AS billed_days,
           CASE WHEN e.covered_days > 0 THEN per_month(e.cost, e.covered_days)
                ELSE per_month(e.cost, p.covered_days) END AS monthly_cost,
           money(coalesce(f.average_fee, 0)) AS allocation,
           pct(e.cost, e.revenue) AS used_pct
    FROM customer_economics AS e
    LEFT JOIN fees AS f USING (customer_id)
    CROSS JOIN period AS p
)
SELECT customer_id, billed_days, monthly_cost, allocation, used_pct,
       allocation_risk(monthly_cost, used_pct) AS risk
FROM shaped;

-- Usage outside a subscription: calls of a customer listed in the
-- subscriptions file on days none of its rows covers (before its start or
-- after its end): AI cost that no fee pays for, a billing item to check.
-- side: before its first start, after its last end, or between rows.
-- unbilled_fee = the days from the first to the last such call date at the
-- customer's monthly fee (customer_economics, its latest billed fee) / 30:
-- what billing those days would bring, the amount the alert is sized on.
CREATE OR REPLACE TEMP VIEW unbilled_usage AS
WITH spans AS (
    SELECT customer_id, min(start_date) AS start_date,
           max(coalesce(end_date, DATE '9999-12-31')) AS end_date
    FROM subscriptions GROUP BY customer_id
),
outside AS (
    SELECT c.customer_id,
           CASE WHEN c.call_date < s.start_date THEN 'before its start ' || strftime(s.start_date, '%Y-%m-%d')
                WHEN c.call_date > s.end_date THEN 'after its end ' || strftime(s.end_date, '%Y-%m-%d')
                ELSE 'between its subscriptions' END AS side,
           min(c.call_date) AS first_date, max(c.call_date) AS last_date,
           date_diff('day', min(c.call_date), max(c.call_date)) + 1 AS days,
           count(*) AS calls, sum(c.cost_usd) AS cost
    FROM calls AS c
    JOIN spans AS s USING (customer_id)
    WHERE NOT EXISTS (SELECT 1 FROM revenue_days AS d
                      WHERE d.customer_id = c.customer_id AND d.bill_date = c.call_date)
    GROUP BY c.customer_id, side
)
SELECT o.*, money(coalesce(e.monthly_fee, 0) * o.days / 30) AS unbilled_fee
FROM outside AS o
LEFT JOIN customer_economics AS e USING (customer_id);

-- Period facts ----------------------------------------------------------------
-- Spend and revenue over the file's period, and as a 30-day month: every
-- action and alert is sized against these. The basis of every "per 30-day
-- month" is covered_days (sql/calls.sql: a partial end day counts for the
-- part the calls cover), never the calendar days: a file cut at 19:59 on
-- its 12th day covers 11.83 days, and its cost x 30 / 12 would understate
-- the month. period_label names the period in every text.
-- monthly_revenue is converted from the revenue as shown: the customers'
-- revenue to the cent, added (the statements', profitability's and
-- pricing's total), so the shown total x 30 / covered days is the monthly
-- figure shown (from the exact sum it missed that by up to 6 cents: 200
-- customers' roundings). monthly_spend stays on the exact cost: the shown
-- total AI cost is that cost rounded once, and converting its cents would
-- multiply a half cent by 30 / covered days (on a one-day file, $0.062
-- would be $1.80 a month instead of $1.86). total_cost and total_revenue
-- stay exact: the levers scale on them.
CREATE OR REPLACE TEMP TABLE finance_period AS
SELECT p.first_date, p.last_date, p.period_days, p.covered_days,
       format('the {} days {}..{}', p.period_days, strftime(p.first_date, '%Y-%m-%d'),
              strftime(p.last_date, '%Y-%m-%d'))
           || CASE WHEN p.covered_days < p.period_days
                   THEN format(' ({:.2f} days covered)', p.covered_days) ELSE '' END AS period_label,
       s.cost AS total_cost, per_month(s.cost, p.covered_days) AS monthly_spend,
       r.revenue AS total_revenue, per_month(r.shown, p.covered_days) AS monthly_revenue
FROM period AS p,
     (SELECT sum(cost_usd) AS cost FROM calls) AS s,
     (SELECT coalesce(sum(e.revenue), 0) AS revenue, coalesce(sum(c.revenue), 0) AS shown
      FROM customer_economics AS e JOIN customer_shown AS c USING (customer_id)) AS r;

-- The alert policy's severity against the monthly AI spend (alert_severity_of above).
CREATE OR REPLACE TEMP MACRO alert_severity(monthly_usd) AS
    alert_severity_of(monthly_usd, (SELECT monthly_spend FROM finance_period));

-- Usage, aggregated once: the grain every lever below reprices.
CREATE OR REPLACE TEMP TABLE finance_usage AS
SELECT call_date, customer_id, provider, model, task_type,
       count(*) AS calls, sum(cost_usd) AS cost,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_input_tokens) AS cache_read_input_tokens
FROM calls
GROUP BY call_date, customer_id, provider, model, task_type;

-- SLA compliance per model, once per load.
CREATE OR REPLACE TEMP TABLE model_sla AS
WITH targets AS (
    SELECT s.model_class, s.base_ms, s.per_output_token_ms, s.target_pct FROM sla_targets AS s WHERE s.model IS NULL
),
scored AS (
    SELECT c.provider, c.model, coalesce(p.model_class, 'unpriced') AS model_class, c.latency_ms, c.output_tokens,
           coalesce(o.base_ms, t.base_ms) + coalesce(o.per_output_token_ms, t.per_output_token_ms) * c.output_tokens
               AS allowance_ms,
           coalesce(o.target_pct, t.target_pct) AS target_pct
    FROM calls AS c
    LEFT JOIN model_prices AS p USING (provider, model)
    LEFT JOIN targets AS t ON t.model_class = coalesce(p.model_class, 'unpriced')
    LEFT JOIN sla_targets AS o ON o.model = c.model
)
SELECT provider, model, any_value(model_class) AS model_class, count(*) AS calls,
       pct(count(*) FILTER (WHERE latency_ms <= allowance_ms), count(*)) AS sla_pct,
       any_value(target_pct) AS target_pct,
       count(*) FILTER (WHERE latency_ms > allowance_ms) AS over_sla_calls,
       quantile_cont(latency_ms / greatest(output_tokens, 1), 0.95) AS p95_ms_per_output_token,
       CASE WHEN count(*) < (SELECT min_observations FROM alert_policy) THEN NULL
            ELSE pct(count(*) FILTER (WHERE latency_ms <= allowance_ms), count(*)) >= any_value(target_pct) END AS meets_sla
FROM scored
GROUP BY provider, model;

-- Agent runs -------------------------------------------------------------------
-- One row per trace. A run's feature, customer and session are those of its
-- first call; duration_ms runs from the first call's start to the end of the
-- call that finished last. Its model is that of its costliest call (ties:
-- the first call_id). cost sums the calls with a known cost;
-- unpriced_calls counts those without one (never counted as $0).
-- The first call's three columns come from one arg_min (three took 1.6x
-- the time over 1.5M runs). A run of one call is that call: only the traces
-- with several calls are grouped (grouping 1.5M one-call traces took 2.3 s
-- of CPU at 500 MB; this takes 0.8 s, same rows). Stored once per load:
-- the agents report and the ledger's agent review targets (below) read it.
CREATE OR REPLACE TEMP TABLE agent_runs AS
WITH multi AS (
    SELECT trace_id FROM calls WHERE trace_id <> '' GROUP BY trace_id HAVING count(*) > 1
)
SELECT c.trace_id, c.feature_id, c.customer_id, c.session_id, c.model,
       CAST(1 AS BIGINT) AS calls,
       CAST(c.input_tokens AS HUGEINT) AS input_tokens,
       CAST(c.output_tokens AS HUGEINT) AS output_tokens,
       CAST(coalesce(c.cost_usd, 0) AS DECIMAL(38, 6)) AS cost,
       CAST(c.cost_usd IS NULL AS BIGINT) AS unpriced_calls,
       c."timestamp" AS started,
       CAST(c.latency_ms AS BIGINT) AS duration_ms
FROM calls AS c
LEFT JOIN multi AS m ON m.trace_id = c.trace_id
WHERE c.trace_id <> '' AND m.trace_id IS NULL
UNION ALL
SELECT trace_id, first_call.feature_id, first_call.customer_id, first_call.session_id,
       model, calls, input_tokens, output_tokens, cost, unpriced_calls, started, duration_ms
FROM (
    SELECT c.trace_id,
           arg_min({'feature_id': feature_id, 'customer_id': customer_id, 'session_id': session_id},
                   ("timestamp", call_id)) AS first_call,
           arg_min(model, (0 - coalesce(cost_usd, 0), call_id)) AS model,
           count(*) AS calls,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           coalesce(sum(cost_usd), CAST(0 AS DECIMAL(38, 6))) AS cost,
           count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_calls,
           min("timestamp") AS started,
           max(epoch_ms("timestamp") + latency_ms) - min(epoch_ms("timestamp")) AS duration_ms
    FROM calls AS c
    JOIN multi USING (trace_id)
    GROUP BY c.trace_id
) AS runs;

-- Levers ----------------------------------------------------------------------
-- ledger: begin
-- From here to "ledger: end": what depends on the assumptions.
-- The levers are stored as tables, once per load (each report and the
-- ledger read them; as views they were recomputed for every reader). While
-- an analyzer runs with a parameter that changes an assumption (run-sql
-- --param; assumption_changed(name) is then true), finops runs this part
-- again under those values, and once more after the analyzer.
-- Model switching: premium models (model_prices.model_class) on simple task
-- types, repriced with the same token totals at the provider's economy model.
-- Tokens are summed before pricing, so the projection has no per-call
-- rounding; current_cost is what was paid.
CREATE OR REPLACE TEMP TABLE ledger_switch_scope AS
SELECT u.*, m.economy_model AS to_model, e.input_per_1k AS to_input_per_1k,
       e.output_per_1k AS to_output_per_1k
FROM finance_usage AS u
JOIN model_prices AS m ON m.provider = u.provider AND m.model = u.model AND m.model_class = 'premium'
JOIN model_prices AS e ON e.provider = m.provider AND e.model = m.economy_model
WHERE simple_task(u.task_type);

-- (The target's SLA and class are joined to the grouped rows: a subquery
-- correlated on an aggregate has no Spark match.)
CREATE OR REPLACE TEMP TABLE ledger_switches AS
SELECT s.*, m.meets_sla AS target_meets_sla, c.model_class AS to_model_class
FROM (
    SELECT provider, model AS from_model, any_value(to_model) AS to_model, task_type,
           sum(calls) AS calls, sum(cost) AS current_cost,
           token_cost(sum(input_tokens), sum(output_tokens), any_value(to_input_per_1k),
                      any_value(to_output_per_1k)) AS projected_cost,
           sum(cost) - token_cost(sum(input_tokens), sum(output_tokens), any_value(to_input_per_1k),
                                  any_value(to_output_per_1k)) AS savings
    FROM ledger_switch_scope
    GROUP BY provider, model, task_type
) AS s
LEFT JOIN model_sla AS m ON m.provider = s.provider AND m.model = s.to_model
LEFT JOIN model_prices AS c ON c.provider = s.provider AND c.model = s.to_model;

-- Provider arbitrage: each model's calls outside the switching scope (no
-- call is counted twice) repriced at every model of the same model_class
-- from another provider; the cheapest candidate is kept (ties: provider,
-- model name); a model already the cheapest of its class has nothing to gain.
-- A model that model_prices names as its provider's switch target
-- (economy_model) is not moved away: the ledger never moves work into a
-- model in one action and out of it in another.
CREATE OR REPLACE TEMP TABLE ledger_arbitrage AS
WITH rest AS (
    SELECT u.provider, u.model, p.model_class,
           sum(u.calls) AS calls, sum(u.cost) AS current_cost,
           sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens
    FROM finance_usage AS u
    JOIN model_prices AS p ON p.provider = u.provider AND p.model = u.model
    WHERE NOT (p.model_class = 'premium'
               AND simple_task(u.task_type))
      AND NOT EXISTS (SELECT 1 FROM model_prices AS t
                      WHERE t.provider = u.provider AND t.economy_model = u.model)
    GROUP BY u.provider, u.model, p.model_class
),
candidates AS (
    SELECT r.*, c.provider AS to_provider, c.model AS to_model,
           c.input_per_1k, c.output_per_1k,
           token_cost(r.input_tokens, r.output_tokens, c.input_per_1k, c.output_per_1k) AS projected_cost
    FROM rest AS r
    JOIN model_prices AS c ON c.model_class = r.model_class AND c.provider <> r.provider
    -- never toward a model that misses its latency SLA (unobserved: allowed)
    LEFT JOIN model_sla AS m ON m.provider = c.provider AND m.model = c.model
    WHERE m.meets_sla IS DISTINCT FROM false
)
SELECT provider AS from_provider, model AS from_model,
       arg_min(to_provider, (projected_cost, to_provider, to_model)) AS to_provider,
       arg_min(to_model, (projected_cost, to_provider, to_model)) AS to_model,
       model_class, calls, current_cost,
       min(projected_cost) AS projected_cost,
       current_cost - min(projected_cost) AS savings,
       arg_min(input_per_1k, (projected_cost, to_provider, to_model)) AS to_input_per_1k,
       arg_min(output_per_1k, (projected_cost, to_provider, to_model)) AS to_output_per_1k
FROM candidates
GROUP BY provider, model, model_class, calls, current_cost
HAVING current_cost - min(projected_cost) > 0;

-- The two model levers at the finest grain (day, customer, model, task), so
-- later levers act on what remains: the commitment on each day's remaining
-- spend, a customer's cost cap on its remaining cost.
CREATE OR REPLACE TEMP TABLE ledger_model_savings AS
SELECT call_date, customer_id, cost,
       cost - token_cost(input_tokens, output_tokens, to_input_per_1k, to_output_per_1k) AS savings
FROM ledger_switch_scope
WHERE cost - token_cost(input_tokens, output_tokens, to_input_per_1k, to_output_per_1k) > 0
UNION ALL
SELECT u.call_date, u.customer_id, u.cost,
       u.cost - token_cost(u.input_tokens, u.output_tokens, a.to_input_per_1k, a.to_output_per_1k)
FROM finance_usage AS u
JOIN ledger_arbitrage AS a ON a.from_provider = u.provider AND a.from_model = u.model
JOIN model_prices AS p ON p.provider = u.provider AND p.model = u.model
WHERE NOT (p.model_class = 'premium'
           AND simple_task(u.task_type));

-- Cost cap: an unprofitable customer's AI cost held to cost_cap_pct % of
-- the revenue of its current tier (a usage cap or overage billing, set on
-- the fee it pays now, not on revenue billed at an earlier tier): cap_limit
-- = current monthly fee x covered billed days / 30 x cost_cap_pct / 100, so
-- per 30-day month the cap is cost_cap_pct % of the current fee;
-- cap_savings is the cost above it, standalone and after the model levers.
-- Upgrade: the next tier's fee. Its fee rise (upgrade_rise_pct) is judged by
-- pricing's churn rule, the one the ledger applies to any bill: a rise of
-- more than churn_increase_pct makes the customer likely to leave
-- (upgrade_keeps_customer false). The ledger proposes the upgrade (a
-- medium-confidence revenue gain) only when it covers the loss and keeps
-- the customer by that rule; otherwise the cap, with the upgrade listed as
-- a low-confidence alternative, not counted.
CREATE OR REPLACE TEMP TABLE ledger_caps AS
WITH after_models AS (
    SELECT customer_id, sum(savings) AS model_savings FROM ledger_model_savings GROUP BY customer_id
),
e AS (
    SELECT *, monthly_fee * covered_days / 30 * assumption_num('cost_cap_pct') / 100 AS cap_limit
    FROM customer_economics
)
SELECT e.customer_id, e.subscription_tier, e.organization_id, e.tenure_days, e.covered_days, e.revenue, e.cost,
       e.monthly_fee, t.tier_rank, e.cap_limit,
       nt.subscription_tier AS upgrade_tier, nt.monthly_fee AS upgrade_fee,
       money((nt.monthly_fee - e.monthly_fee) * e.covered_days / 30) AS upgrade_revenue,
       pct(nt.monthly_fee - e.monthly_fee, e.monthly_fee) AS upgrade_rise_pct,
       pct(nt.monthly_fee - e.monthly_fee, e.monthly_fee) <= assumption_num('churn_increase_pct') AS upgrade_keeps_customer,
       money(greatest(0, e.cost - e.cap_limit)) AS cap_savings,
       money(greatest(0, e.cost - coalesce(a.model_savings, 0) - e.cap_limit)) AS cap_savings_after_models,
       -- the upgrade alone breaks even and, by the churn rule, keeps the customer
       coalesce(nt.subscription_tier IS NOT NULL
                AND e.revenue - e.cost + money((nt.monthly_fee - e.monthly_fee) * e.covered_days / 30) >= 0
                AND pct(nt.monthly_fee - e.monthly_fee, e.monthly_fee) <= assumption_num('churn_increase_pct'), false)
           AS upgrade_proposed,
       -- the ledger proposes the cap unless the upgrade is proposed; none when the
       -- cost is within the cap at the current fee (a loss billed at an earlier tier)
       e.cost > e.cap_limit
       AND NOT coalesce(nt.subscription_tier IS NOT NULL
                        AND e.revenue - e.cost + money((nt.monthly_fee - e.monthly_fee) * e.covered_days / 30) >= 0
                        AND pct(nt.monthly_fee - e.monthly_fee, e.monthly_fee) <= assumption_num('churn_increase_pct'), false)
           AS proposed
FROM e
JOIN subscription_tiers AS t USING (subscription_tier)
LEFT JOIN subscription_tiers AS nt ON nt.tier_rank = t.tier_rank + 1
LEFT JOIN after_models AS a USING (customer_id)
WHERE e.revenue - e.cost < 0;

-- Prompt caching: each model's input tokens read from the prompt cache up
-- to target_cache_hit_pct, repriced at the list price of a cache read
-- instead of an input token (sql/prices: the genai-prices list price of
-- that day; only models whose cache read is cheaper):
--   savings = max(0, input x target% - cache reads today) x (input price -
--             cache read price) / 1,000,000.
-- potential_savings is that on all of a model's calls. Caching does not
-- depend on output quality: the ledger counts it standalone (savings) with
-- the sure levers, except on customers whose cost cap the ledger proposes
-- (the cap already holds their cost). On calls a model switch or provider
-- arbitrage moves (on_model_lever_calls) it is lost if those are made: the
-- overlap line takes it back, so the total counts nothing twice. The
-- one-off cache-write premium is not counted.
CREATE OR REPLACE TEMP TABLE ledger_caching_usage AS
SELECT u.call_date, u.customer_id, u.provider, u.model, u.calls, u.input_tokens,
       u.cache_read_input_tokens,
       money(greatest(0, u.input_tokens * assumption_num('target_cache_hit_pct') / 100 - u.cache_read_input_tokens)
             * (lp.input_per_mtok - lp.cache_read_per_mtok) / 1000000) AS savings,
       (pm.model_class = 'premium' AND simple_task(u.task_type))
           OR EXISTS (SELECT 1 FROM ledger_arbitrage AS a WHERE a.from_provider = u.provider AND a.from_model = u.model)
           AS model_lever,
       u.customer_id IN (SELECT customer_id FROM ledger_caps WHERE proposed) AS capped
FROM finance_usage AS u
JOIN call_list_models AS m USING (provider, model)
JOIN list_prices AS lp
  ON lp.provider_id = m.provider_id AND lp.model_id = m.model_id
 AND u.call_date BETWEEN lp.valid_from AND lp.valid_to
LEFT JOIN model_prices AS pm ON pm.provider = u.provider AND pm.model = u.model
WHERE lp.cache_read_per_mtok < lp.input_per_mtok;

CREATE OR REPLACE TEMP TABLE ledger_caching AS
SELECT provider, model, sum(calls) AS calls, sum(input_tokens) AS input_tokens,
       sum(cache_read_input_tokens) AS cache_read_input_tokens,
       pct(sum(cache_read_input_tokens), sum(input_tokens)) AS cache_hit_pct,
       sum(savings) AS potential_savings,
       coalesce(sum(savings) FILTER (WHERE NOT capped), 0) AS savings,
       coalesce(sum(savings) FILTER (WHERE model_lever AND NOT capped), 0) AS on_model_lever_calls,
       coalesce(sum(savings) FILTER (WHERE capped), 0) AS on_capped_customers
FROM ledger_caching_usage
GROUP BY provider, model
HAVING sum(savings) > 0;

-- Reserved capacity: commit to a fixed daily amount C, paid every day at
-- (1 - discount) whether used or not; spend above C on a day is paid on
-- demand at list price. C is a continuous percentile (quantile_cont) of the
-- zero-filled daily cost series of complete days (a partial first or last
-- day is left out; its low spend would pull the percentile down, and the
-- monthly amount is per complete day). savings = cost - (committed + on demand).
-- 'current' sizes it on today's spend; 'after_caps' on what remains of each
-- day after the caps and prompt caching (the levers that do not depend on
-- output quality: the commitment the ledger counts as a sure saving and the
-- one optimization's table shows); 'after_levers' on what remains after the
-- model levers, the caps and caching (a cap's saving spread over the days in
-- proportion to their cost; caching acts on other calls than the model
-- levers): the commitment to make if the switches are.
-- Caps here are those the ledger proposes (ledger_caps.proposed).
CREATE OR REPLACE TEMP TABLE ledger_daily AS
WITH days AS (
    SELECT CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS call_date
    FROM period
),
spend AS (SELECT call_date, sum(cost) AS cost FROM finance_usage GROUP BY call_date),
levers AS (SELECT call_date, sum(savings) AS savings FROM ledger_model_savings GROUP BY call_date),
caching AS (
    SELECT call_date, sum(savings) AS savings,
           coalesce(sum(savings) FILTER (WHERE NOT model_lever), 0) AS after_models
    FROM ledger_caching_usage WHERE NOT capped GROUP BY call_date
),
caps AS (
    SELECT coalesce(sum(cap_savings_after_models), 0) AS savings,
           coalesce(sum(cap_savings), 0) AS standalone
    FROM ledger_caps WHERE proposed
),
series AS (
SELECT d.call_date,
       -- a partial first or last day (calls.sql's period) is not a day of
       -- normal spend: the commitment is sized and counted on complete days
       NOT ((d.call_date = p.first_date AND NOT p.first_day_complete)
            OR (d.call_date = p.last_date AND NOT p.last_day_complete)) AS complete,
       coalesce(s.cost, 0) AS cost,
       coalesce(s.cost, 0) - coalesce(k.savings, 0)
         - caps.standalone * safe_div(coalesce(s.cost, 0), (SELECT total_cost FROM finance_period)) AS after_caps_cost,
       coalesce(s.cost, 0) - coalesce(l.savings, 0) - coalesce(k.after_models, 0)
         - caps.savings * safe_div(coalesce(s.cost, 0), (SELECT total_cost FROM finance_period)) AS remaining_cost
FROM days AS d
LEFT JOIN spend AS s USING (call_date)
LEFT JOIN levers AS l USING (call_date)
LEFT JOIN caching AS k USING (call_date)
CROSS JOIN caps
CROSS JOIN period AS p
)
-- sizes_commitment: the days the commitment is sized and counted on, the
-- complete ones (a file of one partial day: that day)
SELECT *, complete OR NOT bool_or(complete) OVER () AS sizes_commitment FROM series;

CREATE OR REPLACE TEMP TABLE ledger_commitment AS
WITH prm AS MATERIALIZED (
    SELECT assumption_num('commitment_percentile') AS percentile,
           assumption_num('commitment_discount_pct') AS discount_pct
),
daily AS MATERIALIZED (SELECT * FROM ledger_daily WHERE sizes_commitment),
series AS MATERIALIZED (
    SELECT 'current' AS basis, call_date, CAST(cost AS DOUBLE) AS cost FROM daily
    UNION ALL
    SELECT 'after_caps', call_date, CAST(greatest(after_caps_cost, 0) AS DOUBLE) FROM daily
    UNION ALL
    SELECT 'after_levers', call_date, CAST(greatest(remaining_cost, 0) AS DOUBLE) FROM daily
),
-- quantile_cont by hand (its fraction must be a constant there): linear
-- interpolation between the ranks around p * (n - 1).
ranked AS (
    SELECT basis, cost, row_number() OVER (PARTITION BY basis ORDER BY cost) - 1 AS r,
           prm.percentile * (count(*) OVER (PARTITION BY basis) - 1) AS h
    FROM series CROSS JOIN prm
),
level AS MATERIALIZED (
    SELECT basis,
           min(cost) FILTER (WHERE r = floor(h))
             + (any_value(h) - floor(any_value(h)))
               * (min(cost) FILTER (WHERE r = ceil(h)) - min(cost) FILTER (WHERE r = floor(h)))
             AS commit_daily_cost
    FROM ranked GROUP BY basis
),
per_basis AS (
    SELECT s.basis, any_value(l.commit_daily_cost) AS commit_daily_cost, count(*) AS days,
           sum(s.cost) AS current_cost,
           sum(greatest(s.cost - l.commit_daily_cost, 0)) AS on_demand_cost,
           sum(least(s.cost, l.commit_daily_cost)) AS covered_cost
    FROM series AS s JOIN level AS l USING (basis)
    GROUP BY s.basis
)
SELECT b.basis, prm.percentile,
       money(b.commit_daily_cost) AS commit_daily_cost,
       prm.discount_pct,
       b.days,
       money(b.current_cost) AS current_cost,
       money(b.commit_daily_cost * b.days * (1 - prm.discount_pct / 100)) AS committed_cost,
       money(b.on_demand_cost) AS on_demand_cost,
       money(b.covered_cost) AS covered_cost,
       money(b.current_cost - b.commit_daily_cost * b.days * (1 - prm.discount_pct / 100) - b.on_demand_cost) AS savings
FROM per_basis AS b CROSS JOIN prm;

-- Pricing plans, with their migration policy -----------------------------------
-- Each customer's bill over its billed days under every plan, from the same
-- usage (factors in finance_assumptions):
--   flat        = revenue (each day at that day's fee)
--   tiered      = flat + overage markup * max(0, cost - allowance% * flat)
--   usage_based = usage markup * cost
--   hybrid      = base% * flat + hybrid markup * cost
-- Migration policy: a customer whose bill would rise by more than
-- churn_increase_pct is grandfathered (keeps its current bill) for
-- grandfather_days; the others move at once. gain_now is the change while
-- the grandfathering lasts; gain_full the change once it ends if every
-- grandfathered customer stayed; revenue_exposed the current revenue of the
-- grandfathered customers, likely to leave when it ends.
CREATE OR REPLACE TEMP VIEW pricing_plan_bills AS
WITH bills AS (
    SELECT e.customer_id, e.subscription_tier, e.tenure_days, e.calls, e.cost, e.revenue AS current_revenue,
           m.position, m.plan,
           CASE m.plan
               WHEN 'flat' THEN e.revenue
               WHEN 'tiered' THEN money(e.revenue + assumption_num('tiered_overage_markup')
                                        * greatest(0, e.cost - e.revenue * assumption_num('tiered_allowance_pct') / 100))
               WHEN 'usage_based' THEN money(assumption_num('usage_markup') * e.cost)
               ELSE money(e.revenue * assumption_num('hybrid_base_pct') / 100 + assumption_num('hybrid_markup') * e.cost)
           END AS new_revenue
    FROM customer_economics AS e
    CROSS JOIN (VALUES (1, 'flat'), (2, 'tiered'), (3, 'usage_based'), (4, 'hybrid')) AS m(position, plan)
)
SELECT *,
       new_revenue > current_revenue * (1 + assumption_num('churn_increase_pct') / 100) AS grandfathered,
       CASE WHEN new_revenue > current_revenue * (1 + assumption_num('churn_increase_pct') / 100)
            THEN current_revenue ELSE new_revenue END AS revenue_while_grandfathered
FROM bills;

CREATE OR REPLACE TEMP VIEW pricing_plans AS
SELECT b.position, b.plan,
       sum(b.current_revenue) AS current_revenue,
       sum(b.new_revenue) AS revenue,
       sum(b.cost) AS cost,
       sum(b.new_revenue) - sum(b.cost) AS margin,
       pct(sum(b.new_revenue) - sum(b.cost), sum(b.new_revenue)) AS margin_pct,
       count(*) FILTER (WHERE b.new_revenue > b.current_revenue) AS customers_paying_more,
       count(*) FILTER (WHERE b.new_revenue < b.current_revenue) AS customers_paying_less,
       count(*) AS customers,
       count(*) FILTER (WHERE b.grandfathered) AS grandfathered_customers,
       sum(b.revenue_while_grandfathered) AS revenue_while_grandfathered,
       sum(b.revenue_while_grandfathered) - sum(b.current_revenue) AS gain_now,
       sum(b.new_revenue) - sum(b.current_revenue) AS gain_full,
       coalesce(sum(b.current_revenue) FILTER (WHERE b.grandfathered), 0) AS revenue_exposed,
       coalesce(sum(b.new_revenue) FILTER (WHERE b.grandfathered), 0) AS grandfathered_new_revenue,
       any_value(p.last_date) + CAST(assumption_num('grandfather_days') AS INTEGER) AS grandfathered_until
FROM pricing_plan_bills AS b CROSS JOIN period AS p
GROUP BY b.position, b.plan;

-- Agent review targets ------------------------------------------------------------
-- Runs far above the norm of their feature and model (the agents report
-- lists them; the ledger lists what they cost above the norm as review
-- targets, never savings). They rest on the assumptions outlier_ratio and
-- min_feature_runs (the agents report's parameters of the same names).
-- The norm an outlier is judged by: the median cost of the runs of the same
-- feature on the same model. Judged against the whole feature, a run on a
-- premium model looks 10-100x "abnormal" for its model choice alone (22% of
-- all runs on the demo); the ledger's model switches already price that
-- choice, so an outlier here is a run that took far more work (steps,
-- tokens) than its peers on its model.
CREATE OR REPLACE TEMP TABLE agent_model_norms AS
SELECT feature_id, model, count(*) AS runs,
       money(median(cost)) AS median_run_cost,
       count(*) >= assumption_num('min_feature_runs') AS has_norm
FROM agent_runs
GROUP BY feature_id, model;

-- excess_cost = cost - the median cost of its feature's runs on its model:
-- what the run cost above a normal run of its kind.
CREATE OR REPLACE TEMP TABLE agent_outliers AS
SELECT r.trace_id, r.feature_id, r.model, r.customer_id, r.session_id, r.calls, r.cost,
       n.median_run_cost AS baseline,
       round(safe_div(r.cost, n.median_run_cost), 1) AS times_norm,
       money(r.cost - n.median_run_cost) AS excess_cost,
       r.started
FROM agent_runs AS r
JOIN agent_model_norms AS n USING (feature_id, model)
WHERE n.has_norm
  AND n.median_run_cost > 0
  AND r.cost > n.median_run_cost * assumption_num('outlier_ratio');

-- Per feature, its outlier runs: their excess over the median of their feature and model
-- run, and the share of their cost on the calls the ledger's model
-- switches already reprice (premium models on simple tasks, sql/finance.sql
-- ledger_switch_scope). open_excess = excess x (1 - that share): the part
-- of the excess no ledger action addresses, so nothing is counted twice.
CREATE OR REPLACE TEMP TABLE agent_outlier_features AS
WITH switched AS (
    SELECT DISTINCT provider, model, task_type FROM ledger_switch_scope
), scoped AS (
    SELECT o.feature_id, o.trace_id,
           sum(c.cost_usd) FILTER (WHERE sw.model IS NOT NULL) AS switched_cost
    FROM agent_outliers AS o
    JOIN calls AS c USING (trace_id)
    LEFT JOIN switched AS sw
           ON sw.provider = c.provider AND sw.model = c.model AND sw.task_type = c.task_type
    GROUP BY o.feature_id, o.trace_id
)
SELECT o.feature_id, count(*) AS runs, sum(o.cost) AS cost, sum(o.excess_cost) AS excess,
       max(o.times_norm) AS worst, round(avg(o.calls), 1) AS outlier_calls,
       coalesce(sum(s.switched_cost), 0) AS switched_cost,
       money(sum(o.excess_cost) * (1 - coalesce(safe_div(sum(s.switched_cost), sum(o.cost)), 0))) AS open_excess
FROM agent_outliers AS o
LEFT JOIN scoped AS s USING (feature_id, trace_id)
GROUP BY o.feature_id;

-- Churn evidence ---------------------------------------------------------------
-- "Revenue at risk" has one meaning everywhere: the current monthly fee of
-- a customer whose calls show it is likely to leave: its calls in the last
-- 14 days down by decline_pct or more against the 14 days before (with at
-- least min_observations calls then), a downgrade in the period, or
-- silence. Revenue bills a customer (without a subscriptions row) to the
-- end of the period unless it has lapsed (customer_lapsed: silent for
-- quiet_days or more before the file's last call date), then to its last
-- call date: a lapsed customer (silent under 30 days) is listed as lapsed,
-- with its fee at risk and the evidence saying it is billed only to its
-- last call (the money a finance reader must confirm: gone, or still
-- paying and under-billed here). Silent 30 days or more: gone, not listed.
CREATE OR REPLACE TEMP VIEW churn_signals AS
WITH activity AS (
    SELECT u.customer_id,
           sum(u.calls) FILTER (WHERE u.call_date > p.last_date - 14) AS calls_last_14,
           sum(u.calls) FILTER (WHERE u.call_date <= p.last_date - 14 AND u.call_date > p.last_date - 28) AS calls_prior_14,
           max(u.call_date) AS last_call_date,
           any_value(p.last_date) AS file_last_date,
           -- whole days (a date minus a date is an interval on Spark)
           date_diff('day', max(u.call_date), any_value(p.last_date)) AS days_silent
    FROM finance_usage AS u CROSS JOIN period AS p
    GROUP BY u.customer_id
),
downgrades AS (
    SELECT d.customer_id, arg_max(t.tier_rank, d.bill_date) AS current_rank, max(t.tier_rank) AS top_rank
    FROM revenue_days AS d JOIN subscription_tiers AS t USING (subscription_tier)
    GROUP BY d.customer_id
),
evidence AS (
    SELECT e.customer_id, e.subscription_tier, e.organization_id, e.monthly_fee,
           list_filter([
               CASE WHEN a.days_silent BETWEEN assumption_num('quiet_days') AND 29
                    THEN format('no calls in the last {} days', a.days_silent) END,
               CASE WHEN coalesce(a.calls_prior_14, 0) >= ap.min_observations
                         AND coalesce(a.calls_last_14, 0)
                             <= a.calls_prior_14 * (1 - assumption_num('decline_pct') / 100)
                    THEN format('calls down {:.0f}% (last 14 days {} against {} the 14 before)',
                                100 - pct(coalesce(a.calls_last_14, 0), a.calls_prior_14),
                                coalesce(a.calls_last_14, 0), a.calls_prior_14) END,
               CASE WHEN g.current_rank < g.top_rank THEN 'downgraded to ' || e.subscription_tier END
           ], lambda x: x IS NOT NULL) AS signals,
           e.lapsed
    FROM customer_economics AS e
    JOIN activity AS a USING (customer_id)
    LEFT JOIN downgrades AS g USING (customer_id)
    -- (joined, not a subquery: Spark takes none inside list_filter's list)
    CROSS JOIN alert_policy AS ap
    -- silent for 30 days or more: already gone, its revenue is no longer current
    WHERE a.days_silent < 30
)
SELECT customer_id, subscription_tier, organization_id,
       -- a lapsed customer's fee too: billed only to its last call, it is
       -- revenue the reports no longer count unless the customer still pays
       monthly_fee AS revenue_at_risk,
       array_to_string(signals, '; ')
           || CASE WHEN lapsed THEN ': lapsed, billed only to its last call (confirm whether it cancelled)'
                   ELSE '' END AS evidence,
       lapsed
FROM evidence
WHERE array_length(signals) > 0;  -- (len() of a list is a string length on Spark)

-- Feature economics ----------------------------------------------------------------
-- Attributed revenue, by call share: each customer's revenue split over the
-- features it used in proportion to its calls on each (an allocation
-- method, not revenue a feature earns or would lose). adoption_pct =
-- customers using it / all customers with calls; margin = attributed
-- revenue - cost. The quadrant splits at the median (quantile_cont 0.5) of
-- adoption_pct and of margin_pct over all features (at or above is high):
-- invest (high, high), optimize (high adoption, low margin), maintain (low,
-- high), sunset (low, low). target_cost is the cost at which the feature's
-- margin reaches the median margin: a target, not a saving.
CREATE OR REPLACE TEMP TABLE feature_customer_usage AS
SELECT f.customer_id, f.feature_id, e.subscription_tier,
       f.calls, f.cost,
       money(safe_div(e.revenue * f.calls, e.calls)) AS attributed_revenue
FROM (
    SELECT customer_id, feature_id, count(*) AS calls, sum(cost_usd) AS cost
    FROM calls
    GROUP BY customer_id, feature_id
) AS f
JOIN customer_economics AS e USING (customer_id);

CREATE OR REPLACE TEMP TABLE feature_economics AS
WITH per_feature AS (
    SELECT feature_id,
           sum(calls) AS calls,
           sum(cost) AS cost,
           count(*) AS customers,
           pct(count(*), (SELECT count(*) FROM customer_economics WHERE calls > 0)) AS adoption_pct,
           money(safe_div(sum(cost), count(*))) AS cost_per_customer,
           sum(attributed_revenue) AS attributed_revenue,
           sum(attributed_revenue) - sum(cost) AS margin,
           pct(sum(attributed_revenue) - sum(cost), sum(attributed_revenue)) AS margin_pct
    FROM feature_customer_usage
    GROUP BY feature_id
), medians AS (
    SELECT quantile_cont(adoption_pct, 0.5) AS median_adoption_pct,
           quantile_cont(margin_pct, 0.5) AS median_margin_pct
    FROM per_feature
)
SELECT p.*,
       CASE WHEN p.adoption_pct >= m.median_adoption_pct AND p.margin_pct >= m.median_margin_pct THEN 'invest'
            WHEN p.adoption_pct >= m.median_adoption_pct THEN 'optimize'
            WHEN p.margin_pct >= m.median_margin_pct THEN 'maintain'
            ELSE 'sunset' END AS quadrant,
       m.median_adoption_pct, m.median_margin_pct,
       money(p.attributed_revenue * (1 - m.median_margin_pct / 100)) AS target_cost
FROM per_feature AS p, medians AS m;

-- The plan worth recommending: the largest gain while grandfathering lasts,
-- when it still reaches the alert policy's dollar floor a month after
-- subtracting the revenue it exposes (gain_now - revenue_exposed: what is
-- left if every grandfathered customer leaves when the grandfathering ends).
-- A plan whose gain would not cover the revenue it puts in play is not
-- recommended.
CREATE OR REPLACE TEMP VIEW pricing_plan_choice AS
SELECT p.plan
FROM pricing_plans AS p CROSS JOIN finance_period AS fp
WHERE p.plan <> 'flat'
  AND per_month(p.gain_now - p.revenue_exposed, fp.covered_days) >= (SELECT dollar_floor_usd FROM alert_policy)
ORDER BY p.gain_now DESC, p.position
LIMIT 1;

-- The ledger of actions ------------------------------------------------------------
-- Every action any report recommends, defined once. Each has a kind (saving,
-- avoided cost, revenue gain, revenue at risk, target), an amount over the
-- file's period and per 30-day month, what it rests on (assumptions), a
-- confidence (high: repricing observed usage; medium: depends on behaviour;
-- low: depends on quality or demand), the quality risk of a model change,
-- and how it enters the reconciled total:
--   1 model switching and 2 provider arbitrage act on disjoint calls;
--   3 cost caps, prompt caching (on calls no other lever acts on: not
--     switched or arbitraged, not of a capped customer) and 4 the
--     commitment (sized on each day's spend after the caps and caching) are
--     the sure levers (medium confidence): counted standalone, so
--     the "high or medium confidence" subtotal never rests on a
--     low-confidence lever;
--   the overlap line (low confidence) is what 3-4 lose if 1-2 are made (the
--     caps act on a lower cost, the commitment is resized on what remains),
--     so the total of all savings is the levers in sequence;
--   an action whose counted amount is 0 is not counted (nor shown green);
--   revenue levers (upgrades, a pricing plan) overlap on the same customers:
--     the larger total counts, the other is its alternative;
--   revenue at risk and targets are listed, never added to savings or gains.
CREATE OR REPLACE TEMP VIEW actions_raw AS
WITH fp AS (SELECT * FROM finance_period),
-- the levers are stored tables (above); the plan views computed once per query
pricing_plans AS MATERIALIZED (SELECT * FROM pricing_plans),
pricing_plan_choice AS MATERIALIZED (SELECT * FROM pricing_plan_choice),
switch AS (
    SELECT 'switch:' || provider || '/' || from_model || '/' || task_type AS action_id,
           'optimization' AS domain, ['optimization', 'understanding', 'performance'] AS shown_in,
           'model switching' AS lever, 1 AS step, 'saving' AS kind,
           format('Move {} calls from {} to {}', task_type, from_model, to_model) AS title,
           format('{:,} {} calls on {} cost {} over the {}; the same tokens at {}''s table price (model_prices) cost {}.',
                  CAST(calls AS BIGINT), task_type, from_model, usd_text(current_cost), days_text(fp.covered_days), to_model, usd_text(projected_cost)) AS detail,
           format('Same tokens per call; {} at its price in model_prices (the price table calls are costed with, not the genai-prices list price the pricing check uses); {} is a simple task type.', to_model, task_type) AS assumptions,
           'low' AS confidence,
           format('{} is in the {} class of model_prices: check a sample of {} outputs before switching{}.', to_model,
                  coalesce(to_model_class, 'unpriced'), task_type,
                  CASE WHEN target_meets_sla IS NULL THEN '; its latency is not observed in this file' ELSE '' END) AS quality_risk,
           savings AS period_usd, current_cost AS acts_on_period_usd, 'cost' AS base,
           savings AS counted_period_usd, NULL AS note, fp.covered_days AS days
    FROM ledger_switches, fp
    -- never toward a model that misses its latency SLA (unobserved: allowed)
    WHERE savings > 0 AND target_meets_sla IS DISTINCT FROM false
),
arbitrage AS (
    SELECT 'arbitrage:' || from_provider || '/' || from_model, 'optimization', ['optimization'],
           'provider arbitrage', 2, 'saving',
           format('Move {} work from {} to {} {}', from_model, from_provider, to_provider, to_model),
           format('{:,} {} calls outside simple tasks cost {} over the {}; at {}''s table price (model_prices) {}.',
                  CAST(calls AS BIGINT), from_model, usd_text(current_cost), days_text(fp.covered_days), to_model, usd_text(projected_cost)),
           format('Same tokens per call; {} at its price in model_prices; the cheapest {} model of another provider.', to_model, model_class),
           'low',
           format('{} is another provider''s model: its quality on this work is untested.', to_model),
           savings, current_cost, 'cost', savings, NULL, fp.covered_days
    FROM ledger_arbitrage, fp
),
caps AS (
    SELECT 'cap:' || customer_id, 'profitability', ['profitability', 'realtime'],
           'cost cap', 3, 'avoided cost',
           format('Cap {}''s AI cost at {}% of its {} fee', customer_id, assumption('cost_cap_pct'), subscription_tier),
           format('{} ({}) cost {} against {} of revenue over the {} it was billed; the cap holds it to {}% of its current fee of {} a month, {} over those days{}.{}',
                  customer_id, subscription_tier, usd_text(cost), usd_text(revenue), days_text(ledger_caps.covered_days),
                  assumption('cost_cap_pct'), usd_text(monthly_fee), usd_text(cap_limit),
                  CASE WHEN upgrade_tier IS NULL THEN '; it is on the top tier, so no upgrade exists' ELSE '' END,
                  CASE WHEN cap_savings_after_models < cap_savings
                       THEN format(' If the model switches are made its cost falls and the cap saves {} over those days (see the overlap line).',
                                   usd_text(cap_savings_after_models)) ELSE '' END),
           format('A usage cap (or overage billing) holds cost to {}% of the current tier''s fee; usage above it is not served or is billed.',
                  assumption('cost_cap_pct')),
           'medium', NULL,
           cap_savings, cost, 'cost', cap_savings, NULL, ledger_caps.covered_days
    FROM ledger_caps, fp
    WHERE proposed
),
caching AS (
    SELECT 'caching:' || provider || '/' || model, 'optimization', ['optimization'], 'prompt caching', 3, 'saving',
           format('Cache {} prompts: {}% of input tokens from the prompt cache', model, assumption('target_cache_hit_pct')),
           format('{:,} {} calls read {:.1f}% of their input tokens from the cache; at {}% the same calls cost {} less over the {} at genai-prices list prices'
                  || '{}.',
                  CAST(calls AS BIGINT), model, coalesce(cache_hit_pct, 0), assumption('target_cache_hit_pct'),
                  usd_text(potential_savings), days_text(fp.covered_days),
                  CASE WHEN on_capped_customers > 0
                       THEN format('; {} of it is on customers the ledger caps and is not counted', usd_text(on_capped_customers))
                       ELSE '' END
                  || CASE WHEN on_model_lever_calls > 0
                          THEN format('; {} is on calls a model switch or arbitrage moves, lost if those are made (see the overlap line)',
                                      usd_text(on_model_lever_calls))
                          ELSE '' END),
           format('Prompts restructured so that {}% of input tokens are cache reads; cache reads at the genai-prices list price of a cache read; the one-off cache-write premium not counted.',
                  assumption('target_cache_hit_pct')),
           'medium', NULL,
           savings, potential_savings, 'cost', savings, NULL, fp.covered_days
    FROM ledger_caching, fp
    WHERE savings > 0
),
commitment AS (
    SELECT 'commitment', 'optimization', ['optimization'], 'reserved commitment', 4, 'saving',
           format('Commit to {} a day of reserved capacity', usd_text(a.commit_daily_cost)),
           format('Sized on daily spend after the cost caps and prompt caching (the levers that do not depend on output quality): the {}th percentile of daily spend at a {}% discount; '
                  || '{:.1f}% utilization, break-even at {:.0f}%. If the model switches and arbitrage are made, commit {} a day instead (see the overlap line).',
                  CAST(round(a.percentile * 100) AS INTEGER), a.discount_pct,
                  pct(a.covered_cost, a.commit_daily_cost * a.days), 100 - a.discount_pct, usd_text(l.commit_daily_cost)),
           format('Daily spend stays at its level; committed spend is billed at {}% off whether used or not.', a.discount_pct),
           'medium', NULL,
           a.savings, a.current_cost, 'cost', a.savings, NULL, a.days
    FROM ledger_commitment AS a
    JOIN ledger_commitment AS l ON l.basis = 'after_levers'
    WHERE a.basis = 'after_caps' AND a.savings > 0
),
-- The sure levers (caps, caching, commitment) are counted standalone, so
-- their subtotal holds whether or not the quality-dependent switches are
-- made. If they are, the caps act on a lower cost, caching loses the calls
-- they move and the commitment is sized on what remains: the two overlap
-- lines are that difference (usually negative), counted with the
-- low-confidence savings, so the total is the levers in sequence (switch,
-- arbitrage, caps, caching and commitment on what remains). One line per
-- report that owns the sure lever: the caps' (profitability) and the rate
-- levers' (optimization: caching and the commitment), so each report's
-- figures hold only its own levers. Each amount is put on the period
-- basis (covered days): a cap's difference x covered days / its billed
-- days, the commitment's x covered days / its complete days, so its
-- monthly amount is the lever's own monthly difference.
overlap_parts AS (
    SELECT c.after_models, c.standalone, c.difference, k.lost,
           l.commit_daily_cost AS commit_after, a.commit_daily_cost AS commit_before,
           greatest(l.savings, 0) AS commit_savings_after, greatest(a.savings, 0) AS commit_savings_before,
           a.days AS commit_days,
           (greatest(l.savings, 0) - greatest(a.savings, 0)) * fp.covered_days / nullif(a.days, 0)
               AS commit_difference
    FROM (SELECT coalesce(sum(cap_savings_after_models), 0) AS after_models,
                 coalesce(sum(cap_savings), 0) AS standalone,
                 coalesce(sum((cap_savings_after_models - cap_savings)
                              * (SELECT covered_days FROM period) / nullif(covered_days, 0)), 0) AS difference
          FROM ledger_caps WHERE proposed) AS c
    CROSS JOIN (SELECT coalesce(sum(on_model_lever_calls), 0) AS lost FROM ledger_caching) AS k
    CROSS JOIN ledger_commitment AS a
    JOIN ledger_commitment AS l ON l.basis = 'after_levers'
    CROSS JOIN fp
    WHERE a.basis = 'after_caps'
),
overlap AS (
    SELECT 'overlap:caps', 'profitability', ['profitability'], 'overlap with the sure levers', 4, 'overlap',
           'If the model switches are made: the cost caps save less',
           format('After the model switches and arbitrage the caps save {} instead of {} over their billed days.',
                  usd_text(o.after_models), usd_text(o.standalone)),
           'Applies only with the quality-dependent levers; counted with them.',
           'low', NULL,
           money(o.difference), NULL, 'cost', money(o.difference), NULL, fp.covered_days
    FROM overlap_parts AS o CROSS JOIN fp
    WHERE o.difference <> 0
    UNION ALL
    SELECT 'overlap:rate-levers', 'optimization', ['optimization'], 'overlap with the sure levers', 4, 'overlap',
           'If the model switches are made: resize the commitment; prompt caching saves less',
           format('After the model switches and arbitrage prompt caching loses the {} it saves on the calls they move, '
                  || 'and the commitment is {} a day instead of {}, saving {} instead of {} over its {} complete days.',
                  usd_text(o.lost), usd_text(o.commit_after), usd_text(o.commit_before), usd_text(o.commit_savings_after), usd_text(o.commit_savings_before),
                  o.commit_days),
           'Applies only with the quality-dependent levers; counted with them.',
           'low', NULL,
           money(coalesce(o.commit_difference, 0) - o.lost), NULL, 'cost',
           money(coalesce(o.commit_difference, 0) - o.lost), NULL, fp.covered_days
    FROM overlap_parts AS o CROSS JOIN fp
    WHERE coalesce(o.commit_difference, 0) - o.lost <> 0
),
upgrades AS (
    SELECT 'upgrade:' || customer_id, 'profitability', ['profitability', 'realtime'],
           'tier upgrade', 5, 'revenue gain',
           -- an upgrade the churn rule rejects is listed as considered, not as advice
           CASE WHEN upgrade_keeps_customer
                THEN format('Upgrade {} from {} to {}', customer_id, subscription_tier, upgrade_tier)
                ELSE format('Considered, not recommended: upgrade {} from {} to {}',
                            customer_id, subscription_tier, upgrade_tier) END,
           format('{} cost {} against {} of revenue over the {} it was billed; {} pays {} a month more and covers the loss.{}',
                  customer_id, usd_text(cost), usd_text(revenue), days_text(ledger_caps.covered_days), upgrade_tier, usd_text(upgrade_fee - monthly_fee),
                  CASE WHEN NOT upgrade_keeps_customer
                       THEN format(' Its bill would rise {:.0f}%: by pricing''s churn rule (over {}%) the customer is likely to leave, putting its {} a month at risk, so the ledger proposes the cap instead.',
                                   upgrade_rise_pct, assumption('churn_increase_pct'), usd_text(monthly_fee))
                       ELSE '' END),
           'The customer accepts the next tier at its list fee.',
           CASE WHEN upgrade_keeps_customer THEN 'medium' ELSE 'low' END, NULL,
           upgrade_revenue, revenue, 'revenue',
           CASE WHEN upgrade_keeps_customer THEN upgrade_revenue ELSE 0 END,
           CASE WHEN NOT upgrade_keeps_customer
                THEN format('not counted: the fee rises {:.0f}%, over the {}% at which a customer is likely to leave; the cap counts instead',
                            upgrade_rise_pct, assumption('churn_increase_pct')) END,
           ledger_caps.covered_days
    FROM ledger_caps, fp
    WHERE upgrade_tier IS NOT NULL AND revenue - cost + upgrade_revenue >= 0
),
plan AS (
    SELECT 'pricing:' || plan, 'pricing', ['pricing'], 'pricing plan', 6, 'revenue gain',
           format('Move to {} pricing, grandfathering {} customer(s)', plan, grandfathered_customers),
           format('Re-billing the same usage under {}: {} instead of {} over the period while {} customer(s) whose bill would rise over {}% keep theirs until {}; {} if all then moved and stayed. '
                  || 'If adopted, those customers'' {} of current revenue over the period is exposed when the grandfathering ends (they are likely to leave); the gain exceeds it.',
                  plan, usd_text(revenue_while_grandfathered), usd_text(current_revenue), grandfathered_customers,
                  assumption('churn_increase_pct'), grandfathered_until, usd_text(revenue), usd_text(revenue_exposed)),
           'Usage stays the same under the new prices; customers paying more stay.',
           'low', NULL,
           gain_now, current_revenue, 'revenue', gain_now, NULL, fp.covered_days
    FROM pricing_plans, fp
    WHERE plan = (SELECT plan FROM pricing_plan_choice)
),
churn AS (
    SELECT 'churn:' || customer_id, 'realtime', ['realtime', 'profitability'], 'retention', 7, 'revenue at risk',
           format('Contact {} ({}) before it leaves', customer_id, subscription_tier),
           format('Evidence: {}. Its current fee is {} a month.', evidence, usd_text(revenue_at_risk)),
           'A customer showing this evidence leaves within a month unless contacted.',
           'medium', NULL,
           revenue_at_risk, NULL, 'revenue', 0, 'revenue at risk is listed, not added', 30
    FROM churn_signals, fp
    WHERE revenue_at_risk > 0
),
non_production AS (
    SELECT 'target:non-production', 'alignment', ['alignment'], 'non-production spend', 8, 'target',
           'Hold staging and development to ' || assumption('non_production_target_pct') || '% of spend',
           format('Non-production cost {} is {:.1f}% of the {} spent over the period.',
                  usd_text(c.cost), pct(c.cost, fp.total_cost), usd_text(fp.total_cost)),
           'A target share set by the team, not an observed saving.',
           'medium', NULL,
           money(c.cost - fp.total_cost * assumption_num('non_production_target_pct') / 100), c.cost, 'cost', 0,
           'a target, not counted as a saving', fp.covered_days
    FROM (SELECT sum(cost_usd) AS cost FROM calls WHERE environment <> 'production') AS c, fp
    WHERE pct(c.cost, fp.total_cost) > assumption_num('non_production_target_pct')
),
features AS (
    SELECT 'target:feature/' || feature_id, 'features', ['features'], 'feature cost target', 9, 'target',
           format('Bring {}''s AI cost to {} over the period', feature_id, usd_text(target_cost)),
           format('{} ({}): {:.1f}% adoption, {:.1f}% margin on revenue attributed by call share (median {:.1f}%); '
                  || 'its AI cost was {}.',
                  feature_id, quadrant, adoption_pct, margin_pct, median_margin_pct, usd_text(cost)),
           'Attributed revenue splits each customer''s revenue over its features by call share; the target reaches the median margin.',
           'medium', NULL,
           cost - target_cost, cost, 'cost', 0, 'a target, not counted as a saving', fp.covered_days
    FROM feature_economics, fp
    WHERE quadrant IN ('optimize', 'sunset') AND cost > target_cost
),
-- The agents report's targets: what outlier runs cost above the norm of
-- their feature and model, net of the part the model switches already
-- count (open_excess), and the spend no customer is attributed to. A per-run
-- step budget is suggested only when outlier runs take more calls than the
-- feature's runs do on average; single-call runs are expensive calls
-- (model, prompt size), not runaway loops.
agents AS (
    SELECT 'target:agents/' || f.feature_id, 'agents', ['agents'], 'agent run review', 10, 'target',
           format('Review the costliest {} runs', f.feature_id),
           format('{:,} {} run(s) cost {} more than the median run of the feature on the same model over the {} (the worst {}x); '
                  || '{} of it is on calls the model switches already reprice. {}',
                  CAST(f.runs AS BIGINT), f.feature_id, usd_text(f.excess), days_text(fp.covered_days), f.worst,
                  usd_text(f.excess - f.open_excess),
                  CASE WHEN f.outlier_calls > r.feature_calls
                       THEN format('They average {} calls per run against {} for the feature: a step or token budget per run is a target to test.',
                                   f.outlier_calls, r.feature_calls)
                       ELSE format('They average {} calls per run, as the feature''s runs ({}): these are single expensive calls (prompt or output size), not runaway runs.',
                                   f.outlier_calls, r.feature_calls) END),
           format('A run costing over {}x the median run of its feature on its model (with at least {} runs) can be brought to that median.',
                  assumption('outlier_ratio'), assumption('min_feature_runs')),
           'low', NULL,
           f.open_excess, f.cost, 'cost', 0, 'a target, not counted as a saving', fp.covered_days
    FROM agent_outlier_features AS f
    JOIN (SELECT feature_id, round(avg(calls), 1) AS feature_calls FROM agent_runs GROUP BY feature_id) AS r
      USING (feature_id)
    CROSS JOIN fp
    WHERE f.open_excess >= assumption_num('materiality_usd')
    UNION ALL
    SELECT 'target:agents/unattributed', 'agents', ['agents'], 'attribution', 10, 'target',
           'Attribute the untagged calls',
           format('{} of spend over the {} has no customer; wrap those calls in finops.attribute(...) (see finops sql --name unattributed).',
                  usd_text(u.cost), days_text(fp.covered_days)),
           'No subscription pays for spend without a customer until it is attributed.',
           'low', NULL,
           u.cost, u.cost, 'cost', 0, 'a target, not counted as a saving', fp.covered_days
    FROM unattributed_usage AS u CROSS JOIN fp
    WHERE u.cost >= assumption_num('materiality_usd')
)
SELECT * FROM switch
UNION ALL SELECT * FROM features
UNION ALL SELECT * FROM arbitrage
UNION ALL SELECT * FROM caps
UNION ALL SELECT * FROM caching
UNION ALL SELECT * FROM commitment
UNION ALL SELECT * FROM overlap
UNION ALL SELECT * FROM upgrades
UNION ALL SELECT * FROM plan
UNION ALL SELECT * FROM churn
UNION ALL SELECT * FROM non_production
UNION ALL SELECT * FROM agents;

-- The ledger as every report shows it: amounts per 30-day month, revenue
-- levers reconciled (the larger of upgrades and the pricing plan counts),
-- severity from the alert policy (against monthly spend), none for
-- targets and rejected ('Considered, not recommended') actions.
-- actions_live computes it under the assumptions in effect; `actions`
-- (below) reads it stored when no analyzer parameter changes them.
CREATE OR REPLACE TEMP VIEW actions_live AS
WITH fp AS (SELECT * FROM finance_period),
raw AS MATERIALIZED (SELECT * FROM actions_raw),
revenue_levers AS (
    SELECT coalesce(sum(counted_period_usd) FILTER (WHERE lever = 'tier upgrade'), 0) AS upgrades,
           coalesce(sum(counted_period_usd) FILTER (WHERE lever = 'pricing plan' AND kind = 'revenue gain'), 0) AS plan
    FROM raw
),
ledger AS MATERIALIZED (
    SELECT a.*,
           CASE WHEN a.lever = 'tier upgrade' AND a.note IS NOT NULL THEN 0
                WHEN a.lever = 'tier upgrade' AND r.plan > r.upgrades THEN 0
                WHEN a.lever = 'pricing plan' AND a.kind = 'revenue gain' AND r.upgrades >= r.plan THEN 0
                ELSE a.counted_period_usd END AS reconciled_period_usd,
           CASE WHEN a.lever = 'tier upgrade' AND a.note IS NOT NULL THEN a.note
                WHEN a.lever = 'tier upgrade' AND r.plan > r.upgrades
                    THEN 'an alternative to the pricing plan, which counts instead'
                WHEN a.lever = 'pricing plan' AND a.kind = 'revenue gain' AND r.upgrades >= r.plan
                    THEN 'an alternative to the tier upgrades, which count instead'
                ELSE a.note END AS reconciliation,
           -- the actions a line stands for: 1, or the count a 'smaller' line sums
           CAST(1 AS BIGINT) AS action_count
    FROM raw AS a CROSS JOIN revenue_levers AS r
),
-- Actions under the dollar floor are listed together, one line per lever,
-- so the ledger still adds up to the tables it comes from.
sized AS (
    SELECT *,
           per_month(period_usd, days) < (SELECT dollar_floor_usd FROM alert_policy)
           AND kind IN ('saving', 'avoided cost', 'revenue gain') AS small
    FROM ledger
),
sized2 AS (
    SELECT * EXCLUDE (small),
           small AND count(*) FILTER (WHERE small) OVER (PARTITION BY lever, kind) >= 2 AS merged
    FROM sized
),
grouped AS (
    SELECT * EXCLUDE (merged) FROM sized2 WHERE NOT merged
    UNION ALL
    SELECT replace(lever, ' ', '-') || ':smaller', any_value(domain), any_value(shown_in), lever, min(step), kind,
           format('{} smaller {} actions', count(*), lever),
           format('Each under ${:,.0f} a month: {}{}.', any_value(p.dollar_floor_usd),
                  string_agg(title, '; ' ORDER BY period_usd DESC, action_id)
                      FILTER (WHERE rank <= 5),
                  CASE WHEN count(*) > 5 THEN format(' and {} more', count(*) - 5) ELSE '' END),
           any_value(assumptions), any_value(confidence), any_value(quality_risk),
           sum(period_usd), sum(acts_on_period_usd), any_value(base), sum(counted_period_usd), NULL,
           any_value(days), sum(reconciled_period_usd), NULL, count(*)
    FROM (SELECT *, row_number() OVER (PARTITION BY lever, kind ORDER BY period_usd DESC, action_id) AS rank
          FROM sized2 WHERE merged) AS small
    CROSS JOIN alert_policy AS p
    GROUP BY lever, kind
)
SELECT l.action_id, l.domain, l.shown_in, l.lever, l.step, l.kind, l.title,
       l.detail || CASE WHEN l.kind = 'revenue at risk' AND l.days = 30
                        THEN format(' Puts at risk {} a month.', usd_text(money(l.period_usd)))
                        ELSE format(' {} {} a month (30-day month; {} over {}).',
                          CASE WHEN l.kind = 'revenue gain' AND l.reconciled_period_usd = 0 THEN 'Would add (not counted)'
                               ELSE CASE l.kind WHEN 'saving' THEN 'Saves' WHEN 'avoided cost' THEN 'Avoids'
                                      WHEN 'revenue gain' THEN 'Adds' WHEN 'revenue at risk' THEN 'Puts at risk'
                                      WHEN 'overlap' THEN 'Changes the total by' ELSE 'Target gap:' END END,
                          usd_text(per_month(l.period_usd, l.days)), usd_text(money(l.period_usd)),
                          days_text(l.days)) END AS detail,
       l.assumptions, l.confidence, l.quality_risk,
       money(l.period_usd) AS period_usd,
       per_month(l.period_usd, l.days) AS monthly_usd,
       per_month(l.acts_on_period_usd, l.days) AS acts_on_monthly_usd,
       per_month(l.reconciled_period_usd, l.days) AS counted_monthly_usd,
       l.reconciled_period_usd <> 0 AS counted,
       l.reconciliation, l.action_count,
       -- the policy never rates a gap to a target, nor advice the ledger rejects
       -- (an action titled 'Considered, not recommended'): no severity
       CASE WHEN l.kind = 'target' OR starts_with(l.title, 'Considered, not recommended') THEN NULL
            ELSE coalesce(alert_severity_of(per_month(l.period_usd, l.days), fp.monthly_spend), 'low') END
           AS severity
FROM grouped AS l CROSS JOIN fp;

-- The ledger, stored once per load: every report's recommendations and the
-- index read it, and recomputing it for each reader (levers, bills and the
-- commitment over all the usage) was most of a run's time.
CREATE OR REPLACE TEMP TABLE actions AS SELECT * FROM actions_live;
-- ledger: end

-- The reconciled total: counted savings never exceed the monthly spend
-- (each lever acts on what the ones before it leave), gains are the
-- counted revenue levers, revenue at risk and targets stand apart. The
-- high-or-medium line sums only high- and medium-confidence levers, each
-- standalone; the low-confidence line adds the quality-dependent levers and
-- the overlap line. Action counts count only actions with a counted amount
-- (the overlap line is an adjustment, not an action), each action a
-- 'smaller' line sums counted (action_count), not the line as one.
-- Every amount is in cents, each action's rounded before it is added: the
-- lines add up to the cent as shown (the index lists the actions in cents).
CREATE OR REPLACE TEMP VIEW actions_total AS
WITH fp AS (SELECT cents(monthly_spend) AS monthly_spend, cents(monthly_revenue) AS monthly_revenue
            FROM finance_period),
a AS MATERIALIZED (
    SELECT kind, confidence, counted, action_count,
           cents(monthly_usd) AS monthly_usd, cents(counted_monthly_usd) AS counted_monthly_usd
    FROM actions
),
sums AS (
    SELECT coalesce(sum(counted_monthly_usd) FILTER (WHERE kind IN ('saving', 'avoided cost') AND confidence <> 'low'), 0) AS sure,
           coalesce(sum(counted_monthly_usd) FILTER (WHERE kind IN ('saving', 'avoided cost', 'overlap') AND confidence = 'low'), 0) AS quality,
           CAST(coalesce(sum(action_count) FILTER (WHERE kind IN ('saving', 'avoided cost') AND confidence <> 'low' AND counted), 0) AS BIGINT) AS sure_n,
           CAST(coalesce(sum(action_count) FILTER (WHERE kind IN ('saving', 'avoided cost') AND confidence = 'low' AND counted), 0) AS BIGINT) AS quality_n,
           coalesce(sum(counted_monthly_usd) FILTER (WHERE kind = 'revenue gain'), 0) AS gains,
           CAST(coalesce(sum(action_count) FILTER (WHERE kind = 'revenue gain' AND counted), 0) AS BIGINT) AS gains_n,
           coalesce(sum(monthly_usd) FILTER (WHERE kind = 'revenue at risk'), 0) AS at_risk,
           CAST(coalesce(sum(action_count) FILTER (WHERE kind = 'revenue at risk'), 0) AS BIGINT) AS at_risk_n,
           coalesce(sum(monthly_usd) FILTER (WHERE kind = 'target'), 0) AS targets,
           CAST(coalesce(sum(action_count) FILTER (WHERE kind = 'target'), 0) AS BIGINT) AS targets_n
    FROM a
)
SELECT * FROM (
    SELECT 1 AS position, 'Monthly AI spend' AS line, 'spend' AS kind, fp.monthly_spend AS monthly_usd,
           CAST(NULL AS BIGINT) AS actions FROM fp
    UNION ALL SELECT 2, 'Savings, high or medium confidence', 'saving', sure, sure_n FROM sums
    UNION ALL SELECT 3, 'Savings that depend on quality (low confidence)', 'saving', quality, quality_n FROM sums
    UNION ALL SELECT 4, 'All savings, each counted once', 'saving', sure + quality, sure_n + quality_n FROM sums
    UNION ALL SELECT 5, 'Spend after all savings', 'spend', fp.monthly_spend - sure - quality, NULL FROM fp, sums
    UNION ALL SELECT 6, 'Monthly revenue', 'revenue', fp.monthly_revenue, NULL FROM fp
    UNION ALL SELECT 7, 'Revenue gains, counted once', 'revenue gain', gains, gains_n FROM sums
    UNION ALL SELECT 8, 'Revenue at risk (not netted)', 'revenue at risk', at_risk, at_risk_n FROM sums
    UNION ALL SELECT 9, 'Targets (not counted)', 'target', targets, targets_n FROM sums
);

-- One report's actions, as its `recommendations` query returns them:
-- amount_usd per 30-day month, largest first.
CREATE OR REPLACE TEMP MACRO report_actions(report) AS TABLE
SELECT CAST(row_number() OVER (ORDER BY monthly_usd DESC, action_id) AS INTEGER) AS priority,
       title,
       detail || coalesce(' Quality risk: ' || quality_risk, '')
              || ' Confidence: ' || confidence || '.'
              || coalesce(' Counted: ' || reconciliation || '.', '') AS detail,
       monthly_usd AS amount_usd, kind, confidence, severity, counted, action_id
FROM actions
WHERE list_contains(shown_in, report);

-- Chargeback ------------------------------------------------------------------
-- One rule, read by alignment (its chargeback) and by the organization
-- statements: tagged cost stays with its owner (each organization is
-- charged all its own cost, production and non-production); only untagged
-- cost (calls whose organization_id is one of `shared`, a comma-separated
-- list: each caller passes its shared_organizations parameter) is a shared
-- pool, spread over the tagged organizations in proportion to their
-- own cost. Pool and proportions are over every organization in `calls`.
-- It is kept in cents, as every statement and the alignment report show it,
-- so what a reader adds up adds up to the cent:
--   an organization's own cost in a month is the sum of its customers'
--   cells of customer_org_month_cost (each customer's month to the cent, as
--   the customer's statement shows it; the month's budget actual is the
--   same sum), its production cost the sum of theirs, and its
--   non-production cost the one less the other; its period's costs are the
--   sums of those months (its statement's "Month by month" rows add up to
--   its summary, and its customers' rows to its own cost);
--   the pool is the untagged organizations' cells added up, as alignment
--   shows their cost; each organization's share of it is rounded to the
--   cent in proportion to its own exact cost (exact_cost: the key follows
--   what was spent, not the rounding of a small cost), the remainder (the pool less
--   the shares) to the organization with the largest own cost (tie:
--   organization_id), so the shares add up to the pool; and that share is
--   spread over its months by each month's pool, each month in cents, the
--   last month taking the remainder, so they add up to it.
-- chargeback_months: one row per organization and calendar month;
-- chargeback_allocation: one per organization, the sums of its months.
CREATE OR REPLACE TEMP MACRO chargeback_months(shared) AS TABLE
WITH tagged AS (
    SELECT organization_id, month, calls, cost, exact_cost, production_cost,
           NOT list_contains(string_split(replace(shared, ' ', ''), ','), organization_id) AS is_tagged
    FROM customer_org_month_cost
), org_month AS (
    SELECT organization_id, month, CAST(sum(calls) AS BIGINT) AS calls, sum(exact_cost) AS own_cost,
           sum(production_cost) AS production_cost,
           sum(cost) - sum(production_cost) AS own_non_production_cost
    FROM tagged
    WHERE is_tagged
    GROUP BY organization_id, month
), month_pool AS (
    SELECT month, sum(cost) AS pool_cost FROM tagged WHERE NOT is_tagged GROUP BY month
), pool AS (
    SELECT coalesce(sum(cost) FILTER (WHERE NOT is_tagged), 0) AS pool_cost,
           coalesce(sum(exact_cost) FILTER (WHERE is_tagged), 0) AS tagged_cost
    FROM tagged
), org AS (
    SELECT o.organization_id, sum(o.own_cost) AS own_cost, any_value(p.pool_cost) AS pool_cost,
           any_value(p.tagged_cost) AS tagged_cost,
           cents(coalesce(safe_div(any_value(p.pool_cost) * sum(o.own_cost), any_value(p.tagged_cost)), 0)) AS shared_rounded,
           row_number() OVER (ORDER BY sum(o.own_cost) DESC, o.organization_id) AS rank_by_direct
    FROM org_month AS o CROSS JOIN pool AS p
    GROUP BY o.organization_id
), org_shared AS (
    SELECT organization_id, pool_cost, pct(own_cost, tagged_cost) AS allocation_pct,
           shared_rounded
             + CASE WHEN rank_by_direct = 1 THEN cents(pool_cost) - sum(shared_rounded) OVER () ELSE 0 END
             AS shared_cost
    FROM org
), spread AS (
    SELECT o.organization_id, o.month, o.calls, o.production_cost, o.own_non_production_cost,
           s.shared_cost, s.allocation_pct, s.pool_cost,
           CASE WHEN s.pool_cost > 0 THEN cents(s.shared_cost * coalesce(m.pool_cost, 0) / s.pool_cost)
                ELSE cents(0) END AS allocated_rounded,
           row_number() OVER (PARTITION BY o.organization_id ORDER BY o.month DESC) AS from_last
    FROM org_month AS o
    JOIN org_shared AS s USING (organization_id)
    LEFT JOIN month_pool AS m USING (month)
)
SELECT organization_id, month, calls, production_cost, own_non_production_cost,
       allocated_rounded + CASE WHEN from_last = 1
           THEN shared_cost - sum(allocated_rounded) OVER (PARTITION BY organization_id)
           ELSE 0 END AS allocated_shared_cost,
       allocation_pct, cents(pool_cost) AS pool_cost
FROM spread;
CREATE OR REPLACE TEMP MACRO chargeback_allocation(shared) AS TABLE
WITH months AS (SELECT * FROM chargeback_months(shared)),
customers AS (SELECT organization_id, count(DISTINCT customer_id) AS customers
              FROM customer_org_month_cost GROUP BY organization_id)
SELECT m.organization_id, sum(m.calls) AS calls, any_value(c.customers) AS customers,
       sum(m.production_cost) + sum(m.own_non_production_cost) AS direct_cost,
       sum(m.production_cost) AS production_cost,
       sum(m.own_non_production_cost) AS own_non_production_cost,
       any_value(m.allocation_pct) AS allocation_pct,
       sum(m.allocated_shared_cost) AS shared_cost,
       any_value(m.pool_cost) AS pool_cost
FROM months AS m JOIN customers AS c USING (organization_id)
GROUP BY m.organization_id;
