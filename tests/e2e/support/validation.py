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
    schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None, strict: bool, cel: bool = True
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
    return stored, _errors(schema, checked, old_checked, cel), warnings


def _errors(schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None, cel: bool) -> list[str]:
    """OpenAPI errors, then the CEL rules of every top-level field that changed: unchanged fields are
    not checked again (the API server's validation ratcheting, Kubernetes ≥ 1.30), which also keeps
    status writes cheap — cel-python interprets each rule in milliseconds."""
    stripped = _without_metadata(schema)
    validator = k8s_schema._validator(stripped)
    errors = [
        f".{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)
    ]
    if errors or not cel:
        return errors
    old = None if old is None else k8s_schema.apply_defaults(schema, copy.deepcopy(old))
    for key, sub in (stripped.get("properties") or {}).items():
        if key not in obj or obj[key] is None:
            continue
        if old is None or key not in old:
            errors += k8s_schema.cel_errors(sub, obj[key], path=f".{key}")
        elif old[key] != obj[key]:
            errors += k8s_schema.cel_errors(sub, obj[key], old[key], f".{key}")
    return errors


_stripped: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _without_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its metadata node, made once per CRD schema (the validators are cached by it)."""
    cached = _stripped.get(id(schema))
    if cached is None or cached[0] is not schema:
        props = {k: v for k, v in (schema.get("properties") or {}).items() if k != "metadata"}
        cached = (schema, {**schema, "properties": props})
        _stripped[id(schema)] = cached
    return cached[1]
