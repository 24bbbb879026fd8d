-- The cases a run could not plan, as a JSON array of {"reference", "reason"} objects, so that
-- `rrn status`, `/healthz` and the daily summary can name them after the run. NULL for runs
-- recorded before this column (and for runs where every case was planned).
ALTER TABLE runs ADD COLUMN failed TEXT;
