"""Typed custom-resource models (pydantic v2): the single source for the CRDs under ``crds/``."""
