"""Trading core: fees, orders, the paper broker and its ledger, sizing, risk and the engine pipeline."""
