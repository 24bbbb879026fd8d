-- The notification log (what was decided for each key, never expiring while the case exists),
-- the outbox (emails waiting for delivery, written in the same transaction as their log
-- entries), and the record of evaluation runs.

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    case_id BIGINT REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('digest', 'agency_letter', 'delivery_failure', 'heartbeat')),
    recipient TEXT NOT NULL,
    -- The email as planned (recipient, items, derivations), or the failure report, as JSON;
    -- rendered at delivery.
    email TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    sent_at TIMESTAMPTZ
);
CREATE INDEX outbox_by_status ON outbox (status, next_attempt_at);

CREATE TABLE notification_log (
    key TEXT PRIMARY KEY,
    case_id BIGINT REFERENCES cases (id),
    decision TEXT NOT NULL CHECK (decision IN ('send', 'skip')),
    reason TEXT,
    decided_at TIMESTAMPTZ NOT NULL,
    outbox_id BIGINT REFERENCES outbox (id)
);

-- A counter bumped by every change to a case, and the value each case last got: a run proposes
-- the whole history of a case changed since the previous run, and only new occurrences for the
-- rest, so it never re-reads the whole notification log. The daemon also polls the counter to
-- notice changes made with the CLI.
CREATE TABLE revision_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision_counter (id, value) VALUES (1, 0);
ALTER TABLE cases ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    today_on DATE NOT NULL,
    queued INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    failed_cases INTEGER NOT NULL DEFAULT 0,
    -- The revision counter when the run started.
    revision BIGINT NOT NULL DEFAULT 0,
    -- A fingerprint of the rules the run planned with (timeline, policy, contacts, calendar):
    -- when it changes, the next run looks at every case whole again.
    rules TEXT NOT NULL DEFAULT ''
);
