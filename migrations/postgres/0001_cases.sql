-- Cases, their agencies and completions, and the append-only audit log.
-- No column holds anything about the child: the reference links to the partnership's system.

CREATE TABLE cases (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    aware_on DATE NOT NULL,
    day0_on DATE,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_reason TEXT,
    local_review_proposed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK (day0_on IS NULL OR day0_on >= aware_on),
    CHECK ((status = 'closed') = (closed_reason IS NOT NULL))
);
CREATE INDEX cases_by_status ON cases (status, id);

CREATE TABLE case_agencies (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    agency_id TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, agency_id)
);

-- `agency_id` is '' for case-level milestones, so the primary key also guards them.
CREATE TABLE completions (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    milestone_id TEXT NOT NULL,
    agency_id TEXT NOT NULL DEFAULT '',
    completed_on DATE NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    note TEXT,
    PRIMARY KEY (case_id, milestone_id, agency_id)
);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id BIGINT REFERENCES cases (id),
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_case ON audit_log (case_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
