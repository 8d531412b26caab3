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

-- The contract's columns. The 19 required ones come first, in this order
-- (the header must start with exactly these); since contract 1.1 the
-- optional ones may follow in any order, matched by header name, each read
-- as `default_value` when the file does not have it or leaves it empty.
CREATE OR REPLACE TEMP TABLE contract_columns AS
SELECT * FROM (VALUES
    (1, 'timestamp', 'TIMESTAMP', true, '1.0', NULL), (2, 'call_id', 'VARCHAR', true, '1.0', NULL),
    (3, 'provider', 'VARCHAR', true, '1.0', NULL), (4, 'model', 'VARCHAR', true, '1.0', NULL),
    (5, 'input_tokens', 'INTEGER', true, '1.0', NULL), (6, 'output_tokens', 'INTEGER', true, '1.0', NULL),
    (7, 'cost_usd', 'DECIMAL(18,6)', true, '1.0', NULL), (8, 'latency_ms', 'INTEGER', true, '1.0', NULL),
    (9, 'customer_id', 'VARCHAR', true, '1.0', NULL), (10, 'subscription_tier', 'VARCHAR', true, '1.0', NULL),
    (11, 'organization_id', 'VARCHAR', true, '1.0', NULL), (12, 'product_id', 'VARCHAR', true, '1.0', NULL),
    (13, 'feature_id', 'VARCHAR', true, '1.0', NULL), (14, 'task_type', 'VARCHAR', true, '1.0', NULL),
    (15, 'environment', 'VARCHAR', true, '1.0', NULL), (16, 'request_id', 'VARCHAR', true, '1.0', NULL),
    (17, 'trace_id', 'VARCHAR', true, '1.0', NULL), (18, 'session_id', 'VARCHAR', true, '1.0', NULL),
    (19, 'user_agent', 'VARCHAR', true, '1.0', NULL),
    (20, 'cache_read_input_tokens', 'INTEGER', false, '1.1', '0'),
    (21, 'cache_write_input_tokens', 'INTEGER', false, '1.1', '0'),
    (22, 'reasoning_output_tokens', 'INTEGER', false, '1.1', '0'),
    (23, 'status', 'VARCHAR', false, '1.1', 'ok'),
    (24, 'error_type', 'VARCHAR', false, '1.1', ''),
    (25, 'cost_source', 'VARCHAR', false, '1.1', 'recorded')
) AS t(position, column_name, column_type, required, since_version, default_value);

-- Settings ------------------------------------------------------------------
-- Each is a DuckDB variable with a default; set it before `.read`:
--   csv_path              the file (required)
--   min_call_date         first plausible call date (default 2000-01-01)
--   max_call_date         last plausible call date (default 2100-12-31)
--   ignore_extra_columns  true: skip header columns the contract does not know
--   line_offset           added to every line number (a reader of one part
--                         of a file passes the lines before that part)
--   csv_header            the header, when the file itself has none (a part)
--   csv_buffer_size, csv_max_line_size, csv_parallel
--                         the line reader's buffer size, longest line and
--                         threads (default 8000000, 2000000, true). DuckDB
--                         2.0's parallel reader can skip lines at buffer
--                         boundaries, unsaid: finops picks a size with no
--                         boundary at a line end, checks the byte count, and
--                         reads a damaged file's copy on one thread.

-- Values as common writers spell them ---------------------------------------
-- A number is judged by its value, never its spelling, and never through a
-- float: `3.5e-05`, `1E-3`, `+0.5`, `.25`, `0.1234560`, `18.0` are parsed as
-- exact decimals (DuckDB's text-to-DECIMAL cast reads the digits and the
-- exponent exactly), then checked: at most 6 decimals for an amount, none
-- for a count. `nan`, `inf`, `1e400`, `1_000`, ` 5` are not numbers.
-- (Exact to 24 decimals: a longer fraction is beyond any writer's floats.)
CREATE OR REPLACE TEMP MACRO number_value(s) AS
    CASE WHEN regexp_full_match(s, '[+-]?(\d{1,24}(\.\d{0,18})?|\.\d{1,18})([eE][+-]?\d{1,2})?')
         THEN try_cast(s AS DECIMAL(38, 24)) END;
-- A nonzero value that rounds to 0 at 24 decimals (`1e-30`) is no zero.
CREATE OR REPLACE TEMP MACRO is_zero_text(s) AS
    regexp_full_match(s, '[+-]?(0+\.?0*|\.0+)([eE][+-]?\d+)?');
CREATE OR REPLACE TEMP MACRO whole_of(v, s) AS
    CASE WHEN v = trunc(v) AND (v <> 0 OR is_zero_text(s)) THEN CAST(v AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO amount_of(v, s) AS
    CASE WHEN v = round(v, 6) AND (v <> 0 OR is_zero_text(s)) THEN try_cast(v AS DECIMAL(18, 6)) END;
-- A whole count as BIGINT (`18`, `18.0`, `1.8e1`), NULL when s is not one.
CREATE OR REPLACE TEMP MACRO whole_number(s) AS
    CASE
        WHEN regexp_full_match(s, '\d{1,9}') THEN CAST(s AS BIGINT)
        WHEN s IS NULL OR s = '' THEN NULL
        ELSE whole_of(number_value(s), s)
    END;
-- An amount as DECIMAL(18, 6), NULL when s is not one.
CREATE OR REPLACE TEMP MACRO exact_amount(s) AS
    CASE
        WHEN regexp_full_match(s, '\d{1,12}(\.\d{0,6})?') THEN CAST(s AS DECIMAL(18, 6))
        WHEN s IS NULL OR s = '' THEN NULL
        ELSE amount_of(number_value(s), s)
    END;
-- A time: ISO 8601 with `T` or a space, seconds optional, up to 9 fraction
-- digits; no suffix means UTC, a suffix (`Z`, `+00:00`, `+02:00`, `-0500`,
-- or the hours alone, `+00`, as PostgreSQL and DuckDB write a time zone) is
-- converted to UTC.
CREATE OR REPLACE TEMP MACRO contract_time(s) AS
    CASE
        WHEN regexp_full_match(s, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?')
            THEN try_cast(s AS TIMESTAMP)
        WHEN regexp_full_match(s, '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)')
            THEN timezone('UTC', try_cast(s AS TIMESTAMPTZ))
    END;

-- Fields of one CSV record (RFC 4180): a list of texts, or NULL when its
-- quoting is broken (a stray or unbalanced `"`). U+E000 in a quoted field
-- is a CR that engine/linefix.py stood in for (DuckDB splits lines at CR).
CREATE OR REPLACE TEMP MACRO csv_fields(line) AS
    CASE
        WHEN line IS NULL THEN NULL
        WHEN NOT contains(line, '"') THEN string_split(line, ',')
        WHEN regexp_full_match(line, '(?:"(?:[^"]|"")*"|[^,"]*)(?:,(?:"(?:[^"]|"")*"|[^,"]*))*')
            THEN list_transform(
                regexp_extract_all(',' || line, ',("(?:[^"]|"")*"|[^,"]*)', 1),
                lambda x: CASE WHEN starts_with(x, '"')
                              THEN replace(replace(substr(x, 2, length(x) - 2), '""', '"'), chr(57344), chr(13)) ELSE x END)
    END;

-- stage: read
-- (The stages let finops's store run this file in parts: `read` on each new
-- byte range of the file, `views` once over the stored rows. Between them
-- pass: calls_loaded (typed valid rows, each call_id once), csv_unreadable,
-- calls_rule_rejects, calls_duplicate_rows, csv_multiline, csv_header_fields
-- and the variable csv_emitted_lines. `line_offset` (default 0) is how many
-- lines of the file precede the range read, beyond its header.)

-- Header check --------------------------------------------------------------
-- The first line, read raw. The 19 contract columns must open it, in order
-- (a renamed or swapped column is an error, never misread values further
-- down); after them, any of the optional columns, by name. Names may be
-- quoted, as any CSV field.
CREATE OR REPLACE TEMP TABLE csv_header AS
SELECT coalesce(getvariable('csv_header'), (
    SELECT rtrim(ltrim(line, chr(65279)), chr(13))
    FROM read_csv(getvariable('csv_path'), header = false, auto_detect = false,
                  delim = chr(0), quote = '', escape = '', new_line = '\r\n',
                  strict_mode = false, ignore_errors = true, columns = {'line': 'VARCHAR'},
                  -- a small buffer: the first line is all this needs
                  buffer_size = 1048576, max_line_size = 1000000, parallel = false)
    LIMIT 1)) AS line;

CREATE OR REPLACE TEMP TABLE csv_header_fields AS
SELECT f.position, f.column_name, c.required, c.column_name IS NOT NULL AS known,
       count(*) OVER (PARTITION BY f.column_name) AS times
FROM (SELECT CAST(i AS INTEGER) AS position, names[i] AS column_name
      FROM (SELECT coalesce(csv_fields(line), string_split(line, ',')) AS names FROM csv_header) AS h,
           range(1, array_length(names) + 1) AS t(i)) AS f
LEFT JOIN contract_columns AS c USING (column_name);

SELECT CASE
    WHEN coalesce(h.line, '') = '' OR g.first_names IS DISTINCT FROM e.expected_names
    THEN error('CSV header is not the finops contract: expected "' || e.expected
               || '" (optionally followed by contract 1.1 columns), found "'
               || left(coalesce(h.line, ''), 300) || '"')
    WHEN x.repeated IS NOT NULL
    THEN error('CSV header names a column twice: ' || x.repeated)
    WHEN x.unknown IS NOT NULL AND NOT coalesce(getvariable('ignore_extra_columns'), false)
    THEN error('CSV header has columns the finops contract does not know: ' || x.unknown
               || ' (known optional columns: ' || e.optional || ')')
END AS header_check
FROM csv_header AS h,
     (SELECT string_agg(column_name, ',' ORDER BY position) FILTER (WHERE required) AS expected,
             list(column_name ORDER BY position) FILTER (WHERE required) AS expected_names,
             string_agg(column_name, ', ' ORDER BY position) FILTER (WHERE NOT required) AS optional
      FROM contract_columns) AS e,
     -- the first 19 names as fields, so a quoted header ("timestamp","call_id",...:
     -- R's write.csv, pandas with QUOTE_ALL) reads as the same names
     (SELECT list(column_name ORDER BY position) FILTER (WHERE position <= 19) AS first_names
      FROM csv_header_fields) AS g,
     (SELECT string_agg(DISTINCT column_name, ', ') FILTER (WHERE times > 1) AS repeated,
             string_agg(column_name, ', ' ORDER BY position) FILTER (WHERE NOT known) AS unknown
      FROM csv_header_fields WHERE position > 19) AS x;

-- Where each optional column sits in this file (NULL: absent).
SET VARIABLE csv_field_count = (SELECT count(*) FROM csv_header_fields);
SET VARIABLE pos_cache_read_input_tokens = (SELECT position FROM csv_header_fields WHERE column_name = 'cache_read_input_tokens' AND position > 19);
SET VARIABLE pos_cache_write_input_tokens = (SELECT position FROM csv_header_fields WHERE column_name = 'cache_write_input_tokens' AND position > 19);
SET VARIABLE pos_reasoning_output_tokens = (SELECT position FROM csv_header_fields WHERE column_name = 'reasoning_output_tokens' AND position > 19);
SET VARIABLE pos_status = (SELECT position FROM csv_header_fields WHERE column_name = 'status' AND position > 19);
SET VARIABLE pos_error_type = (SELECT position FROM csv_header_fields WHERE column_name = 'error_type' AND position > 19);
SET VARIABLE pos_cost_source = (SELECT position FROM csv_header_fields WHERE column_name = 'cost_source' AND position > 19);


-- Rows, checked and typed in one pass ----------------------------------------
-- The file is read as physical lines (LF or CRLF, mixed freely), not by
-- DuckDB's CSV parser: that parser lets one unbalanced quote swallow every
-- row after it and fails the whole file on one broken line. Here each line
-- is split into fields in SQL, so one bad line costs one row, and every
-- line keeps its number. A line DuckDB cannot read at all (invalid UTF-8,
-- over 2 MB) lands in csv_reject_errors with its number. A record whose
-- quoted field spans lines (an odd number of `"` on its first and last
-- line) is joined further down. Only rejected lines keep their text.
-- rowid is the file's line order: the table is written with DuckDB's
-- preserve_insertion_order (the default), and a window such as
-- row_number() OVER () would force the whole read onto one thread.
-- (DuckDB appends to a rejects table; a reload starts afresh.)
DROP TABLE IF EXISTS csv_reject_errors;
DROP TABLE IF EXISTS csv_reject_scans;

CREATE OR REPLACE TEMP VIEW csv_source AS
SELECT line, extra, CAST(NULL AS BIGINT) AS tag
FROM read_csv(getvariable('csv_path'),
    header = false, auto_detect = false, delim = chr(0), quote = '', escape = '',
    new_line = '\r\n', null_padding = true, strict_mode = false,
    ignore_errors = true, store_rejects = true,
    rejects_scan = 'csv_reject_scans', rejects_table = 'csv_reject_errors',
    columns = {'line': 'VARCHAR', 'extra': 'VARCHAR'},
    buffer_size = coalesce(getvariable('csv_buffer_size'), 8000000),
    max_line_size = coalesce(getvariable('csv_max_line_size'), 2000000),
    parallel = coalesce(getvariable('csv_parallel'), true));

-- Records, checked and typed ------------------------------------------------
-- contract_records reads the records of the view csv_source, (line, extra,
-- tag) — extra: text after a NUL byte, tag: passed through — and returns
-- each with the contract's columns typed and `reject_reason`, the first rule
-- it breaks (NULL: valid). Optional columns this file lacks read as their
-- default. Each step is its own SELECT so that an expression is computed
-- once per record, not once per use. (A view, not a table macro over
-- query(): that ran the read about 1.5 times slower.) csv_source is first
-- the file's lines, then (replaced further down) the multi-line records:
-- a view is bound each time it is read.
CREATE OR REPLACE TEMP VIEW contract_records AS
SELECT
    ts AS "timestamp", f2 AS call_id, f3 AS provider, f4 AS model,
    CAST(CASE WHEN v_in BETWEEN 0 AND 1000000 THEN v_in END AS INTEGER) AS input_tokens,
    CAST(CASE WHEN v_out BETWEEN 0 AND 1000000 THEN v_out END AS INTEGER) AS output_tokens,
    v_cost AS cost_usd,
    CAST(CASE WHEN v_lat BETWEEN 0 AND 1000000 THEN v_lat END AS INTEGER) AS latency_ms,
    f9 AS customer_id, f10 AS subscription_tier, f11 AS organization_id,
    f12 AS product_id, f13 AS feature_id, f14 AS task_type, f15 AS environment,
    f16 AS request_id, f17 AS trace_id, f18 AS session_id, f19 AS user_agent,
    CAST(CASE WHEN v_cr BETWEEN 0 AND 1000000 THEN v_cr END AS INTEGER) AS cache_read_input_tokens,
    CAST(CASE WHEN v_cw BETWEEN 0 AND 1000000 THEN v_cw END AS INTEGER) AS cache_write_input_tokens,
    CAST(CASE WHEN v_rs BETWEEN 0 AND 1000000 THEN v_rs END AS INTEGER) AS reasoning_output_tokens,
    status, error_type, cost_source,
    CASE
        WHEN marker IS NOT NULL THEN marker
        WHEN n_fields IS NULL THEN 'broken quoting (an unbalanced or stray ")'
        WHEN n_fields <> getvariable('csv_field_count')
            THEN 'expected ' || getvariable('csv_field_count') || ' fields, found ' || n_fields
        WHEN ts IS NULL
            THEN 'timestamp is not an ISO 8601 time: ' || coalesce(nullif(f1, ''), '(empty)')
        WHEN CAST(ts AS DATE) NOT BETWEEN
                 coalesce(getvariable('min_call_date'), DATE '2000-01-01')
             AND coalesce(getvariable('max_call_date'), DATE '2100-12-31')
            THEN 'timestamp is outside the plausible window '
                 || coalesce(getvariable('min_call_date'), DATE '2000-01-01') || '..'
                 || coalesce(getvariable('max_call_date'), DATE '2100-12-31') || ': ' || f1
        WHEN coalesce(f2, '') = '' THEN 'call_id is empty'
        WHEN NOT regexp_full_match(coalesce(f3, ''), '[a-z0-9][a-z0-9_.-]*')
            THEN 'provider is not a lower-case key: ' || coalesce(nullif(f3, ''), '(empty)')
        WHEN coalesce(f4, '') = '' THEN 'model is empty'
        WHEN status NOT IN ('ok', 'error')
            THEN 'status is not ok or error: ' || status
        WHEN coalesce((v_in) NOT BETWEEN CASE WHEN status = 'error' THEN 0 ELSE 1 END AND 1000000, true)
            THEN 'input_tokens is not a whole number in '
                 || CASE WHEN status = 'error' THEN '0' ELSE '1' END || '..1,000,000: '
                 || coalesce(nullif(f5, ''), '(empty)')
        WHEN coalesce((v_out) NOT BETWEEN 0 AND 1000000, true)
            THEN 'output_tokens is not a whole number in 0..1,000,000: ' || coalesce(nullif(f6, ''), '(empty)')
        WHEN cost_source NOT IN ('recorded', 'list_price', 'unpriced')
            THEN 'cost_source is not recorded, list_price or unpriced: ' || cost_source
        WHEN cost_source = 'unpriced' AND coalesce(f7, '') <> ''
            THEN 'cost_usd must be empty when cost_source is unpriced: ' || f7
        WHEN cost_source <> 'unpriced' AND coalesce(NOT v_cost BETWEEN 0 AND 999999999999.999999, true)
            THEN 'cost_usd is not a non-negative amount with at most 6 decimals'
                 || CASE WHEN coalesce(f7, '') = '' THEN ' (empty only with cost_source unpriced)' ELSE '' END
                 || ': ' || coalesce(nullif(f7, ''), '(empty)')
        WHEN coalesce((v_lat) NOT BETWEEN 1 AND 600000, true)
            THEN 'latency_ms is not a whole number in 1..600,000: ' || coalesce(nullif(f8, ''), '(empty)')
        WHEN coalesce(f9, '') = '' THEN 'customer_id is empty'
        WHEN coalesce(f10, '') NOT IN ('starter', 'pro', 'enterprise')
            THEN 'unknown subscription_tier: ' || coalesce(nullif(f10, ''), '(empty)')
        WHEN coalesce(f11, '') = '' THEN 'organization_id is empty'
        WHEN coalesce(f12, '') = '' THEN 'product_id is empty'
        WHEN coalesce(f13, '') = '' THEN 'feature_id is empty'
        WHEN coalesce(f14, '') = '' THEN 'task_type is empty'
        WHEN coalesce(f15, '') NOT IN ('production', 'staging', 'development')
            THEN 'unknown environment: ' || coalesce(nullif(f15, ''), '(empty)')
        WHEN coalesce((v_cr) NOT BETWEEN 0 AND 1000000, true)
            THEN 'cache_read_input_tokens is not a whole number in 0..1,000,000: ' || t_cr
        WHEN coalesce((v_cw) NOT BETWEEN 0 AND 1000000, true)
            THEN 'cache_write_input_tokens is not a whole number in 0..1,000,000: ' || t_cw
        WHEN (v_cr) + (v_cw) > (v_in)
            THEN 'cache_read_input_tokens + cache_write_input_tokens exceed input_tokens (they are part of it)'
        WHEN coalesce((v_rs) NOT BETWEEN 0 AND (v_out), true)
            THEN 'reasoning_output_tokens is not a whole number in 0..output_tokens (it is part of it): ' || t_rs
    END AS reject_reason,
    line, open_quote, line_bytes, tag
FROM (
    SELECT *, contract_time(f1) AS ts,
           whole_number(f5) AS v_in, whole_number(f6) AS v_out,
           exact_amount(f7) AS v_cost, whole_number(f8) AS v_lat,
           -- (an absent column is a constant: no per-row parsing)
           CASE WHEN getvariable('pos_cache_read_input_tokens') IS NULL THEN 0 ELSE whole_number(t_cr) END AS v_cr,
           CASE WHEN getvariable('pos_cache_write_input_tokens') IS NULL THEN 0 ELSE whole_number(t_cw) END AS v_cw,
           CASE WHEN getvariable('pos_reasoning_output_tokens') IS NULL THEN 0 ELSE whole_number(t_rs) END AS v_rs
    FROM (
        SELECT line, tag, line_bytes, open_quote, marker, array_length(f) AS n_fields,
               f[1] AS f1, f[2] AS f2, f[3] AS f3, f[4] AS f4, f[5] AS f5, f[6] AS f6,
               f[7] AS f7, f[8] AS f8, f[9] AS f9, f[10] AS f10, f[11] AS f11, f[12] AS f12,
               f[13] AS f13, f[14] AS f14, f[15] AS f15, f[16] AS f16, f[17] AS f17,
               f[18] AS f18, f[19] AS f19,
               coalesce(nullif(f[getvariable('pos_cache_read_input_tokens')], ''), '0') AS t_cr,
               coalesce(nullif(f[getvariable('pos_cache_write_input_tokens')], ''), '0') AS t_cw,
               coalesce(nullif(f[getvariable('pos_reasoning_output_tokens')], ''), '0') AS t_rs,
               coalesce(nullif(f[getvariable('pos_status')], ''), 'ok') AS status,
               coalesce(f[getvariable('pos_error_type')], '') AS error_type,
               coalesce(nullif(f[getvariable('pos_cost_source')], ''), 'recorded') AS cost_source
        FROM (
            SELECT line, tag, csv_fields(line) AS f,
                   CAST(coalesce(strlen(line), 0) AS INTEGER) AS line_bytes,
                   coalesce(contains(line, '"')
                            AND (strlen(line) - strlen(replace(line, '"', ''))) % 2 = 1, false) AS open_quote,
                   CASE
                       WHEN line IS NULL THEN 'empty line'
                       WHEN extra IS NOT NULL THEN 'line contains a NUL byte'
                       WHEN starts_with(line, chr(1) || 'finops-unreadable:') THEN substr(line, 20)
                   END AS marker
            FROM csv_source
        )
    )
);

CREATE OR REPLACE TEMP TABLE calls_loaded AS
SELECT
    "timestamp", call_id, provider, model, input_tokens, output_tokens, cost_usd,
    latency_ms, customer_id, subscription_tier, organization_id, product_id,
    feature_id, task_type, environment, request_id, trace_id, session_id, user_agent,
    cache_read_input_tokens, cache_write_input_tokens, reasoning_output_tokens,
    status, error_type, cost_source,
    -- derived columns, computed once here rather than in every query
    input_tokens + output_tokens AS total_tokens,
    CAST("timestamp" AS DATE) AS call_date,
    CAST(hour("timestamp") AS INTEGER) AS call_hour,
    dayname("timestamp") AS day_of_week,
    CAST(isodow("timestamp") AS INTEGER) AS day_of_week_number,
    reject_reason,
    CASE WHEN reject_reason IS NOT NULL OR open_quote THEN line END AS raw_line,
    open_quote, line_bytes
FROM contract_records;

-- What was read, before anything is set aside (session.py compares the bytes
-- with the file's size: DuckDB skips a line longer than its buffer unsaid).
SET VARIABLE csv_emitted_lines = (SELECT count(*) FROM calls_loaded);
SET VARIABLE csv_line_bytes = (SELECT coalesce(sum(line_bytes), 0) FROM calls_loaded);
SET VARIABLE csv_longest_line = (SELECT coalesce(max(line_bytes), 0) FROM calls_loaded);

-- Lines DuckDB could not read, and the physical line of every read line:
-- the n-th line read (rowid n, from 0) is line n + 1 plus the unreadable
-- lines before it.
CREATE OR REPLACE TEMP TABLE csv_unreadable AS
SELECT CAST(line AS BIGINT) AS file_line,
       -- (a whole-line error has no column_idx: it comes first, never dropped)
       CASE arg_min(error_type, coalesce(column_idx, -1))
           WHEN 'INVALID ENCODING' THEN 'not valid UTF-8 (an invalid byte)'
           WHEN 'LINE SIZE OVER MAXIMUM' THEN 'line longer than 2 MB'
           ELSE arg_min(error_message, coalesce(column_idx, -1))
       END AS reason,
       left(any_value(csv_line), 500) AS content
FROM csv_reject_errors
GROUP BY line;

CREATE OR REPLACE TEMP TABLE csv_line_gaps AS
SELECT file_line - k AS read_before, max(k) AS skipped
FROM (SELECT file_line, row_number() OVER (ORDER BY file_line) AS k FROM csv_unreadable)
GROUP BY ALL;

CREATE OR REPLACE TEMP MACRO file_line(read_index) AS
    read_index + 1
    + coalesce((SELECT max(skipped) FROM csv_line_gaps WHERE read_before <= read_index), 0)
    + coalesce(getvariable('line_offset'), 0);

-- The header line is not a call.
DELETE FROM calls_loaded WHERE rowid = 0 AND getvariable('csv_header') IS NULL;

-- Records whose quoted field spans lines. Lines with an odd number of `"`
-- open or close such a record; each is paired with the next one when the
-- lines between them (at most 200, none unreadable) form one record with
-- the header's field count. A line left unpaired is an unbalanced quote and
-- costs only itself. (Runs of pairable lines are taken first, third, ...)
CREATE OR REPLACE TEMP TABLE csv_multiline AS
WITH open_lines AS (
    SELECT rowid AS r, row_number() OVER (ORDER BY rowid) AS k
    FROM calls_loaded WHERE open_quote
), candidates AS (
    SELECT a.r AS first_r, b.r AS last_r, a.k
    FROM open_lines AS a JOIN open_lines AS b ON b.k = a.k + 1
    WHERE b.r - a.r <= 200 AND file_line(b.r) - file_line(a.r) = b.r - a.r
), joined AS (
    SELECT c.first_r, c.last_r, c.k,
           string_agg(l.raw_line, chr(10) ORDER BY l.rowid) AS record,
           count(l.raw_line) AS lines
    FROM candidates AS c JOIN calls_loaded AS l ON l.rowid BETWEEN c.first_r AND c.last_r
    GROUP BY ALL
), fitting AS (
    SELECT *, row_number() OVER (ORDER BY k) AS n
    FROM joined
    WHERE lines = last_r - first_r + 1
      AND array_length(csv_fields(record)) = getvariable('csv_field_count')
)
SELECT first_r, last_r, record
FROM (SELECT *, row_number() OVER (PARTITION BY k - n ORDER BY k) AS place FROM fitting)
WHERE place % 2 = 1;

CREATE OR REPLACE TEMP VIEW csv_source AS
SELECT record AS line, CAST(NULL AS VARCHAR) AS extra, first_r AS tag FROM csv_multiline;

UPDATE calls_loaded AS c SET
    "timestamp" = m.r."timestamp", call_id = m.r.call_id, provider = m.r.provider,
    model = m.r.model, input_tokens = m.r.input_tokens, output_tokens = m.r.output_tokens,
    cost_usd = m.r.cost_usd, latency_ms = m.r.latency_ms, customer_id = m.r.customer_id,
    subscription_tier = m.r.subscription_tier, organization_id = m.r.organization_id,
    product_id = m.r.product_id, feature_id = m.r.feature_id, task_type = m.r.task_type,
    environment = m.r.environment, request_id = m.r.request_id, trace_id = m.r.trace_id,
    session_id = m.r.session_id, user_agent = m.r.user_agent,
    cache_read_input_tokens = m.r.cache_read_input_tokens,
    cache_write_input_tokens = m.r.cache_write_input_tokens,
    reasoning_output_tokens = m.r.reasoning_output_tokens,
    status = m.r.status, error_type = m.r.error_type, cost_source = m.r.cost_source,
    total_tokens = m.r.input_tokens + m.r.output_tokens,
    call_date = CAST(m.r."timestamp" AS DATE),
    call_hour = CAST(hour(m.r."timestamp") AS INTEGER),
    day_of_week = dayname(m.r."timestamp"),
    day_of_week_number = CAST(isodow(m.r."timestamp") AS INTEGER),
    reject_reason = m.r.reject_reason,
    raw_line = CASE WHEN m.r.reject_reason IS NOT NULL THEN m.record END,
    open_quote = false
FROM (SELECT tag AS first_r, line AS record, r
      FROM (SELECT tag, line, {'timestamp': "timestamp", 'call_id': call_id, 'provider': provider,
                   'model': model, 'input_tokens': input_tokens, 'output_tokens': output_tokens,
                   'cost_usd': cost_usd, 'latency_ms': latency_ms, 'customer_id': customer_id,
                   'subscription_tier': subscription_tier, 'organization_id': organization_id,
                   'product_id': product_id, 'feature_id': feature_id, 'task_type': task_type,
                   'environment': environment, 'request_id': request_id, 'trace_id': trace_id,
                   'session_id': session_id, 'user_agent': user_agent,
                   'cache_read_input_tokens': cache_read_input_tokens,
                   'cache_write_input_tokens': cache_write_input_tokens,
                   'reasoning_output_tokens': reasoning_output_tokens, 'status': status,
                   'error_type': error_type, 'cost_source': cost_source,
                   'reject_reason': reject_reason} AS r
            FROM contract_records)) AS m
WHERE c.rowid = m.first_r;

DELETE FROM calls_loaded
WHERE rowid IN (SELECT unnest(range(first_r + 1, last_r + 1)) FROM csv_multiline);

-- Rows that break a rule, kept for inspection with their line (open_quote:
-- the whole line has an odd number of quotes and was left unpaired; the
-- calls store reads it, as the sample is cut at 500 characters).
CREATE OR REPLACE TEMP TABLE calls_rule_rejects AS
SELECT file_line(rowid) AS line, reject_reason, left(raw_line, 500) AS rejected_content, open_quote
FROM calls_loaded
WHERE reject_reason IS NOT NULL;

-- A call_id seen more than once among valid rows: every later occurrence.
CREATE OR REPLACE TEMP TABLE calls_repeated_ids AS
SELECT call_id, min(rowid) AS first_row, count(*) - 1 AS repeats
FROM calls_loaded
WHERE reject_reason IS NULL
GROUP BY call_id
HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE calls_duplicate_rows AS
SELECT c.rowid AS row_index, file_line(c.rowid) AS line, c.call_id,
       file_line(r.first_row) AS first_line
FROM calls_loaded AS c
JOIN calls_repeated_ids AS r ON r.call_id = c.call_id AND c.rowid > r.first_row
WHERE c.reject_reason IS NULL;

-- Keep each valid call once: its first occurrence in the file.
DELETE FROM calls_loaded
WHERE reject_reason IS NOT NULL
   OR rowid IN (SELECT row_index FROM calls_duplicate_rows);

-- stage: views

-- The calls every analyzer reads: the contract's columns, typed, in file
-- order (contract 1.1's optional columns with their defaults when the file
-- lacks them), plus the derived columns total_tokens, call_date, call_hour,
-- day_of_week and day_of_week_number. cost_usd is NULL for an unpriced
-- call: its cost is unknown, never $0. (No ORDER BY: every analyzer query
-- orders its own output.)
CREATE OR REPLACE TEMP VIEW calls AS
SELECT
    "timestamp", call_id, provider, model, input_tokens, output_tokens,
    cost_usd, latency_ms, customer_id, subscription_tier, organization_id,
    product_id, feature_id, task_type, environment, request_id, trace_id,
    session_id, user_agent,
    total_tokens, call_date, call_hour, day_of_week, day_of_week_number,
    cache_read_input_tokens, cache_write_input_tokens, reasoning_output_tokens,
    status, error_type, cost_source
FROM calls_loaded;

-- Data quality --------------------------------------------------------------

-- Every line that is not in `calls`, with its physical line number (the
-- header is line 1) and why: malformed lines (unreadable, broken quoting,
-- wrong field count), rows that break a contract rule, repeated call_ids.
CREATE OR REPLACE TEMP VIEW calls_rejected AS
SELECT file_line + coalesce(getvariable('line_offset'), 0) AS line,
       'malformed CSV line' AS kind, reason, content
FROM csv_unreadable
UNION ALL
SELECT line,
       CASE WHEN reject_reason LIKE 'expected % fields, found %'
                 OR reject_reason IN ('empty line', 'line contains a NUL byte')
                 OR reject_reason LIKE 'broken quoting%'
                 OR reject_reason LIKE 'line longer than%'
                 OR reject_reason LIKE 'not valid UTF-8%'
                 OR reject_reason LIKE 'a carriage return (CR)%'
            THEN 'malformed CSV line' ELSE 'contract rule' END,
       reject_reason, rejected_content
FROM calls_rule_rejects
UNION ALL
SELECT line, 'duplicate call_id',
       'call_id seen earlier in the file (line ' || first_line || '): ' || call_id,
       call_id
FROM calls_duplicate_rows;

-- One row describing what was read. data_lines = rows + rows_rejected +
-- duplicate_call_ids + continuation_lines (the extra lines of records whose
-- quoted field spans lines).
CREATE OR REPLACE TEMP VIEW data_quality AS
SELECT
    c.rows,
    (SELECT count(*) FROM calls_rejected WHERE kind <> 'duplicate call_id') AS rows_rejected,
    (SELECT count(*) FROM calls_duplicate_rows) AS duplicate_call_ids,
    c.first_call, c.last_call,
    getvariable('csv_emitted_lines') + (SELECT count(*) FROM csv_unreadable)
      - CASE WHEN getvariable('csv_header') IS NULL THEN 1 ELSE 0 END AS data_lines,
    (SELECT coalesce(sum(last_r - first_r), 0) FROM csv_multiline) AS continuation_lines,
    c.unpriced_calls, c.error_calls
FROM (SELECT count(*) AS rows, min("timestamp") AS first_call, max("timestamp") AS last_call,
             count(*) FILTER (WHERE cost_source = 'unpriced') AS unpriced_calls,
             count(*) FILTER (WHERE status = 'error') AS error_calls
      FROM calls) AS c;

-- Shared definitions --------------------------------------------------------

-- The period the file covers: period_days counts both end dates (the
-- calendar days, and the days a subscription is billed: a subscribed day
-- is billed whole). covered_days is the time the calls cover, the basis of
-- every cost "per 30-day month": a day is complete unless it is the first
-- date and its first call came after 01:00 UTC, or the last date and its
-- last call came before 23:00 UTC (a day still being written; the forecast
-- fits on complete days by the same rule); a partial end day counts for the
-- part of it the calls cover (from its first call to midnight, from
-- midnight to its last call). A file whose calls cover less than a day
-- counts its calendar days whole. first_day_complete and last_day_complete
-- say whether an end day is complete; first_day_covered and
-- last_day_covered are the parts counted (1 = whole); covered_days = period_days - (1 -
-- first_day_covered) - (1 - last_day_covered).
CREATE OR REPLACE TEMP TABLE period AS
WITH ends AS (
    SELECT min("timestamp") AS first_call, max("timestamp") AS last_call,
           min(call_date) AS first_date, max(call_date) AS last_date,
           date_diff('day', min(call_date), max(call_date)) + 1 AS period_days
    FROM calls
), parts AS (
    SELECT *,
           NOT first_call > first_date + INTERVAL 1 HOUR AS first_day_complete,
           NOT last_call < last_date + INTERVAL 23 HOUR AS last_day_complete,
           -- parts of a day to 6 decimals (exact in the sums that bill them),
           -- from whole milliseconds (epoch_ms: the same on every engine)
           CAST(CASE WHEN first_call > first_date + INTERVAL 1 HOUR
                     THEN round((epoch_ms(CAST(first_date AS TIMESTAMP)) + 86400000 - epoch_ms(first_call))
                                / 86400000, 6) ELSE 1 END
                AS DECIMAL(18, 6)) AS first_day_covered,
           CAST(CASE WHEN last_call < last_date + INTERVAL 23 HOUR
                     THEN round((epoch_ms(last_call) - epoch_ms(CAST(last_date AS TIMESTAMP))) / 86400000, 6) ELSE 1 END
                AS DECIMAL(18, 6)) AS last_day_covered
    FROM ends
)
SELECT first_call, last_call, first_date, last_date, period_days,
       first_day_complete, last_day_complete,
       CASE WHEN whole THEN CAST(1 AS DECIMAL(18, 6)) ELSE first_day_covered END AS first_day_covered,
       CASE WHEN whole THEN CAST(1 AS DECIMAL(18, 6)) ELSE last_day_covered END AS last_day_covered,
       CAST(CASE WHEN whole THEN period_days
                 ELSE period_days - (1 - first_day_covered) - (1 - last_day_covered) END
            AS DECIMAL(18, 6)) AS covered_days
FROM (SELECT *, period_days - (1 - first_day_covered) - (1 - last_day_covered) < 1 AS whole FROM parts);

-- Revenue (customer_economics, revenue_days), the alert policy and the
-- ledger of actions are in finance.sql, read right after this file.
