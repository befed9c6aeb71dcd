-- The trader agent's ledger on the shared tables: a live order's signed form, made durable before
-- it is sent (status 'new' until the venue answers), so a restarted agent can adopt and reconcile it.
-- Additive only.

ALTER TABLE orders ADD COLUMN IF NOT EXISTS submission jsonb;
CREATE INDEX IF NOT EXISTS orders_unsent_submission ON orders (agent)
    WHERE status = 'new' AND submission IS NOT NULL;
