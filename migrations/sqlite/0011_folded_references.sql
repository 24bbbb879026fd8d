-- Case references are matched without regard to case (`rr-2026-050` is `RR-2026-050`), and a
-- second case that differs from one only in case is refused by this unique index. A database
-- that already holds two such cases keeps both: the migration marks each later one with its
-- own id in `reference_clash` (the first keeps 0), so the index holds and nothing is lost; a
-- lookup finds the spelling typed exactly, else the first. New cases always get 0.
-- References are ASCII (`CaseRef`), where lower() folds the same on both backends.

ALTER TABLE cases ADD COLUMN reference_clash INTEGER NOT NULL DEFAULT 0;

UPDATE cases SET reference_clash = id
WHERE EXISTS (
    SELECT 1 FROM cases AS earlier
    WHERE lower(earlier.reference) = lower(cases.reference) AND earlier.id < cases.id
);

CREATE UNIQUE INDEX cases_by_folded_reference ON cases (lower(reference), reference_clash);
