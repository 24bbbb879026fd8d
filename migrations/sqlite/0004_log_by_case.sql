-- The notification log, laid out for runs over many cases: rows are appended in the order they
-- are decided, and the lookup index holds only (case, 64-bit hash of the key), about a tenth of
-- the size of a table ordered by the key text. A run that logs 100,000 new keys then rewrites a
-- few thousand index pages instead of one page of the whole log per key.
--
-- The hash is the first 8 bytes of the key's SHA-256. A lookup compares the stored key text too,
-- so a hash collision can never make one notification pass for another; the unique index still
-- keeps a key from being logged twice. SQLite cannot compute SHA-256, so rows copied here carry
-- no hash yet: rrn fills it in right after migrating (see `Store::migrate`), before any run.

ALTER TABLE notification_log RENAME TO notification_log_0002;

CREATE TABLE notification_log (
    id INTEGER PRIMARY KEY,
    case_id INTEGER REFERENCES cases (id),
    key_hash INTEGER,
    key TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('send', 'skip')),
    reason TEXT,
    decided_at TEXT NOT NULL,
    outbox_id INTEGER REFERENCES outbox (id)
);

INSERT INTO notification_log (case_id, key, decision, reason, decided_at, outbox_id)
SELECT case_id, key, decision, reason, decided_at, outbox_id
FROM notification_log_0002;

DROP TABLE notification_log_0002;

CREATE UNIQUE INDEX notification_log_by_key ON notification_log (coalesce(case_id, 0), key_hash);
-- Empty once the copied rows are hashed; lets the check at each start cost nothing.
CREATE INDEX notification_log_unhashed ON notification_log (id) WHERE key_hash IS NULL;
