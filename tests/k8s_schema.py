"""What the Kubernetes API server does with a custom resource, for tests: decode the request
(size limit, strict decoding: duplicate fields refused), check ``metadata`` (object name and
label rules of k8s.io/apimachinery), apply the CRD schema's defaults, validate against its
OpenAPI v3 schema, and evaluate its CEL rules (with ``oldSelf`` on updates; a rule that fails to
evaluate rejects the object). The emulator used by the operator tests does none of this, so
tests call it directly.

Written apart from tradingfloor/models on purpose (its own regexes, its own YAML walk), so tests
comparing the two doors compare two implementations. CEL is evaluated with cel-python; OpenAPI is
checked with jsonschema after mapping the Kubernetes extensions (nullable, int-or-string).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

_MISSING = object()

MAX_REQUEST_BYTES = 3 * 1024 * 1024  # the API server's request body limit
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


class _Stop(Exception):
    pass


def _walk_dupes_and_size(node: yaml.Node, seen: dict[int, int], budget: list[int]) -> int:
    """Expanded size of ``node``; raises _Stop on a duplicated key or an excessive expansion."""
    if id(node) in seen:
        size = seen[id(node)]
    elif isinstance(node, yaml.MappingNode):
        keys = [k.value for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
        if len(keys) != len(set(keys)):
            raise _Stop(f"duplicate field in mapping at line {node.start_mark.line + 1}")
        size = 1 + sum(
            _walk_dupes_and_size(k, seen, budget) + _walk_dupes_and_size(v, seen, budget)
            for k, v in node.value
        )
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_walk_dupes_and_size(v, seen, budget) for v in node.value)
    else:
        size = 1
    seen[id(node)] = size
    budget[0] += size
    if budget[0] > 1_000_000:
        raise _Stop("document contains excessive aliasing")
    return size


def decode_request(data: bytes) -> tuple[list[Any], list[str]]:
    """(documents, errors) as kubectl + the API server would turn a YAML file into objects."""
    if len(data) > MAX_REQUEST_BYTES:
        return [], ["request entity too large"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], ["invalid UTF-8"]
    if max(text.count("["), text.count("{")) > 10000:  # rough: the decoder's nesting limit is 10000
        return [], ["exceeded max depth"]
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        for node in nodes:
            if node is not None:
                _walk_dupes_and_size(node, {}, [0])
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except _Stop as exc:
        return [], [str(exc)]
    except RecursionError:
        return [], ["exceeded max depth"]
    except yaml.YAMLError as exc:
        return [], [f"yaml: {exc}"]
    if not docs:
        return [], ["no objects passed to apply"]
    return docs, []


def metadata_errors(meta: Any) -> list[str]:
    """ObjectMeta validation for a namespaced custom resource (apimachinery's rules)."""
    if not isinstance(meta, dict):
        return [".metadata: must be an object"]
    errors = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        errors.append(".metadata.name: Required value")
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        errors.append(".metadata.name: Invalid value: a lowercase RFC 1123 subdomain")
    namespace = meta.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or len(namespace) > 63 or not _LABEL.match(namespace)
    ):
        errors.append(".metadata.namespace: Invalid value")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [*errors, ".metadata.labels: must be a map of strings"]
    for key, value in labels.items():
        prefix, _, local = str(key).rpartition("/")
        if (
            not isinstance(key, str)
            or (prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)))
            or (not prefix and "/" in key)
            or len(local) > 63
            or not _QUALIFIED.match(local)
        ):
            errors.append(f".metadata.labels: Invalid value: {key!r}: a qualified name")
        if not isinstance(value, str) or (value and (len(value) > 63 or not _QUALIFIED.match(value))):
            errors.append(f".metadata.labels: Invalid value: {value!r}: a valid label value")
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        errors.append(".metadata.annotations: must be a map of strings")
    return errors


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
    """True when the rule holds; a rule that errors at run time rejects, as on the API server."""
    program = _program(rule)
    activation = {"self": celpy.json_to_cel(self_value)}
    if old_value is not _MISSING:
        activation["oldSelf"] = celpy.json_to_cel(old_value)
    try:
        result = program.evaluate(activation)
    except celpy.CELEvalError:
        return False
    return result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result))


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


def as_kubectl_sends(value: Any) -> Any:
    """``value`` as it reaches the API server from kubectl: YAML becomes JSON through Go's
    encoding/json, which writes a whole float64 without a fraction (``1.0`` is sent as ``1``, then
    decoded as an int64), so a CEL rule compares it as an integer."""
    if isinstance(value, dict):
        return {k: as_kubectl_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_kubectl_sends(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:  # 1e21 and up: exponent form
        return int(value)
    return value


def validate(schema: dict, obj: dict, old: dict | None = None) -> list[str]:
    """Errors the API server would report (empty list = accepted). ``obj`` gets its defaults applied."""
    if not isinstance(obj, dict):
        return [": must be an object"]
    obj, old = as_kubectl_sends(obj), as_kubectl_sends(old)
    meta_errors = metadata_errors(obj.get("metadata"))
    if meta_errors:
        return meta_errors
    obj = apply_defaults(schema, copy.deepcopy(obj))
    validator = _validator(schema)
    errors = [
        f".{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)
    ]
    if errors:
        return errors
    old_obj = apply_defaults(schema, copy.deepcopy(old)) if old is not None else _MISSING
    return cel_errors(schema, obj, old_obj)
