-- The daemon: outbox claims carry their owner and a lease, so a row claimed by a process that
-- lost its lease can be taken by another (PostgreSQL, several instances); and the instance that
-- leads records itself, for `rrn status`.

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;

CREATE TABLE leader (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- host, process id and start time of the leading daemon
    instance TEXT NOT NULL,
    since TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
