-- name: understanding
-- title: Understanding usage and cost
-- category: finops
-- version: 3
-- description: Where the AI API money goes: totals, cost by provider, model,
--   organization, product, feature and environment, daily and hourly patterns,
--   token efficiency by task type, and a linear forecast of spend.
-- param: forecast_growth_alert_pct = 20.0 min 0 | Alert when the next 30 days are projected to cost this much more than the last 30 (percent)

-- query: _daily
-- Every date of the period, zero-filled, with a 0-based day index for the
-- trend fit. Aggregated once; every time-based query reads this table.
CREATE OR REPLACE TEMP TABLE understanding_daily AS
WITH per_day AS (
    SELECT call_date, count(*) AS calls, sum(cost_usd) AS cost,
           sum(total_tokens) AS tokens
    FROM calls
    GROUP BY call_date
)
SELECT CAST(p.first_date + CAST(t.i AS INTEGER) AS DATE) AS call_date,
       CAST(t.i AS INTEGER) AS day_index,
       coalesce(d.calls, 0) AS calls,
       coalesce(d.cost, CAST(0 AS DECIMAL(38, 6))) AS cost,
       coalesce(d.tokens, 0) AS tokens
FROM period AS p
CROSS JOIN range(p.period_days) AS t(i)
LEFT JOIN per_day AS d ON d.call_date = p.first_date + CAST(t.i AS INTEGER)
ORDER BY call_date;

-- query: _usage
-- Calls aggregated once by provider, model and task type: the provider,
-- model, task and switching queries and the summary read this small table.
CREATE OR REPLACE TEMP TABLE understanding_usage AS
SELECT provider, model, task_type,
       count(*) AS calls, sum(cost_usd) AS cost,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(total_tokens) AS total_tokens
FROM calls
GROUP BY provider, model, task_type;

-- query: _trend
-- Ordinary least squares line over the zero-filled daily cost series
-- (x = day index, y = cost). One day: a flat line at that day's cost.
-- resid_sd is the residual standard error sqrt(SSR / (n - 2)); with two
-- days or fewer the line fits exactly and it is 0.
CREATE OR REPLACE TEMP TABLE understanding_trend AS
WITH fit AS (
    SELECT count(*) AS n,
           CASE WHEN count(*) > 1 THEN regr_slope(CAST(cost AS DOUBLE), day_index) ELSE 0 END AS slope,
           CASE WHEN count(*) > 1 THEN regr_intercept(CAST(cost AS DOUBLE), day_index)
                ELSE avg(CAST(cost AS DOUBLE)) END AS intercept
    FROM understanding_daily
)
SELECT f.n, f.slope, f.intercept,
       CASE WHEN f.n > 2
            THEN sqrt(greatest(0, sum(power(CAST(d.cost AS DOUBLE) - (f.intercept + f.slope * d.day_index), 2))) / (f.n - 2))
            ELSE 0 END AS resid_sd
FROM fit AS f CROSS JOIN understanding_daily AS d
GROUP BY f.n, f.slope, f.intercept;

-- query: _outlook
-- The next 30 days on the trend line against the last 30 days of actual
-- cost (call_date >= last_date - 29). A file shorter than 30 days has its
-- actual cost scaled to 30 days (x 30 / period_days) so the two compare.
CREATE OR REPLACE TEMP TABLE understanding_outlook AS
WITH next_30 AS (
    SELECT money(sum(greatest(0, t.intercept + t.slope * (t.n + k.i)))) AS cost
    FROM understanding_trend AS t CROSS JOIN range(30) AS k(i)
),
last_30 AS (
    SELECT sum(d.cost) AS actual_cost,
           money(sum(d.cost) * 30 / least(30, any_value(p.period_days))) AS cost
    FROM understanding_daily AS d CROSS JOIN period AS p
    WHERE d.call_date >= p.last_date - 29
)
SELECT n.cost AS next_30, l.cost AS last_30, l.actual_cost AS last_30_actual,
       pct(n.cost - l.cost, l.cost) AS growth_pct
FROM next_30 AS n CROSS JOIN last_30 AS l;

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS k, 'Total AI cost' AS label, money(sum(cost_usd)) AS value, 'usd' AS unit FROM calls
    UNION ALL
    SELECT 2, 'Calls', money(count(*)), 'count' FROM calls
    UNION ALL
    SELECT 3, 'Daily burn', money(safe_div(sum(d.cost), max(p.period_days))), 'usd'
    FROM understanding_daily AS d, period AS p
    UNION ALL
    SELECT 4, 'Projected next 30 days',
           money(sum(greatest(0, t.intercept + t.slope * (t.n + h.i)))), 'usd'
    FROM understanding_trend AS t CROSS JOIN range(30) AS h(i)
)
ORDER BY k;

-- query: summary
-- title: Summary
-- description: Totals over the whole file; the period counts both end dates, and the daily burn is total cost divided by the days in the period.
-- chart: none
SELECT sum(u.cost) AS total_cost,
       sum(u.calls) AS total_calls,
       sum(u.input_tokens) AS total_input_tokens,
       sum(u.output_tokens) AS total_output_tokens,
       money(safe_div(sum(u.cost), sum(u.calls))) AS avg_cost_per_call,
       any_value(p.first_call) AS first_call,
       any_value(p.last_call) AS last_call,
       any_value(p.period_days) AS period_days,
       money(safe_div(sum(u.cost), any_value(p.period_days))) AS daily_burn,
       count(DISTINCT u.provider || '/' || u.model) AS models
FROM understanding_usage AS u CROSS JOIN period AS p
ORDER BY total_cost;

-- query: by_provider
-- title: Cost by provider
-- description: Share of total cost per provider; cost per 1K tokens is cost divided by input plus output tokens, times 1,000.
-- chart: doughnut
-- x: provider
-- y: cost
SELECT provider,
       sum(calls) AS calls,
       sum(cost) AS cost,
       pct(sum(cost), sum(sum(cost)) OVER ()) AS share_pct,
       money(safe_div(sum(cost) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
       count(DISTINCT model) AS models
FROM understanding_usage
GROUP BY provider
ORDER BY cost DESC, provider;

-- query: by_model
-- title: Cost by model
-- description: Each model's calls, cost, share of total cost and average tokens per call.
-- chart: hbar
-- x: model
-- y: cost
-- limit: 25
SELECT provider, model,
       sum(calls) AS calls,
       sum(cost) AS cost,
       pct(sum(cost), sum(sum(cost)) OVER ()) AS share_pct,
       money(safe_div(sum(cost) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
       safe_div(sum(input_tokens), sum(calls)) AS avg_input_tokens,
       safe_div(sum(output_tokens), sum(calls)) AS avg_output_tokens,
       money(safe_div(sum(cost), sum(calls))) AS avg_cost_per_call
FROM understanding_usage
GROUP BY provider, model
ORDER BY cost DESC, provider, model;

-- query: daily
-- title: Daily cost
-- description: Every date of the period, days without calls shown as 0.
-- chart: line
-- x: call_date
-- y: cost
-- limit: 31
SELECT call_date, calls, cost, tokens
FROM understanding_daily
ORDER BY call_date;

-- query: forecast
-- title: Cost forecast
-- description: A straight-line trend fitted to daily cost, summed over the next 30, 90 and 365 days (days below zero count as zero), with a 95% range from how far the days scatter around the line.
-- chart: bar
-- x: horizon_days
-- y: low, projected_cost, high
-- The OLS line of _trend, extended day by day past the last
-- date (day index n, n+1, ...); low is floored at 0.
WITH horizons AS (
    SELECT * FROM (VALUES (30), (90), (365)) AS v(horizon_days)
),
projected AS (
    SELECT h.horizon_days,
           sum(greatest(0, t.intercept + t.slope * (t.n + k.i))) AS projected,
           any_value(t.resid_sd) AS resid_sd,
           any_value(t.slope) AS slope
    FROM horizons AS h
    CROSS JOIN understanding_trend AS t
    CROSS JOIN range(365) AS k(i)
    WHERE k.i < h.horizon_days
    GROUP BY h.horizon_days
)
SELECT horizon_days,
       money(projected) AS projected_cost,
       money(greatest(0, projected - 1.96 * resid_sd * sqrt(horizon_days))) AS low,
       money(projected + 1.96 * resid_sd * sqrt(horizon_days)) AS high,
       money(slope) AS daily_trend_cost
FROM projected
ORDER BY horizon_days;

-- query: forecast_daily
-- title: Daily cost and trend
-- description: Actual daily cost, the fitted trend line and the next 30 days projected, with a 95% band (fitted -/+ 1.96 x residual sd).
-- chart: line
-- x: call_date
-- y: cost, projected_cost
-- band: low, high
-- limit: 30
WITH days AS (
    SELECT d.call_date, d.day_index, d.cost FROM understanding_daily AS d
    UNION ALL
    SELECT CAST(p.last_date + CAST(k.i + 1 AS INTEGER) AS DATE), CAST(t.n + k.i AS INTEGER), NULL
    FROM period AS p CROSS JOIN understanding_trend AS t CROSS JOIN range(30) AS k(i)
)
SELECT d.call_date, d.cost,
       money(greatest(0, t.intercept + t.slope * d.day_index)) AS projected_cost,
       money(greatest(0, t.intercept + t.slope * d.day_index - 1.96 * t.resid_sd)) AS low,
       money(greatest(0, t.intercept + t.slope * d.day_index + 1.96 * t.resid_sd)) AS high
FROM days AS d CROSS JOIN understanding_trend AS t
ORDER BY d.call_date;

-- query: cumulative
-- title: Cumulative cost
-- description: Running total of cost over the period.
-- chart: line
-- x: call_date
-- y: cumulative_cost
-- limit: 31
SELECT call_date, cost,
       sum(cost) OVER (ORDER BY call_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_cost
FROM understanding_daily
ORDER BY call_date;

-- query: by_organization
-- title: Cost by organization
-- description: Each organization's calls, cost and share of total cost.
-- chart: hbar
-- x: organization_id
-- y: cost
-- limit: 20
SELECT organization_id, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER ()) AS share_pct
FROM calls
GROUP BY organization_id
ORDER BY cost DESC, organization_id;

-- query: by_product
-- title: Cost by product
-- description: Each product's calls, cost and share of total cost.
-- chart: doughnut
-- x: product_id
-- y: cost
SELECT product_id, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER ()) AS share_pct
FROM calls
GROUP BY product_id
ORDER BY cost DESC, product_id;

-- query: by_feature
-- title: Cost by feature
-- description: Each feature's calls, cost and share of total cost.
-- chart: bar
-- x: feature_id
-- y: cost
SELECT feature_id, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER ()) AS share_pct,
       money(safe_div(sum(cost_usd), count(*))) AS avg_cost_per_call
FROM calls
GROUP BY feature_id
ORDER BY cost DESC, feature_id;

-- query: by_environment
-- title: Cost by environment
-- description: Production against staging and development spend.
-- chart: doughnut
-- x: environment
-- y: cost
SELECT environment, count(*) AS calls, sum(cost_usd) AS cost,
       pct(sum(cost_usd), sum(sum(cost_usd)) OVER ()) AS share_pct
FROM calls
GROUP BY environment
ORDER BY cost DESC, environment;

-- query: hourly
-- title: Cost by hour of day (UTC)
-- description: Calls and cost per hour of the day over the whole period; hours without calls shown as 0.
-- chart: bar
-- x: call_hour
-- y: cost
WITH per_hour AS (
    SELECT call_hour, count(*) AS calls, sum(cost_usd) AS cost FROM calls GROUP BY call_hour
)
SELECT CAST(h.i AS INTEGER) AS call_hour,
       coalesce(p.calls, 0) AS calls,
       coalesce(p.cost, CAST(0 AS DECIMAL(38, 6))) AS cost,
       pct(coalesce(p.cost, 0), sum(coalesce(p.cost, 0)) OVER ()) AS share_pct
FROM range(24) AS h(i)
LEFT JOIN per_hour AS p ON p.call_hour = h.i
ORDER BY call_hour;

-- query: day_of_week
-- title: Cost by day of week
-- description: Calls and cost per weekday (Monday first) and the average per occurrence of that weekday in the period.
-- chart: bar
-- x: day_of_week
-- y: cost
SELECT dayname(call_date) AS day_of_week,
       isodow(call_date) AS day_of_week_number,
       sum(calls) AS calls,
       sum(cost) AS cost,
       count(*) AS days,
       money(safe_div(sum(cost), count(*))) AS avg_daily_cost
FROM understanding_daily
GROUP BY day_of_week, day_of_week_number
ORDER BY day_of_week_number;

-- query: token_efficiency
-- title: Token efficiency by task type
-- description: Tokens per call, output/input ratio and cost per 1,000 tokens for each task type.
-- chart: bar
-- x: task_type
-- y: cost_per_1k_tokens
SELECT task_type,
       sum(calls) AS calls,
       sum(cost) AS cost,
       safe_div(sum(input_tokens), sum(calls)) AS avg_input_tokens,
       safe_div(sum(output_tokens), sum(calls)) AS avg_output_tokens,
       safe_div(sum(output_tokens), sum(input_tokens)) AS output_input_ratio,
       money(safe_div(sum(cost) * 1000, sum(total_tokens))) AS cost_per_1k_tokens,
       money(safe_div(sum(cost), sum(calls))) AS avg_cost_per_call
FROM understanding_usage
GROUP BY task_type
ORDER BY cost DESC, task_type;

-- query: _switching
-- Premium models on simple tasks, repriced with the same tokens at the
-- economy model of the same provider family (model_prices.economy_model).
-- Tokens are summed first (understanding_usage), then priced.
CREATE OR REPLACE TEMP TABLE understanding_switching AS
WITH usage AS (
    SELECT * FROM understanding_usage
    WHERE task_type IN ('qa', 'chat', 'summarization', 'translation')
)
SELECT u.provider, u.model AS from_model, m.economy_model AS to_model, u.task_type,
       u.calls, u.cost AS current_cost,
       token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS projected_cost,
       u.cost - token_cost(u.input_tokens, u.output_tokens, e.input_per_1k, e.output_per_1k) AS savings
FROM usage AS u
JOIN model_prices AS m ON m.provider = u.provider AND m.model = u.model AND m.model_class = 'premium'
JOIN model_prices AS e ON e.provider = m.provider AND e.model = m.economy_model;

-- query: recommendations
-- title: Recommendations
-- description: The biggest model switches for simple tasks, and the spend trend, with the dollars at stake.
-- chart: none
-- Switches are ranked by savings over the file's period; monthly figures
-- scale them by 30 / period_days.
WITH switches AS (
    SELECT 'Move ' || s.task_type || ' calls from ' || s.from_model || ' to ' || s.to_model AS title,
           format('{:,} {} calls on {} cost ${:,.2f}; the same tokens on {} cost ${:,.2f}: saves ${:,.2f} over the period (about ${:,.2f} a month).',
                  s.calls, s.task_type, s.from_model, s.current_cost, s.to_model, s.projected_cost,
                  s.savings, money(safe_div(s.savings * 30, p.period_days))) AS detail,
           s.savings AS amount_usd,
           row_number() OVER (ORDER BY s.savings DESC, s.from_model, s.task_type) AS rank
    FROM understanding_switching AS s CROSS JOIN period AS p
    WHERE s.savings > 0
),
items AS (
    SELECT title, detail, amount_usd, 1 AS kind, rank FROM switches WHERE rank <= 3
    UNION ALL
    SELECT CASE WHEN next_30 > last_30 THEN 'Plan for rising AI spend' ELSE 'AI spend is flat or falling' END,
           format('The daily trend projects ${:,.2f} for the next 30 days against ${:,.2f} in the last 30 ({:+.1f}%).',
                  next_30, last_30, coalesce(growth_pct, 0)),
           next_30 - last_30, 2, 1
    FROM understanding_outlook
)
SELECT CAST(row_number() OVER (ORDER BY kind, rank) AS INTEGER) AS priority, title, detail, amount_usd
FROM items
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Spend projected to grow faster than the alert threshold, and premium models on simple tasks.
-- chart: none
-- Growth compares the next 30 projected days with the last 30 actual days
-- (understanding_outlook); high at twice the threshold.
WITH growth AS (
    SELECT next_30, last_30 AS last_cost, growth_pct FROM understanding_outlook
),
items AS (
    SELECT CASE WHEN growth_pct >= 2 * getvariable('forecast_growth_alert_pct') THEN 'high' ELSE 'medium' END AS severity,
           'AI spend is projected to grow' AS title,
           format('Next 30 days projected at ${:,.2f}, {:.1f}% above the last 30 days (${:,.2f}).',
                  next_30, growth_pct, last_cost) AS detail,
           next_30 - last_cost AS amount_usd
    FROM growth
    WHERE growth_pct >= getvariable('forecast_growth_alert_pct')
    UNION ALL
    SELECT 'low', 'Premium models on simple tasks',
           format('{:,} simple-task calls ran on premium models for ${:,.2f}; economy models would cost ${:,.2f}.',
                  sum(calls), sum(current_cost), sum(projected_cost)),
           sum(savings)
    FROM understanding_switching
    WHERE savings > 0
    HAVING count(*) > 0
)
SELECT severity, title, detail, amount_usd
FROM items
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;

-- query: prompt_caching
-- title: Prompt caching by model and feature
-- description: Over the file's period: the share of input tokens read from the prompt cache (cache_hit_pct) and the money caching saved at list prices (cache reads at the cache price instead of the input price, less the cache-write premium); NULL savings: no list price for the model.
-- chart: none
-- limit: 25
SELECT provider, model, feature_id, model || ' · ' || feature_id AS model_feature,
       sum(calls) AS calls,
       sum(input_tokens) AS input_tokens,
       sum(cache_read_input_tokens) AS cache_read_tokens,
       sum(cache_write_input_tokens) AS cache_write_tokens,
       pct(sum(cache_read_input_tokens), sum(input_tokens)) AS cache_hit_pct,
       sum(cache_savings) AS cache_savings
FROM calls_list_cost
GROUP BY provider, model, feature_id
ORDER BY cache_savings DESC NULLS LAST, cache_hit_pct DESC NULLS LAST, provider, model, feature_id;

-- query: pricing_check
-- title: Recorded cost against list price
-- description: Per model and day, the cost the file records (cost_source recorded) against the same calls at the genai-prices list price of that day; drift above 1% either way is flagged (a stale meter, a missed discount, a negotiated rate). Models without a list price are left out and named in the footer.
-- chart: none
-- limit: 50
SELECT provider, model, call_date,
       sum(calls) AS calls,
       sum(cost_usd) AS recorded_cost,
       sum(list_cost) AS list_cost,
       sum(cost_usd) - sum(list_cost) AS drift_usd,
       pct(sum(cost_usd) - sum(list_cost), sum(list_cost)) AS drift_pct,
       CASE WHEN abs(pct(sum(cost_usd) - sum(list_cost), sum(list_cost))) > 1
            THEN 'drift over 1%' ELSE 'ok' END AS check_result,
       any_value(list_price_source) AS price_source
FROM calls_list_cost
WHERE cost_source = 'recorded' AND list_cost IS NOT NULL
GROUP BY provider, model, call_date
ORDER BY check_result, abs(drift_pct) DESC NULLS LAST, call_date, provider, model;

