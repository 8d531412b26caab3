-- name: finance
-- title: Shared finance definitions: revenue by day, alert policy, the ledger of actions
-- version: 1
-- description: Read after calls.sql. Bills each customer day by day at that
--   day's tier (or at the optional subscriptions file), defines the alert
--   policy every analyzer applies, and the one ledger of actions whose rows
--   every report's recommendations and the index's Actions section show.
--   Its parameter is the subscriptions file (a header-only file when none
--   is given):
--
--   SET VARIABLE csv_path = 'data/simulated_calls.csv';
--   SET VARIABLE subscriptions_path = 'sql/empty_subscriptions.csv';
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
    ('cost_cap_pct', '80', 'AI cost cap offered to unprofitable customers, percent of their revenue'),
    ('churn_increase_pct', '25', 'A bill rising by more than this percent makes its customer likely to leave'),
    ('grandfather_days', '180', 'Days grandfathered customers keep their current bill after a plan change'),
    ('quiet_days', '7', 'A customer silent this many days before the last call date shows churn evidence'),
    ('decline_pct', '50', 'A customer whose calls fell by this percent (last 14 days vs the 14 before) shows churn evidence'),
    ('month_days', '30', 'Days in the month every monthly figure uses')
) AS t(name, value, description);

-- An assumption: the running analyzer's --param value, else the table's.
CREATE OR REPLACE TEMP MACRO assumption(key) AS
    coalesce(CAST(getvariable(key) AS VARCHAR),
             (SELECT value FROM finance_assumptions WHERE name = key));
CREATE OR REPLACE TEMP MACRO assumption_num(key) AS CAST(assumption(key) AS DOUBLE);

-- Alert policy --------------------------------------------------------------
-- Every alert and action is measured per 30-day month. An alert fires only
-- at or above both floors; its severity is a function of the money at stake
-- as a share of the monthly spend (or monthly revenue) it concerns:
--   below $10 a month or below 1% of the base: no alert;
--   high at 10% of the base or more, medium at 3%, low below.
-- A rate-based alert also needs at least min_observations observations.
CREATE OR REPLACE TEMP TABLE alert_policy AS
SELECT CAST(10 AS DECIMAL(18, 2)) AS dollar_floor_usd, 1.0 AS share_floor_pct,
       3.0 AS medium_share_pct, 10.0 AS high_share_pct, 20 AS min_observations;

CREATE OR REPLACE TEMP MACRO alert_severity(monthly_usd, monthly_base) AS
    CASE WHEN monthly_usd IS NULL OR monthly_base IS NULL OR monthly_base <= 0 THEN NULL
         WHEN abs(monthly_usd) < (SELECT dollar_floor_usd FROM alert_policy)
           OR pct(abs(monthly_usd), monthly_base) < (SELECT share_floor_pct FROM alert_policy) THEN NULL
         WHEN pct(abs(monthly_usd), monthly_base) >= (SELECT high_share_pct FROM alert_policy) THEN 'high'
         WHEN pct(abs(monthly_usd), monthly_base) >= (SELECT medium_share_pct FROM alert_policy) THEN 'medium'
         ELSE 'low' END;

-- An amount over the file's period as a 30-day month.
CREATE OR REPLACE TEMP MACRO per_month(amount, days) AS
    money(safe_div(amount * 30, days));

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

-- Revenue by day ------------------------------------------------------------
-- Each customer's tier on each day it made calls: the tier of its last call
-- that day (a mid-day upgrade bills that day at the new tier).
CREATE OR REPLACE TEMP TABLE customer_call_days AS
SELECT customer_id, call_date,
       arg_max(subscription_tier, ("timestamp", call_id)) AS subscription_tier,
       arg_max(organization_id, ("timestamp", call_id)) AS organization_id
FROM calls
GROUP BY customer_id, call_date;

-- One row per customer and billed day, with that day's monthly fee.
-- From the calls: every day from the customer's first to its last call date,
-- at the tier of its latest call day on or before it (days without calls
-- keep the tier they had). From the subscriptions file, for the customers it
-- lists (it replaces what the calls imply): every subscribed day inside the
-- file's period, at price x (1 - discount). Revenue = sum(fee) / 30.
CREATE OR REPLACE TEMP TABLE revenue_days AS
WITH spans AS (
    SELECT customer_id, min(call_date) AS first_date, max(call_date) AS last_date
    FROM customer_call_days
    WHERE customer_id NOT IN (SELECT customer_id FROM subscriptions)
    GROUP BY customer_id
),
days AS (
    SELECT customer_id, CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS bill_date
    FROM spans
),
from_calls AS (
    SELECT d.customer_id, d.bill_date, c.subscription_tier, t.monthly_fee, 'calls' AS source
    FROM days AS d
    ASOF JOIN customer_call_days AS c
      ON c.customer_id = d.customer_id AND c.call_date <= d.bill_date
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
)
SELECT * FROM from_calls
UNION ALL
-- Overlapping subscription rows of one customer bill a day once: the later start.
SELECT customer_id, bill_date, arg_max(subscription_tier, (start_date, line)),
       arg_max(monthly_fee, (start_date, line)), 'subscriptions'
FROM from_file
GROUP BY customer_id, bill_date;

-- One row per customer, computed once per load (analyzers read it often):
-- the latest tier (and organization and product), calls and cost, the days
-- billed in the period (tenure_days), revenue = sum of each billed day's
-- monthly fee / 30, and the current monthly fee (its last billed day's).
-- A customer listed in the subscriptions file without calls has cost 0.
CREATE OR REPLACE TEMP TABLE customer_economics AS
WITH usage AS (
    SELECT customer_id,
           arg_max(subscription_tier, ("timestamp", call_id)) AS subscription_tier,
           arg_max(organization_id, ("timestamp", call_id)) AS organization_id,
           arg_max(product_id, ("timestamp", call_id)) AS product_id,
           count(*) AS calls,
           sum(cost_usd) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           min(call_date) AS first_date,
           max(call_date) AS last_date
    FROM calls
    GROUP BY customer_id
),
billed AS (
    SELECT customer_id,
           count(*) AS tenure_days,
           money(sum(monthly_fee) / 30) AS revenue,
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
       coalesce(b.monthly_fee, CAST(0 AS DECIMAL(18, 6))) AS monthly_fee,
       coalesce(b.revenue, CAST(0 AS DECIMAL(38, 6))) AS revenue,
       coalesce(b.tier_changes, 0) AS tier_changes,
       coalesce(b.revenue_source, 'calls') AS revenue_source
FROM usage AS u
FULL JOIN billed AS b USING (customer_id)
LEFT JOIN listed AS l USING (customer_id);
