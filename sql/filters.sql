-- name: filters
-- title: The filtered calls view and the comparison window
-- version: 1
-- description: Run after calls.sql. Renames the loaded `calls` view to
--   `calls_unfiltered` and defines `calls` again as those calls narrowed by
--   the filter variables, so every analyzer runs unchanged on the filtered
--   data. A variable that is not set (NULL) does not filter. Values are bound
--   variables, never pasted into SQL text.
--
-- From a plain duckdb shell (after .read sql/calls.sql):
--   ALTER VIEW calls RENAME TO calls_unfiltered;
--   .read sql/filters.sql
--   SET VARIABLE filter_from = DATE '2025-10-01';
--   SET VARIABLE filter_organization = 'org_003';
-- then run the "Shared definitions" part of calls.sql again (period and
-- customer_economics are tables computed from `calls`); finops does this.

-- (finops first renames the loaded `calls`, a view or a table, to
-- calls_unfiltered: ALTER VIEW calls RENAME TO calls_unfiltered;)

CREATE OR REPLACE TEMP VIEW calls AS
SELECT *
FROM calls_unfiltered
WHERE (getvariable('filter_from') IS NULL OR call_date >= CAST(getvariable('filter_from') AS DATE))
  AND (getvariable('filter_to') IS NULL OR call_date <= CAST(getvariable('filter_to') AS DATE))
  AND (getvariable('filter_organization') IS NULL OR organization_id = getvariable('filter_organization'))
  AND (getvariable('filter_customer') IS NULL OR customer_id = getvariable('filter_customer'))
  AND (getvariable('filter_provider') IS NULL OR provider = getvariable('filter_provider'))
  AND (getvariable('filter_model') IS NULL OR model = getvariable('filter_model'))
  AND (getvariable('filter_environment') IS NULL OR environment = getvariable('filter_environment'));

-- The period the reports cover and the one before it, of the same length.
-- Without a date filter the period is the whole file, so there is no
-- previous period. has_previous is true only when the file reaches back to
-- the previous period's first day: a partial period would compare unlike
-- with unlike.
CREATE OR REPLACE TEMP VIEW filter_window AS
WITH file AS (
    SELECT min(call_date) AS first_date, max(call_date) AS last_date FROM calls_unfiltered
), span AS (
    SELECT first_date, last_date,
           greatest(coalesce(CAST(getvariable('filter_from') AS DATE), first_date), first_date) AS start_date,
           least(coalesce(CAST(getvariable('filter_to') AS DATE), last_date), last_date) AS end_date
    FROM file
), sized AS (
    SELECT *, CAST(date_diff('day', start_date, end_date) + 1 AS INTEGER) AS days FROM span
)
SELECT start_date, end_date, days,
       start_date - days AS previous_start,
       start_date - 1 AS previous_end,
       days > 0 AND first_date <= start_date - days AS has_previous
FROM sized;

-- Filter choices: the values each key takes in the whole file, most used first.
CREATE OR REPLACE TEMP MACRO filter_choices(limit_rows) AS TABLE
SELECT key, value, calls FROM (
    SELECT key, value, calls,
           row_number() OVER (PARTITION BY key ORDER BY calls DESC, value) AS rank
    FROM (
        SELECT 'organization' AS key, organization_id AS value, count(*) AS calls FROM calls_unfiltered GROUP BY ALL
        UNION ALL SELECT 'customer', customer_id, count(*) FROM calls_unfiltered GROUP BY ALL
        UNION ALL SELECT 'provider', provider, count(*) FROM calls_unfiltered GROUP BY ALL
        UNION ALL SELECT 'model', model, count(*) FROM calls_unfiltered GROUP BY ALL
        UNION ALL SELECT 'environment', environment, count(*) FROM calls_unfiltered GROUP BY ALL
    )
)
WHERE rank <= limit_rows
ORDER BY key, value;

-- Headline figures against the previous period, joined by position (a
-- headline query returns the same rows in the same order for any period;
-- a money label names its period, so labels differ between periods) and
-- unit. The two tables hold the headline rows of the current and the
-- previous period (position, label, value as text, unit). Money stays exact; a percentage
-- changes in points; text figures are not compared.
CREATE OR REPLACE TEMP TABLE headline_current
    (position INTEGER, label VARCHAR, value VARCHAR, unit VARCHAR);
CREATE OR REPLACE TEMP TABLE headline_previous
    (position INTEGER, label VARCHAR, value VARCHAR, unit VARCHAR);

CREATE OR REPLACE TEMP MACRO headline_changes() AS TABLE
SELECT c.position, c.label, c.unit,
       CASE WHEN c.unit = 'text' OR p.label IS NULL THEN NULL
            ELSE CAST(try_cast(c.value AS DECIMAL(38, 6)) - try_cast(p.value AS DECIMAL(38, 6)) AS DOUBLE)
       END AS change,
       CASE WHEN c.unit IN ('text', 'pct') OR p.label IS NULL THEN NULL
            ELSE pct(try_cast(c.value AS DOUBLE) - try_cast(p.value AS DOUBLE),
                     abs(try_cast(p.value AS DOUBLE)))
       END AS change_pct,
       p.value AS previous_value,
       p.label IS NOT NULL AS compared
FROM headline_current AS c
LEFT JOIN headline_previous AS p ON p.position = c.position AND p.unit = c.unit
ORDER BY c.position;
