-- Cases, their agencies and completions, and the append-only audit log.
-- Civil dates (`*_on`) are ISO text 'YYYY-MM-DD'; instants (`*_at`) are UTC RFC 3339 text.
-- No column holds anything about the child: the reference links to the partnership's system.

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    aware_on TEXT NOT NULL,
    day0_on TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_reason TEXT,
    local_review_proposed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (day0_on IS NULL OR day0_on >= aware_on),
    CHECK ((status = 'closed') = (closed_reason IS NOT NULL))
);
CREATE INDEX cases_by_status ON cases (status, id);

CREATE TABLE case_agencies (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    agency_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (case_id, agency_id)
) WITHOUT ROWID;

-- `agency_id` is '' for case-level milestones, so the primary key also guards them.
-- WITHOUT ROWID keeps each case's rows together, so listings read them in one sweep.
CREATE TABLE completions (
    case_id INTEGER NOT NULL REFERENCES cases (id),
    milestone_id TEXT NOT NULL,
    agency_id TEXT NOT NULL DEFAULT '',
    completed_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (case_id, milestone_id, agency_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER REFERENCES cases (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_case ON audit_log (case_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
