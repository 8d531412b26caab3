-- name: optimization
-- title: Rate optimization
-- category: finops
-- version: 16
-- description: Where the same work could cost less: premium models on simple
--   tasks repriced at their provider's economy model, a reserved-capacity
--   commitment at a low percentile of daily spend, volume discount tiers,
--   provider arbitrage within a model class, and what the ledger of actions
--   counts: each lever once, in sequence, per 30-day month.
-- param: simple_tasks = qa,chat,summarization,translation | Task types an economy model handles well (comma separated)
-- param: commitment_percentile = 0.1 min 0 max 1 | Percentile of daily spend to commit to (0-1)
-- param: commitment_discount_pct = 20.0 min 0 max 100 | Discount on committed spend, in percent
-- param: target_cache_hit_pct = 50.0 min 0 max 100 | Share of input tokens a well-cached prompt reads from the cache (percent): the ledger's prompt-caching actions

-- query: _usage
-- Calls aggregated once by provider, model and task type (a few hundred
-- rows at most); every repricing below works on these token totals.
CREATE OR REPLACE TEMP TABLE optimization_usage AS
SELECT *,
       list_contains(string_split(replace(getvariable('simple_tasks'), ' ', ''), ','), task_type)
           AS simple_task
FROM (
    SELECT provider, model, task_type,
           CAST(sum(calls) AS BIGINT) AS calls,
           sum(cost) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens
    FROM finance_usage  -- the shared usage aggregate (sql/finance.sql), not every call
    GROUP BY provider, model, task_type
);

-- query: _switching
-- Premium models on simple task types repriced at the provider's economy
-- model: the ledger's definition (ledger_switches in sql/finance.sql), read
-- once with this run's simple_tasks.
CREATE OR REPLACE TEMP TABLE optimization_switching AS
SELECT * FROM ledger_switches;

-- query: _daily
-- The daily cost series over the whole period, zero-filled (ledger_daily in
-- sql/finance.sql): cost as spent, and cost_after_caps_and_caching, what
-- remains of each day after the proposed cost caps (their saving spread over
-- the days in proportion to cost) and prompt caching. The commitment is
-- sized on it: the
-- spend that stays without any quality-dependent change, on the ledger's
-- sizing days (sizes_commitment: the complete ones).
CREATE OR REPLACE TEMP TABLE optimization_daily AS
SELECT call_date, money(cost) AS cost, money(greatest(after_caps_cost, 0)) AS cost_after_caps_and_caching,
       CAST(greatest(after_caps_cost, 0) AS DOUBLE) AS sized_cost, sizes_commitment
FROM ledger_daily;

-- query: _commitment
-- Reserved capacity: commit to a fixed daily amount C, paid every day at
-- (1 - discount) whether used or not; spend above C on a day is paid on
-- demand at list price. C is a continuous percentile (quantile_cont) of the
-- zero-filled daily cost after the caps: a low percentile is used nearly
-- every day. savings = cost - (committed cost + on-demand cost). The
-- commitment breaks even when utilization (used share of the committed
-- amount) reaches 100 - discount percent. The chosen percentile's row is
-- the ledger's commitment action itself (ledger_commitment, basis
-- after_caps), so the table, the chart and the action are one figure;
-- other percentiles are scenarios on the same series.
CREATE OR REPLACE TEMP TABLE optimization_commitment AS
WITH sizing_days AS (SELECT * FROM optimization_daily WHERE sizes_commitment),
levels AS (
    SELECT unnest(ps) AS percentile, unnest(qs) AS commit_daily_cost
    FROM (SELECT [0.05, 0.1, 0.25, 0.5, 0.75] AS ps,
                 quantile_cont(sized_cost, [0.05, 0.1, 0.25, 0.5, 0.75]) AS qs
          FROM sizing_days
          HAVING count(*) > 0)
),
scenarios AS (
    SELECT DISTINCT percentile, money(commit_daily_cost) AS commit_daily_cost FROM levels
    WHERE percentile <> CAST(getvariable('commitment_percentile') AS DOUBLE)
),
per_day AS (
    SELECT s.percentile, s.commit_daily_cost,
           count(*) AS days,
           money(sum(d.sized_cost)) AS current_cost,
           money(sum(least(d.sized_cost, s.commit_daily_cost))) AS covered_cost,
           money(sum(greatest(d.sized_cost - s.commit_daily_cost, 0))) AS on_demand_cost
    FROM scenarios AS s CROSS JOIN sizing_days AS d
    GROUP BY s.percentile, s.commit_daily_cost
)
SELECT percentile, false AS chosen, commit_daily_cost,
       CAST(getvariable('commitment_discount_pct') AS DOUBLE) AS discount_pct,
       days, current_cost,
       money(commit_daily_cost * days * (1 - CAST(getvariable('commitment_discount_pct') AS DOUBLE) / 100))
           AS committed_cost,
       on_demand_cost, covered_cost,
       current_cost - money(commit_daily_cost * days * (1 - CAST(getvariable('commitment_discount_pct') AS DOUBLE) / 100))
           - on_demand_cost AS savings
FROM per_day
UNION ALL
SELECT percentile, true, commit_daily_cost, discount_pct, days, current_cost, committed_cost,
       on_demand_cost, covered_cost, savings
FROM ledger_commitment
WHERE basis = 'after_caps';

-- query: _arbitrage
-- Provider arbitrage: the ledger's definition (ledger_arbitrage in
-- sql/finance.sql): calls outside the switching scope repriced at the
-- cheapest same-class model of another provider.
CREATE OR REPLACE TEMP TABLE optimization_arbitrage AS
SELECT * EXCLUDE (to_input_per_1k, to_output_per_1k) FROM ledger_arbitrage;

-- query: model_switching
-- title: Model switching: premium models on simple tasks
-- description: Calls of premium models on simple task types, repriced with the same tokens at the provider's economy model; savings over the file's period and per 30-day month.
-- chart: hbar
-- x: _label
-- y: savings
-- limit: 25
SELECT from_model, to_model, task_type, calls, current_cost, projected_cost, savings,
       pct(savings, current_cost) AS savings_pct,
       provider,
       per_month(savings, (SELECT covered_days FROM period)) AS monthly_savings,
       task_type || ': ' || from_model || ' → ' || to_model AS _label
FROM optimization_switching
ORDER BY savings DESC, provider, from_model, task_type;

-- query: commitment
-- title: Reserved capacity commitment
-- description: The ledger's commitment action: commit to a low percentile of daily spend after the cost caps and prompt caching (the spend that stays without any quality-dependent change) at a discount; spend above it stays on demand. The current cost is that spend (after the caps and caching) over the period, not all of today's spend. If the model switches are made, commit the daily amount of the 'commit if switched' column instead (the ledger's overlap line).
-- chart: none
SELECT percentile, commit_daily_cost, discount_pct, days,
       money(commit_daily_cost * days) AS commitment_value_usd,
       committed_cost, on_demand_cost,
       committed_cost + on_demand_cost AS cost_with_commitment,
       current_cost,
       savings,
       pct(savings, current_cost) AS savings_pct,
       per_month(savings, days) AS monthly_savings,
       pct(covered_cost, commit_daily_cost * days) AS utilization_pct,
       100 - discount_pct AS breakeven_utilization_pct,
       -- A day spending less than this loses money on the commitment.
       money(commit_daily_cost * (1 - discount_pct / 100)) AS breakeven_daily_cost,
       (SELECT commit_daily_cost FROM ledger_commitment WHERE basis = 'after_levers') AS commit_if_switched_daily_cost
FROM optimization_commitment
WHERE chosen
ORDER BY percentile;

-- query: commitment_scenarios
-- title: Commitment level scenarios
-- description: Savings over the period when committing at different percentiles of daily spend after the cost caps and prompt caching; the chosen row is the ledger's commitment; higher levels risk paying for unused capacity.
-- chart: bar
-- x: percentile
-- y: savings
SELECT percentile, commit_daily_cost, committed_cost, on_demand_cost,
       savings,
       pct(savings, current_cost) AS savings_pct,
       pct(covered_cost, commit_daily_cost * days) AS utilization_pct,
       chosen
FROM optimization_commitment
ORDER BY percentile;

-- query: daily_commitment
-- title: Daily spend against the commitment level
-- description: Each day's cost, what remains of it after the cost caps and prompt caching (the spend the commitment is sized on) and the committed daily amount; the gap above the line is paid on demand. A partial first or last day is shown but does not size the commitment.
-- chart: line
-- x: call_date
-- y: cost, cost_after_caps_and_caching, commit_daily_cost
SELECT d.call_date, d.cost, d.cost_after_caps_and_caching, c.commit_daily_cost
FROM optimization_daily AS d
CROSS JOIN (SELECT commit_daily_cost FROM optimization_commitment WHERE chosen) AS c
ORDER BY d.call_date;

-- query: _volume
-- Volume tiers (documented assumption, typical of negotiated enterprise
-- agreements): monthly spend from $250 earns 3%, $1,000 5%, $5,000 10%,
-- $25,000 15%. monthly_cost = cost / covered_days * 30. tier_savings is what
-- the current tier's discount is worth over the period; next_tier_savings
-- what the next tier's would be at the same spend.
CREATE OR REPLACE TEMP TABLE optimization_volume AS
WITH tiers AS (
    SELECT * FROM (VALUES (0, 0.0), (250, 3.0), (1000, 5.0), (5000, 10.0), (25000, 15.0))
        AS t(threshold_usd, discount_pct)
),
spend AS (
    SELECT u.provider, sum(u.calls) AS calls, sum(u.cost) AS cost,
           money(safe_div(sum(u.cost) * 30, any_value(p.covered_days))) AS monthly_cost
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
-- description: Monthly run-rate per provider against hypothetical negotiated volume tiers; the recorded prices show no such discount received, so nothing here is counted as a saving.
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

-- query: total_potential
-- title: What the ledger counts, lever by lever
-- description: Each lever once, per 30-day month, from the ledger of actions: prompt caching and the commitment (sized after the caps and caching) standalone, the quality-dependent switches and arbitrage on other calls, and the overlap line, what the commitment, caps and caching lose if the switches are made.
-- chart: bar
-- x: lever
-- y: monthly_savings
-- The money right after the lever, the ledger's step order kept in the
-- sort only: on a phone (390 px) the amount is on screen before the table
-- scrolls sideways. In cents: each action rounded, then added (as the index).
WITH fp AS (SELECT * FROM finance_period)
SELECT a.lever,
       CAST(sum(cents(a.counted_monthly_usd)) AS DECIMAL(38, 6)) AS monthly_savings,
       pct(sum(cents(a.counted_monthly_usd)), any_value(fp.monthly_spend)) AS share_pct,
       any_value(a.confidence) AS confidence,
       -- each action a 'smaller' line sums; the overlap line is an adjustment
       CAST(coalesce(sum(a.action_count) FILTER (WHERE a.kind <> 'overlap'), 0) AS BIGINT) AS actions
FROM actions AS a CROSS JOIN fp
WHERE a.domain = 'optimization' AND a.kind IN ('saving', 'avoided cost', 'overlap')
GROUP BY a.lever
ORDER BY min(a.step), a.lever;

-- query: assumptions
-- title: Assumptions
-- description: The parameters and reference values the savings above rest on.
-- chart: none
SELECT * FROM (VALUES
    (1, 'Model switching', 'simple task types', getvariable('simple_tasks')),
    (2, 'Model switching', 'target model', 'the provider''s economy model in the price table'),
    (3, 'Commitment', 'percentile of daily spend', CAST(getvariable('commitment_percentile') AS VARCHAR)),
    (4, 'Commitment', 'discount on committed spend (%)', CAST(getvariable('commitment_discount_pct') AS VARCHAR)),
    (5, 'Volume discounts', 'monthly tiers (hypothetical, not counted)', '$250: 3%, $1,000: 5%, $5,000: 10%, $25,000: 15%'),
    (6, 'Provider arbitrage', 'target model', 'cheapest same-class model of another provider'),
    (7, 'Prompt caching', 'share of input tokens read from the cache (%)', CAST(getvariable('target_cache_hit_pct') AS VARCHAR)),
    (8, 'All', 'month', '30 days: monthly = amount over the file x 30 / covered days (a partial first or last day counts for the part the calls cover)')
) AS t(step, lever, parameter, value)
ORDER BY step;

-- query: headline
-- title: Headline
-- Savings per 30-day month from the ledger: the sure part first (high or
-- medium confidence), then what depends on output quality. Only this
-- report's levers (the ledger's optimization domain, the Actions table
-- below): the index's total also counts profitability's cost caps, so the
-- labels name the rate-optimization levers. In cents, each action rounded
-- before it is added, as the lever table below and the index add them: a
-- tile is the sum of the lines shown under it.
WITH fp AS (SELECT * FROM finance_period),
t AS (
    SELECT coalesce(sum(cents(counted_monthly_usd)) FILTER (WHERE confidence <> 'low'), 0) AS sure,
           coalesce(sum(cents(counted_monthly_usd)) FILTER (WHERE confidence = 'low'), 0) AS quality
    FROM actions WHERE domain = 'optimization' AND kind IN ('saving', 'avoided cost', 'overlap')
)
SELECT label, value, unit FROM (
    SELECT 1 AS n, 'Rate-optimization savings per 30-day month, high or medium confidence' AS label, CAST(t.sure AS DECIMAL(38, 6)) AS value, 'usd' AS unit FROM t
    UNION ALL
    SELECT 2, 'Rate-optimization savings per 30-day month that depend on quality', CAST(t.quality AS DECIMAL(38, 6)), 'usd' FROM t
    UNION ALL
    SELECT 3, 'AI spend per 30-day month', CAST(cents(fp.monthly_spend) AS DECIMAL(38, 6)), 'usd' FROM fp
    UNION ALL
    SELECT 4, 'Rate-optimization savings, % of monthly spend', CAST(pct(t.sure + t.quality, fp.monthly_spend) AS DECIMAL(38, 6)), 'pct' FROM t, fp
)
ORDER BY n;

-- query: recommendations
-- title: Actions
-- description: This report's actions from the one ledger of actions, per 30-day month, each with its confidence and quality risk.
-- chart: none
SELECT * FROM report_actions('optimization') ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Spend that is avoidable at list prices, and calls the optimizer cannot price.
-- chart: none
-- Avoidable spend on premium models for simple tasks, severity by the
-- alert policy (sql/finance.sql) on its monthly amount against monthly spend. Calls of models missing from the
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
    SELECT alert_severity(per_month(w.savings, (SELECT covered_days FROM period))) AS severity,
           'Premium models on simple tasks' AS title,
           format('{:,} calls ({:.1f}% of calls) ran premium models on simple tasks for {} over the {}; '
                  || '{} of it ({:.1f}% of all spend), {} a 30-day month, would not be spent on the economy models '
                  || 'if their quality holds.',
                  CAST(w.calls AS BIGINT), pct(w.calls, t.calls), usd_text(w.current_cost), days_text((SELECT covered_days FROM period)),
                  usd_text(w.savings), pct(w.savings, t.cost), usd_text(per_month(w.savings, (SELECT covered_days FROM period)))) AS detail,
           per_month(w.savings, (SELECT covered_days FROM period)) AS amount_usd,
           'avoidable cost, a 30-day month' AS amount_label
    FROM waste AS w, total AS t
    WHERE alert_severity(per_month(w.savings, (SELECT covered_days FROM period))) IS NOT NULL
    UNION ALL
    SELECT 'low', 'Calls of models without a list price',
           format('{:,} calls of {} model(s) missing from the price table ({}) cannot be '
                  || 'repriced; add them to model_prices in sql/calls.sql.',
                  CAST(u.calls AS BIGINT), u.models, usd_text(u.cost)),
           u.cost, format('cost not repriced, over the {}', days_text((SELECT covered_days FROM period)))
    FROM unpriced AS u
    WHERE u.calls > 0
)
SELECT severity, title, detail, amount_usd, amount_label
FROM alerts
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;

-- query: caching_opportunity
-- title: Prompt-caching opportunity
-- description: Per model, the saving if its calls read the target share of their input tokens from the prompt cache (50% by default; today's share is the cache hit column), at list prices (a cache read instead of an input token; the one-off cache-write premium not counted); only models whose cache read is cheaper. The potential savings are on all their calls over the file's period; the savings are what the ledger counts (not on customers it caps; the part on calls a model switch or arbitrage moves is taken back by the overlap line if those are made), and the monthly savings the same per 30-day month, as the Actions on the index.
-- chart: hbar
-- x: model
-- y: potential_savings, savings
-- limit: 25
SELECT provider, model, calls, input_tokens, cache_hit_pct,
       getvariable('target_cache_hit_pct') AS target_cache_hit_pct,
       potential_savings, on_capped_customers AS on_capped_customers_usd,
       savings, on_model_lever_calls AS on_model_lever_calls_usd,
       per_month(savings, (SELECT covered_days FROM period)) AS monthly_savings
FROM ledger_caching
ORDER BY potential_savings DESC, provider, model;

