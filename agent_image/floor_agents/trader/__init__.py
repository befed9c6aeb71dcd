"""The trader agent process: ``floor agent trader`` (see docs/trader-agent.md)."""
