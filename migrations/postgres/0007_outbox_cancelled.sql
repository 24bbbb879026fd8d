-- `rrn outbox cancel ID`: a person can take a row out of the queue for good (one that can never
-- be sent, say, because an older version stored a name that no message can carry). A cancelled
-- row is never claimed, and stays listed as `cancelled`.

ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'cancelled'));
