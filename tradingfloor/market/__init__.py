"""Market data: normalized events, the Polymarket adapter, order books, collector, recorder."""
