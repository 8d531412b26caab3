-- name: performance
-- title: Performance tracking
-- category: finops
-- version: 9
-- description: Latency percentiles, throughput, cost and SLA compliance per
--   model, the SLA set per model class on a measure that does not punish long
--   outputs (a base allowance plus time per output token, sla_targets in
--   sql/finance.sql); rankings by cost, speed and a composite score; the best
--   model for each task type and the latency distribution.
-- param: min_calls = 20 min 1 | Fewest calls a model needs on a task type to be ranked for it

-- query: _models
-- Per-model metrics, aggregated once. Percentiles are continuous
-- (quantile_cont, linear interpolation between ranks); tokens_per_second =
-- sum(output_tokens) / (sum(latency_ms) / 1000); cost_per_1k_tokens = cost /
-- (input + output tokens) * 1000; sla_pct = calls within their SLA
-- allowance / calls (model_sla: base_ms + per_output_token_ms x
-- output_tokens by model class). The composite score (0-100, higher is
-- better) weighs cost 40%, speed 30% and SLA 30%: 0.4 * 100 * cheapest
-- cost_per_1k_tokens / this model's + 0.3 * 100 * lowest p95_ms / this
-- model's + 0.3 * sla_pct.
CREATE OR REPLACE TEMP TABLE performance_models AS
WITH m AS (
    SELECT c.provider, c.model,
           count(*) AS calls,
           quantile_cont(c.latency_ms, [0.5, 0.95, 0.99]) AS q,
           avg(c.latency_ms) AS avg_ms,
           safe_div(sum(c.output_tokens) * 1000.0, sum(c.latency_ms)) AS tokens_per_second,
           money(safe_div(sum(c.cost_usd) * 1000, sum(c.total_tokens))) AS cost_per_1k_tokens,
           sum(c.cost_usd) AS cost,
           sum(c.total_tokens) AS total_tokens
    FROM calls AS c
    GROUP BY c.provider, c.model
)
SELECT m.* EXCLUDE (q), q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms,
       s.sla_pct, s.target_pct AS sla_target_pct, s.over_sla_calls, s.meets_sla, s.model_class,
       s.p95_ms_per_output_token,
       0.4 * coalesce(100.0 * safe_div(min(cost_per_1k_tokens) OVER (), cost_per_1k_tokens), 100)
     + 0.3 * 100.0 * safe_div(min(q[2]) OVER (), q[2])
     + 0.3 * s.sla_pct AS score
FROM m JOIN model_sla AS s USING (provider, model);

-- query: _task_models
-- The same metrics per task type and model; the composite score is
-- computed within each task type over the models with at least min_calls
-- calls on it that meet their SLA (the others get no score).
CREATE OR REPLACE TEMP TABLE performance_task_models AS
WITH q_m AS (
    SELECT task_type, provider, model,
           count(*) AS calls,
           quantile_cont(latency_ms, [0.5, 0.95]) AS q,
           money(safe_div(sum(cost_usd) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
           sum(cost_usd) AS cost,
           sum(total_tokens) AS total_tokens
    FROM calls
    GROUP BY task_type, provider, model
),
m AS (
    SELECT q_m.* EXCLUDE (q), q[1] AS p50_ms, q[2] AS p95_ms, s.sla_pct, s.meets_sla
    FROM q_m JOIN model_sla AS s USING (provider, model)
),
ranked AS (
    SELECT * FROM m WHERE calls >= getvariable('min_calls') AND meets_sla IS DISTINCT FROM false
)
SELECT m.*, r.score
FROM m
LEFT JOIN (
    SELECT task_type, provider, model,
           0.4 * coalesce(100.0 * safe_div(min(cost_per_1k_tokens) OVER w, cost_per_1k_tokens), 100)
         + 0.3 * 100.0 * safe_div(min(p95_ms) OVER w, p95_ms)
         + 0.3 * sla_pct AS score
    FROM ranked
    WINDOW w AS (PARTITION BY task_type)
) AS r USING (task_type, provider, model);

-- query: headline
-- title: Headline
-- Values are DECIMAL so counts print as whole numbers.
WITH overall AS (
    SELECT quantile_cont(latency_ms, [0.5, 0.95]) AS q FROM calls
)
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Median latency' AS label, money(q[1]) AS value, 'ms' AS unit FROM overall
    UNION ALL
    SELECT 2, 'p95 latency', money(q[2]), 'ms' FROM overall
    UNION ALL
    SELECT 3, 'Calls within their SLA', money(pct(sum(calls) - sum(over_sla_calls), sum(calls))), 'pct'
    FROM performance_models
    UNION ALL
    SELECT 4, 'Models missing their SLA', money(count(*) FILTER (WHERE meets_sla = false)), 'count'
    FROM performance_models
)
ORDER BY position;

-- query: latency_by_model
-- title: Latency by model
-- description: p50/p95/p99 latency (interpolated percentiles), throughput, cost per 1,000 tokens and the share of calls within the SLA (a base allowance plus time per output token, by model class).
-- chart: bar
-- x: model
-- y: p50_ms, p95_ms, p99_ms
-- limit: 25
SELECT provider, model, calls, p50_ms, p95_ms, p99_ms, avg_ms, tokens_per_second,
       cost_per_1k_tokens, sla_pct, cost, over_sla_calls, model_class, sla_target_pct, meets_sla,
       p95_ms_per_output_token
FROM performance_models
ORDER BY p50_ms, provider, model;

-- query: ranking_by_cost
-- title: Models ranked by cost
-- description: Cheapest first, by cost per 1,000 tokens.
-- chart: hbar
-- x: model
-- y: cost_per_1k_tokens
-- limit: 25
SELECT CAST(row_number() OVER (ORDER BY cost_per_1k_tokens, provider, model) AS INTEGER) AS rank,
       provider, model, cost_per_1k_tokens, calls, cost
FROM performance_models
ORDER BY rank;

-- query: ranking_by_speed
-- title: Models ranked by speed
-- description: Fastest first, by p95 latency (then p50); throughput in output tokens per second.
-- chart: hbar
-- x: model
-- y: p95_ms
-- limit: 25
SELECT CAST(row_number() OVER (ORDER BY p95_ms, p50_ms, provider, model) AS INTEGER) AS rank,
       provider, model, p50_ms, p95_ms, tokens_per_second, sla_pct
FROM performance_models
ORDER BY rank;

-- query: ranking_composite
-- title: Models ranked by composite score
-- description: Score 0-100 = 40% cost (cheapest = 100) + 30% speed (lowest p95 = 100) + 30% share of calls within the SLA.
-- chart: hbar
-- x: model
-- y: score
-- limit: 25
SELECT CAST(row_number() OVER (ORDER BY score DESC, provider, model) AS INTEGER) AS rank,
       provider, model, score, cost_per_1k_tokens, p95_ms, sla_pct, calls
FROM performance_models
ORDER BY rank;

-- query: best_model_by_task
-- title: Best model per task type (cost and speed only)
-- description: The model with the highest composite score on each task type, among models that meet their SLA (with at least 20 calls on it by default). The score weighs cost, speed and the SLA only: output quality is not measured, so this is not advice to route work there; moving a task to another model is a low-confidence action in the ledger until a sample of its outputs is checked (the quality caveat column).
-- chart: none
SELECT task_type, provider, model, score, calls, cost_per_1k_tokens, p50_ms, p95_ms, sla_pct,
       'quality not measured: check a sample of ' || task_type || ' outputs on ' || model
           || ' before moving work to it' AS quality_caveat
FROM performance_task_models
WHERE score IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY task_type ORDER BY score DESC, provider, model) = 1
ORDER BY task_type;

-- query: latency_distribution
-- title: Latency distribution
-- description: Calls and cost per latency band, and the share of all calls.
-- chart: bar
-- x: latency_band
-- y: calls
-- Bands are (min_ms, max_ms]; calls are banded in one pass, then joined
-- to the seven band rows (no range join on calls).
WITH bands AS (
    SELECT * FROM (VALUES (1, '0-500 ms', 0, 500), (2, '500 ms-1 s', 500, 1000),
                          (3, '1-2 s', 1000, 2000), (4, '2-5 s', 2000, 5000),
                          (5, '5-10 s', 5000, 10000), (6, '10-30 s', 10000, 30000),
                          (7, 'over 30 s', 30000, 600000)) AS v(band, latency_band, min_ms, max_ms)
),
banded AS (
    SELECT CASE WHEN latency_ms <= 500 THEN 1 WHEN latency_ms <= 1000 THEN 2
                WHEN latency_ms <= 2000 THEN 3 WHEN latency_ms <= 5000 THEN 4
                WHEN latency_ms <= 10000 THEN 5 WHEN latency_ms <= 30000 THEN 6
                ELSE 7 END AS band,
           count(*) AS calls, sum(cost_usd) AS cost
    FROM calls
    GROUP BY band
)
SELECT b.latency_band, b.min_ms, b.max_ms,
       coalesce(c.calls, 0) AS calls,
       pct(coalesce(c.calls, 0), sum(coalesce(c.calls, 0)) OVER ()) AS share_pct,
       coalesce(c.cost, CAST(0 AS DECIMAL(38, 6))) AS cost
FROM bands AS b
LEFT JOIN banded AS c USING (band)
ORDER BY b.min_ms;

-- query: sla_targets
-- title: SLA targets
-- description: The SLA per model class (or model): a call meets it when its latency is at most the base plus the time per output token times its output tokens; a model meets it when the target share of its calls do.
-- chart: none
SELECT coalesce(model, '(class default)') AS model, model_class, base_ms,
       per_output_token_ms, target_pct
FROM sla_targets
ORDER BY model_class, model NULLS FIRST;

-- query: recommendations
-- title: Actions
-- description: The five largest model switches from the one ledger of actions, each toward a model that meets its SLA, per 30-day month; every action is in Rate optimization and on the index.
-- chart: none
SELECT * FROM report_actions('performance') WHERE priority <= 5 ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Models missing their SLA (with at least 20 calls), severity by the alert policy on the monthly spend on their calls over the SLA against monthly spend.
-- chart: none
WITH fp AS (SELECT * FROM finance_period),
missing AS (
    SELECT m.*,
           per_month(coalesce((SELECT sum(c.cost_usd) FROM calls AS c
                               WHERE c.provider = m.provider AND c.model = m.model), 0)
                     * over_sla_calls / calls, fp.covered_days) AS monthly_over_sla_cost,
           fp.monthly_spend
    FROM performance_models AS m, fp
    WHERE m.meets_sla = false
)
SELECT severity, title, detail, amount_usd, amount_label
FROM (
    SELECT alert_severity(monthly_over_sla_cost) AS severity,
           model || ' misses its latency SLA' AS title,
           format('{:.1f}% of {:,} calls within {:,} ms + {:.0f} ms per output token (target {:.0f}%); p95 {:,.0f} ms; '
                  || 'about {} a 30-day month is spent on its calls over the SLA. No action routes work to it.',
                  sla_pct, calls, (SELECT base_ms FROM sla_targets WHERE model IS NULL AND sla_targets.model_class = missing.model_class),
                  (SELECT per_output_token_ms FROM sla_targets WHERE model IS NULL AND sla_targets.model_class = missing.model_class),
                  sla_target_pct, p95_ms, usd_text(monthly_over_sla_cost)) AS detail,
           monthly_over_sla_cost AS amount_usd,
           'spend on calls over the SLA, a 30-day month' AS amount_label
    FROM missing
)
WHERE severity IS NOT NULL
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;

-- query: errors_by_model
-- title: Failed calls by model
-- description: Over the file's period: calls with status error (contract 1.1), their share of the model's calls and what the failed calls cost (money spent for no answer); the most frequent error_type (a tie goes to the first in alphabetical order).
-- chart: none
-- limit: 25
-- The top error type is ranked, not mode(): mode() breaks a tie by the
-- order rows arrive in, which differs between the store and a direct read.
-- One pass over the calls: by model, failed or not, and error type.
WITH kinds AS (
    SELECT provider, model, status = 'error' AS failed, coalesce(error_type, '') AS error_type,
           count(*) AS calls, sum(cost_usd) AS cost
    FROM calls
    GROUP BY ALL
),
error_types AS (
    SELECT provider, model, error_type,
           row_number() OVER (PARTITION BY provider, model ORDER BY sum(calls) DESC, error_type) AS rank
    FROM kinds
    WHERE failed AND error_type <> ''
    GROUP BY provider, model, error_type
),
by_model AS (
    SELECT provider, model,
           CAST(sum(calls) AS BIGINT) AS calls,
           CAST(coalesce(sum(calls) FILTER (WHERE failed), 0) AS BIGINT) AS error_calls,
           pct(coalesce(sum(calls) FILTER (WHERE failed), 0), sum(calls)) AS error_rate_pct,
           coalesce(sum(cost) FILTER (WHERE failed), 0) AS failed_cost
    FROM kinds
    GROUP BY provider, model
)
SELECT m.provider, m.model, m.calls, m.error_calls, m.error_rate_pct, m.failed_cost,
       t.error_type AS top_error_type
FROM by_model AS m
LEFT JOIN error_types AS t ON t.provider = m.provider AND t.model = m.model AND t.rank = 1
ORDER BY m.error_rate_pct DESC, m.failed_cost DESC, m.provider, m.model;

