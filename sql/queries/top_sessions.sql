-- name: top_sessions
-- title: Most expensive sessions
-- description: Sessions (session_id, e.g. gen_ai.conversation.id) by cost:
--   calls, runs (traces), customer and duration. Run:
--   finops sql --name top_sessions --param top=10
-- param: top = 20 | How many sessions to list
SELECT session_id,
       arg_min(customer_id, "timestamp") AS customer_id,
       arg_min(feature_id, "timestamp") AS feature_id,
       count(*) AS calls,
       count(DISTINCT nullif(trace_id, '')) AS runs,
       sum(cost_usd) AS cost,
       min("timestamp") AS first_call,
       max("timestamp") AS last_call,
       date_diff('second', min("timestamp"), max("timestamp")) AS duration_s
FROM calls
WHERE session_id <> ''
GROUP BY session_id
ORDER BY cost DESC NULLS LAST, session_id
LIMIT getvariable('top');
