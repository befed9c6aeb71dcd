"""Typed custom-resource models (msgspec Structs): the single source for the CRDs under ``crds/``."""
