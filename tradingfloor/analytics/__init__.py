"""Performance analytics (floats are fine here; the ledger keeps Decimals)."""
