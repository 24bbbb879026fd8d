-- `rrn outbox cancel ID`: a person can take a row out of the queue for good (one that can never
-- be sent, say, because an older version stored a name that no message can carry). A cancelled
-- row is never claimed, and stays listed as `cancelled`.
--
-- SQLite cannot change a CHECK constraint, so the table is rebuilt under the same name. It is
-- not renamed aside first: that would repoint the notification log's reference to the old name.
-- Dropping it leaves the log's rows pointing at ids that are gone, which with foreign keys on is
-- a violation; deferred, it is cleared as each row is copied back with its id, before the commit.

PRAGMA defer_foreign_keys = ON;

CREATE TABLE outbox_0006 AS SELECT * FROM outbox;
CREATE TABLE outbox_0006_sequence AS
    SELECT seq FROM sqlite_sequence WHERE name = 'outbox';

DROP TABLE outbox;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    case_id INTEGER REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('digest', 'agency_letter', 'delivery_failure', 'heartbeat')),
    recipient TEXT NOT NULL,
    -- The email as planned (recipient, items, derivations), or the failure report, as JSON;
    -- rendered at delivery.
    email TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    claimed_by TEXT,
    lease_until TEXT
);

INSERT INTO outbox (id, created_at, case_id, kind, recipient, email, status, attempts,
                    next_attempt_at, last_error, sent_at, claimed_by, lease_until)
SELECT id, created_at, case_id, kind, recipient, email, status, attempts,
       next_attempt_at, last_error, sent_at, claimed_by, lease_until
FROM outbox_0006 ORDER BY id;

-- Runs take outbox ids from the sequence: it must not go back below an id ever handed out.
DELETE FROM sqlite_sequence WHERE name = 'outbox';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'outbox', max(seq) FROM (
    SELECT seq FROM outbox_0006_sequence
    UNION ALL SELECT max(id) FROM outbox
) WHERE seq IS NOT NULL HAVING max(seq) IS NOT NULL;

DROP TABLE outbox_0006;
DROP TABLE outbox_0006_sequence;

CREATE INDEX outbox_by_status ON outbox (status, next_attempt_at);
