-- User payloads are stored as `json` (the text as sent) instead of `jsonb`.
--
-- jsonb rewrites numbers as `numeric`: 1.7976931348623157e308 became a
-- 309-digit integer that a reader could no longer decode as a number, and
-- -0, exponents and trailing zeros changed their spelling. The server never
-- queries inside these documents, so it has no use for jsonb's operators;
-- `json` still checks the syntax and hands back exactly what was stored.
-- Headers and tags stay jsonb: the server builds them as maps of strings.

ALTER TABLE workflow_runs
    ALTER COLUMN inputs TYPE json USING inputs::json,
    ALTER COLUMN result TYPE json USING result::json;

ALTER TABLE tasks
    ALTER COLUMN params TYPE json USING params::json,
    ALTER COLUMN result TYPE json USING result::json;

ALTER TABLE runs
    ALTER COLUMN result TYPE json USING result::json;

ALTER TABLE checkpoints
    ALTER COLUMN state TYPE json USING state::json;

ALTER TABLE wait_outcomes
    ALTER COLUMN payload TYPE json USING payload::json;

ALTER TABLE events
    ALTER COLUMN payload TYPE json USING payload::json;
