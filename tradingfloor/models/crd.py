"""Generate the CustomResourceDefinitions under ``crds/`` from the models (msgspec Structs).

The models are the single source of truth. Their JSON Schema is turned into a Kubernetes
*structural* OpenAPI v3 schema: references inlined, ``Optional`` made ``nullable``, ``int | str``
made ``x-kubernetes-int-or-string``, titles dropped, nested objects defaulted to ``{}`` so their
own defaults apply, and the CEL rules attached where the models declare them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradingfloor import structs
from tradingfloor.models import auditor, monitor, trader_agent
from tradingfloor.models.common import CATEGORY, GROUP, VERSION
from tradingfloor.models.names import metadata_cel_rule
from tradingfloor.models.params_rules import params_rules


@dataclass(frozen=True)
class ResourceKind:
    kind: str
    plural: str
    short_names: list[str]
    spec_model: type
    status_model: type
    printer_columns: list[dict[str, Any]]
    spec_rules: list[dict[str, Any]] = field(default_factory=list)
    root_rules: list[dict[str, Any]] = field(default_factory=list)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def filename(self) -> str:
        return f"{GROUP}_{self.plural}.yaml"


RESOURCES: dict[str, ResourceKind] = {
    "TraderAgent": ResourceKind(
        "TraderAgent",
        trader_agent.PLURAL,
        ["ta", "trader"],
        trader_agent.TraderAgentSpec,
        trader_agent.TraderAgentStatus,
        trader_agent.PRINTER_COLUMNS,
        [*trader_agent.SPEC_RULES, *params_rules()],  # built here: a trader process never needs them
        trader_agent.ROOT_RULES,
    ),
    "Auditor": ResourceKind(
        "Auditor",
        auditor.PLURAL,
        ["aud"],
        auditor.AuditorSpec,
        auditor.AuditorStatus,
        auditor.PRINTER_COLUMNS,
    ),
    "Monitor": ResourceKind(
        "Monitor",
        monitor.PLURAL,
        ["mon"],
        monitor.MonitorSpec,
        monitor.MonitorStatus,
        monitor.PRINTER_COLUMNS,
    ),
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = copy.deepcopy(defs[node["$ref"].split("/")[-1]])
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return _inline({**target, **extra}, defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _structural(node: Any) -> Any:
    """Rewrite one inlined JSON-Schema node (recursively) into a structural OpenAPI node."""
    if not isinstance(node, dict):
        return node
    node = dict(node)
    node.pop("title", None)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("required") == []:
        del node["required"]
    variants = node.pop("anyOf", None)
    if variants is not None:
        non_null = [v for v in variants if v.get("type") != "null"]
        types = sorted(v.get("type") for v in non_null)
        if types == ["integer", "string"]:
            node["x-kubernetes-int-or-string"] = True
        elif len(non_null) == 1:
            node = _structural({**non_null[0], **node})
        else:
            raise ValueError(f"cannot express anyOf {variants} structurally")
        if len(non_null) < len(variants):
            node["nullable"] = True
        if node.get("default", "absent") is None:
            del node["default"]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "enum" in node and "type" not in node and all(isinstance(v, str) for v in node["enum"]):
        node["type"] = "string"  # a structural schema types every node
    if node.get("default") == []:
        del node["default"]  # an empty list is what an absent one means; the API server need not write it
    if "properties" in node:
        node["type"] = "object"
        required = set(node.get("required", []))
        props = {}
        for name, sub in node["properties"].items():
            sub = _structural(sub)
            defaultable = not sub.get("nullable") and not sub.get("required")
            if sub.get("type") == "object" and name not in required and "default" not in sub and defaultable:
                sub["default"] = {}
            props[name] = sub
        node["properties"] = props
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = _structural(node["additionalProperties"])
    if "items" in node:
        node["items"] = _structural(node["items"])
    return node


def model_schema(model: type) -> dict[str, Any]:
    raw = structs.schema(model)
    schema: dict[str, Any] = _structural(_inline(raw, raw.get("$defs", {})))
    return schema


def _conditions_as_map(status: dict[str, Any]) -> None:
    conditions = status["properties"].get("conditions")
    if conditions:
        conditions["x-kubernetes-list-type"] = "map"
        conditions["x-kubernetes-list-map-keys"] = ["type"]
        conditions["maxItems"] = 16


def build_crd(res: ResourceKind) -> dict[str, Any]:
    spec = model_schema(res.spec_model)
    spec.pop("description", None)
    if res.spec_rules:
        spec["x-kubernetes-validations"] = res.spec_rules
    status = model_schema(res.status_model)
    status.pop("description", None)
    _conditions_as_map(status)
    for recent in [status["properties"].get("restarts", {}).get("properties", {}).get("recent")]:
        if recent:
            recent["maxItems"] = 1001
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": res.crd_name, "labels": {"app.kubernetes.io/part-of": "trading-floor"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": res.kind,
                "listKind": f"{res.kind}List",
                "plural": res.plural,
                "singular": res.singular,
                "shortNames": res.short_names,
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": res.printer_columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": (res.spec_model.__doc__ or res.kind).strip().splitlines()[0],
                            "required": ["spec"],
                            "x-kubernetes-validations": [metadata_cel_rule(), *res.root_rules],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


HEADER = "# Generated by `floor crds` from tradingfloor/models; do not edit by hand.\n"


def render_crds() -> dict[str, str]:
    """File name → YAML text for every CRD."""
    return {
        res.filename: HEADER + yaml.safe_dump(build_crd(res), sort_keys=False, width=120)
        for res in RESOURCES.values()
    }


def write_crds(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_crds().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale_crds(directory: Path) -> list[str]:
    """Names of CRD files that are missing or differ from what the models generate."""
    stale = []
    for name, text in render_crds().items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    return stale
