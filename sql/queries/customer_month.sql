-- name: customer_month
-- title: Cost of one customer in one month
-- description: What one customer's calls cost in a calendar month (default:
--   the latest month in the file), by provider and model, with the month's
--   total on every row. Run: finops sql --name customer_month --param customer_id=cust_0042
-- param: customer_id | The customer
-- param: month = | Month as YYYY-MM (empty: the latest month in the file)
WITH chosen AS (
    SELECT CASE WHEN NOT regexp_full_match(getvariable('month'), '(\d{4}-\d{2})?')
                THEN error('--param month must be YYYY-MM, e.g. 2025-10, not ' || getvariable('month'))
                ELSE coalesce(nullif(getvariable('month'), ''),
                              strftime((SELECT last_date FROM period), '%Y-%m'))
           END AS month
), rows AS (
    SELECT c.*
    FROM calls AS c, chosen
    WHERE c.customer_id = getvariable('customer_id')
      AND strftime(c.call_date, '%Y-%m') = chosen.month
)
SELECT (SELECT month FROM chosen) AS month,
       customer_id, provider, model,
       count(*) AS calls,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       sum(cost_usd) AS cost,
       count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_calls,
       sum(sum(cost_usd)) OVER () AS month_cost
FROM rows
GROUP BY ALL
ORDER BY cost DESC NULLS LAST, provider, model;
