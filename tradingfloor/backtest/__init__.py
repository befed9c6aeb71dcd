"""Backtester: replays recorded or simulated events through the live trading engine."""
