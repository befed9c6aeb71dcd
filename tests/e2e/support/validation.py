"""What the API server does to a custom resource before storing it: prune fields the schema does not
know (or reject them under fieldValidation=Strict), apply schema defaults, check the OpenAPI schema and
the CEL rules. The schema and CEL checks are tests/k8s_schema.py's, shared with the model tests."""

from __future__ import annotations

import copy
from typing import Any

from tests import k8s_schema

ROOT_KEYS = {"apiVersion", "kind", "metadata"}


def prune(schema: dict[str, Any], obj: Any, path: str = "", unknown: list[str] | None = None) -> Any:
    """``obj`` without the fields ``schema`` does not declare; their paths are appended to ``unknown``."""
    unknown = [] if unknown is None else unknown
    if isinstance(obj, dict) and schema.get("type") == "object":
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return obj
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is None and isinstance(extra, dict):
            return {k: prune(extra, v, f"{path}.{k}", unknown) for k, v in obj.items()}
        props = props or {}
        kept = {}
        for key, value in obj.items():
            if not path and key in ROOT_KEYS:
                kept[key] = value  # the API server checks metadata itself, not through the schema
            elif key in props:
                kept[key] = prune(props[key], value, f"{path}.{key}", unknown)
            else:
                unknown.append(f"{path}.{key}".lstrip("."))
        return kept
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [prune(schema["items"], item, f"{path}[{i}]", unknown) for i, item in enumerate(obj)]
    return obj


def admit(
    schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None, strict: bool
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(the object as it would be stored, errors, warnings). Errors make the request fail with 422."""
    unknown: list[str] = []
    pruned = prune(schema, copy.deepcopy(obj), "", unknown)
    if unknown and strict:
        return obj, [f'.{u}: unknown field "{u}"' for u in unknown], []
    warnings = [f'unknown field "{u}"' for u in unknown]
    body = {k: v for k, v in pruned.items() if k not in ROOT_KEYS}
    meta = {k: pruned[k] for k in ROOT_KEYS if k in pruned}
    defaulted = k8s_schema.apply_defaults(schema, body)
    stored = {**meta, **defaulted}
    checked = {k: v for k, v in stored.items() if k != "metadata"}
    old_checked = None if old is None else {k: v for k, v in old.items() if k != "metadata"}
    errors = k8s_schema.validate(_without_metadata(schema), checked, old_checked)
    return stored, errors, warnings


def _without_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k != "metadata"}
    return {**schema, "properties": props}
