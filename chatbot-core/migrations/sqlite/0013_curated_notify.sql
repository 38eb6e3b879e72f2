-- PostgreSQL's migration 0013 makes curated-answer changes notify other instances. SQLite needs
-- none: a change made by another process is served after at most the curated cache's age
-- (30 s). Kept so both dialects have the same migration versions.
SELECT 1;
