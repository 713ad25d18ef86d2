-- The stored updates are only ever read back whole (payload::text) and never queried inside, so
-- they are kept as json: the text as the platform sent it, checked to be JSON. As jsonb every
-- webhook paid for parsing it into jsonb's binary form in the ingest statement (a fifth of the
-- statement's time per update in `bench ingest`), and every read for printing it back out. The
-- column keeps its statistics target of 0 (0011).
ALTER TABLE inbound_events ALTER COLUMN payload TYPE json USING payload::json;
