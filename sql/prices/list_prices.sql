-- name: list_prices
-- title: Public list prices, with where each number comes from
-- description: Loads the list prices generated from the genai-prices library
--   (engine/prices.py writes the two CSV files beside this one) and the rules
--   that match a provider and model name to a priced model. One parameter:
--   the folder of the CSV files.
--
-- From a plain duckdb shell (after calls.sql):
--   SET VARIABLE list_prices_dir = 'sql/prices';
--   .read sql/prices/list_prices.sql

-- One row per provider, model and date range; prices in USD per million
-- tokens. A tiered price is its base tier (tiered = true says so);
-- reasoning tokens (part of output_tokens) are billed at reasoning_per_mtok
-- where the list has one, else at the output price. `source` names the library version, `pricing_url` the
-- provider's pricing page.
CREATE OR REPLACE TEMP TABLE list_prices AS
SELECT * FROM read_csv(getvariable('list_prices_dir') || '/list_prices.csv',
    header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
    columns = {'provider_id': 'VARCHAR', 'model_id': 'VARCHAR', 'model_name': 'VARCHAR',
               'valid_from': 'DATE', 'valid_to': 'DATE',
               'input_per_mtok': 'DECIMAL(18, 9)', 'output_per_mtok': 'DECIMAL(18, 9)',
               'cache_read_per_mtok': 'DECIMAL(18, 9)', 'cache_write_per_mtok': 'DECIMAL(18, 9)',
               'reasoning_per_mtok': 'DECIMAL(18, 9)',
               'tiered': 'BOOLEAN', 'pricing_url': 'VARCHAR', 'source': 'VARCHAR'});

-- The library's match rules: a model name (lower-cased) matches a priced
-- model when a rule holds; the first model of the provider in the
-- library's order wins.
CREATE OR REPLACE TEMP TABLE list_price_models AS
SELECT * FROM read_csv(getvariable('list_prices_dir') || '/list_price_models.csv',
    header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
    columns = {'provider_id': 'VARCHAR', 'model_order': 'INTEGER', 'model_id': 'VARCHAR',
               'rule': 'VARCHAR', 'value': 'VARCHAR'});

-- Which library providers price a finops provider key, in order: its own
-- name, the OpenTelemetry GenAI names, and the library's fallbacks (Azure
-- also serves OpenAI and Anthropic models, ...).
CREATE OR REPLACE TEMP TABLE list_price_providers AS
SELECT * FROM (VALUES
    ('bedrock', 'aws', 1), ('aws.bedrock', 'aws', 1), ('aws', 'aws', 1),
    ('azure', 'azure', 1), ('azure.ai.openai', 'azure', 1),
    ('azure', 'openai', 2), ('azure.ai.openai', 'openai', 2),
    ('azure', 'anthropic', 3), ('azure.ai.openai', 'anthropic', 3),
    ('gcp.gemini', 'google', 1), ('gcp.vertex_ai', 'google', 1), ('google', 'google', 1),
    ('google', 'anthropic', 2), ('gcp.vertex_ai', 'anthropic', 2),
    ('mistral_ai', 'mistral', 1), ('x_ai', 'x-ai', 1), ('xai', 'x-ai', 1)
) AS t(provider, provider_id, priority)
UNION ALL
SELECT DISTINCT provider_id, provider_id, 1 FROM list_price_models;

-- list_price_match(sql): for each (provider, model) the query yields, the
-- priced model it matches (provider_id, model_id NULL: the library does
-- not know it).
CREATE OR REPLACE TEMP MACRO list_price_match(src) AS TABLE
SELECT q.provider, q.model,
       arg_min(r.provider_id, (p.priority, r.model_order)) AS provider_id,
       arg_min(r.model_id, (p.priority, r.model_order)) AS model_id
FROM query(src) AS q
LEFT JOIN list_price_providers AS p ON p.provider = q.provider
LEFT JOIN list_price_models AS r
  ON r.provider_id = p.provider_id
 AND CASE r.rule
         WHEN 'equals' THEN lower(q.model) = r.value
         WHEN 'starts_with' THEN starts_with(lower(q.model), r.value)
         WHEN 'ends_with' THEN ends_with(lower(q.model), r.value)
         WHEN 'contains' THEN contains(lower(q.model), r.value)
         WHEN 'regex' THEN regexp_matches(lower(q.model), r.value)
     END
GROUP BY q.provider, q.model;
