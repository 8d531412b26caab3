-- name: calls
-- title: The calls table: the data contract as SQL
-- version: 1
-- description: Reads the CSV of metered calls with explicit names and types,
--   rejects rows that break the contract (kept, with a reason), counts each
--   call_id once, and defines the reference tables and macros every analyzer
--   uses. Its one parameter is the CSV path.
--
-- From a plain duckdb shell:
--   SET VARIABLE csv_path = 'data/simulated_calls.csv';
--   .read sql/calls.sql
--   SELECT provider, sum(cost_usd) FROM calls GROUP BY ALL;
-- (`finops shell` does both for you.)

-- Helper macros -------------------------------------------------------------

-- Division that yields NULL, never NaN or infinity, when the denominator is 0.
CREATE OR REPLACE TEMP MACRO safe_div(a, b) AS
    CASE WHEN b IS NULL OR b = 0 THEN NULL ELSE a / b END;
-- Percentage of a whole, NULL when the whole is 0.
CREATE OR REPLACE TEMP MACRO pct(part, whole) AS
    safe_div(100.0 * part, whole);
-- Money with 6 decimals, exact from here on (sums of DECIMAL stay DECIMAL),
-- rounded half-up like the data contract's round(..., 6). A division gives
-- a DOUBLE, where 0.0020715 is 0.00207149999...; fixing it to 9 decimals
-- first (exact for amounts below a million dollars) rounds that tie up.
CREATE OR REPLACE TEMP MACRO money(x) AS
    CAST(round(CAST(x AS DECIMAL(38, 9)), 6) AS DECIMAL(38, 6));
-- Cost of tokens at a list price in USD per 1,000 tokens.
CREATE OR REPLACE TEMP MACRO token_cost(input_tokens, output_tokens, input_per_1k, output_per_1k) AS
    money((input_tokens * input_per_1k + output_tokens * output_per_1k) / 1000);

-- Reference tables ----------------------------------------------------------
-- The one definition of these facts: the simulator, the tests and the docs
-- checks read the three tables below from here (finops.engine.reference runs
-- just their CREATE statements), so a change here reaches all of them.

CREATE OR REPLACE TEMP TABLE subscription_tiers AS
SELECT * FROM (VALUES
    ('starter',    CAST(29  AS DECIMAL(18, 6)), 1),
    ('pro',        CAST(99  AS DECIMAL(18, 6)), 2),
    ('enterprise', CAST(299 AS DECIMAL(18, 6)), 3)
) AS t(subscription_tier, monthly_fee, tier_rank);

-- List prices in USD per 1,000 tokens. model_class: premium models are the
-- expensive ones an optimizer looks at; economy_model is the documented
-- cheaper model of the same provider family to reprice them at.
CREATE OR REPLACE TEMP TABLE model_prices AS
SELECT provider, model,
       CAST(input_per_1k AS DECIMAL(18, 6)) AS input_per_1k,
       CAST(output_per_1k AS DECIMAL(18, 6)) AS output_per_1k,
       model_class, economy_model
FROM (VALUES
    ('openai',    'gpt-4',              0.03,     0.06,    'premium',  'gpt-4o-mini'),
    ('openai',    'gpt-4-turbo',        0.01,     0.03,    'premium',  'gpt-4o-mini'),
    ('openai',    'gpt-4o',             0.0025,   0.01,    'premium',  'gpt-4o-mini'),
    ('openai',    'gpt-4o-mini',        0.00015,  0.0006,  'economy',  NULL),
    ('openai',    'gpt-3.5-turbo',      0.0005,   0.0015,  'standard', NULL),
    ('anthropic', 'claude-opus-4',      0.015,    0.075,   'premium',  'claude-haiku-4'),
    ('anthropic', 'claude-sonnet-4',    0.003,    0.015,   'premium',  'claude-haiku-4'),
    ('anthropic', 'claude-3.5-sonnet',  0.003,    0.015,   'premium',  'claude-haiku-4'),
    ('anthropic', 'claude-haiku-4',     0.00025,  0.00125, 'economy',  NULL),
    ('bedrock',   'claude-v2',          0.008,    0.024,   'premium',  'claude-instant'),
    ('bedrock',   'claude-instant',     0.0008,   0.0024,  'standard', NULL),
    ('bedrock',   'titan-text-express', 0.0002,   0.0006,  'economy',  NULL),
    ('bedrock',   'titan-text-lite',    0.00015,  0.0002,  'economy',  NULL),
    ('google',    'gemini-1.5-pro',     0.00125,  0.00375, 'premium',  'gemini-1.5-flash'),
    ('google',    'gemini-pro',         0.00025,  0.0005,  'standard', NULL),
    ('google',    'gemini-1.5-flash',   0.000075, 0.0003,  'economy',  NULL),
    ('azure',     'gpt-4-azure',        0.03,     0.06,    'premium',  'gpt-35-turbo-azure'),
    ('azure',     'gpt-35-turbo-azure', 0.0005,   0.0015,  'standard', NULL),
    ('mistral',   'mistral-large',      0.004,    0.012,   'premium',  'mistral-small'),
    ('mistral',   'mistral-medium',     0.0027,   0.0081,  'standard', NULL),
    ('mistral',   'mistral-small',      0.0001,   0.0003,  'economy',  NULL),
    ('cohere',    'command',            0.001,    0.002,   'standard', NULL),
    ('cohere',    'command-r',          0.0005,   0.0015,  'standard', NULL),
    ('cohere',    'command-light',      0.0003,   0.0006,  'economy',  NULL)
) AS t(provider, model, input_per_1k, output_per_1k, model_class, economy_model);

-- The contract's columns, in order (the header must match exactly).
CREATE OR REPLACE TEMP TABLE contract_columns AS
SELECT * FROM (VALUES
    (1, 'timestamp', 'TIMESTAMP'), (2, 'call_id', 'VARCHAR'),
    (3, 'provider', 'VARCHAR'), (4, 'model', 'VARCHAR'),
    (5, 'input_tokens', 'INTEGER'), (6, 'output_tokens', 'INTEGER'),
    (7, 'cost_usd', 'DECIMAL(18,6)'), (8, 'latency_ms', 'INTEGER'),
    (9, 'customer_id', 'VARCHAR'), (10, 'subscription_tier', 'VARCHAR'),
    (11, 'organization_id', 'VARCHAR'), (12, 'product_id', 'VARCHAR'),
    (13, 'feature_id', 'VARCHAR'), (14, 'task_type', 'VARCHAR'),
    (15, 'environment', 'VARCHAR'), (16, 'request_id', 'VARCHAR'),
    (17, 'trace_id', 'VARCHAR'), (18, 'session_id', 'VARCHAR'),
    (19, 'user_agent', 'VARCHAR')
) AS t(position, column_name, column_type);

-- Header check --------------------------------------------------------------
-- The first line, read raw. A renamed or swapped column is an error here,
-- never silently misread values further down.
CREATE OR REPLACE TEMP TABLE csv_header AS
SELECT rtrim(ltrim(line, chr(65279)), chr(13)) AS line
FROM read_csv(getvariable('csv_path'), header = false, auto_detect = false,
              delim = chr(1), quote = '', escape = '', columns = {'line': 'VARCHAR'})
LIMIT 1;

SELECT CASE
    WHEN h.line IS DISTINCT FROM e.expected
    THEN error('CSV header is not the finops contract: expected "' || e.expected
               || '", found "' || left(coalesce(h.line, ''), 300) || '"')
END AS header_check
FROM csv_header AS h,
     (SELECT string_agg(column_name, ',' ORDER BY position) AS expected FROM contract_columns) AS e;

-- Rows, checked and typed in one pass ----------------------------------------
-- Every column is read as text: DuckDB's own casts round '1.5' into an
-- INTEGER and drop a seventh decimal, so the contract's rules are checked
-- here, explicitly, in the pass that reads the file; each row gets the
-- first rule it breaks in reject_reason (NULL: valid). Rows with the wrong
-- field count or broken quoting never get here: DuckDB keeps them in
-- csv_reject_errors. One table holds the typed rows (one copy of the data,
-- so a 500 MB file fits the memory cap); the rejected rows and repeated
-- call_ids are then set aside and deleted from it.
CREATE OR REPLACE TEMP TABLE calls_loaded AS
SELECT
    try_cast("timestamp" AS TIMESTAMP) AS "timestamp",
    call_id, provider, model,
    try_cast(input_tokens AS INTEGER) AS input_tokens,
    try_cast(output_tokens AS INTEGER) AS output_tokens,
    try_cast(cost_usd AS DECIMAL(18, 6)) AS cost_usd,
    try_cast(latency_ms AS INTEGER) AS latency_ms,
    customer_id, subscription_tier, organization_id, product_id, feature_id,
    task_type, environment,
    coalesce(request_id, '') AS request_id, coalesce(trace_id, '') AS trace_id,
    coalesce(session_id, '') AS session_id, coalesce(user_agent, '') AS user_agent,
    -- derived columns, computed once here rather than in every query
    try_cast(input_tokens AS INTEGER) + try_cast(output_tokens AS INTEGER) AS total_tokens,
    CAST(try_cast("timestamp" AS TIMESTAMP) AS DATE) AS call_date,
    CAST(hour(try_cast("timestamp" AS TIMESTAMP)) AS INTEGER) AS call_hour,
    dayname(try_cast("timestamp" AS TIMESTAMP)) AS day_of_week,
    CAST(isodow(try_cast("timestamp" AS TIMESTAMP)) AS INTEGER) AS day_of_week_number,
    reject_reason,
    CASE WHEN reject_reason IS NOT NULL THEN
        concat_ws(',', "timestamp", call_id, provider, model, input_tokens, output_tokens,
                  cost_usd, latency_ms, customer_id, subscription_tier, environment)
    END AS rejected_content
FROM (
    SELECT *,
        CASE
            WHEN NOT regexp_full_match(coalesce("timestamp", ''),
                     '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?')
                 OR try_cast("timestamp" AS TIMESTAMP) IS NULL
                THEN 'timestamp is not an ISO 8601 UTC time: ' || coalesce("timestamp", '(empty)')
            WHEN coalesce(call_id, '') = '' THEN 'call_id is empty'
            WHEN NOT regexp_full_match(coalesce(provider, ''), '[a-z0-9][a-z0-9_.-]*')
                THEN 'provider is not a lower-case key: ' || coalesce(provider, '(empty)')
            WHEN coalesce(model, '') = '' THEN 'model is empty'
            WHEN NOT regexp_full_match(coalesce(input_tokens, ''), '\d{1,7}')
                 OR CAST(input_tokens AS INTEGER) NOT BETWEEN 1 AND 1000000
                THEN 'input_tokens is not a whole number in 1..1,000,000: ' || coalesce(input_tokens, '(empty)')
            WHEN NOT regexp_full_match(coalesce(output_tokens, ''), '\d{1,7}')
                 OR CAST(output_tokens AS INTEGER) NOT BETWEEN 0 AND 1000000
                THEN 'output_tokens is not a whole number in 0..1,000,000: ' || coalesce(output_tokens, '(empty)')
            WHEN NOT regexp_full_match(coalesce(cost_usd, ''), '\d{1,12}(\.\d{0,6})?')
                THEN 'cost_usd is not a non-negative amount with at most 6 decimals: ' || coalesce(cost_usd, '(empty)')
            WHEN NOT regexp_full_match(coalesce(latency_ms, ''), '\d{1,6}')
                 OR CAST(latency_ms AS INTEGER) NOT BETWEEN 1 AND 600000
                THEN 'latency_ms is not a whole number in 1..600,000: ' || coalesce(latency_ms, '(empty)')
            WHEN coalesce(customer_id, '') = '' THEN 'customer_id is empty'
            WHEN coalesce(subscription_tier, '') NOT IN ('starter', 'pro', 'enterprise')
                THEN 'unknown subscription_tier: ' || coalesce(subscription_tier, '(empty)')
            WHEN coalesce(organization_id, '') = '' THEN 'organization_id is empty'
            WHEN coalesce(product_id, '') = '' THEN 'product_id is empty'
            WHEN coalesce(feature_id, '') = '' THEN 'feature_id is empty'
            WHEN coalesce(task_type, '') = '' THEN 'task_type is empty'
            WHEN coalesce(environment, '') NOT IN ('production', 'staging', 'development')
                THEN 'unknown environment: ' || coalesce(environment, '(empty)')
        END AS reject_reason
    FROM read_csv(getvariable('csv_path'),
        header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
        strict_mode = true, store_rejects = true,
        rejects_scan = 'csv_reject_scans', rejects_table = 'csv_reject_errors',
        columns = {
            'timestamp': 'VARCHAR', 'call_id': 'VARCHAR', 'provider': 'VARCHAR',
            'model': 'VARCHAR', 'input_tokens': 'VARCHAR', 'output_tokens': 'VARCHAR',
            'cost_usd': 'VARCHAR', 'latency_ms': 'VARCHAR', 'customer_id': 'VARCHAR',
            'subscription_tier': 'VARCHAR', 'organization_id': 'VARCHAR',
            'product_id': 'VARCHAR', 'feature_id': 'VARCHAR', 'task_type': 'VARCHAR',
            'environment': 'VARCHAR', 'request_id': 'VARCHAR', 'trace_id': 'VARCHAR',
            'session_id': 'VARCHAR', 'user_agent': 'VARCHAR'
        })
);

-- rowid is the file's line order: the table is written with DuckDB's
-- preserve_insertion_order (the default), and a window such as
-- row_number() OVER () would force the whole read onto one thread.

-- Rows that break a contract rule, kept for inspection.
CREATE OR REPLACE TEMP TABLE calls_rule_rejects AS
SELECT rowid AS row_number, reject_reason, rejected_content
FROM calls_loaded
WHERE reject_reason IS NOT NULL;

-- A call_id seen more than once among valid rows: where it first appears.
CREATE OR REPLACE TEMP TABLE calls_repeated_ids AS
SELECT call_id, min(rowid) AS first_row, count(*) - 1 AS repeats
FROM calls_loaded
WHERE reject_reason IS NULL
GROUP BY call_id
HAVING count(*) > 1;

-- Keep each valid call once: its first occurrence in the file.
DELETE FROM calls_loaded
WHERE reject_reason IS NOT NULL
   OR rowid IN (SELECT c.rowid
                FROM calls_loaded AS c
                JOIN calls_repeated_ids AS r
                  ON r.call_id = c.call_id AND c.rowid > r.first_row);

-- The calls every analyzer reads: the contract's columns, typed, in file
-- order, plus the derived columns total_tokens, call_date, call_hour,
-- day_of_week and day_of_week_number. (No ORDER BY: every analyzer query
-- orders its own output.)
CREATE OR REPLACE TEMP VIEW calls AS
SELECT
    "timestamp", call_id, provider, model, input_tokens, output_tokens,
    cost_usd, latency_ms, customer_id, subscription_tier, organization_id,
    product_id, feature_id, task_type, environment, request_id, trace_id,
    session_id, user_agent,
    total_tokens, call_date, call_hour, day_of_week, day_of_week_number
FROM calls_loaded;

-- Data quality --------------------------------------------------------------

-- Every row that is not in `calls`, with why: broken CSV lines, rows that
-- break a contract rule, and repeated call_ids.
CREATE OR REPLACE TEMP VIEW calls_rejected AS
SELECT CAST(line AS BIGINT) AS line, 'malformed CSV line' AS kind,
       arg_min(error_message, column_idx) AS reason, any_value(csv_line) AS content
FROM csv_reject_errors
GROUP BY scan_id, file_id, line
UNION ALL
SELECT NULL, 'contract rule', reject_reason, rejected_content
FROM calls_rule_rejects
UNION ALL
SELECT NULL, 'duplicate call_id',
       'call_id seen earlier in the file: ' || call_id || ' (' || repeats || ' more)',
       call_id
FROM calls_repeated_ids;

-- One row describing what was read.
CREATE OR REPLACE TEMP VIEW data_quality AS
SELECT
    (SELECT count(*) FROM calls) AS rows,
    (SELECT count(DISTINCT line) FROM csv_reject_errors)
      + (SELECT count(*) FROM calls_rule_rejects) AS rows_rejected,
    (SELECT coalesce(sum(repeats), 0) FROM calls_repeated_ids) AS duplicate_call_ids,
    (SELECT min("timestamp") FROM calls) AS first_call,
    (SELECT max("timestamp") FROM calls) AS last_call;

-- Shared definitions --------------------------------------------------------

-- The period the file covers: period_days counts both end dates.
CREATE OR REPLACE TEMP TABLE period AS
SELECT min("timestamp") AS first_call, max("timestamp") AS last_call,
       min(call_date) AS first_date, max(call_date) AS last_date,
       date_diff('day', min(call_date), max(call_date)) + 1 AS period_days
FROM calls;

-- One row per customer, computed once per load (analyzers read it often):
-- the latest tier (and organization and product),
-- tenure in days counting both ends, and revenue prorated on tenure:
-- revenue = monthly_fee(latest tier) * tenure_days / 30.
CREATE OR REPLACE TEMP TABLE customer_economics AS
SELECT c.*, t.monthly_fee,
       money(t.monthly_fee * c.tenure_days / 30) AS revenue
FROM (
    SELECT customer_id,
           arg_max(subscription_tier, ("timestamp", call_id)) AS subscription_tier,
           arg_max(organization_id, ("timestamp", call_id)) AS organization_id,
           arg_max(product_id, ("timestamp", call_id)) AS product_id,
           count(*) AS calls,
           sum(cost_usd) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           min(call_date) AS first_date,
           max(call_date) AS last_date,
           date_diff('day', min(call_date), max(call_date)) + 1 AS tenure_days
    FROM calls
    GROUP BY customer_id
) AS c
JOIN subscription_tiers AS t USING (subscription_tier);
