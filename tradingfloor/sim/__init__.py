"""A local Polymarket-compatible simulator: a deterministic market model and a server speaking
Gamma, CLOB REST, the market WebSocket and an RTDS-shaped spot stream at the real paths."""
