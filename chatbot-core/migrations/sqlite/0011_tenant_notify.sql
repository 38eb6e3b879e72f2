-- PostgreSQL's migration 0011 adds the trigger that notifies other instances of company and
-- settings changes. SQLite needs none: every process on the database file sees a commit through
-- the WAL-index header (the commit stamp of its tenant cache). Kept so both dialects have the
-- same migration versions.
SELECT 1;
