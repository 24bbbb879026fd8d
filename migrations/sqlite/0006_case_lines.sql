-- Each case row carries its agencies (`a;b`) and completions (`milestone|agency|date;…`) as one
-- line each, kept by triggers. A run reads every open case: building these lines for 100,000
-- cases from a million completion rows cost more than half of reading the cases. They are the
-- same lines the scan used to build; the tables stay the record.

ALTER TABLE cases ADD COLUMN agencies_line TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN completions_line TEXT NOT NULL DEFAULT '';

UPDATE cases SET
    agencies_line = coalesce(
        (SELECT group_concat(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = cases.id), ''),
    completions_line = coalesce(
        (SELECT group_concat(m.milestone_id || '|' || m.agency_id || '|' || m.completed_on, ';')
         FROM completions m WHERE m.case_id = cases.id), '');

CREATE TRIGGER case_agencies_line_insert AFTER INSERT ON case_agencies
BEGIN
    UPDATE cases SET agencies_line = coalesce(
        (SELECT group_concat(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = NEW.case_id), '')
    WHERE id = NEW.case_id;
END;
CREATE TRIGGER case_agencies_line_delete AFTER DELETE ON case_agencies
BEGIN
    UPDATE cases SET agencies_line = coalesce(
        (SELECT group_concat(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = OLD.case_id), '')
    WHERE id = OLD.case_id;
END;
CREATE TRIGGER case_agencies_line_update AFTER UPDATE ON case_agencies
BEGIN
    UPDATE cases SET agencies_line = coalesce(
        (SELECT group_concat(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = cases.id), '')
    WHERE id IN (OLD.case_id, NEW.case_id);
END;

CREATE TRIGGER completions_line_insert AFTER INSERT ON completions
BEGIN
    UPDATE cases SET completions_line = coalesce(
        (SELECT group_concat(m.milestone_id || '|' || m.agency_id || '|' || m.completed_on, ';')
         FROM completions m WHERE m.case_id = NEW.case_id), '')
    WHERE id = NEW.case_id;
END;
CREATE TRIGGER completions_line_delete AFTER DELETE ON completions
BEGIN
    UPDATE cases SET completions_line = coalesce(
        (SELECT group_concat(m.milestone_id || '|' || m.agency_id || '|' || m.completed_on, ';')
         FROM completions m WHERE m.case_id = OLD.case_id), '')
    WHERE id = OLD.case_id;
END;
CREATE TRIGGER completions_line_update AFTER UPDATE ON completions
BEGIN
    UPDATE cases SET completions_line = coalesce(
        (SELECT group_concat(m.milestone_id || '|' || m.agency_id || '|' || m.completed_on, ';')
         FROM completions m WHERE m.case_id = cases.id), '')
    WHERE id IN (OLD.case_id, NEW.case_id);
END;
