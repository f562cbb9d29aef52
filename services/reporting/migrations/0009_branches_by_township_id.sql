-- The branch list filtered by township, in branch_id order: the page is read from this index
-- (a township's few thousand branches) instead of a merge over the whole county's.
CREATE INDEX branches_by_township_id ON branches (county_code, township, branch_id)
    WHERE kind <> 'committee';
