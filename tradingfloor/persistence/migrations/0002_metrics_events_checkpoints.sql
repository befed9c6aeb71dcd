-- Performance metrics, system events, agent checkpoints and the market-data archive.

CREATE TABLE performance_metrics (
    agent          text NOT NULL,
    ts             timestamptz NOT NULL,
    period         text NOT NULL,  -- the measurement window: '1h', '24h', '7d', 'all', …
    trades         integer NOT NULL DEFAULT 0 CHECK (trades >= 0),
    wins           integer NOT NULL DEFAULT 0 CHECK (wins >= 0),
    losses         integer NOT NULL DEFAULT 0 CHECK (losses >= 0),
    win_rate       numeric CHECK (win_rate BETWEEN 0 AND 1),
    pnl            numeric,
    fees           numeric,
    equity         numeric,
    sharpe         numeric,
    sortino        numeric,
    max_drawdown   numeric,
    profit_factor  numeric,
    extra          jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (agent, period, ts),
    CHECK (wins + losses <= trades)
);
CREATE INDEX performance_metrics_ts ON performance_metrics (ts);

CREATE TABLE system_events (
    id         bigserial PRIMARY KEY,
    ts         timestamptz NOT NULL DEFAULT now(),
    type       text NOT NULL,
    agent      text,
    reason     text NOT NULL DEFAULT '',
    message    text NOT NULL DEFAULT '',
    payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
    event_key  text UNIQUE  -- idempotency key of an event written through the journal
);
CREATE INDEX system_events_ts ON system_events (ts);
CREATE INDEX system_events_agent_ts ON system_events (agent, ts);
CREATE INDEX system_events_type_ts ON system_events (type, ts);

-- seq is the agent's own checkpoint counter; id records the order rows were written in.
CREATE TABLE agent_checkpoints (
    agent       text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 0),
    state       jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    PRIMARY KEY (agent, seq)
);

-- Append-mostly archive, written in batches (COPY); no primary-key lookups, so no natural key.
CREATE TABLE market_data (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    market_id   text NOT NULL,
    token_id    text,
    ts          timestamptz NOT NULL,
    kind        text NOT NULL,
    best_bid    numeric,
    best_ask    numeric,
    last_price  numeric,
    payload     jsonb
);
CREATE INDEX market_data_ts ON market_data (ts);
CREATE INDEX market_data_market_ts ON market_data (market_id, ts);
