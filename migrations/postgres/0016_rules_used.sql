-- The rules each run planned with, once per fingerprint: the timeline and bank-holiday texts
-- as the daemon read them, the division and the closure days. `rrn check-config --impact`
-- compares the configuration on disk with the one the last run used, which may differ from
-- the files now (the daemon reads them at start and on reload).
CREATE TABLE rules_used (
    fingerprint TEXT PRIMARY KEY,
    timeline TEXT NOT NULL,
    bank_holidays TEXT NOT NULL,
    division TEXT NOT NULL,
    -- A JSON array of YYYY-MM-DD dates.
    closure_days TEXT NOT NULL,
    first_used_at TIMESTAMPTZ NOT NULL
);
