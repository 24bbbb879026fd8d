-- A bulk import writes each case row with its agency and completion lines already in it, so the
-- insert triggers of migration 0006, which rewrite the case row for every agency and completion
-- added (three or four times per imported case), stand aside while `case_lines_written` holds
-- its row. The import inserts that row and deletes it again inside its own transaction: no
-- other connection ever sees it, and a failed import rolls it back with everything else.

CREATE TABLE case_lines_written (id INTEGER PRIMARY KEY CHECK (id = 1));

DROP TRIGGER case_agencies_line_insert;
CREATE TRIGGER case_agencies_line_insert AFTER INSERT ON case_agencies
WHEN NOT EXISTS (SELECT 1 FROM case_lines_written)
BEGIN
    UPDATE cases SET agencies_line = coalesce(
        (SELECT group_concat(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = NEW.case_id), '')
    WHERE id = NEW.case_id;
END;

DROP TRIGGER completions_line_insert;
CREATE TRIGGER completions_line_insert AFTER INSERT ON completions
WHEN NOT EXISTS (SELECT 1 FROM case_lines_written)
BEGIN
    UPDATE cases SET completions_line = coalesce(
        (SELECT group_concat(m.milestone_id || '|' || m.agency_id || '|' || m.completed_on, ';')
         FROM completions m WHERE m.case_id = NEW.case_id), '')
    WHERE id = NEW.case_id;
END;
