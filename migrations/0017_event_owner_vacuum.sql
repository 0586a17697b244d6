-- Issue 11: every stored event rewrites its owner's row (reports or batches: the head seq and the live columns),
-- so while 3,000 runs are followed, 3,000 report rows take about 1,500 new versions a second. Until autovacuum
-- passes, each lookup of a row by id walks its dead versions and their index entries: with PostgreSQL's defaults
-- (a table is vacuumed once 20 % of it is dead, checked once a minute) it did not pass at all in a two-minute
-- run, and the lookups in record_reports_events came to 0.5 ms a row (pg_stat_statements; perf: most of the
-- server's CPU in HeapTupleSatisfiesVisibility and heap_hot_search_buffer). These two tables are vacuumed after
-- 500 dead rows plus 1 % of their size instead; scripts/postgres.sh checks for work every 10 s
-- (autovacuum_naptime). Together: 0.78 -> 0.65 ms of server CPU per stored event at 3,000 runs.
ALTER TABLE reports SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500);
ALTER TABLE batches SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 500);
