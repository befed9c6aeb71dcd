"""Logging and metrics helpers shared by every process."""
