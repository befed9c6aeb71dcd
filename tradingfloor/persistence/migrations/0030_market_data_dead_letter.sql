-- Market-data rows the archive could not store (a value PostgreSQL refuses, a timestamp out of
-- range): kept here with the reason instead of blocking every later batch. The event is stored as
-- its JSON bytes (bytea: the offending value may be one that text columns refuse, such as NUL).
CREATE TABLE market_data_dead_letter (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    kind         text NOT NULL,
    error        text NOT NULL,
    event        bytea NOT NULL
);
CREATE INDEX market_data_dead_letter_recorded ON market_data_dead_letter (recorded_at);
