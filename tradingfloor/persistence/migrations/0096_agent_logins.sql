-- Which agent each database login speaks for. Row-level security (0090) compared a row's agent
-- with session_user, so a login had to be named exactly like its agent: roles are cluster-wide,
-- so two floors sharing a PostgreSQL cluster reset each other's passwords, and an agent named like
-- an existing role (say "postgres") collided with it. Logins now carry names of their own
-- (tradingfloor/persistence/logins.py) and this table, written only by the migration owner, maps
-- them to agents. A collector (market data only) gets a group of its own.
CREATE TABLE agent_logins (
    login  name PRIMARY KEY,
    agent  text NOT NULL UNIQUE,
    kind   text NOT NULL CHECK (kind IN ('trader', 'auditor', 'monitor'))
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole))
       AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tf_collector') THEN
        BEGIN
            CREATE ROLE tf_collector NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created by another database of this cluster, or concurrently
        END;
    END IF;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    IF (SELECT count(*) FROM pg_roles
        WHERE rolname IN ('tf_trader', 'tf_auditor', 'tf_monitor', 'tf_floor', 'tf_collector')) < 5 THEN
        RAISE NOTICE 'least-privilege roles missing: agent login policies skipped';
        RETURN;
    END IF;
    EXECUTE 'GRANT SELECT ON agent_logins TO tf_trader, tf_auditor, tf_monitor, tf_floor, tf_collector';
    -- the collector archives market data and reads the rest; it writes nothing else
    EXECUTE 'GRANT USAGE ON SCHEMA public TO tf_collector';
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO tf_collector';
    EXECUTE 'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO tf_collector';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO tf_collector';
    EXECUTE 'GRANT INSERT, UPDATE ON markets, market_data TO tf_collector';
    EXECUTE 'GRANT INSERT ON market_data_dead_letter, system_events TO tf_collector';

    -- a trader's own rows, found through its login's mapping instead of its login's name
    FOREACH t IN ARRAY ARRAY['orders', 'trades', 'positions', 'agent_checkpoints', 'performance_metrics']
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS own_rows ON %I', t);
        EXECUTE format('CREATE POLICY own_rows ON %I TO tf_trader
            USING (agent = (SELECT l.agent FROM agent_logins l WHERE l.login = session_user))
            WITH CHECK (agent = (SELECT l.agent FROM agent_logins l WHERE l.login = session_user))', t);
    END LOOP;
    EXECUTE 'DROP POLICY IF EXISTS own_rows ON fills';
    EXECUTE 'DROP POLICY IF EXISTS own_status ON agents';
    EXECUTE 'CREATE POLICY own_rows ON fills TO tf_trader
        USING (EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = fills.client_order_id))
        WITH CHECK (EXISTS (SELECT 1 FROM orders o WHERE o.client_order_id = fills.client_order_id))';
    EXECUTE 'CREATE POLICY own_status ON agents FOR UPDATE TO tf_trader, tf_auditor, tf_monitor
        USING (name = (SELECT l.agent FROM agent_logins l WHERE l.login = session_user))
        WITH CHECK (name = (SELECT l.agent FROM agent_logins l WHERE l.login = session_user))';
END
$$;
