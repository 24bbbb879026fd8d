-- The notification log, laid out for runs over many cases: rows are appended in the order they
-- are decided, and the lookup index holds only (case, 64-bit hash of the key), about a tenth of
-- the size of an index on the key text. A run that logs 100,000 new keys then rewrites a few
-- thousand index pages instead of one page of the whole log per key.
--
-- The hash is the first 8 bytes of the key's SHA-256, read as a signed big-endian integer. A
-- lookup compares the stored key text too, so a hash collision can never make one notification
-- pass for another; the unique index still keeps a key from being logged twice.

ALTER TABLE notification_log RENAME TO notification_log_0002;
ALTER TABLE notification_log_0002 RENAME CONSTRAINT notification_log_pkey TO notification_log_0002_pkey;

CREATE TABLE notification_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id BIGINT REFERENCES cases (id),
    key_hash BIGINT,
    key TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('send', 'skip')),
    reason TEXT,
    decided_at TIMESTAMPTZ NOT NULL,
    outbox_id BIGINT REFERENCES outbox (id)
);

INSERT INTO notification_log (case_id, key_hash, key, decision, reason, decided_at, outbox_id)
SELECT case_id, ('x' || substr(encode(sha256(convert_to(key, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint,
       key, decision, reason, decided_at, outbox_id
FROM notification_log_0002;

DROP TABLE notification_log_0002;

CREATE UNIQUE INDEX notification_log_by_key ON notification_log ((coalesce(case_id, 0)), key_hash);
-- Always empty here (PostgreSQL hashes in the migration); kept so both backends look alike.
CREATE INDEX notification_log_unhashed ON notification_log (id) WHERE key_hash IS NULL;
