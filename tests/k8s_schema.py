"""What the Kubernetes API server does with a custom resource, for tests: apply the CRD schema's
defaults, validate against its OpenAPI v3 schema, and evaluate its CEL rules (with ``oldSelf`` on
updates). The emulator used by the operator tests does none of this, so tests call it directly.

CEL is evaluated with cel-python; OpenAPI is checked with jsonschema after mapping the
Kubernetes extensions (nullable, int-or-string) to plain JSON Schema.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

_MISSING = object()


def load_crd_schema(crd_path: Path) -> dict:
    crd = yaml.safe_load(Path(crd_path).read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def apply_defaults(schema: dict, obj: Any) -> Any:
    if isinstance(obj, dict) and "properties" in schema:
        for name, sub in schema["properties"].items():
            if name not in obj and "default" in sub:
                obj[name] = copy.deepcopy(sub["default"])
            if name in obj:
                obj[name] = apply_defaults(sub, obj[name])
    elif isinstance(obj, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in obj]
    return obj


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"
    }
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if (
        node.get("type") == "object"
        and "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False  # the API server's strict field validation
    return out


_env = celpy.Environment()


@functools.cache
def _program(rule: str) -> Any:
    """Compiling a rule costs ~40 ms; the end-to-end API server evaluates the same few on every write."""
    return _env.program(_env.compile(rule))


def _cel(rule: str, self_value: Any, old_value: Any) -> bool:
    program = _program(rule)
    activation = {"self": celpy.json_to_cel(self_value)}
    if old_value is not _MISSING:
        activation["oldSelf"] = celpy.json_to_cel(old_value)
    return bool(program.evaluate(activation))


def cel_errors(schema: dict, obj: Any, old: Any = _MISSING, path: str = "") -> list[str]:
    errors = []
    for rule in schema.get("x-kubernetes-validations", []):
        is_transition = "oldSelf" in rule["rule"]
        if is_transition and old is _MISSING:
            continue
        if not _cel(rule["rule"], obj, old):
            errors.append(f"{path}{rule.get('fieldPath', '')}: {rule['message']}")
    if isinstance(obj, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in obj and obj[name] is not None:
                old_sub = old.get(name, _MISSING) if isinstance(old, dict) else _MISSING
                errors += cel_errors(sub, obj[name], old_sub, f"{path}.{name}")
    return errors


_validators: dict[int, tuple[dict, jsonschema.Draft7Validator]] = {}


def _validator(schema: dict) -> jsonschema.Draft7Validator:
    """One validator per schema object (kept with it, so its id is never reused while cached)."""
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, jsonschema.Draft7Validator(to_json_schema(schema)))
        _validators[id(schema)] = cached
    return cached[1]


def validate(schema: dict, obj: dict, old: dict | None = None) -> list[str]:
    """Errors the API server would report (empty list = accepted). ``obj`` gets its defaults applied."""
    obj = apply_defaults(schema, copy.deepcopy(obj))
    validator = _validator(schema)
    errors = [
        f".{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)
    ]
    if errors:
        return errors
    old_obj = apply_defaults(schema, copy.deepcopy(old)) if old is not None else _MISSING
    return cel_errors(schema, obj, old_obj)
