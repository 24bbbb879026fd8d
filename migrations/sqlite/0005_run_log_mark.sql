-- Where the notification log ended when a run was recorded. A case that has nothing in the log
-- after the last run's mark, and has not changed since that run, has nothing logged for the days
-- after it, so the next run need not look its new keys up (the log's unique index would still
-- refuse a key logged twice). NULL for runs recorded before this column: their next run looks
-- everything up.
ALTER TABLE runs ADD COLUMN log_mark BIGINT;
