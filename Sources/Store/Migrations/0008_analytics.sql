-- Analytics rollups: message_logs grows by every delivery, so reports read hourly counts and
-- latency histograms at three levels (pair, user, everyone) instead, plus the few rows not
-- rolled up yet (found by id through the primary key). Each report reads one row per hour of
-- its range, whatever the traffic.
--
-- latency: delivered messages per latency bucket; bucket b counts latencies in
-- [bounds[b], bounds[b+1]) ms with bounds 0,1,2,5,10,20,50,100,200,500,1000,2000,5000,10000,30000,60000.

CREATE TABLE message_stats_pair_hourly (
    -- 0 when the pair has been deleted since (its history stays in its user's totals).
    pair_id    bigint NOT NULL,
    hour       timestamptz NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivered  bigint NOT NULL,
    failed     bigint NOT NULL,
    filtered   bigint NOT NULL,
    latency    bigint[] NOT NULL CHECK (cardinality(latency) = 16),
    PRIMARY KEY (pair_id, hour, user_id)
);

CREATE TABLE message_stats_user_hourly (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hour       timestamptz NOT NULL,
    delivered  bigint NOT NULL,
    failed     bigint NOT NULL,
    filtered   bigint NOT NULL,
    latency    bigint[] NOT NULL CHECK (cardinality(latency) = 16),
    PRIMARY KEY (user_id, hour)
);

CREATE TABLE message_stats_hourly (
    hour       timestamptz PRIMARY KEY,
    delivered  bigint NOT NULL,
    failed     bigint NOT NULL,
    filtered   bigint NOT NULL,
    latency    bigint[] NOT NULL CHECK (cardinality(latency) = 16)
);

-- How far the rollup has read message_logs.
CREATE TABLE analytics_rollup_state (
    id          integer PRIMARY KEY CHECK (id = 1),
    last_log_id bigint NOT NULL,
    rolled_at   timestamptz
);
INSERT INTO analytics_rollup_state (id, last_log_id) VALUES (1, 0);
