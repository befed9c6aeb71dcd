-- Whoever archives market data (a trader's role, tf_trader, per 0090) also sets aside the rows the
-- archive refuses: market_data_dead_letter was created before the roles existed.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tf_trader') THEN
        RAISE NOTICE 'least-privilege roles missing: dead-letter grant skipped';
        RETURN;
    END IF;
    EXECUTE 'GRANT INSERT ON market_data_dead_letter TO tf_trader';
END
$$;
