-- name: optimization
-- title: Rate optimization
-- category: finops
-- version: 3
-- description: Where the same work could cost less: premium models on simple
--   tasks repriced at their provider's economy model, a reserved-capacity
--   commitment at a low percentile of daily spend, volume discount tiers,
--   provider arbitrage within a model class, and the total potential.
-- param: simple_tasks = qa,chat,summarization,translation | Task types an economy model handles well (comma separated)
-- param: commitment_percentile = 0.1 min 0 max 1 | Percentile of daily spend to commit to (0-1)
-- param: commitment_discount_pct = 20.0 min 0 max 100 | Discount on committed spend, in percent
-- param: target_cache_hit_pct = 50.0 min 0 max 100 | Share of input tokens a well-cached prompt reads from the cache (percent), for the caching opportunity

-- query: _usage
-- Calls aggregated once by provider, model and task type (a few hundred
-- rows at most); every repricing below works on these token totals.
CREATE OR REPLACE TEMP TABLE optimization_usage AS
SELECT *,
       list_contains(string_split(replace(getvariable('simple_tasks'), ' ', ''), ','), task_type)
           AS simple_task
FROM (
    SELECT provider, model, task_type,
           count(*) AS calls,
           sum(cost_usd) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens
    FROM calls
    GROUP BY provider, model, task_type
);

-- query: _switching
-- Premium models (model_prices.model_class) on simple task types, repriced
-- with the same token totals at the economy model of the same provider
-- (model_prices.economy_model). Tokens are summed before pricing, so the
-- projection has no per-call rounding. current_cost is what was paid.
CREATE OR REPLACE TEMP TABLE optimization_switching AS
SELECT u.provider, u.model AS from_model, p.economy_model AS to_model, u.task_type,
       u.calls, u.cost AS current_cost,
       token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS projected_cost,
       u.cost - token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS savings
FROM optimization_usage AS u
JOIN model_prices AS p ON p.provider = u.provider AND p.model = u.model
JOIN model_prices AS e ON e.provider = p.provider AND e.model = p.economy_model
WHERE p.model_class = 'premium' AND u.simple_task;

-- query: _daily
-- The daily cost series over the whole period, zero-filled.
CREATE OR REPLACE TEMP TABLE optimization_daily AS
SELECT d.call_date, coalesce(c.cost, CAST(0 AS DECIMAL(38, 6))) AS cost
FROM (SELECT CAST(unnest(generate_series(first_date, last_date, INTERVAL 1 DAY)) AS DATE) AS call_date
      FROM period) AS d
LEFT JOIN (SELECT call_date, sum(cost_usd) AS cost FROM calls GROUP BY call_date) AS c
    USING (call_date);

-- query: _commitment
-- Reserved capacity: commit to a fixed daily amount C, paid every day at
-- (1 - discount) whether used or not; spend above C on a day is paid on
-- demand at list price. C is a continuous percentile (quantile_cont) of the
-- zero-filled daily cost series: a low percentile is used nearly every day.
-- savings = current cost - (committed cost + on-demand cost). The
-- commitment breaks even when utilization (used share of the committed
-- amount) reaches 100 - discount percent. Scenarios at several percentiles,
-- plus the parameter's, show why a low one is chosen.
CREATE OR REPLACE TEMP TABLE optimization_commitment AS
WITH levels AS (
    SELECT unnest(ps) AS percentile, unnest(qs) AS commit_daily_cost
    FROM (SELECT [0.05, 0.1, 0.25, 0.5, 0.75, CAST(getvariable('commitment_percentile') AS DOUBLE)] AS ps,
                 quantile_cont(cost, [0.05, 0.1, 0.25, 0.5, 0.75,
                                      CAST(getvariable('commitment_percentile') AS DOUBLE)]) AS qs
          FROM optimization_daily
          HAVING count(*) > 0)
),
scenarios AS (
    SELECT DISTINCT percentile, money(commit_daily_cost) AS commit_daily_cost FROM levels
),
per_day AS (
    SELECT s.percentile, s.commit_daily_cost,
           count(*) AS days,
           sum(d.cost) AS current_cost,
           sum(least(d.cost, s.commit_daily_cost)) AS covered_cost,
           sum(greatest(d.cost - s.commit_daily_cost, 0)) AS on_demand_cost
    FROM scenarios AS s CROSS JOIN optimization_daily AS d
    GROUP BY s.percentile, s.commit_daily_cost
)
SELECT percentile,
       percentile = CAST(getvariable('commitment_percentile') AS DOUBLE) AS chosen,
       commit_daily_cost,
       CAST(getvariable('commitment_discount_pct') AS DOUBLE) AS discount_pct,
       days,
       current_cost,
       money(commit_daily_cost * days * (1 - CAST(getvariable('commitment_discount_pct') AS DOUBLE) / 100))
           AS committed_cost,
       money(on_demand_cost) AS on_demand_cost,
       covered_cost
FROM per_day;

-- query: _arbitrage
-- Provider arbitrage: each model's calls outside the model-switching scope
-- (so no call is counted twice) repriced at every model of the same
-- model_class from another provider; the cheapest candidate is kept
-- (ties: provider, model name).
CREATE OR REPLACE TEMP TABLE optimization_arbitrage AS
WITH rest AS (
    SELECT u.provider, u.model, p.model_class,
           sum(u.calls) AS calls, sum(u.cost) AS current_cost,
           sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens
    FROM optimization_usage AS u
    JOIN model_prices AS p ON p.provider = u.provider AND p.model = u.model
    WHERE NOT (p.model_class = 'premium' AND u.simple_task)
    GROUP BY u.provider, u.model, p.model_class
),
candidates AS (
    SELECT r.*, c.provider AS to_provider, c.model AS to_model,
           token_cost(r.input_tokens, r.output_tokens, c.input_per_1k, c.output_per_1k) AS projected_cost
    FROM rest AS r
    JOIN model_prices AS c ON c.model_class = r.model_class AND c.provider <> r.provider
)
SELECT provider AS from_provider, model AS from_model,
       arg_min(to_provider, (projected_cost, to_provider, to_model)) AS to_provider,
       arg_min(to_model, (projected_cost, to_provider, to_model)) AS to_model,
       model_class, calls, current_cost,
       min(projected_cost) AS projected_cost,
       current_cost - min(projected_cost) AS savings
FROM candidates
GROUP BY provider, model, model_class, calls, current_cost
-- A model already the cheapest of its class has nothing to gain.
HAVING current_cost - min(projected_cost) > 0;

-- query: model_switching
-- title: Model switching: premium models on simple tasks
-- description: Calls of premium models on simple task types, repriced with the same tokens at the provider's economy model.
-- chart: hbar
-- x: label
-- y: savings
-- limit: 25
SELECT from_model, to_model, task_type, calls, current_cost, projected_cost, savings,
       pct(savings, current_cost) AS savings_pct,
       provider,
       task_type || ': ' || from_model || ' → ' || to_model AS label
FROM optimization_switching
ORDER BY savings DESC, provider, from_model, task_type;

-- query: commitment
-- title: Reserved capacity commitment
-- description: Commit to a low percentile of daily spend at a discount; spend above it stays on demand.
-- chart: none
SELECT percentile, commit_daily_cost, discount_pct, days,
       money(commit_daily_cost * days) AS commitment_value_usd,
       committed_cost, on_demand_cost,
       committed_cost + on_demand_cost AS cost_with_commitment,
       current_cost,
       current_cost - committed_cost - on_demand_cost AS savings,
       pct(current_cost - committed_cost - on_demand_cost, current_cost) AS savings_pct,
       money(safe_div((current_cost - committed_cost - on_demand_cost) * 30, days)) AS monthly_savings,
       pct(covered_cost, commit_daily_cost * days) AS utilization_pct,
       100 - discount_pct AS breakeven_utilization_pct,
       -- A day spending less than this loses money on the commitment.
       money(commit_daily_cost * (1 - discount_pct / 100)) AS breakeven_daily_cost
FROM optimization_commitment
WHERE chosen
ORDER BY percentile;

-- query: commitment_scenarios
-- title: Commitment level scenarios
-- description: Savings when committing at different percentiles of daily spend; higher levels risk paying for unused capacity.
-- chart: bar
-- x: percentile
-- y: savings
SELECT percentile, commit_daily_cost, committed_cost, on_demand_cost,
       current_cost - committed_cost - on_demand_cost AS savings,
       pct(current_cost - committed_cost - on_demand_cost, current_cost) AS savings_pct,
       pct(covered_cost, commit_daily_cost * days) AS utilization_pct,
       chosen
FROM optimization_commitment
ORDER BY percentile;

-- query: daily_commitment
-- title: Daily spend against the commitment level
-- description: Each day's cost and the committed daily amount; the gap above the line is paid on demand.
-- chart: line
-- x: call_date
-- y: cost, commit_daily_cost
SELECT d.call_date, d.cost, c.commit_daily_cost
FROM optimization_daily AS d
CROSS JOIN (SELECT commit_daily_cost FROM optimization_commitment WHERE chosen) AS c
ORDER BY d.call_date;

-- query: _volume
-- Volume tiers (documented assumption, typical of negotiated enterprise
-- agreements): monthly spend from $250 earns 3%, $1,000 5%, $5,000 10%,
-- $25,000 15%. monthly_cost = cost / period_days * 30. tier_savings is what
-- the current tier's discount is worth over the period; next_tier_savings
-- what the next tier's would be at the same spend.
CREATE OR REPLACE TEMP TABLE optimization_volume AS
WITH tiers AS (
    SELECT * FROM (VALUES (0, 0.0), (250, 3.0), (1000, 5.0), (5000, 10.0), (25000, 15.0))
        AS t(threshold_usd, discount_pct)
),
spend AS (
    SELECT u.provider, sum(u.calls) AS calls, sum(u.cost) AS cost,
           money(safe_div(sum(u.cost) * 30, any_value(p.period_days))) AS monthly_cost
    FROM optimization_usage AS u CROSS JOIN period AS p
    GROUP BY u.provider
)
SELECT s.provider, s.calls, s.cost, s.monthly_cost,
       max(t.discount_pct) FILTER (WHERE t.threshold_usd <= s.monthly_cost) AS discount_pct,
       money(s.cost * max(t.discount_pct) FILTER (WHERE t.threshold_usd <= s.monthly_cost) / 100)
           AS tier_savings,
       min(t.threshold_usd) FILTER (WHERE t.threshold_usd > s.monthly_cost) AS next_threshold_usd,
       money(min(t.threshold_usd) FILTER (WHERE t.threshold_usd > s.monthly_cost) - s.monthly_cost)
           AS next_tier_gap_usd,
       min(t.discount_pct) FILTER (WHERE t.threshold_usd > s.monthly_cost) AS next_discount_pct,
       money(s.cost * min(t.discount_pct) FILTER (WHERE t.threshold_usd > s.monthly_cost) / 100)
           AS next_tier_savings
FROM spend AS s CROSS JOIN tiers AS t
GROUP BY s.provider, s.calls, s.cost, s.monthly_cost;

-- query: volume_discounts
-- title: Volume discount tiers by provider
-- description: Monthly run-rate per provider against typical negotiated volume tiers, and the gap to the next tier.
-- chart: hbar
-- x: provider
-- y: monthly_cost, next_tier_gap_usd
SELECT provider, calls, cost, monthly_cost, discount_pct, tier_savings, next_threshold_usd,
       next_tier_gap_usd, next_discount_pct, next_tier_savings
FROM optimization_volume
ORDER BY cost DESC, provider;

-- query: provider_arbitrage
-- title: Provider arbitrage within a model class
-- description: Each model's calls outside model switching repriced at the cheapest same-class model of another provider, where that saves money.
-- chart: hbar
-- x: from_model
-- y: savings
-- limit: 25
SELECT from_provider, from_model, to_provider, to_model, model_class, calls,
       current_cost, projected_cost, savings, pct(savings, current_cost) AS savings_pct
FROM optimization_arbitrage
ORDER BY savings DESC, from_provider, from_model;

-- query: _total
-- Levers stack: model switching first, then arbitrage on the calls switching
-- does not touch, then the commitment on what spend remains. Commitment
-- savings scale with the daily series, so they are multiplied by the share
-- of cost left after the first two levers (exact when every day shrinks by
-- the same share, an estimate otherwise). Only positive savings count.
CREATE OR REPLACE TEMP TABLE optimization_total AS
WITH total AS (SELECT coalesce(sum(cost), 0) AS cost FROM optimization_usage),
levers AS (
    SELECT 1 AS step, 'Model switching' AS lever,
           coalesce(sum(savings) FILTER (WHERE savings > 0), 0) AS savings
    FROM optimization_switching
    UNION ALL
    SELECT 2, 'Provider arbitrage', coalesce(sum(savings) FILTER (WHERE savings > 0), 0)
    FROM optimization_arbitrage
),
commit_lever AS (
    SELECT 3 AS step, 'Reserved commitment' AS lever,
           money(greatest(coalesce(max(c.current_cost - c.committed_cost - c.on_demand_cost), 0), 0)
                 * (1 - coalesce(safe_div((SELECT sum(savings) FROM levers), (SELECT cost FROM total)), 0)))
               AS savings
    FROM optimization_commitment AS c
    WHERE c.chosen
),
all_levers AS (
    SELECT step, lever, savings FROM levers
    UNION ALL SELECT step, lever, savings FROM commit_lever
)
SELECT step, lever, savings, pct(savings, (SELECT cost FROM total)) AS share_pct
FROM (
    SELECT * FROM all_levers
    UNION ALL
    SELECT 4, 'Total', sum(savings) FROM all_levers
);

-- query: total_potential
-- title: Total optimization potential
-- description: Savings by lever without double counting; volume discounts are negotiated and left out.
-- chart: bar
-- x: lever
-- y: savings
SELECT step, lever, savings, share_pct
FROM optimization_total
ORDER BY step;

-- query: assumptions
-- title: Assumptions
-- description: The parameters and reference values the savings above rest on.
-- chart: none
SELECT * FROM (VALUES
    (1, 'Model switching', 'simple task types', getvariable('simple_tasks')),
    (2, 'Model switching', 'target model', 'the provider''s economy model in the price table'),
    (3, 'Commitment', 'percentile of daily spend', CAST(getvariable('commitment_percentile') AS VARCHAR)),
    (4, 'Commitment', 'discount on committed spend (%)', CAST(getvariable('commitment_discount_pct') AS VARCHAR)),
    (5, 'Volume discounts', 'monthly tiers', '$250: 3%, $1,000: 5%, $5,000: 10%, $25,000: 15%'),
    (6, 'Provider arbitrage', 'target model', 'cheapest same-class model of another provider')
) AS t(step, lever, parameter, value)
ORDER BY step;

-- query: headline
SELECT label, value, unit FROM (VALUES
    -- Low-risk first: the same provider's economy model on simple tasks
    -- (the total_potential table names each lever).
    -- The full potential adds commitments and moving other work to another
    -- provider, which needs a quality check before anyone acts on it.
    (1, 'Low-risk savings', (SELECT CAST(savings AS DOUBLE) FROM optimization_total WHERE step = 1), 'usd'),
    (2, 'Full potential', (SELECT CAST(savings AS DOUBLE) FROM optimization_total WHERE step = 4), 'usd'),
    (3, 'Full potential, % of spend', (SELECT share_pct FROM optimization_total WHERE step = 4), 'pct'),
    (4, 'Current spend', (SELECT CAST(coalesce(sum(cost), 0) AS DOUBLE) FROM optimization_usage), 'usd')
) AS t(n, label, value, unit)
ORDER BY n;

-- query: recommendations
-- title: Recommendations
-- description: Concrete changes with the dollars each saves over the period of the file.
-- chart: none
-- The three largest model switches, the commitment, the largest provider
-- arbitrage, and the provider nearest (relative to its spend) to its next
-- volume tier. Priority follows the amount at stake.
WITH switches AS (
    SELECT *, row_number() OVER (ORDER BY savings DESC, provider, from_model, task_type) AS rn
    FROM optimization_switching
    WHERE savings > 0
),
arbitrage AS (
    SELECT *, row_number() OVER (ORDER BY savings DESC, from_provider, from_model) AS rn
    FROM optimization_arbitrage
),
volume AS (
    SELECT *, row_number() OVER (ORDER BY safe_div(next_tier_gap_usd, monthly_cost), provider) AS rn
    FROM optimization_volume
    WHERE next_threshold_usd IS NOT NULL AND monthly_cost > 0
),
recs AS (
    SELECT format('Move {} calls from {} to {}', task_type, from_model, to_model) AS title,
           format('{:,} {} calls on {} cost ${:,.2f}; the same tokens at {} list prices cost ${:,.2f}: '
                  || 'saves ${:,.2f} over the period ({:.1f}%).',
                  CAST(calls AS BIGINT), task_type, from_model, current_cost, to_model, projected_cost,
                  savings, pct(savings, current_cost)) AS detail,
           savings AS amount_usd
    FROM switches WHERE rn <= 3
    UNION ALL
    SELECT format('Commit to ${:,.2f} a day of reserved capacity', commit_daily_cost),
           format('At current spend, committing at the {}th percentile of daily spend with a {}% discount '
                  || 'costs ${:,.2f} committed plus ${:,.2f} on demand instead of ${:,.2f}: saves ${:,.2f} over the period '
                  || '({:.1f}% utilization; it breaks even at {:.0f}%). After the model and provider '
                  || 'changes it is worth about ${:,.2f}: size it after them.',
                  CAST(round(percentile * 100) AS INTEGER), discount_pct, committed_cost, on_demand_cost,
                  current_cost, current_cost - committed_cost - on_demand_cost,
                  pct(covered_cost, commit_daily_cost * days), 100 - discount_pct, t.savings),
           current_cost - committed_cost - on_demand_cost
    FROM optimization_commitment
    JOIN optimization_total AS t ON t.step = 3
    WHERE chosen AND current_cost - committed_cost - on_demand_cost > 0
    UNION ALL
    SELECT format('Move {} work from {} to {} {}', from_model, from_provider, to_provider, to_model),
           format('{:,} {} calls outside simple tasks cost ${:,.2f}; at {} list prices ${:,.2f}: '
                  || 'saves ${:,.2f} over the period ({:.1f}%). Check quality on a sample first.',
                  CAST(calls AS BIGINT), from_model, current_cost, to_model, projected_cost, savings,
                  pct(savings, current_cost)),
           savings
    FROM arbitrage WHERE rn = 1
    UNION ALL
    SELECT format('Negotiate a volume tier with {}', provider),
           format('{} runs at ${:,.2f} a month, ${:,.2f} short of the ${:,} tier; its {}% discount '
                  || 'instead of {}% would save ${:,.2f} more over the period. Consolidating other '
                  || 'providers'' spend there closes the gap.',
                  provider, monthly_cost, next_tier_gap_usd, next_threshold_usd, next_discount_pct,
                  discount_pct, next_tier_savings - tier_savings),
           next_tier_savings - tier_savings
    FROM volume WHERE rn = 1
)
SELECT row_number() OVER (ORDER BY amount_usd DESC, title) AS priority, title, detail, amount_usd
FROM recs
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Spend that is avoidable at list prices, and calls the optimizer cannot price.
-- chart: none
-- Avoidable spend on premium models for simple tasks: high at 20% of all
-- spend or more, medium at 10%, low below. Calls of models missing from the
-- price table are a low alert: they are left out of every repricing here.
WITH total AS (SELECT coalesce(sum(cost), 0) AS cost, coalesce(sum(calls), 0) AS calls FROM optimization_usage),
waste AS (
    SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(current_cost), 0) AS current_cost,
           coalesce(sum(savings) FILTER (WHERE savings > 0), 0) AS savings
    FROM optimization_switching
),
unpriced AS (
    SELECT coalesce(sum(u.calls), 0) AS calls, coalesce(sum(u.cost), 0) AS cost,
           count(DISTINCT u.provider || '/' || u.model) AS models
    FROM optimization_usage AS u
    ANTI JOIN model_prices AS p ON p.provider = u.provider AND p.model = u.model
),
alerts AS (
    SELECT CASE WHEN pct(w.savings, t.cost) >= 20 THEN 'high'
                WHEN pct(w.savings, t.cost) >= 10 THEN 'medium' ELSE 'low' END AS severity,
           'Premium models on simple tasks' AS title,
           format('{:,} calls ({:.1f}% of calls) ran premium models on simple tasks for ${:,.2f}; '
                  || '${:,.2f} of it ({:.1f}% of all spend) is avoidable with the economy models.',
                  CAST(w.calls AS BIGINT), pct(w.calls, t.calls), w.current_cost, w.savings,
                  pct(w.savings, t.cost)) AS detail,
           w.savings AS amount_usd
    FROM waste AS w, total AS t
    WHERE w.savings > 0
    UNION ALL
    SELECT 'low', 'Calls of models without a list price',
           format('{:,} calls of {} model(s) missing from the price table (${:,.2f}) cannot be '
                  || 'repriced; add them to model_prices in sql/calls.sql.',
                  CAST(u.calls AS BIGINT), u.models, u.cost),
           u.cost
    FROM unpriced AS u
    WHERE u.calls > 0
)
SELECT severity, title, detail, amount_usd
FROM alerts
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;

-- query: caching_opportunity
-- title: Prompt-caching opportunity
-- description: Savings over the file's period if each model and feature read target_cache_hit_pct of its input tokens from the prompt cache (today: cache_hit_pct), at list prices (cache read price instead of the input price; the one-off cache-write premium is not counted). Only models whose list price has a cheaper cache read.
-- chart: hbar
-- x: model_feature
-- y: potential_savings
-- limit: 25
SELECT provider, model, feature_id, model || ' · ' || feature_id AS model_feature,
       sum(calls) AS calls,
       sum(input_tokens) AS input_tokens,
       pct(sum(cache_read_input_tokens), sum(input_tokens)) AS cache_hit_pct,
       getvariable('target_cache_hit_pct') AS target_cache_hit_pct,
       money(sum(greatest(0, input_tokens * getvariable('target_cache_hit_pct') / 100
                             - cache_read_input_tokens)
                 * (list_input_per_mtok - list_cache_read_per_mtok)) / 1000000) AS potential_savings
FROM calls_list_cost
WHERE list_cache_read_per_mtok < list_input_per_mtok
GROUP BY provider, model, feature_id
HAVING potential_savings > 0
ORDER BY potential_savings DESC, provider, model, feature_id;

