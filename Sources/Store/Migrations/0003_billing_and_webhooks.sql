-- Payments, coupons and Elite users' outbound webhooks.

CREATE TABLE coupons (
    code          text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_-]{3,40}$'),
    percent_off   integer NOT NULL CHECK (percent_off BETWEEN 1 AND 100),
    plan          plan_tier,
    max_uses      integer CHECK (max_uses IS NULL OR max_uses > 0),
    uses          integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

CREATE TABLE payments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    provider            text NOT NULL CHECK (provider IN ('nowpayments', 'paypal', 'telegram_stars')),
    provider_payment_id text NOT NULL,
    plan                plan_tier NOT NULL,
    period_days         integer NOT NULL CHECK (period_days > 0),
    amount              numeric(18, 8) NOT NULL CHECK (amount >= 0),
    currency            text NOT NULL,
    coupon_code         text REFERENCES coupons (code) ON DELETE SET NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'confirming', 'completed', 'partially_paid', 'failed', 'expired', 'refunded')),
    raw                 jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);
CREATE UNIQUE INDEX payments_provider_key ON payments (provider, provider_payment_id);
CREATE INDEX payments_user_idx ON payments (user_id, created_at DESC);

CREATE TABLE webhooks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url               text NOT NULL CHECK (url ~ '^https?://'),
    description       text NOT NULL DEFAULT '',
    secret_ciphertext bytea NOT NULL,
    event_types       text[] NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_reason   text,
    failing_since     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    attempt         integer NOT NULL CHECK (attempt >= 1),
    outcome         text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'abandoned')),
    response_status integer,
    response_body   text CHECK (response_body IS NULL OR length(response_body) <= 4096),
    duration_ms     integer CHECK (duration_ms >= 0),
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
