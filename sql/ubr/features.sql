-- name: features
-- title: Feature economics
-- category: ubr
-- version: 11
-- description: What each product feature costs in AI calls, how widely it is
--   adopted, the subscription revenue attributed to it by call share (an
--   allocation, not revenue it earns or would lose), where each feature sits
--   (invest, optimize, maintain, sunset), cost targets, and the features used
--   together more often than chance (a significance test).
-- param: min_support = 10 min 1 | Fewest customers using both features of a pair before it is tested
-- param: max_p_value = 0.05 min 0 max 1 | Significance level of the bundle test, before the Bonferroni correction over the pairs tested

-- query: _customers
CREATE OR REPLACE TEMP TABLE features_customers AS
SELECT customer_id, subscription_tier, calls, revenue FROM customer_economics WHERE calls > 0;

-- query: _customer_features
-- One row per customer and feature it used (feature_customer_usage in
-- sql/finance.sql): attributed_revenue is the customer's revenue times the
-- feature's share of that customer's calls (allocation by call share).
CREATE OR REPLACE TEMP TABLE features_customer_features AS
SELECT * FROM feature_customer_usage;

-- query: _features
-- Per feature (feature_economics in sql/finance.sql): adoption, attributed
-- revenue by call share, margin, quadrant at the medians, target cost.
CREATE OR REPLACE TEMP TABLE features_features AS
SELECT * FROM feature_economics;

-- query: headline
-- title: Headline
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'AI cost of features for ' || (SELECT period_label FROM finance_period) AS label, money(sum(cost)) AS value, 'usd' AS unit
    FROM features_features
    UNION ALL
    SELECT 2, 'Margin on revenue attributed by call share', money(pct(sum(margin), sum(attributed_revenue))), 'pct'
    FROM features_features
    UNION ALL
    SELECT 3, 'Features to optimize or sunset',
           money(count(*) FILTER (WHERE quadrant IN ('optimize', 'sunset'))), 'count'
    FROM features_features
    UNION ALL
    SELECT 4, 'Median adoption', money(any_value(median_adoption_pct)), 'pct'
    FROM features_features
)
ORDER BY position;

-- query: features
-- title: Feature economics
-- description: Cost, adoption and revenue attributed by call share (each customer's revenue split over its features by share of calls) of each feature, with its quadrant and cost target.
-- chart: bar
-- x: feature_id
-- y: attributed_revenue, cost, margin
SELECT feature_id, calls, cost, customers, adoption_pct, cost_per_customer,
       attributed_revenue, margin, margin_pct, quadrant, target_cost,
       pct(cost, sum(cost) OVER ()) AS cost_share_pct,
       money(safe_div(cost, calls)) AS cost_per_call
FROM features_features
ORDER BY cost DESC, feature_id;

-- query: quadrant
-- title: Adoption against margin
-- description: Each feature by adoption and margin; the split is at the median of each (at or above is high).
-- chart: scatter
-- x: adoption_pct
-- y: margin_pct
-- label: feature_id
SELECT feature_id, adoption_pct, margin_pct, quadrant, cost, attributed_revenue,
       median_adoption_pct, median_margin_pct
FROM features_features
ORDER BY CASE quadrant WHEN 'invest' THEN 1 WHEN 'optimize' THEN 2 WHEN 'maintain' THEN 3 ELSE 4 END,
         feature_id;

-- query: cost_share
-- title: Share of AI cost by feature
-- description: Each feature's share of all AI cost.
-- chart: doughnut
-- x: feature_id
-- y: cost
SELECT feature_id, cost, pct(cost, sum(cost) OVER ()) AS share_pct
FROM features_features
ORDER BY cost DESC, feature_id;

-- query: cost_per_customer_by_tier
-- title: Cost per customer, feature by tier
-- description: Average AI cost of a feature for one of its customers, per subscription tier (latest tier).
-- chart: bar
-- x: feature_id
-- y: cost_per_customer_starter, cost_per_customer_pro, cost_per_customer_enterprise
SELECT feature_id,
       money(safe_div(sum(cost) FILTER (WHERE subscription_tier = 'starter'),
                      count(*) FILTER (WHERE subscription_tier = 'starter'))) AS cost_per_customer_starter,
       money(safe_div(sum(cost) FILTER (WHERE subscription_tier = 'pro'),
                      count(*) FILTER (WHERE subscription_tier = 'pro'))) AS cost_per_customer_pro,
       money(safe_div(sum(cost) FILTER (WHERE subscription_tier = 'enterprise'),
                      count(*) FILTER (WHERE subscription_tier = 'enterprise'))) AS cost_per_customer_enterprise,
       money(safe_div(sum(cost), count(*))) AS cost_per_customer
FROM features_customer_features
GROUP BY feature_id
ORDER BY cost_per_customer DESC, feature_id;

-- query: customer_features
-- title: Cost per customer and feature
-- description: The customer-feature pairs with the highest AI cost, against the revenue attributed to them.
-- chart: hbar
-- x: customer_id
-- y: cost
-- limit: 25
SELECT customer_id, feature_id, subscription_tier, calls, cost, attributed_revenue,
       attributed_revenue - cost AS margin,
       pct(attributed_revenue - cost, attributed_revenue) AS margin_pct
FROM features_customer_features
ORDER BY cost DESC, customer_id, feature_id;

-- query: _pairs
-- Pairs of features used by the same customers (a < b by name). lift =
-- customers using both * all customers / (customers of a * customers of b).
-- Significance: Pearson's chi-square test of independence on the 2x2 table
-- of customers (uses a / not, uses b / not), one-sided for lift > 1:
-- p = 1 - Phi(z), z = (ad - bc) * sqrt(n) / sqrt((a+b)(c+d)(a+c)(b+d)).
-- The test is valid only when every expected cell count (row total x
-- column total / n) is at least 5: min_expected_count. Every pair listed is
-- tested, so the significance level is Bonferroni-corrected over them:
-- p < max_p_value / pairs tested. A pair is a bundle candidate when it
-- passes that corrected level with lift > 1, a valid test and at least
-- min_support customers using both.
CREATE OR REPLACE TEMP TABLE features_pairs AS
WITH n AS (SELECT count(*) AS n FROM features_customers),
pairs AS (
    SELECT a.feature_id AS feature_a, b.feature_id AS feature_b, count(*) AS customers
    FROM features_customer_features AS a
    JOIN features_customer_features AS b
      ON a.customer_id = b.customer_id AND a.feature_id < b.feature_id
    GROUP BY a.feature_id, b.feature_id
),
cells AS (
    SELECT p.*, fa.customers AS customers_a, fb.customers AS customers_b, n.n,
           p.customers AS both_, fa.customers - p.customers AS only_a,
           fb.customers - p.customers AS only_b,
           n.n - fa.customers - fb.customers + p.customers AS neither
    FROM pairs AS p
    JOIN features_features AS fa ON fa.feature_id = p.feature_a
    JOIN features_features AS fb ON fb.feature_id = p.feature_b
    CROSS JOIN n
)
SELECT feature_a || ' + ' || feature_b AS pair, feature_a, feature_b, customers,
       pct(customers, n) AS customers_pct,
       safe_div(customers * n, customers_a * customers_b) AS lift,
       safe_div((CAST(both_ AS DOUBLE) * neither - CAST(only_a AS DOUBLE) * only_b) * sqrt(n),
                sqrt(CAST(customers_a AS DOUBLE) * (n - customers_a) * customers_b * (n - customers_b))) AS z,
       1 - normal_cdf(safe_div((CAST(both_ AS DOUBLE) * neither - CAST(only_a AS DOUBLE) * only_b) * sqrt(n),
                               sqrt(CAST(customers_a AS DOUBLE) * (n - customers_a) * customers_b * (n - customers_b))))
           AS p_value,
       -- each expected count is a row total x a column total / n: the least is
       -- the least row total x the least column total / n
       -- (not rounded: a rounded tie such as 4.225 rounds one way on DuckDB and
       -- the other on Spark; the report shows it to two decimals)
       safe_div(least(CAST(customers_a AS DOUBLE), n - customers_a) * least(customers_b, n - customers_b), n)
           AS min_expected_count,
       count(*) OVER () AS pairs_tested
FROM cells;

-- query: feature_pairs
-- title: Features used together
-- description: Pairs of features used by the same customers; a bundle candidate needs lift above 1 with p < 0.05 / the number of pairs tested (chi-square test, one-sided, Bonferroni-corrected over every pair listed), every expected count of the 2x2 table at least 5, and at least 10 customers using both.
-- chart: hbar
-- x: pair
-- y: customers
SELECT pair, feature_a, feature_b, customers, customers_pct, lift, p_value,
       min_expected_count, pairs_tested,
       coalesce(p_value < getvariable('max_p_value') / pairs_tested AND min_expected_count >= 5
                AND customers >= getvariable('min_support') AND lift > 1, false)
           AS bundle_candidate
FROM features_pairs
ORDER BY customers DESC, lift DESC, feature_a, feature_b;

-- query: recommendations
-- title: Actions
-- description: Cost targets for features outside invest and maintain, from the one ledger of actions: targets, not savings; attributed revenue is an allocation by call share.
-- chart: none
SELECT * FROM report_actions('features') ORDER BY priority;

-- query: alerts
-- title: Alerts
-- description: Features whose AI cost exceeds the revenue attributed to them by call share, under the alert policy (per 30-day month against monthly spend); and bundle candidates that pass the significance test.
-- chart: none
WITH fp AS (SELECT * FROM finance_period),
items AS (
    SELECT alert_severity(per_month(-margin, fp.covered_days)) AS severity,
           feature_id || ' costs more than the revenue attributed to it' AS title,
           format('Its AI cost {} over the {} exceeds the {} of revenue attributed to it by call share.',
                  usd_text(cost), days_text(fp.covered_days), usd_text(attributed_revenue)) AS detail,
           per_month(-margin, fp.covered_days) AS amount_usd,
           'cost above attributed revenue, a 30-day month' AS amount_label
    FROM features_features, fp WHERE margin < 0
)
SELECT severity, title, detail, amount_usd, amount_label
FROM items
WHERE severity IS NOT NULL
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;
