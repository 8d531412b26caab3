-- name: features
-- title: Feature economics
-- category: ubr
-- version: 2
-- description: What each product feature costs in AI calls, how widely it is
--   adopted, the subscription revenue it earns (each customer's revenue split
--   over the features it uses by call share), and where each feature sits:
--   invest, optimize, maintain or sunset. Also the features used together.

-- query: _customers
-- customer_economics is a view that aggregates all calls: read it once.
CREATE OR REPLACE TEMP TABLE features_customers AS
SELECT customer_id, subscription_tier, calls, revenue FROM customer_economics;

-- query: _customer_features
-- One row per customer and feature it used. attributed_revenue is the
-- customer's revenue (latest tier's fee * tenure_days / 30) times the
-- feature's share of that customer's calls.
CREATE OR REPLACE TEMP TABLE features_customer_features AS
SELECT f.customer_id, f.feature_id, e.subscription_tier,
       f.calls, f.cost,
       money(safe_div(e.revenue * f.calls, e.calls)) AS attributed_revenue
FROM (
    SELECT customer_id, feature_id, count(*) AS calls, sum(cost_usd) AS cost
    FROM calls
    GROUP BY customer_id, feature_id
) AS f
JOIN features_customers AS e USING (customer_id);

-- query: _features
-- Per feature. adoption_pct = pct(customers using it, all customers in the
-- file). margin = attributed_revenue - cost; margin_pct = pct(margin,
-- attributed_revenue). The quadrant splits at the median (quantile_cont
-- 0.5) of adoption_pct and of margin_pct over all features; a value at or
-- above its median is high: invest (high adoption, high margin), optimize
-- (high adoption, low margin), maintain (low adoption, high margin),
-- sunset (low, low).
CREATE OR REPLACE TEMP TABLE features_features AS
WITH per_feature AS (
    SELECT feature_id,
           sum(calls) AS calls,
           sum(cost) AS cost,
           count(*) AS customers,
           pct(count(*), (SELECT count(*) FROM features_customers)) AS adoption_pct,
           money(safe_div(sum(cost), count(*))) AS cost_per_customer,
           sum(attributed_revenue) AS attributed_revenue,
           sum(attributed_revenue) - sum(cost) AS margin,
           pct(sum(attributed_revenue) - sum(cost), sum(attributed_revenue)) AS margin_pct
    FROM features_customer_features
    GROUP BY feature_id
), medians AS (
    SELECT quantile_cont(adoption_pct, 0.5) AS median_adoption_pct,
           quantile_cont(margin_pct, 0.5) AS median_margin_pct
    FROM per_feature
)
SELECT p.*,
       CASE WHEN p.adoption_pct >= m.median_adoption_pct AND p.margin_pct >= m.median_margin_pct THEN 'invest'
            WHEN p.adoption_pct >= m.median_adoption_pct THEN 'optimize'
            WHEN p.margin_pct >= m.median_margin_pct THEN 'maintain'
            ELSE 'sunset' END AS quadrant,
       m.median_adoption_pct, m.median_margin_pct
FROM per_feature AS p, medians AS m;

-- query: headline
-- title: Headline
SELECT label, value, unit FROM (
    SELECT 1 AS position, 'AI cost of features' AS label, money(sum(cost)) AS value, 'usd' AS unit
    FROM features_features
    UNION ALL
    SELECT 2, 'Margin on attributed revenue', money(pct(sum(margin), sum(attributed_revenue))), 'pct'
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
-- description: Cost, adoption and attributed revenue of each feature, with its quadrant.
-- chart: bar
-- x: feature_id
-- y: attributed_revenue, cost, margin
SELECT feature_id, calls, cost, customers, adoption_pct, cost_per_customer,
       attributed_revenue, margin, margin_pct, quadrant,
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
-- Pairs of features used by the same customer (a < b by name).
-- lift = customers using both * all customers / (customers of a * customers of b).
-- pair_revenue: the revenue those customers attribute to the two features.
CREATE OR REPLACE TEMP TABLE features_pairs AS
SELECT a.feature_id || ' + ' || b.feature_id AS pair,
       a.feature_id AS feature_a, b.feature_id AS feature_b,
       count(*) AS customers,
       pct(count(*), (SELECT count(*) FROM features_customers)) AS customers_pct,
       safe_div(count(*) * (SELECT count(*) FROM features_customers),
                any_value(fa.customers) * any_value(fb.customers)) AS lift,
       sum(a.attributed_revenue + b.attributed_revenue) AS pair_revenue,
       sum(a.cost + b.cost) AS pair_cost
FROM features_customer_features AS a
JOIN features_customer_features AS b
  ON a.customer_id = b.customer_id AND a.feature_id < b.feature_id
JOIN features_features AS fa ON fa.feature_id = a.feature_id
JOIN features_features AS fb ON fb.feature_id = b.feature_id
GROUP BY a.feature_id, b.feature_id;

-- query: feature_pairs
-- title: Features used together
-- description: Pairs of features used by the same customers: bundle candidates (lift above 1: together more often than chance).
-- chart: hbar
-- x: pair
-- y: customers
SELECT pair, feature_a, feature_b, customers, customers_pct, lift, pair_revenue, pair_cost
FROM features_pairs
ORDER BY customers DESC, lift DESC, feature_a, feature_b;

-- query: recommendations
-- title: Recommendations
-- description: What to do with each feature outside the invest quadrant, and the best bundle.
-- What each kind proposes. optimize: cut the feature's AI cost until its margin reaches the median
--   margin_pct: saves cost - attributed_revenue * (1 - median/100);
-- sunset: the same saving (the detail also gives the cost saved by retiring
--   it and the attributed revenue that would be put at risk);
-- bundle: the pair with the most common customers and lift > 1, with the
--   revenue those customers attribute to the two features.
WITH items AS (
    SELECT 1 AS position, 'Optimize ' || feature_id AS title,
           'Used by ' || customers || ' customers (' || format('{:.1f}', adoption_pct) || '%) but its margin is '
               || format('{:.1f}', margin_pct) || '%, under the median ' || format('{:.1f}', median_margin_pct)
               || '%: cutting its AI cost from $' || format('{:,.2f}', cost) || ' to reach the median saves $'
               || format('{:,.2f}', money(greatest(0, cost - attributed_revenue * (1 - median_margin_pct / 100))))
               || ' over the period (cheaper models, caching).' AS detail,
           money(greatest(0, cost - attributed_revenue * (1 - median_margin_pct / 100))) AS amount_usd
    FROM features_features WHERE quadrant = 'optimize'
    UNION ALL
    SELECT 2, 'Rework or sunset ' || feature_id,
           'Adoption (' || customers || ' customers, ' || format('{:.1f}', adoption_pct)
               || '%) and margin (' || format('{:.1f}', margin_pct) || '%) are both under the median: cutting its AI cost to reach the median margin saves $'
               || format('{:,.2f}', money(greatest(0, cost - attributed_revenue * (1 - median_margin_pct / 100))))
               || '; retiring it saves all $' || format('{:,.2f}', cost) || ' of its AI cost but puts $'
               || format('{:,.2f}', attributed_revenue) || ' of attributed revenue at risk.',
           money(greatest(0, cost - attributed_revenue * (1 - median_margin_pct / 100)))
    FROM features_features WHERE quadrant = 'sunset'
    UNION ALL
    SELECT 3, 'Invest in ' || feature_id,
           'High adoption (' || format('{:.1f}', adoption_pct) || '%) and high margin ('
               || format('{:.1f}', margin_pct) || '%): it earns $' || format('{:,.2f}', margin)
               || ' over the period; promote it to the customers who do not use it yet.',
           margin
    FROM features_features WHERE quadrant = 'invest'
    UNION ALL
    SELECT * FROM (
        SELECT 4, 'Bundle ' || pair,
               customers || ' customers (' || format('{:.1f}', customers_pct) || '%) use both, '
                   || format('{:.2f}', lift) || 'x as often as chance; they attribute $'
                   || format('{:,.2f}', pair_revenue) || ' of revenue to the pair.',
               pair_revenue
        FROM features_pairs
        WHERE lift > 1
        ORDER BY customers DESC, lift DESC, pair
        LIMIT 1
    )
)
SELECT CAST(row_number() OVER (ORDER BY position, amount_usd DESC, title) AS INTEGER) AS priority,
       title, detail, amount_usd
FROM items
ORDER BY priority;

-- query: alerts
-- title: Alerts
-- A feature whose AI cost exceeds the revenue attributed to it is high;
-- optimize-quadrant features are medium.
WITH items AS (
    SELECT 'high' AS severity, feature_id || ' loses money' AS title,
           'Its AI cost $' || format('{:,.2f}', cost) || ' exceeds the $' || format('{:,.2f}', attributed_revenue)
               || ' of revenue attributed to it.' AS detail,
           -margin AS amount_usd
    FROM features_features WHERE margin < 0
    UNION ALL
    SELECT 'medium', feature_id || ' is widely used at a low margin',
           format('{:.1f}', adoption_pct) || '% adoption, ' || format('{:.1f}', margin_pct) || '% margin (median '
               || format('{:.1f}', median_margin_pct) || '%).',
           cost
    FROM features_features WHERE quadrant = 'optimize' AND margin >= 0
)
SELECT severity, title, detail, amount_usd
FROM items
ORDER BY CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, amount_usd DESC, title;
