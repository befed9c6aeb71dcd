-- Core tables: agents (manifests + status of the one-machine floor), markets, orders, fills,
-- trades (closed positions), positions. Money and prices are NUMERIC; timestamps timestamptz.

CREATE TABLE agents (
    name             text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 253),
    kind             text NOT NULL CHECK (kind IN ('TraderAgent', 'Auditor', 'Monitor')),
    spec             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(spec) = 'object'),
    status           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(status) = 'object'),
    labels           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    -- bumped whenever spec changes (Kubernetes' metadata.generation; status.observedGeneration follows it)
    spec_generation  bigint NOT NULL DEFAULT 1 CHECK (spec_generation >= 1),
    -- lineage: clone generation and parent agent (no foreign key: a parent may live elsewhere)
    generation       integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
    parent           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    retired_at       timestamptz
);
CREATE INDEX agents_kind ON agents (kind);
CREATE INDEX agents_parent ON agents (parent) WHERE parent IS NOT NULL;

CREATE TABLE markets (
    condition_id      text PRIMARY KEY,
    slug              text NOT NULL UNIQUE,
    asset             text NOT NULL,
    interval          text NOT NULL,
    up_token_id       text NOT NULL,
    down_token_id     text NOT NULL,
    start_ts          timestamptz NOT NULL,
    end_ts            timestamptz NOT NULL,
    tick_size         numeric NOT NULL CHECK (tick_size > 0),
    min_size          numeric NOT NULL CHECK (min_size >= 0),
    fee_rate          numeric NOT NULL DEFAULT 0 CHECK (fee_rate >= 0),
    fee_exponent      integer NOT NULL DEFAULT 0 CHECK (fee_exponent >= 0),
    neg_risk          boolean NOT NULL DEFAULT false,
    price_to_beat     numeric,
    resolution        text CHECK (resolution IN ('Up', 'Down')),
    winning_token_id  text,
    final_price       numeric,
    resolved_at       timestamptz,
    info              jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (end_ts > start_ts),
    CHECK (up_token_id <> down_token_id),
    CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
CREATE INDEX markets_series ON markets (asset, interval, start_ts);
CREATE INDEX markets_end ON markets (end_ts);
CREATE INDEX markets_unresolved ON markets (end_ts) WHERE resolution IS NULL;

CREATE TABLE orders (
    client_order_id  text PRIMARY KEY,
    agent            text NOT NULL,
    market_id        text NOT NULL,
    token_id         text NOT NULL,
    side             text NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type       text NOT NULL CHECK (order_type IN ('FOK', 'FAK', 'GTC', 'GTD')),
    limit_price      numeric NOT NULL CHECK (limit_price > 0 AND limit_price <= 1),
    size             numeric NOT NULL CHECK (size > 0),
    filled_size      numeric NOT NULL DEFAULT 0 CHECK (filled_size >= 0),
    status           text NOT NULL CHECK (status IN
                         ('new', 'pending', 'resting', 'partial', 'filled', 'cancelled', 'rejected', 'expired', 'duplicate')),
    reason           text NOT NULL DEFAULT '',
    venue_order_id   text,
    mode             text NOT NULL DEFAULT 'paper' CHECK (mode IN ('paper', 'live')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX orders_agent_created ON orders (agent, created_at);
CREATE INDEX orders_market ON orders (market_id);
CREATE INDEX orders_open ON orders (agent) WHERE status IN ('new', 'pending', 'resting', 'partial');
CREATE UNIQUE INDEX orders_venue_order_id ON orders (venue_order_id) WHERE venue_order_id IS NOT NULL;

CREATE TABLE fills (
    fill_id          text PRIMARY KEY,
    client_order_id  text NOT NULL REFERENCES orders (client_order_id),
    price            numeric NOT NULL CHECK (price > 0 AND price <= 1),
    size             numeric NOT NULL CHECK (size > 0),
    fee              numeric NOT NULL DEFAULT 0 CHECK (fee >= 0),
    liquidity        text NOT NULL DEFAULT 'taker' CHECK (liquidity IN ('taker', 'maker')),
    ts               timestamptz NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY UNIQUE  -- insertion order
);
CREATE INDEX fills_order ON fills (client_order_id);
CREATE INDEX fills_ts ON fills (ts);

-- One closed bet: entry, then exit by sale or settlement. idempotency_key makes recording it
-- twice (a retry, a replayed journal) a no-op; id gives the order in which trades were recorded.
CREATE TABLE trades (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    agent            text NOT NULL,
    market_id        text NOT NULL,
    token_id         text NOT NULL,
    outcome          text CHECK (outcome IN ('Up', 'Down')),
    side             text NOT NULL DEFAULT 'BUY' CHECK (side IN ('BUY', 'SELL')),
    size             numeric NOT NULL CHECK (size >= 0),
    entry_price      numeric NOT NULL CHECK (entry_price >= 0),
    exit_price       numeric CHECK (exit_price >= 0),  -- sale price, or payout per share at settlement
    exit_kind        text NOT NULL CHECK (exit_kind IN ('sold', 'settled')),
    opened_at        timestamptz NOT NULL,
    closed_at        timestamptz NOT NULL,
    gross_pnl        numeric NOT NULL,
    fees             numeric NOT NULL DEFAULT 0 CHECK (fees >= 0),  -- taker fees + redemption costs
    net_pnl          numeric NOT NULL,
    mode             text NOT NULL DEFAULT 'paper' CHECK (mode IN ('paper', 'live')),
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (closed_at >= opened_at)
);
CREATE INDEX trades_agent_closed ON trades (agent, closed_at);
CREATE INDEX trades_market ON trades (market_id);
CREATE INDEX trades_closed ON trades (closed_at);

CREATE TABLE positions (
    agent         text NOT NULL,
    token_id      text NOT NULL,
    market_id     text NOT NULL,
    outcome       text CHECK (outcome IN ('Up', 'Down')),
    size          numeric NOT NULL CHECK (size >= 0),
    avg_price     numeric NOT NULL DEFAULT 0 CHECK (avg_price >= 0),
    cost          numeric NOT NULL DEFAULT 0 CHECK (cost >= 0),  -- cost basis of the open shares, fees excluded
    fees          numeric NOT NULL DEFAULT 0 CHECK (fees >= 0),
    realized_pnl  numeric NOT NULL DEFAULT 0,
    opened_at     timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent, token_id)
);
CREATE INDEX positions_open ON positions (agent) WHERE size > 0;
CREATE INDEX positions_market ON positions (market_id);
