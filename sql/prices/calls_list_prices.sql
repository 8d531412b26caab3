-- name: calls_list_prices
-- title: Each call at list price, and what the price list does not cover
-- description: Needs calls.sql and list_prices.sql loaded. Matches every
--   provider and model of `calls` to a priced model, prices each call at the
--   list price valid on its date, and counts what cannot be priced.

-- The calls' token sums per provider, model, day, feature and cost_source:
-- one pass over calls; everything below reads this small table.
CREATE OR REPLACE TEMP TABLE calls_daily_tokens AS
SELECT provider, model, call_date, feature_id, cost_source,
       count(*) AS calls, sum(cost_usd) AS cost_usd,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
       sum(cache_read_input_tokens) AS cache_read_input_tokens,
       sum(cache_write_input_tokens) AS cache_write_input_tokens,
       sum(reasoning_output_tokens) AS reasoning_output_tokens
FROM calls
GROUP BY provider, model, call_date, feature_id, cost_source;

CREATE OR REPLACE TEMP TABLE call_list_models AS
SELECT * FROM list_price_match('SELECT DISTINCT provider, model FROM calls_daily_tokens');

-- Calls at list price, per provider, model, day, feature and cost_source
-- (prices are per day, so pricing the day's token sums equals pricing each
-- call, without a DECIMAL product per call): uncached input at the input
-- price, cache reads and writes at theirs (the input price when the list
-- has none), output at the output price, its reasoning tokens at the
-- reasoning price where the list has one. list_cost NULL: no list price.
-- cache_savings: what cache reads saved against the input price, less the
-- cache-write premium.
CREATE OR REPLACE TEMP VIEW calls_list_cost AS
SELECT d.*, m.provider_id AS list_provider_id, m.model_id AS list_model_id,
       lp.source AS list_price_source, lp.pricing_url AS list_pricing_url,
       lp.input_per_mtok AS list_input_per_mtok,
       coalesce(lp.cache_read_per_mtok, lp.input_per_mtok) AS list_cache_read_per_mtok,
       money(((d.input_tokens - d.cache_read_input_tokens - d.cache_write_input_tokens) * lp.input_per_mtok
              + d.cache_read_input_tokens * coalesce(lp.cache_read_per_mtok, lp.input_per_mtok)
              + d.cache_write_input_tokens * coalesce(lp.cache_write_per_mtok, lp.input_per_mtok)
              + (d.output_tokens - d.reasoning_output_tokens) * lp.output_per_mtok
              + d.reasoning_output_tokens * coalesce(lp.reasoning_per_mtok, lp.output_per_mtok))
             / 1000000) AS list_cost,
       money((d.cache_read_input_tokens * (lp.input_per_mtok - coalesce(lp.cache_read_per_mtok, lp.input_per_mtok))
              - d.cache_write_input_tokens * (coalesce(lp.cache_write_per_mtok, lp.input_per_mtok) - lp.input_per_mtok))
             / 1000000) AS cache_savings
FROM calls_daily_tokens AS d
JOIN call_list_models AS m USING (provider, model)
LEFT JOIN list_prices AS lp
  ON lp.provider_id = m.provider_id AND lp.model_id = m.model_id
 AND d.call_date BETWEEN lp.valid_from AND lp.valid_to;

-- What cannot be priced: calls the file marks unpriced (cost unknown), and
-- models the price library does not know. Never $0, never dropped: the
-- footer of every report and manifest.json name them.
CREATE OR REPLACE TEMP VIEW price_coverage AS
SELECT c.provider, c.model, sum(c.calls) AS calls,
       coalesce(sum(c.calls) FILTER (WHERE c.cost_source = 'unpriced'), 0) AS unpriced_calls,
       m.model_id IS NULL AS unknown_to_price_list
FROM calls_daily_tokens AS c JOIN call_list_models AS m USING (provider, model)
GROUP BY c.provider, c.model, m.model_id;
