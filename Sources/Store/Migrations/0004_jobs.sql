-- The job table every piece of work runs through (see Sources/JobQueue).

CREATE TYPE job_state AS ENUM ('available', 'running', 'completed', 'discarded', 'cancelled');

CREATE TABLE jobs (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    -- 0 = high, 1 = medium, 2 = low.
    lane              smallint NOT NULL DEFAULT 1 CHECK (lane BETWEEN 0 AND 2),
    state             job_state NOT NULL DEFAULT 'available',
    payload           jsonb NOT NULL DEFAULT '{}',
    run_at            timestamptz NOT NULL DEFAULT now(),
    attempt           integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts      integer NOT NULL DEFAULT 20 CHECK (max_attempts >= 1),
    unique_key        text,
    ordering_key      text,
    lease_token       bigint,
    lease_expires_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    attempted_at      timestamptz,
    finished_at       timestamptz,
    last_error        text,
    -- The last attempts' errors, newest last: [{"attempt": n, "at": ts, "error": "…"}].
    errors            jsonb NOT NULL DEFAULT '[]',
    CHECK ((state = 'running') = (lease_token IS NOT NULL)),
    CHECK ((state IN ('completed', 'discarded', 'cancelled')) = (finished_at IS NOT NULL))
) WITH (
    -- The hot table is small and rewritten constantly: leave room for HOT updates and vacuum eagerly.
    fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 500,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_vacuum_cost_limit = 10000
);

-- The claim statement walks this index lane by lane, oldest due first.
CREATE INDEX jobs_claim_idx ON jobs (lane, run_at, id) WHERE state = 'available';
-- Expired leases are reclaimed by the claim statement itself.
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE state = 'running';
-- Per-key ordering: is there an earlier unfinished job with my key?
CREATE INDEX jobs_ordering_idx ON jobs (ordering_key, id)
    WHERE ordering_key IS NOT NULL AND state IN ('available', 'running');
-- A unique key holds while its job is unfinished.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
-- Pruning and listing of finished jobs.
CREATE INDEX jobs_finished_idx ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;
