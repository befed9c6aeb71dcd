"""Strategies: pure functions of market events to trade intents, one module per strategy."""
