-- name: agents
-- title: Agent runs and sessions
-- category: finops
-- version: 10
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

-- query: _norms
-- A feature's norm: the median cost of its runs (exact on DECIMAL), with
-- enough runs (min_feature_runs) to call it one.
CREATE OR REPLACE TEMP TABLE agents_norms AS
SELECT feature_id, count(*) AS runs,
       money(median(cost)) AS median_run_cost,
       money(quantile_disc(cost, 0.95)) AS p95_run_cost,
       count(*) >= getvariable('min_feature_runs') AS has_norm
FROM agent_runs
GROUP BY feature_id;

-- query: headline
-- title: Headline
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Cost of traced runs for ' || (SELECT period_label FROM finance_period) AS label,
           money(coalesce(sum(cost), 0)) AS value, 'usd' AS unit
    FROM agent_runs
    UNION ALL
    SELECT 2, 'Runs (traces)', money(count(*)), 'count' FROM agent_runs
    UNION ALL
    SELECT 3, 'Runs far above the norm of their feature and model', money(count(*)), 'count' FROM agent_outliers
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
    SELECT * FROM agent_runs ORDER BY cost DESC, trace_id LIMIT getvariable('top')
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
FROM agent_runs
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
       (SELECT count(*) FROM agent_outliers AS o WHERE o.feature_id = n.feature_id) AS outlier_runs,
       n.has_norm
FROM agents_norms AS n
JOIN agent_runs AS r USING (feature_id)
GROUP BY n.feature_id, n.runs, n.median_run_cost, n.p95_run_cost, n.has_norm
ORDER BY cost DESC, n.feature_id;

-- query: outlier_runs
-- title: Runs far above the norm of their feature and model
-- description: Runs costing more than the outlier ratio (10 by default) times the median run of their feature on their model (the baseline); the excess cost is what they cost above such a normal run.
-- chart: none
-- limit: 20
SELECT trace_id, feature_id, model, customer_id, session_id, calls, cost, baseline, times_norm,
       excess_cost, started
FROM agent_outliers
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

-- query: alerts
-- title: Alerts
-- description: Outlier runs (the part of their excess the ledger's model switches do not already address) and unattributed spend, per 30-day month, under the one alert policy.
-- chart: none
-- Severity from alert_severity (sql/finance.sql): the money a 30-day month
-- against monthly spend, none under $10 or 1%.
WITH fp AS (SELECT * FROM finance_period),
outliers AS (
    SELECT sum(runs) AS runs, sum(excess) AS excess, sum(cost) AS cost, sum(open_excess) AS open_excess
    FROM agent_outlier_features
),
unattributed AS (
    SELECT count(*) AS calls, sum(cost_usd) AS cost FROM calls WHERE customer_id = 'unattributed'
)
SELECT severity, title, detail, amount_usd, amount_label FROM (
    SELECT 1 AS position, alert_severity(per_month(open_excess, fp.covered_days)) AS severity,
           'Agent runs far above the norm of their feature and model' AS title,
           format('{:,} run(s) cost {} over the {}, {} more than normal runs of their feature on their model (over {}x that median); '
                  || '{} of that excess is on calls the model switches already reprice (in the Actions total), '
                  || '{} is not: {} a 30-day month. The runs are listed under "Runs far above the norm of their feature and model".',
                  CAST(runs AS BIGINT), usd_text(cost), days_text(fp.covered_days), usd_text(excess), getvariable('outlier_ratio'),
                  usd_text(excess - open_excess), usd_text(open_excess), usd_text(per_month(open_excess, fp.covered_days))) AS detail,
           per_month(open_excess, fp.covered_days) AS amount_usd,
           'cost above normal runs, a 30-day month' AS amount_label
    FROM outliers, fp
    WHERE runs > 0 AND open_excess >= getvariable('materiality_usd')
    UNION ALL
    SELECT 2, alert_severity(per_month(cost, fp.covered_days)), 'Spend not attributed to a customer',
           format('{:,} calls costing {} over the {} ({} a 30-day month) were made outside any finops.attribute block; tag them to bill or allocate them.',
                  calls, usd_text(cost), days_text(fp.covered_days), usd_text(per_month(cost, fp.covered_days))),
           per_month(cost, fp.covered_days), 'spend not attributed, a 30-day month'
    FROM unattributed, fp
    WHERE cost >= getvariable('materiality_usd')
)
WHERE severity IS NOT NULL
ORDER BY position, title;

-- query: recommendations
-- title: Prioritised actions
-- description: Features whose outlier runs cost the most above their norm, as review targets (not savings: never added to the Actions total), per 30-day month, net of what the ledger's model switches already count; and untagged spend. From the one ledger of actions, where the index lists them with their kind.
-- chart: none
SELECT * FROM report_actions('agents');
