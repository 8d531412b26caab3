-- name: trace_cost
-- title: Cost of one trace (an agent run)
-- description: Every model call of one trace in time order, with the
--   running cost; the last row's running_cost is the run's cost. Run:
--   finops sql --name trace_cost --param trace_id=4bf92f3577b34da6a3ce929d0e0e4736
-- param: trace_id | The trace id (hex, as written by finops.otel)
SELECT "timestamp", call_id, provider, model, feature_id, task_type,
       input_tokens, output_tokens, latency_ms,
       cost_usd AS cost,
       sum(cost_usd) OVER (ORDER BY "timestamp", call_id) AS running_cost
FROM calls
WHERE trace_id = getvariable('trace_id')
ORDER BY "timestamp", call_id;
