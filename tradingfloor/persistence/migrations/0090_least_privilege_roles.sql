-- Least privilege in the database: one group role per kind of process, each granted only what
-- that kind does. The migration owner (who runs these files) keeps ownership of every table and
-- trigger, so nobody else can ALTER a table or disable the audit log's triggers.
--
--   tf_trader   reads the floor; writes only its OWN ledger rows (orders, fills, trades,
--               positions, checkpoints, metrics, its agents.status): row-level security compares
--               the row's agent with session_user, so a trader logs in as a role named like its
--               agent (see docs/security.md); writes market data it collects.
--   tf_auditor  reads everything; may only INSERT into audit_log (and post events).
--   tf_monitor  reads everything; inserts performance metrics and events, writes its status.
--   tf_floor    the Floor Boss / local floor: agents, the strategy library, events.
--
-- Roles are cluster-wide, so they are created only if missing, and only when the migration user
-- may create roles (a managed database without CREATEROLE gets the grants from its admin instead).
DO $$
DECLARE
    r text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        RAISE NOTICE 'skipping role creation: % may not create roles', current_user;
        RETURN;
    END IF;
    FOREACH r IN ARRAY ARRAY['tf_trader', 'tf_auditor', 'tf_monitor', 'tf_floor'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created by another database of this cluster, or concurrently
        END;
    END LOOP;
END
$$;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('tf_trader', 'tf_auditor', 'tf_monitor', 'tf_floor')) < 4 THEN
        RAISE NOTICE 'least-privilege roles missing: grants skipped';
        RETURN;
    END IF;
    EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC';
    EXECUTE 'REVOKE CREATE ON SCHEMA public FROM PUBLIC';
    EXECUTE 'GRANT USAGE ON SCHEMA public TO tf_trader, tf_auditor, tf_monitor, tf_floor';
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO tf_trader, tf_auditor, tf_monitor, tf_floor';
    EXECUTE 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tf_trader, tf_auditor, tf_monitor, tf_floor';
    -- tables a later migration adds are readable by every kind, writable by none until granted
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO tf_trader, tf_auditor, tf_monitor, tf_floor';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO tf_trader, tf_auditor, tf_monitor, tf_floor';

    -- traders: their own ledger, the market data they collect
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON orders, fills, trades, positions, agent_checkpoints TO tf_trader';
    EXECUTE 'GRANT INSERT ON performance_metrics TO tf_trader';
    EXECUTE 'GRANT INSERT, UPDATE ON markets, market_data TO tf_trader';
    EXECUTE 'GRANT INSERT ON market_data_dead_letter TO tf_trader';
    -- the auditor appends to the audit log; nothing else it writes but events
    EXECUTE 'GRANT INSERT ON audit_log TO tf_auditor';
    -- the monitor writes metrics for every agent
    EXECUTE 'GRANT INSERT ON performance_metrics TO tf_monitor';
    -- every agent reports its own status; events are the floor's journal
    EXECUTE 'GRANT UPDATE (status, updated_at) ON agents TO tf_trader, tf_auditor, tf_monitor';
    EXECUTE 'GRANT INSERT ON system_events TO tf_trader, tf_auditor, tf_monitor, tf_floor';
    -- the Floor Boss / local floor manages agents and the library
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON agents, strategy_library TO tf_floor';
    EXECUTE 'GRANT INSERT, UPDATE ON performance_metrics TO tf_floor';
END
$$;

-- Row-level security: a trader sees and writes only rows of the agent it logs in as. The table
-- owner is not subject to these policies (it runs migrations and the tests' fixtures).
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE fills ENABLE ROW LEVEL SECURITY;
ALTER TABLE trades ENABLE ROW LEVEL SECURITY;
ALTER TABLE positions ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE performance_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('tf_trader', 'tf_auditor', 'tf_monitor', 'tf_floor')) < 4 THEN
        RETURN;
    END IF;
    -- everyone but traders reads every row
    EXECUTE 'CREATE POLICY readers ON orders FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY readers ON fills FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY readers ON trades FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY readers ON positions FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY readers ON agent_checkpoints FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY readers ON performance_metrics FOR SELECT TO tf_auditor, tf_monitor, tf_floor USING (true)';
    EXECUTE 'CREATE POLICY metrics_writers ON performance_metrics FOR INSERT TO tf_monitor, tf_floor WITH CHECK (true)';
    EXECUTE 'CREATE POLICY readers ON agents FOR SELECT TO tf_trader, tf_auditor, tf_monitor USING (true)';
    EXECUTE 'CREATE POLICY floor_manages ON agents TO tf_floor USING (true) WITH CHECK (true)';
    -- a trader: its own rows only
    EXECUTE 'CREATE POLICY own_rows ON orders TO tf_trader USING (agent = session_user) WITH CHECK (agent = session_user)';
    EXECUTE 'CREATE POLICY own_rows ON trades TO tf_trader USING (agent = session_user) WITH CHECK (agent = session_user)';
    EXECUTE 'CREATE POLICY own_rows ON positions TO tf_trader USING (agent = session_user) WITH CHECK (agent = session_user)';
    EXECUTE 'CREATE POLICY own_rows ON agent_checkpoints TO tf_trader USING (agent = session_user) WITH CHECK (agent = session_user)';
    EXECUTE 'CREATE POLICY own_rows ON performance_metrics TO tf_trader USING (agent = session_user) WITH CHECK (agent = session_user)';
    EXECUTE 'CREATE POLICY own_rows ON fills TO tf_trader
        USING (EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = fills.client_order_id AND o.agent = session_user))
        WITH CHECK (EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = fills.client_order_id AND o.agent = session_user))';
    -- every agent updates its own status row
    EXECUTE 'CREATE POLICY own_status ON agents FOR UPDATE TO tf_trader, tf_auditor, tf_monitor
        USING (name = session_user) WITH CHECK (name = session_user)';
END
$$;
