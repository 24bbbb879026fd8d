-- Each case row carries its agencies (`a;b`) and completions (`milestone|agency|date;…`) as one
-- line each, kept by triggers. A run reads every open case: building these lines for 100,000
-- cases from a million completion rows cost more than half of reading the cases. They are the
-- same lines the scan used to build; the tables stay the record.

ALTER TABLE cases ADD COLUMN agencies_line TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN completions_line TEXT NOT NULL DEFAULT '';

CREATE FUNCTION refresh_case_lines(target BIGINT) RETURNS void LANGUAGE sql AS $$
    UPDATE cases SET
        agencies_line = coalesce(
            (SELECT string_agg(a.agency_id, ';') FROM case_agencies a WHERE a.case_id = target), ''),
        completions_line = coalesce(
            (SELECT string_agg(m.milestone_id || '|' || m.agency_id || '|' ||
                to_char(m.completed_on, 'YYYY-MM-DD'), ';')
             FROM completions m WHERE m.case_id = target), '')
    WHERE id = target;
$$;

SELECT refresh_case_lines(id) FROM cases;

CREATE FUNCTION case_lines_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM refresh_case_lines(OLD.case_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM refresh_case_lines(NEW.case_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_agencies_line AFTER INSERT OR UPDATE OR DELETE ON case_agencies
    FOR EACH ROW EXECUTE FUNCTION case_lines_changed();
CREATE TRIGGER completions_line AFTER INSERT OR UPDATE OR DELETE ON completions
    FOR EACH ROW EXECUTE FUNCTION case_lines_changed();
