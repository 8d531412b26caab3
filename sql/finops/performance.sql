-- name: performance
-- title: Performance tracking
-- category: finops
-- version: 3
-- description: Latency percentiles, throughput, cost and SLA compliance per
--   model; rankings by cost, speed and a composite score; the best model for
--   each task type and the latency distribution.
-- param: sla_ms = 2000 min 1 | Latency SLA threshold in milliseconds
-- param: sla_target_pct = 95.0 min 0 max 100 | Share of calls that should meet the SLA (percent); models below it raise an alert
-- param: min_calls = 20 min 1 | Fewest calls a model needs on a task type to be ranked for it

-- query: _models
-- Per-model metrics, aggregated once. Percentiles are continuous
-- (quantile_cont, linear interpolation between ranks); tokens_per_second =
-- sum(output_tokens) / (sum(latency_ms) / 1000); cost_per_1k_tokens = cost /
-- (input + output tokens) * 1000; sla_pct = calls at or under sla_ms / calls.
-- The composite score (0-100, higher is better) weighs cost 40%, speed 30%
-- and SLA 30%: 0.4 * 100 * cheapest cost_per_1k_tokens / this model's
-- + 0.3 * 100 * lowest p95_ms / this model's + 0.3 * sla_pct.
CREATE OR REPLACE TEMP TABLE performance_models AS
WITH m AS (
    SELECT provider, model,
           count(*) AS calls,
           quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS q,
           avg(latency_ms) AS avg_ms,
           safe_div(sum(output_tokens) * 1000.0, sum(latency_ms)) AS tokens_per_second,
           money(safe_div(sum(cost_usd) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
           pct(count(*) FILTER (WHERE latency_ms <= getvariable('sla_ms')), count(*)) AS sla_pct,
           sum(cost_usd) AS cost,
           sum(total_tokens) AS total_tokens,
           count(*) FILTER (WHERE latency_ms > getvariable('sla_ms')) AS over_sla_calls,
           coalesce(sum(cost_usd) FILTER (WHERE latency_ms > getvariable('sla_ms')), 0) AS over_sla_cost
    FROM calls
    GROUP BY provider, model
)
SELECT m.* EXCLUDE (q), q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms,
       0.4 * coalesce(100.0 * safe_div(min(cost_per_1k_tokens) OVER (), cost_per_1k_tokens), 100)
     + 0.3 * 100.0 * safe_div(min(q[2]) OVER (), q[2])
     + 0.3 * sla_pct AS score
FROM m;

-- query: _task_models
-- The same metrics per task type and model; the composite score is
-- computed within each task type over the models with at least min_calls
-- calls on it (the others get no score).
CREATE OR REPLACE TEMP TABLE performance_task_models AS
WITH q_m AS (
    SELECT task_type, provider, model,
           count(*) AS calls,
           quantile_cont(latency_ms, [0.5, 0.95]) AS q,
           money(safe_div(sum(cost_usd) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
           pct(count(*) FILTER (WHERE latency_ms <= getvariable('sla_ms')), count(*)) AS sla_pct,
           sum(cost_usd) AS cost,
           sum(total_tokens) AS total_tokens
    FROM calls
    GROUP BY task_type, provider, model
),
m AS (
    SELECT q_m.* EXCLUDE (q), q[1] AS p50_ms, q[2] AS p95_ms FROM q_m
),
ranked AS (
    SELECT * FROM m WHERE calls >= getvariable('min_calls')
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
    SELECT quantile_cont(latency_ms, [0.5, 0.95]) AS q,
           pct(count(*) FILTER (WHERE latency_ms <= getvariable('sla_ms')), count(*)) AS sla_pct
    FROM calls
)
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'Median latency' AS label, money(q[1]) AS value, 'ms' AS unit FROM overall
    UNION ALL
    SELECT 2, 'p95 latency', money(q[2]), 'ms' FROM overall
    UNION ALL
    SELECT 3, 'Calls within SLA', money(sla_pct), 'pct' FROM overall
    UNION ALL
    SELECT 4, 'Models below SLA target',
           money(count(*) FILTER (WHERE sla_pct < getvariable('sla_target_pct'))), 'count'
    FROM performance_models
)
ORDER BY position;

-- query: latency_by_model
-- title: Latency by model
-- description: p50/p95/p99 latency (interpolated percentiles), throughput, cost per 1,000 tokens and the share of calls within the SLA.
-- chart: bar
-- x: model
-- y: p50_ms, p95_ms, p99_ms
-- limit: 25
SELECT provider, model, calls, p50_ms, p95_ms, p99_ms, avg_ms, tokens_per_second,
       cost_per_1k_tokens, sla_pct, cost, over_sla_calls
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
-- title: Best model per task type
-- description: The model with the highest composite score on each task type (models with at least 20 calls on it by default).
-- chart: none
SELECT task_type, provider, model, score, calls, cost_per_1k_tokens, p50_ms, p95_ms, sla_pct
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

-- query: _routing
-- What each simple task type (qa, chat, summarization, translation, where
-- a cheaper model is a safe swap) would cost on its best-scoring model:
-- every (task, model) pair dearer per token than the task's best model,
-- repriced with the same tokens at the best model's cost per 1,000 tokens.
CREATE OR REPLACE TEMP TABLE performance_routing AS
WITH best AS (
    SELECT task_type, provider, model, cost_per_1k_tokens
    FROM performance_task_models
    WHERE score IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY task_type ORDER BY score DESC, provider, model) = 1
)
SELECT t.task_type, b.model AS to_model,
       sum(t.calls) AS calls,
       sum(t.cost) AS current_cost,
       money(sum(t.total_tokens * b.cost_per_1k_tokens / 1000)) AS projected_cost,
       sum(t.cost) - money(sum(t.total_tokens * b.cost_per_1k_tokens / 1000)) AS savings
FROM performance_task_models AS t
JOIN best AS b USING (task_type)
WHERE t.cost_per_1k_tokens > b.cost_per_1k_tokens
  AND t.task_type IN ('qa', 'chat', 'summarization', 'translation')
GROUP BY t.task_type, b.model;

-- query: recommendations
-- title: Recommendations
-- description: Route simple task types to their best-scoring model, and fix the three costliest models that miss the SLA.
-- chart: none
-- Ranked by dollars at stake: routing savings over the period, and the
-- period's spend on calls slower than the SLA.
WITH items AS (
    SELECT 'Route ' || task_type || ' calls to ' || to_model AS title,
           format('{:,} {} calls run on models dearer per token than {}, the best-scoring model for the task; moving them saves ${:,.2f} over the period (${:,.2f} now, ${:,.2f} after).',
                  calls, task_type, to_model, savings, current_cost, projected_cost) AS detail,
           savings AS amount_usd
    FROM performance_routing
    WHERE savings > 0
    UNION ALL
    SELECT 'Bring ' || model || ' within the ' || format('{:,}', getvariable('sla_ms')) || ' ms SLA',
           format('{:.1f}% of {} calls meet the SLA (target {:.0f}%, p95 {:,.0f} ms); ${:,.2f} was spent on {:,} calls over it. Route latency-sensitive traffic to a faster model or set a timeout.',
                  sla_pct, model, getvariable('sla_target_pct'), p95_ms, over_sla_cost, over_sla_calls),
           over_sla_cost
    FROM performance_models
    WHERE sla_pct < getvariable('sla_target_pct')
    QUALIFY row_number() OVER (ORDER BY over_sla_cost DESC, provider, model) <= 3
)
SELECT CAST(row_number() OVER (ORDER BY amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail, amount_usd
FROM items
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Models whose share of calls within the SLA is under the target (high when under 80%); the five worst one by one, the rest in one line.
-- chart: none
WITH missing AS (
    SELECT *, row_number() OVER (ORDER BY CASE WHEN sla_pct < 80 THEN 1 ELSE 2 END,
                                          sla_pct, provider, model) AS rank
    FROM performance_models
    WHERE sla_pct < getvariable('sla_target_pct')
)
SELECT severity, title, detail, amount_usd
FROM (
    SELECT rank,
           CASE WHEN sla_pct < 80 THEN 'high' ELSE 'medium' END AS severity,
           model || ' misses the latency SLA' AS title,
           format('{:.1f}% of {:,} calls within {:,} ms (target {:.0f}%); p95 {:,.0f} ms, p99 {:,.0f} ms.',
                  sla_pct, calls, getvariable('sla_ms'), getvariable('sla_target_pct'), p95_ms, p99_ms) AS detail,
           over_sla_cost AS amount_usd
    FROM missing
    WHERE rank <= 5
    UNION ALL
    SELECT 6, CASE WHEN min(sla_pct) < 80 THEN 'high' ELSE 'medium' END,
           format('{:,} more models miss the latency SLA', count(*)),
           format('Within {:,} ms: {}.', getvariable('sla_ms'),
                  string_agg(format('{} {:.1f}%', model, sla_pct), ', ' ORDER BY rank)),
           sum(over_sla_cost)
    FROM missing
    WHERE rank > 5
    HAVING count(*) > 0
)
ORDER BY rank;

-- query: errors_by_model
-- title: Failed calls by model
-- description: Over the file's period: calls with status error (contract 1.1), their share of the model's calls and what the failed calls cost (money spent for no answer); the most frequent error_type.
-- chart: none
-- limit: 25
SELECT provider, model,
       count(*) AS calls,
       count(*) FILTER (WHERE status = 'error') AS error_calls,
       pct(count(*) FILTER (WHERE status = 'error'), count(*)) AS error_rate_pct,
       coalesce(sum(cost_usd) FILTER (WHERE status = 'error'), 0) AS failed_cost,
       mode(nullif(error_type, '')) FILTER (WHERE status = 'error') AS top_error_type
FROM calls
GROUP BY provider, model
ORDER BY error_rate_pct DESC, failed_cost DESC, provider, model;

