-- name: unattributed
-- title: Spend not attributed to a customer
-- description: Calls recorded outside any finops.attribute block
--   (customer_id 'unattributed'), by product, feature and model: the code
--   paths still to tag. Run: finops sql --name unattributed
SELECT product_id, feature_id, provider, model,
       count(*) AS calls,
       sum(cost_usd) AS cost,
       min("timestamp") AS first_call,
       max("timestamp") AS last_call
FROM calls
WHERE customer_id = 'unattributed'
GROUP BY ALL
ORDER BY cost DESC NULLS LAST, calls DESC, product_id, feature_id, provider, model;
