-- name: agents
-- title: Agent runs and sessions
-- category: finops
-- version: 6
-- description: What each agent run (a trace: every model call sharing a
--   trace_id) and each session (session_id) cost over the file's period:
--   the most expensive runs, how many calls a run takes, each feature's
--   normal run cost, the runs far above the norm of their feature and
--   model, and the spend no customer is
--   attributed to (customer_id 'unattributed', as finops.otel records calls
--   made outside any finops.attribute block).
-- param: outlier_ratio = 10.0 | A run is an outlier when it costs more than this many times the median run of its feature on the same model
-- param: min_feature_runs = 5 | A feature (and a feature on one model) needs this many runs before its median is a norm
-- param: materiality_usd = 1.00 | No alert or recommendation below this many dollars
-- param: top = 20 | Rows in the most-expensive lists

-- query: _runs
-- One row per trace. A run's feature, customer and session are those of its
-- first call; duration_ms runs from the first call's start to the end of the
-- call that finished last. Its model is that of its costliest call (ties:
-- the first call_id). cost sums the calls with a known cost;
-- unpriced_calls counts those without one (never counted as $0).
-- The first call's three columns come from one arg_min (three took 1.6x
-- the time over 1.5M runs). A run of one call is that call: only the traces
-- with several calls are grouped (grouping 1.5M one-call traces took 2.3 s
-- of CPU at 500 MB; this takes 0.8 s, same rows).
CREATE OR REPLACE TEMP TABLE agents_runs AS
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

-- query: _norms
-- A feature's norm: the median cost of its runs (exact on DECIMAL), with
-- enough runs (min_feature_runs) to call it one.
CREATE OR REPLACE TEMP TABLE agents_norms AS
SELECT feature_id, count(*) AS runs,
       money(median(cost)) AS median_run_cost,
       money(quantile_disc(cost, 0.95)) AS p95_run_cost,
       count(*) >= getvariable('min_feature_runs') AS has_norm
FROM agents_runs
GROUP BY feature_id;

-- query: _model_norms
-- The norm an outlier is judged by: the median cost of the runs of the same
-- feature on the same model. Judged against the whole feature, a run on a
-- premium model looks 10-100x "abnormal" for its model choice alone (22% of
-- all runs on the demo); the ledger's model switches already price that
-- choice, so an outlier here is a run that took far more work (steps,
-- tokens) than its peers on its model.
CREATE OR REPLACE TEMP TABLE agents_model_norms AS
SELECT feature_id, model, count(*) AS runs,
       money(median(cost)) AS median_run_cost,
       count(*) >= getvariable('min_feature_runs') AS has_norm
FROM agents_runs
GROUP BY feature_id, model;

-- query: _outliers
-- excess_cost = cost - the median cost of its feature's runs on its model:
-- what the run cost above a normal run of its kind.
CREATE OR REPLACE TEMP TABLE agents_outliers AS
SELECT r.trace_id, r.feature_id, r.model, r.customer_id, r.session_id, r.calls, r.cost,
       n.median_run_cost AS baseline,
       round(safe_div(r.cost, n.median_run_cost), 1) AS times_norm,
       money(r.cost - n.median_run_cost) AS excess_cost,
       r.started
FROM agents_runs AS r
JOIN agents_model_norms AS n USING (feature_id, model)
WHERE n.has_norm
  AND n.median_run_cost > 0
  AND r.cost > n.median_run_cost * getvariable('outlier_ratio');

-- query: headline
-- title: Headline
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Cost of traced runs for ' || (SELECT period_label FROM finance_period) AS label,
           money(coalesce(sum(cost), 0)) AS value, 'usd' AS unit
    FROM agents_runs
    UNION ALL
    SELECT 2, 'Runs (traces)', money(count(*)), 'count' FROM agents_runs
    UNION ALL
    SELECT 3, 'Runs far above the norm of their feature and model', money(count(*)), 'count' FROM agents_outliers
    UNION ALL
    SELECT 4, 'Unattributed spend for ' || (SELECT period_label FROM finance_period),
           money(coalesce(sum(cost_usd) FILTER (WHERE customer_id = 'unattributed'), 0)), 'usd'
    FROM calls
)
ORDER BY position;

-- query: most_expensive_runs
-- title: Most expensive runs
-- description: The costliest traces of the period: calls, models used, tokens and wall time per run.
-- chart: hbar
-- x: trace_id
-- y: cost
-- limit: 20
WITH top AS (
    SELECT * FROM agents_runs ORDER BY cost DESC, trace_id LIMIT getvariable('top')
),
-- models used, counted for the listed runs only (a distinct count over
-- every run was a fifth of agents' time at 500 MB)
used AS (
    SELECT trace_id, count(DISTINCT model) AS models
    FROM calls
    WHERE trace_id IN (SELECT trace_id FROM top)
    GROUP BY trace_id
)
SELECT t.trace_id, t.feature_id, t.customer_id, t.session_id, t.calls, u.models,
       t.input_tokens, t.output_tokens, t.cost, t.unpriced_calls, t.duration_ms, t.started
FROM top AS t JOIN used AS u USING (trace_id)
ORDER BY t.cost DESC, t.trace_id;

-- query: calls_per_run
-- title: Calls per run
-- description: How many model calls a run takes, and what runs of each size cost.
-- chart: bar
-- x: calls_per_run
-- y: runs
SELECT CASE WHEN calls = 1 THEN '1'
            WHEN calls = 2 THEN '2'
            WHEN calls <= 5 THEN '3-5'
            WHEN calls <= 10 THEN '6-10'
            WHEN calls <= 20 THEN '11-20'
            ELSE 'over 20' END AS calls_per_run,
       count(*) AS runs,
       round(pct(count(*), sum(count(*)) OVER ()), 1) AS share_pct,
       sum(cost) AS cost,
       money(safe_div(sum(cost), count(*))) AS avg_cost_per_run
FROM agents_runs
GROUP BY ALL
ORDER BY min(calls);

-- query: feature_norms
-- title: Run cost by feature
-- description: Each feature's runs, calls per run, median (its norm) and 95th-percentile run cost, and its outliers.
-- chart: hbar
-- x: feature_id
-- y: cost
SELECT n.feature_id, n.runs,
       round(safe_div(sum(r.calls), n.runs), 1) AS calls_per_run_avg,
       n.median_run_cost, n.p95_run_cost,
       sum(r.cost) AS cost,
       (SELECT count(*) FROM agents_outliers AS o WHERE o.feature_id = n.feature_id) AS outlier_runs,
       n.has_norm
FROM agents_norms AS n
JOIN agents_runs AS r USING (feature_id)
GROUP BY n.feature_id, n.runs, n.median_run_cost, n.p95_run_cost, n.has_norm
ORDER BY cost DESC, n.feature_id;

-- query: outlier_runs
-- title: Runs far above the norm of their feature and model
-- description: Runs costing more than outlier_ratio times the median run of their feature on their model (baseline); excess_cost is what they cost above such a normal run.
-- chart: none
-- limit: 20
SELECT trace_id, feature_id, model, customer_id, session_id, calls, cost, baseline, times_norm,
       excess_cost, started
FROM agents_outliers
ORDER BY excess_cost DESC, trace_id;

-- query: top_sessions
-- title: Most expensive sessions
-- description: Sessions (a conversation: session_id) by cost, with their runs and calls.
-- chart: none
-- limit: 20
-- The top sessions are chosen on the cheap sums first; the first call's
-- customer and the distinct runs are counted for those sessions only.
WITH top_sessions AS (
    SELECT session_id,
           count(*) AS calls,
           coalesce(sum(cost_usd), CAST(0 AS DECIMAL(38, 6))) AS cost,
           min("timestamp") AS first_call,
           max("timestamp") AS last_call
    FROM calls
    WHERE session_id <> ''
    GROUP BY session_id
    ORDER BY cost DESC, session_id
    LIMIT getvariable('top')
),
details AS (
    SELECT session_id,
           arg_min(customer_id, ("timestamp", call_id)) AS customer_id,
           count(DISTINCT nullif(trace_id, '')) AS runs
    FROM calls
    WHERE session_id IN (SELECT session_id FROM top_sessions)
    GROUP BY session_id
)
SELECT t.session_id, d.customer_id, d.runs, t.calls, t.cost, t.first_call, t.last_call
FROM top_sessions AS t
JOIN details AS d USING (session_id)
ORDER BY t.cost DESC, t.session_id;

-- query: attribution
-- title: Attributed and unattributed spend
-- description: Calls with a customer against calls recorded outside any finops.attribute block (customer_id 'unattributed').
-- chart: doughnut
-- x: attribution
-- y: cost
SELECT CASE WHEN customer_id = 'unattributed' THEN 'unattributed' ELSE 'attributed' END AS attribution,
       count(*) AS calls,
       coalesce(sum(cost_usd), CAST(0 AS DECIMAL(38, 6))) AS cost,
       round(pct(coalesce(sum(cost_usd), 0), sum(sum(cost_usd)) OVER ()), 1) AS share_pct
FROM calls
GROUP BY ALL
ORDER BY attribution;

-- query: _outlier_features
-- Per feature, its outlier runs: their excess over the median of their feature and model
-- run, and the share of their cost on the calls the ledger's model
-- switches already reprice (premium models on simple tasks, sql/finance.sql
-- ledger_switch_scope). open_excess = excess x (1 - that share): the part
-- of the excess no ledger action addresses, so nothing is counted twice.
CREATE OR REPLACE TEMP TABLE agents_outlier_features AS
WITH switched AS (
    SELECT DISTINCT provider, model, task_type FROM ledger_switch_scope
), scoped AS (
    SELECT o.feature_id, o.trace_id,
           sum(c.cost_usd) FILTER (WHERE sw.model IS NOT NULL) AS switched_cost
    FROM agents_outliers AS o
    JOIN calls AS c USING (trace_id)
    LEFT JOIN switched AS sw
           ON sw.provider = c.provider AND sw.model = c.model AND sw.task_type = c.task_type
    GROUP BY o.feature_id, o.trace_id
)
SELECT o.feature_id, count(*) AS runs, sum(o.cost) AS cost, sum(o.excess_cost) AS excess,
       max(o.times_norm) AS worst, round(avg(o.calls), 1) AS outlier_calls,
       coalesce(sum(s.switched_cost), 0) AS switched_cost,
       money(sum(o.excess_cost) * (1 - coalesce(safe_div(sum(s.switched_cost), sum(o.cost)), 0))) AS open_excess
FROM agents_outliers AS o
LEFT JOIN scoped AS s USING (feature_id, trace_id)
GROUP BY o.feature_id;

-- query: alerts
-- title: Alerts
-- description: Outlier runs (the part of their excess the ledger's model switches do not already address) and unattributed spend, per 30-day month, under the one alert policy.
-- chart: none
-- Severity from alert_severity (sql/finance.sql): the money a 30-day month
-- against monthly spend, none under $10 or 1%.
WITH fp AS (SELECT * FROM finance_period),
outliers AS (
    SELECT sum(runs) AS runs, sum(excess) AS excess, sum(cost) AS cost, sum(open_excess) AS open_excess
    FROM agents_outlier_features
),
unattributed AS (
    SELECT count(*) AS calls, sum(cost_usd) AS cost FROM calls WHERE customer_id = 'unattributed'
)
SELECT severity, title, detail, amount_usd FROM (
    SELECT 1 AS position, alert_severity(per_month(open_excess, fp.covered_days)) AS severity,
           'Agent runs far above the norm of their feature and model' AS title,
           format('{:,} run(s) cost ${:,.2f} over the {} days, ${:,.2f} more than normal runs of their feature on their model (over {}x that median); '
                  || '${:,.2f} of that excess is on calls the model switches already reprice (in the Actions total), '
                  || '${:,.2f} is not: ${:,.2f} a 30-day month. The runs are listed under "Runs far above the norm of their feature and model".',
                  CAST(runs AS BIGINT), cost, fp.period_days, excess, getvariable('outlier_ratio'),
                  excess - open_excess, open_excess, per_month(open_excess, fp.covered_days)) AS detail,
           per_month(open_excess, fp.covered_days) AS amount_usd
    FROM outliers, fp
    WHERE runs > 0 AND open_excess >= getvariable('materiality_usd')
    UNION ALL
    SELECT 2, alert_severity(per_month(cost, fp.covered_days)), 'Spend not attributed to a customer',
           format('{:,} calls costing ${:,.2f} over the {} days (${:,.2f} a 30-day month) were made outside any finops.attribute block; tag them to bill or allocate them.',
                  calls, cost, fp.period_days, per_month(cost, fp.covered_days)),
           per_month(cost, fp.covered_days)
    FROM unattributed, fp
    WHERE cost >= getvariable('materiality_usd')
)
WHERE severity IS NOT NULL
ORDER BY position, title;

-- query: recommendations
-- title: Prioritised actions
-- description: Features whose outlier runs cost the most above their norm, as review targets (not savings: never added to the Actions total), per 30-day month, net of what the ledger's model switches already count; and untagged spend.
-- chart: none
-- amount_usd = the outliers' open excess (see _outlier_features) per 30-day
-- month: a target for review, kind 'target', not counted. A per-run step
-- budget is suggested only when outlier runs take more calls than the
-- feature's runs do on average; single-call runs are expensive calls
-- (model, prompt size), not runaway loops.
WITH fp AS (SELECT * FROM finance_period),
by_feature AS (
    SELECT f.*, (SELECT round(avg(r.calls), 1) FROM agents_runs AS r
                 WHERE r.feature_id = f.feature_id) AS feature_calls
    FROM agents_outlier_features AS f
),
items AS (
    SELECT format('Review the costliest {} runs', feature_id) AS title,
           format('{:,} {} run(s) cost ${:,.2f} more than the median run of the feature on the same model over the {} days (the worst {}x); '
                  || '${:,.2f} of it is on calls the model switches already reprice. {}',
                  CAST(runs AS BIGINT), feature_id, excess, fp.period_days, worst,
                  excess - open_excess,
                  CASE WHEN outlier_calls > feature_calls
                       THEN format('They average {} calls per run against {} for the feature: a step or token budget per run is a target to test.',
                                   outlier_calls, feature_calls)
                       ELSE format('They average {} calls per run, as the feature''s runs ({}): these are single expensive calls (prompt or output size), not runaway runs.',
                                   outlier_calls, feature_calls) END) AS detail,
           per_month(open_excess, fp.covered_days) AS amount_usd,
           'target' AS kind, 'target:agents/' || feature_id AS action_id
    FROM by_feature, fp
    WHERE open_excess >= getvariable('materiality_usd')
    UNION ALL
    SELECT 'Attribute the untagged calls',
           format('${:,.2f} of spend over the {} days has no customer; wrap those calls in finops.attribute(...) (see finops sql --name unattributed).',
                  sum(cost_usd), any_value(fp.period_days)),
           per_month(sum(cost_usd), any_value(fp.covered_days)), 'target', 'target:agents/unattributed'
    FROM calls, fp
    WHERE customer_id = 'unattributed'
    HAVING sum(cost_usd) >= getvariable('materiality_usd')
)
SELECT CAST(row_number() OVER (ORDER BY amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail || ' A target per 30-day month, not a saving: not in the Actions total.' AS detail,
       amount_usd, kind, 'low' AS confidence, false AS counted, action_id
FROM items
ORDER BY priority;
