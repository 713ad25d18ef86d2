-- No query filters or joins on the stored payloads, so the planner needs no statistics on them,
-- and gathering them is most of what ANALYZE costs on these tables: a detoast and a jsonb
-- comparison for each of up to 30,000 sampled rows. Autovacuum analyzes them every few seconds
-- while they grow fast (the naptime is 1 s for the jobs table's sake): under `afx bench e2e` each
-- ANALYZE of inbound_events lined up with a burst of slow webhook answers.
ALTER TABLE inbound_events ALTER COLUMN payload SET STATISTICS 0;
ALTER TABLE jobs ALTER COLUMN payload SET STATISTICS 0;
