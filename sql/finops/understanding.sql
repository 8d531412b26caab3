-- name: understanding
-- title: Understanding usage and cost
-- category: finops
-- version: 13
-- description: Where the AI API money goes: totals, cost by provider, model,
--   organization, product, feature and environment, daily and hourly patterns,
--   token efficiency by task type, and a forecast of spend from complete
--   days (trend and day of week, with prediction intervals and a backtest).
-- param: forecast_window_days = 28 min 14 | The forecast's trend and weekday levels are fitted on this many most recent complete days (all of them when fewer)
-- param: forecast_growth_alert_pct = 20.0 min 0 | Alert when the next 30 days are projected to cost this much more than the last 30 (percent)

-- query: _daily
-- Every date of the period, zero-filled, with a 0-based day index. A day is
-- complete unless it is the file's first date and its first call came
-- after 01:00 UTC, or the last date and its last call came before 23:00
-- UTC (a day still being written: period.first_day_complete /
-- last_day_complete). Aggregated once; every time-based
-- query reads this table.
CREATE OR REPLACE TEMP TABLE understanding_daily AS
WITH per_day AS (
    SELECT call_date, CAST(sum(calls) AS BIGINT) AS calls, sum(cost) AS cost,
           sum(input_tokens) + sum(output_tokens) AS tokens
    FROM finance_usage
    GROUP BY call_date
)
SELECT CAST(p.first_date + CAST(t.i AS INTEGER) AS DATE) AS call_date,
       CAST(t.i AS INTEGER) AS day_index,
       coalesce(d.calls, 0) AS calls,
       coalesce(d.cost, CAST(0 AS DECIMAL(38, 6))) AS cost,
       coalesce(d.tokens, 0) AS tokens,
       -- the one rule of a partial end day (the period table, sql/calls.sql)
       NOT ((t.i = 0 AND NOT p.first_day_complete)
            OR (t.i = p.period_days - 1 AND NOT p.last_day_complete)) AS complete
FROM period AS p
CROSS JOIN range(p.period_days) AS t(i)
LEFT JOIN per_day AS d ON d.call_date = p.first_date + CAST(t.i AS INTEGER)
ORDER BY call_date;

-- query: _usage
-- Calls aggregated once by provider, model and task type: the provider,
-- model, task and summary queries read this small table.
CREATE OR REPLACE TEMP TABLE understanding_usage AS
SELECT provider, model, task_type,
       CAST(sum(calls) AS BIGINT) AS calls, sum(cost) AS cost,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(input_tokens) + sum(output_tokens) AS total_tokens
FROM finance_usage  -- the shared usage aggregate (sql/finance.sql), not every call
GROUP BY provider, model, task_type;

-- query: _fit
-- The forecast model, fitted twice: 'full' on the last forecast_window_days
-- complete days (all of them when fewer), and 'backtest' on as many days
-- before the last 14 complete days (when at least 14 remain to fit). The
-- window is the forecast's stated assumption: spend that grew fast and then
-- went flat is projected from its recent weeks, not from a trend fitted
-- over the growth it has left behind (over all history such a fit
-- projects the old growth on top of a flat level). fit_from and fit_to
-- (exclusive) are the day indexes the fit used.
-- Model: daily cost = day-of-week level + trend x day index + noise
-- (ordinary least squares with one level per weekday; with fewer than 14
-- days to fit, one level: a straight line). The slope is the within-weekday
-- regression (Frisch-Waugh): b = sum((t - tbar_d)(y - ybar_d)) /
-- sum((t - tbar_d)^2) = Stt; each level = ybar_d - b tbar_d.
-- sigma2 = SSR / (n - levels - 1).
-- A falling trend that cannot go on is not extrapolated: when the fitted
-- line (the mean of the weekday levels + b x t) would reach $0 a day within
-- 30 days after the fit, the trend describes a drop already behind the
-- business (a step down inside the window), and the model is the run-rate
-- instead: the weekday levels of the last 14 complete days of the window,
-- no trend (b = 0, Stt = 0, sigma2 = SSR / (n - levels)). model says which.
CREATE OR REPLACE TEMP TABLE understanding_fit AS
WITH c AS (
    SELECT call_date, CAST(cost AS DOUBLE) AS y,
           CAST(row_number() OVER (ORDER BY call_date) - 1 AS INTEGER) AS t,
           isodow(call_date) AS dow
    FROM understanding_daily WHERE complete
),
window_bounds AS (
    SELECT 'full' AS scenario, greatest(n - w, 0) AS fit_from, n AS fit_to FROM (
        SELECT count(*) AS n, CAST(getvariable('forecast_window_days') AS INTEGER) AS w FROM c)
    UNION ALL
    SELECT 'backtest', greatest(n - 14 - w, 0), n - 14 FROM (
        SELECT count(*) AS n, CAST(getvariable('forecast_window_days') AS INTEGER) AS w FROM c)
    WHERE n - 14 >= 14
),
-- Both models of each scenario, fitted by the one regression below: the
-- trend on the window, the run-rate (no slope) on its last 14 days.
candidates AS (
    SELECT scenario, 'trend' AS model, fit_from, fit_to FROM window_bounds
    UNION ALL
    SELECT scenario, 'run-rate', greatest(fit_to - 14, fit_from), fit_to FROM window_bounds
),
g AS (
    SELECT b.scenario, b.model, b.fit_from, b.fit_to, c.*,
           CASE WHEN b.fit_to - b.fit_from >= 14 THEN c.dow ELSE 0 END AS grp
    FROM candidates AS b JOIN c ON c.t >= b.fit_from AND c.t < b.fit_to
),
grp_stats AS (
    SELECT scenario, model, grp, count(*) AS n_g, avg(y) AS ybar, avg(t) AS tbar
    FROM g GROUP BY scenario, model, grp
),
dm AS (
    SELECT g.scenario, g.model, g.fit_from, g.fit_to, g.grp, g.t - s.tbar AS tt, g.y - s.ybar AS yy
    FROM g JOIN grp_stats AS s USING (scenario, model, grp)
),
slope AS (
    SELECT scenario, model, fit_from, fit_to,
           CASE WHEN model = 'run-rate' THEN 0 ELSE coalesce(safe_div(sum(tt * yy), sum(tt * tt)), 0) END AS b,
           CASE WHEN model = 'run-rate' THEN 0 ELSE sum(tt * tt) END AS stt,
           count(*) AS n, count(DISTINCT grp) AS levels,
           CASE WHEN model = 'run-rate' THEN 0 ELSE 1 END AS slopes
    FROM dm GROUP BY scenario, model, fit_from, fit_to
),
-- The run-rate when the trend falls and its line (the mean of the weekday
-- levels + b x t) is at or below $0 thirty days after the fit.
chosen AS (
    SELECT s.scenario,
           CASE WHEN s.b < 0 AND avg(l.ybar - s.b * l.tbar) + s.b * (s.fit_to + 29) <= 0
                THEN 'run-rate' ELSE 'trend' END AS model
    FROM slope AS s JOIN grp_stats AS l USING (scenario, model)
    WHERE s.model = 'trend'
    GROUP BY s.scenario, s.b, s.fit_to
)
SELECT s.scenario, s.n, s.fit_from, s.fit_to, s.levels, s.b, s.stt, s.model,
       sum(power(d.yy - s.b * d.tt, 2)) AS ssr,
       s.n - s.levels - s.slopes AS df,
       CASE WHEN s.n - s.levels - s.slopes > 0
            THEN sum(power(d.yy - s.b * d.tt, 2)) / (s.n - s.levels - s.slopes) END AS sigma2
FROM slope AS s
JOIN chosen USING (scenario, model)
JOIN dm AS d USING (scenario, model)
GROUP BY s.scenario, s.model, s.n, s.fit_from, s.fit_to, s.levels, s.b, s.stt, s.slopes;

-- query: _levels
CREATE OR REPLACE TEMP TABLE understanding_levels AS
WITH c AS (
    SELECT CAST(cost AS DOUBLE) AS y, CAST(row_number() OVER (ORDER BY call_date) - 1 AS INTEGER) AS t,
           isodow(call_date) AS dow
    FROM understanding_daily WHERE complete
),
f AS (
    SELECT m.scenario, c.*, CASE WHEN m.levels > 1 THEN c.dow ELSE 0 END AS grp
    FROM c JOIN understanding_fit AS m ON c.t >= m.fit_from AND c.t < m.fit_to
)
SELECT scenario, grp, count(*) AS n_g, avg(y) AS ybar, avg(t) AS tbar
FROM f GROUP BY scenario, grp;

-- query: _path
-- Day by day past the fit: h = 1, 2, ... (365 for 'full', the 14 held-out
-- days for 'backtest'). pred = level of the day's weekday + b x t; the
-- projection counts max(floor, pred), floor = the lowest complete day's
-- cost in the fitted window: a falling trend is not extrapolated below
-- what the business has actually spent in a day (never to $0 a day).
-- The variance of the sum of the next h days (unclipped) is
-- sigma2 x (h + sum_d k_d^2 / n_d + A^2 / Stt): the noise of each day, the
-- error of each weekday level (k_d days of weekday d ahead, n_d fitted),
-- and the slope's error (A = sum of (t - tbar_d) over the h days); the
-- levels and the slope are uncorrelated by construction. cum_low is the
-- running maximum of the lower bound (a cumulative cost never falls), and
-- never below h x floor: the band holds the model's own floor.
-- backtest_scale = sqrt(max(h, 14) / 14) widens the backtest's error
-- (measured 14 days ahead) with the horizon: a relative error that grows
-- as a level drifting like a random walk between refits (x1.46 at 30
-- days, x2.54 at 90, x5.11 at 365), so a longer horizon never gets the
-- precision the model showed over two weeks.
CREATE OR REPLACE TEMP TABLE understanding_path AS
WITH tq AS (
    -- Student t 0.975 quantiles by degrees of freedom (df beyond the table: 1.96)
    SELECT * FROM (VALUES (1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447),
        (7, 2.365), (8, 2.306), (9, 2.262), (10, 2.228), (11, 2.201), (12, 2.179), (13, 2.160),
        (14, 2.145), (15, 2.131), (16, 2.120), (17, 2.110), (18, 2.101), (19, 2.093), (20, 2.086),
        (21, 2.080), (22, 2.074), (23, 2.069), (24, 2.064), (25, 2.060), (26, 2.056), (27, 2.052),
        (28, 2.048), (29, 2.045), (30, 2.042), (40, 2.021), (60, 2.000), (120, 1.980), (100000, 1.960))
        AS v(df, t975)
),
days AS (
    SELECT m.scenario, CAST(k.i + 1 AS INTEGER) AS h, CAST(m.fit_to + k.i AS INTEGER) AS t,
           CAST((SELECT max(call_date) FROM understanding_daily WHERE complete) - (
               CASE WHEN m.scenario = 'backtest' THEN 14 ELSE 0 END) + CAST(k.i + 1 AS INTEGER) AS DATE) AS call_date,
           m.b, m.stt, m.sigma2, m.df AS fit_df, m.levels
    FROM understanding_fit AS m
    CROSS JOIN range(365) AS k(i)
    WHERE m.scenario = 'full' OR k.i < 14
),
floors AS (
    SELECT m.scenario, greatest(0, min(c.y)) AS floor_cost
    FROM understanding_fit AS m
    CROSS JOIN (SELECT CAST(cost AS DOUBLE) AS y, row_number() OVER (ORDER BY call_date) - 1 AS t
                FROM understanding_daily WHERE complete) AS c
    WHERE c.t >= m.fit_from AND c.t < m.fit_to
    GROUP BY m.scenario
),
pred AS (
    SELECT d.*, fl.floor_cost, l.n_g, l.ybar + d.b * (d.t - l.tbar) AS pred, d.t - l.tbar AS tdev,
           (2 * row_number() OVER (PARTITION BY d.scenario, l.grp ORDER BY d.h) - 1) / l.n_g AS k_inc
    FROM days AS d
    JOIN floors AS fl USING (scenario)
    JOIN understanding_levels AS l
      ON l.scenario = d.scenario AND l.grp = CASE WHEN d.levels > 1 THEN isodow(d.call_date) ELSE 0 END
),
cum AS (
    SELECT *,
           sum(greatest(floor_cost, pred)) OVER w AS cum_projected,
           sqrt(sigma2 * (h + sum(k_inc) OVER w + CASE WHEN stt > 0 THEN power(sum(tdev) OVER w, 2) / stt ELSE 0 END))
               AS cum_se,
           sqrt(sigma2 * (1 + 1.0 / n_g + CASE WHEN stt > 0 THEN tdev * tdev / stt ELSE 0 END)) AS day_se,
           (SELECT tq.t975 FROM tq WHERE tq.df <= greatest(pred.fit_df, 1) ORDER BY tq.df DESC LIMIT 1) AS t975
    FROM pred
    WINDOW w AS (PARTITION BY scenario ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT scenario, h, call_date, pred, greatest(floor_cost, pred) AS projected_daily, day_se, t975,
       floor_cost, cum_projected, cum_se, sqrt(greatest(h, 14) / 14.0) AS backtest_scale,
       max(greatest(h * floor_cost, cum_projected - t975 * coalesce(cum_se, 0))) OVER w AS cum_low,
       cum_projected + t975 * coalesce(cum_se, 0) AS cum_high
FROM cum
WINDOW w AS (PARTITION BY scenario ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

-- query: _backtest
-- The model fitted without the last 14 complete days, against their actual
-- cost: MAPE = mean of |actual - predicted| / actual over those days with
-- a cost (percent), and the error of their sum.
CREATE OR REPLACE TEMP TABLE understanding_backtest AS
SELECT count(*) AS days,
       sum(CAST(d.cost AS DOUBLE)) AS actual_cost,
       sum(p.projected_daily) AS predicted_cost,
       100 * avg(abs(CAST(d.cost AS DOUBLE) - p.projected_daily) / CAST(d.cost AS DOUBLE))
           FILTER (WHERE d.cost > 0) AS mape_pct,
       pct(sum(p.projected_daily) - sum(CAST(d.cost AS DOUBLE)), sum(CAST(d.cost AS DOUBLE))) AS sum_error_pct,
       bool_and(sum_in_range) AS sum_within_interval
FROM (SELECT *, (cum_low <= (SELECT sum(CAST(cost AS DOUBLE)) FROM understanding_daily AS x
                              WHERE x.complete AND x.call_date BETWEEN
                                  (SELECT min(call_date) FROM understanding_path WHERE scenario = 'backtest')
                                  AND understanding_path.call_date)
                 AND cum_high >= (SELECT sum(CAST(cost AS DOUBLE)) FROM understanding_daily AS x
                              WHERE x.complete AND x.call_date BETWEEN
                                  (SELECT min(call_date) FROM understanding_path WHERE scenario = 'backtest')
                                  AND understanding_path.call_date)) AS sum_in_range
      FROM understanding_path WHERE scenario = 'backtest' AND h = 14) AS last
CROSS JOIN understanding_path AS p
JOIN understanding_daily AS d ON d.call_date = p.call_date
WHERE p.scenario = 'backtest';

-- query: _range
-- The interval every table, chart and alert shows for the summed horizon:
-- never narrower than the model's own backtest error, widened with the
-- horizon. half-width = greatest(t975 x cum_se, e x backtest_scale x
-- cum_projected), e = |sum_error_pct| / 100 of the backtest (the error the
-- same model made on a 14-day sum it had not seen; 0 without a backtest),
-- backtest_scale = sqrt(max(h, 14) / 14) (_path). A model that missed by
-- 30% over 14 days does not get a +-30% range over a year. low is the running maximum (a cumulative cost never falls)
-- and never below h days at the floor (the lowest complete day, _path);
-- range_basis says which of the two set the width.
CREATE OR REPLACE TEMP TABLE understanding_range AS
WITH e AS (
    SELECT coalesce((SELECT abs(sum_error_pct) / 100 FROM understanding_backtest WHERE days > 0), 0) AS e
),
w AS (
    SELECT p.h, p.call_date, p.cum_projected, p.t975 * coalesce(p.cum_se, 0) AS model_half,
           e.e * p.backtest_scale * p.cum_projected AS backtest_half, p.h * p.floor_cost AS floor_sum
    FROM understanding_path AS p CROSS JOIN e
    WHERE p.scenario = 'full'
)
SELECT h, call_date, cum_projected,
       max(greatest(floor_sum, cum_projected - greatest(model_half, backtest_half)))
           OVER (ORDER BY h ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_low,
       cum_projected + greatest(model_half, backtest_half) AS cum_high,
       CASE WHEN backtest_half > model_half THEN 'backtest error' ELSE 'model' END AS range_basis
FROM w;

-- query: _outlook
-- The next m days projected against the last m complete days' actual
-- spend, m = 30 or the number of complete days when fewer; the range is
-- understanding_range's (widened to the backtest error when that is larger).
CREATE OR REPLACE TEMP TABLE understanding_outlook AS
WITH m AS (SELECT least(30, count(*)) AS m FROM understanding_daily WHERE complete),
last_m AS (
    SELECT sum(cost) AS actual_cost
    FROM (SELECT cost FROM understanding_daily WHERE complete ORDER BY call_date DESC LIMIT (SELECT m FROM m))
)
SELECT m.m AS days, money(p.cum_projected) AS next_cost, money(p.cum_low) AS next_low,
       money(p.cum_high) AS next_high, l.actual_cost AS last_cost,
       pct(money(p.cum_projected) - l.actual_cost, l.actual_cost) AS growth_pct,
       p.range_basis,
       (SELECT abs(sum_error_pct) FROM understanding_backtest WHERE days > 0) AS backtest_error_pct,
       (SELECT n FROM understanding_fit WHERE scenario = 'full') AS fit_days,
       (SELECT model FROM understanding_fit WHERE scenario = 'full') AS model
FROM m CROSS JOIN last_m AS l
JOIN understanding_range AS p ON p.h = m.m;

-- query: _forecast
-- The summed horizons of the full fit; a horizon longer than twice the
-- complete days of history has no projection ("not enough history").
CREATE OR REPLACE TEMP TABLE understanding_forecast AS
WITH horizons AS (SELECT * FROM (VALUES (30), (90), (365)) AS v(horizon_days)),
hist AS (SELECT count(*) AS n FROM understanding_daily WHERE complete)
SELECT h.horizon_days,
       CASE WHEN h.horizon_days <= 2 * hist.n THEN money(p.cum_projected) END AS projected_cost,
       CASE WHEN h.horizon_days <= 2 * hist.n THEN money(p.cum_low) END AS low,
       CASE WHEN h.horizon_days <= 2 * hist.n THEN money(p.cum_high) END AS high,
       CASE WHEN h.horizon_days <= 2 * hist.n THEN 'ok' ELSE 'not enough history' END AS status,
       hist.n AS history_days,
       (SELECT money(b) FROM understanding_fit WHERE scenario = 'full') AS cost_growth_per_day,
       (SELECT mape_pct FROM understanding_backtest WHERE days > 0) AS backtest_mape_pct,
       -- signed as in forecast_backtest: below 0 the model under-predicted
       (SELECT sum_error_pct FROM understanding_backtest WHERE days > 0) AS backtest_sum_error_pct,
       CASE WHEN h.horizon_days <= 2 * hist.n THEN p.range_basis END AS range_basis,
       (SELECT model FROM understanding_fit WHERE scenario = 'full') AS model
FROM horizons AS h CROSS JOIN hist
LEFT JOIN understanding_range AS p ON p.h = h.horizon_days;

-- query: headline
-- title: Headline
-- Values are DECIMAL so money stays exact and counts print as whole numbers.
SELECT label, value, unit FROM (
    SELECT 1 AS k, 'Total AI cost for ' || (SELECT period_label FROM finance_period) AS label, money(sum(cost_usd)) AS value, 'usd' AS unit FROM calls
    UNION ALL
    SELECT 2, 'Calls', money(count(*)), 'count' FROM calls
    UNION ALL
    SELECT 3, 'Daily burn (average a covered day)', money(safe_div(sum(d.cost), max(p.covered_days))), 'usd'
    FROM understanding_daily AS d, period AS p
    UNION ALL
    SELECT 4, 'Projected next 30 days', money(projected_cost), 'usd'
    FROM understanding_forecast WHERE horizon_days = 30
)
ORDER BY k;

-- query: summary
-- title: Summary
-- description: Totals over the whole file; the period counts both end dates, the covered days count a partial first or last day for the part the calls cover, and the daily burn is total cost divided by the covered days.
-- chart: none
SELECT sum(u.cost) AS total_cost,
       sum(u.calls) AS total_calls,
       sum(u.input_tokens) AS total_input_tokens,
       sum(u.output_tokens) AS total_output_tokens,
       money(safe_div(sum(u.cost), sum(u.calls))) AS avg_cost_per_call,
       any_value(p.first_call) AS first_call,
       any_value(p.last_call) AS last_call,
       any_value(p.period_days) AS period_days,
       money(safe_div(sum(u.cost), any_value(p.covered_days))) AS daily_burn,
       count(DISTINCT u.provider || '/' || u.model) AS models,
       any_value(p.covered_days) AS covered_days
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
-- description: Spend over the next 30, 90 and 365 days from a trend and day-of-week model fitted on the most recent complete days (the forecast window, 28 by default: a business that grew and then went flat is projected from its flat weeks, not from its old growth), or, when that trend would take a day's cost to $0 within 30 days (a drop already behind the business, not one that can go on), from the run-rate of the last 14 complete days by weekday with no trend (the model column says which); with a 95% prediction interval for the summed horizon (noise, weekday levels and trend uncertainty), never narrower than the backtest's error on its 14-day sum widened with the square root of the horizon over 14 days (the range basis says which of the two set the width); no projection beyond twice the history. Backtest error (MAPE per day, and the error of the sum: below 0 the model under-predicted) on the last 14 complete days.
-- chart: bar
-- x: horizon_days
-- y: low, projected_cost, high
-- format: low=money, high=money
SELECT horizon_days, projected_cost, low, high, range_basis, status, history_days,
       model, cost_growth_per_day, backtest_mape_pct, backtest_sum_error_pct
FROM understanding_forecast
ORDER BY horizon_days;

-- query: forecast_backtest
-- title: Forecast backtest
-- description: The model fitted on the forecast window before the last 14 complete days, against what those days actually cost: mean absolute percentage error per day (MAPE) and the error of their sum. Needs at least 28 complete days (14 to fit, 14 to test); with fewer the table is empty.
-- chart: none
SELECT days, money(actual_cost) AS actual_cost, money(predicted_cost) AS predicted_cost,
       mape_pct, sum_error_pct, sum_within_interval
FROM understanding_backtest
WHERE days > 0
ORDER BY days;

-- query: forecast_daily
-- title: Daily cost and forecast
-- description: Actual daily cost (complete days), and the next 30 days projected by the trend and day-of-week model fitted on the forecast window, with a 95% band for each day, no narrower than the backtest's daily error (MAPE) widened with the horizon as the forecast table's range is; as the forecast table, no projection when 30 days is more than twice the complete days of history.
-- chart: line
-- x: call_date
-- y: cost, projected_cost
-- band: low, high
-- limit: 30
-- format: low=money, high=money
SELECT d.call_date, d.cost, NULL AS projected_cost, NULL AS low, NULL AS high
FROM understanding_daily AS d WHERE d.complete
UNION ALL
SELECT p.call_date, NULL, money(p.projected_daily),
       -- around the projection the table counts (held at the floor, _path),
       -- never below that floor
       money(greatest(p.floor_cost, p.projected_daily
                                    - greatest(p.t975 * coalesce(p.day_se, 0), b.mape * p.backtest_scale * p.projected_daily))),
       money(p.projected_daily + greatest(p.t975 * coalesce(p.day_se, 0), b.mape * p.backtest_scale * p.projected_daily))
FROM understanding_path AS p
-- each day's band no narrower than the backtest's daily error (MAPE),
-- widened with the horizon as the summed range is (backtest_scale, _path)
CROSS JOIN (SELECT coalesce((SELECT mape_pct / 100 FROM understanding_backtest WHERE days > 0), 0) AS mape) AS b
WHERE p.scenario = 'full' AND p.h <= 30
  -- as the forecast table: no 30-day projection from under 15 complete days
  AND 30 <= 2 * (SELECT count(*) FROM understanding_daily WHERE complete)
ORDER BY call_date;

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

-- query: recommendations
-- title: Actions
-- description: The five largest actions on this spend from the one ledger of actions (model switches toward models that meet their SLA), per 30-day month; every action is in Rate optimization and on the index.
-- chart: none
SELECT * FROM report_actions('understanding') WHERE priority <= 5 ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: A model recorded above its genai-prices list price (more than 1% over the period: a stale meter, a missed discount, a wrong rate), the excess per 30-day month; and spend projected to grow faster than the threshold, when even the low end of the 95% range is above the actual: the next 30 days (or as many as there are complete days) against the actual spend of the last as many complete days; the range is never narrower than the backtest's error on its 14-day sum, so a model that missed by more than its interval raises no alert on a change inside that miss; severity by the alert policy on the growth against monthly spend.
-- chart: none
WITH o AS (SELECT * FROM understanding_outlook),
fp AS (SELECT * FROM finance_period)
SELECT severity, title, detail, amount_usd, amount_label
FROM (
    SELECT alert_severity(per_month(o.next_cost - o.last_cost, o.days)) AS severity,
           'AI spend is projected to grow' AS title,
           format('The next {} days are projected at {} from the {} of the last {} complete days ({} {} to {}), {:.1f}% above the actual {} of the last {} complete days: {} more a 30-day month.',
                  o.days, usd_text(o.next_cost),
                  CASE WHEN o.model = 'run-rate' THEN 'run-rate (weekday levels, no trend)'
                       ELSE 'trend and weekday levels' END,
                  o.fit_days,
                  CASE WHEN o.range_basis = 'backtest error'
                       THEN format('range widened to the backtest''s {:.1f}% error on a 14-day sum', o.backtest_error_pct)
                       ELSE '95% range' END,
                  usd_text(o.next_low), usd_text(o.next_high), o.growth_pct, usd_text(o.last_cost), o.days,
                  usd_text(per_month(o.next_cost - o.last_cost, o.days)))
           || CASE WHEN o.backtest_error_pct IS NULL
                   THEN ' No backtest yet (it needs 28 complete days): the range rests on the model''s own fit, not on a measured error.'
                   ELSE '' END AS detail,
           per_month(o.next_cost - o.last_cost, o.days) AS amount_usd,
           'projected spend growth, a 30-day month' AS amount_label
    FROM o, fp
    WHERE o.growth_pct >= getvariable('forecast_growth_alert_pct')
      -- only when the 95% range excludes the actual: otherwise no evidence of growth
      AND o.next_low > o.last_cost
    UNION ALL
    -- Recorded cost above the list price: the excess paid over the period, per
    -- 30-day month, under the one alert policy (a model recorded below its
    -- list price is a discount, not an alert).
    SELECT alert_severity(per_month(d.recorded - d.list, fp.covered_days)),
           format('{} is recorded {:.0f}% above its list price', d.model, pct(d.recorded - d.list, d.list)),
           format('{:,} {} calls ({}) were recorded at {} over the {} against {} at the genai-prices list price of each day: {} more a 30-day month. '
                  || 'Check the meter, the contract rate or the price the calls are costed with (see "Recorded cost against list price").',
                  CAST(d.calls AS BIGINT), d.model, d.provider, usd_text(d.recorded), days_text(fp.covered_days), usd_text(d.list),
                  usd_text(per_month(d.recorded - d.list, fp.covered_days))),
           per_month(d.recorded - d.list, fp.covered_days), 'cost above list price, a 30-day month'
    FROM (SELECT provider, model, sum(calls) AS calls, sum(cost_usd) AS recorded, sum(list_cost) AS list
          FROM calls_list_cost
          WHERE cost_source = 'recorded' AND list_cost IS NOT NULL
          GROUP BY provider, model) AS d, fp
    WHERE pct(d.recorded - d.list, d.list) > 1
)
WHERE severity IS NOT NULL
ORDER BY amount_usd DESC, title;

-- query: prompt_caching
-- title: Prompt caching by model and feature
-- description: Over the file's period: the share of input tokens read from the prompt cache (the cache hit) and the money caching saved at list prices (cache reads at the cache price instead of the input price, less the cache-write premium); NULL savings: no list price for the model.
-- chart: none
-- limit: 25
SELECT provider, model, feature_id,
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
-- description: Per model and day, the cost the file records (cost_source recorded) against the same calls at the genai-prices list price of that day (not model_prices, the price table the ledger's switches are priced with); a model recorded more than 1% above it over the period is an alert; drift above 1% either way is flagged (a stale meter, a missed discount, a negotiated rate). Models without a list price are left out and named in the footer.
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

