-- A market is its condition id; its slug is a label. Two markets may carry one slug when a state
-- folder outlives its market (a simulated floor resumed with another seed lists its rounds under the
-- same slugs with other ids), and a trader recording such a market used to crash on markets_slug_key.
ALTER TABLE markets DROP CONSTRAINT IF EXISTS markets_slug_key;
CREATE INDEX IF NOT EXISTS markets_slug ON markets (slug);
