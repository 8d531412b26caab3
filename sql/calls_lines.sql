-- name: calls_lines
-- title: The calls contract's bookkeeping over numbered lines (the Spark read)
-- version: 1
-- description: calls.sql's `read` stage for an engine that reads a file as
--   numbered physical lines (Spark: engine/spark.py, read_csv_on_spark).
--   What calls.sql does with DuckDB's rowid, reject tables, DELETE and
--   UPDATE is done here with each line's index. calls.sql's own rules run
--   first, unchanged (the header check, contract_records, calls_loaded and
--   csv_multiline, with rowid read as the line index `tag`); this file then
--   keeps each record once and sets the rest aside, making the relations
--   calls.sql's `views` stage reads.
--
-- It reads calls_read_lines, calls.sql's calls_loaded over every physical line
-- (the header is tag 0, so a line's number is tag + 1; a line that cannot
-- be read carries its reason, as engine/linefix.py's copy does), and
-- calls_read_records, the same over the records of csv_multiline (tag: the
-- record's first line).

-- Every record: the lines outside multi-line records, and those records.
CREATE OR REPLACE TEMP VIEW calls_read AS
SELECT * FROM calls_read_lines AS l
WHERE NOT EXISTS (SELECT 1 FROM csv_multiline AS m WHERE l.tag BETWEEN m.first_r AND m.last_r)
UNION ALL
SELECT * FROM calls_read_records;

-- Each unreadable line is a record with its reason here (no reject table).
CREATE OR REPLACE TEMP TABLE csv_unreadable AS
SELECT CAST(NULL AS BIGINT) AS file_line, CAST(NULL AS VARCHAR) AS reason,
       CAST(NULL AS VARCHAR) AS content
WHERE false;

-- Rows that break a rule, kept for inspection with their line.
CREATE OR REPLACE TEMP TABLE calls_rule_rejects AS
SELECT tag + 1 AS line, reject_reason, left(raw_line, 500) AS rejected_content
FROM calls_read
WHERE reject_reason IS NOT NULL AND tag > 0;

-- Valid records, each with the first line its call_id is valid on.
CREATE OR REPLACE TEMP TABLE calls_valid AS
SELECT *, min(tag) OVER (PARTITION BY call_id) AS first_tag
FROM calls_read
WHERE reject_reason IS NULL AND tag > 0;

-- A call_id seen more than once among valid rows: every later occurrence.
CREATE OR REPLACE TEMP TABLE calls_duplicate_rows AS
SELECT tag AS row_index, tag + 1 AS line, call_id, first_tag + 1 AS first_line
FROM calls_valid
WHERE tag > first_tag;

-- Keep each valid call once: its first occurrence in the file.
CREATE OR REPLACE TEMP TABLE calls_loaded AS
SELECT * FROM calls_valid WHERE tag = first_tag;
