-- name: unpriced_models
-- title: Models whose calls have no known cost
-- description: Provider and model of calls recorded without a cost
--   (cost_usd empty: no price found when they were metered), with their
--   tokens, and whether the reference price list knows the model. Run:
--   finops sql --name unpriced_models
SELECT c.provider, c.model,
       count(*) AS calls,
       sum(c.input_tokens) AS input_tokens,
       sum(c.output_tokens) AS output_tokens,
       min(c."timestamp") AS first_call,
       max(c."timestamp") AS last_call,
       (p.model IS NOT NULL) AS in_model_prices
FROM calls AS c
LEFT JOIN model_prices AS p ON p.provider = c.provider AND p.model = c.model
WHERE c.cost_usd IS NULL
GROUP BY ALL
ORDER BY calls DESC, c.provider, c.model;
