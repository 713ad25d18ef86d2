-- Who has the live feed open, per instance, so instances publish only events someone watches.
-- Each instance renews its rows every second; rows of a dead instance expire. Unlogged: after a
-- crash the next renewal rebuilds it.
CREATE UNLOGGED TABLE live_feed_subscribers (
    user_id    bigint NOT NULL,
    instance   text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, instance)
);
