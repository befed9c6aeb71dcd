-- The audit log (append-only, enforced by the database) and the strategy library.

CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY CHECK (seq >= 0),
    ts         timestamptz NOT NULL,
    agent      text NOT NULL,
    subject    text NOT NULL,
    kind       text NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
CREATE INDEX audit_log_agent_seq ON audit_log (agent, seq);
CREATE INDEX audit_log_subject ON audit_log (subject);

-- Rows can be added, never changed or removed. A superuser can still bypass this trigger with
-- SET session_replication_role = replica (ordinary triggers do not fire then): the hash chain,
-- not this trigger, is what detects such tampering.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit entries can only be inserted';
END
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE strategy_library (
    name        text PRIMARY KEY,
    strategy    text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(params) = 'object'),
    status      text NOT NULL DEFAULT 'candidate',
    parent      text,
    generation  integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
    variation   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    summary     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX strategy_library_strategy ON strategy_library (strategy);
CREATE INDEX strategy_library_parent ON strategy_library (parent) WHERE parent IS NOT NULL;
