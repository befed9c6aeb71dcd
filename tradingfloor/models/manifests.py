"""Load and validate agent manifests (YAML files as applied with kubectl) into typed models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from tradingfloor.models.auditor import Auditor, AuditorSpec, AuditorStatus
from tradingfloor.models.common import API_VERSION, WorkloadStatus
from tradingfloor.models.monitor import Monitor, MonitorSpec, MonitorStatus
from tradingfloor.models.trader_agent import TraderAgent, TraderAgentSpec, TraderAgentStatus

Resource = TraderAgent | Auditor | Monitor
MODELS: dict[str, type[Resource]] = {"TraderAgent": TraderAgent, "Auditor": Auditor, "Monitor": Monitor}
AgentKind = Literal["TraderAgent", "Auditor", "Monitor"]
KINDS: dict[str, AgentKind] = {"TraderAgent": "TraderAgent", "Auditor": "Auditor", "Monitor": "Monitor"}
AgentSpec = TraderAgentSpec | AuditorSpec | MonitorSpec
# each kind's spec and status models, for code that holds a resource as plain spec and status dicts
SPEC_AND_STATUS: dict[str, tuple[type[AgentSpec], type[WorkloadStatus]]] = {
    "TraderAgent": (TraderAgentSpec, TraderAgentStatus),
    "Auditor": (AuditorSpec, AuditorStatus),
    "Monitor": (MonitorSpec, MonitorStatus),
}


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the object and the field."""


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        parts.append(f"{loc or '(object)'}: {err['msg']}")
    return "; ".join(parts)


def parse_resource(doc: dict[str, Any], source: str = "<manifest>") -> Resource:
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: expected a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    name = (doc.get("metadata") or {}).get("name", "?")
    if kind not in MODELS:
        raise ManifestError(f"{source}: kind {kind!r} is not one of {sorted(MODELS)}")
    if doc.get("apiVersion") != API_VERSION:
        raise ManifestError(
            f"{source}: {kind}/{name}: apiVersion must be {API_VERSION}, got {doc.get('apiVersion')!r}"
        )
    if not (doc.get("metadata") or {}).get("name"):
        raise ManifestError(f"{source}: {kind}: metadata.name is required")
    try:
        return MODELS[kind].model_validate(doc)
    except ValidationError as exc:
        raise ManifestError(f"{source}: {kind}/{name}: {_describe(exc)}") from None


def load_manifests(path: Path) -> Iterator[Resource]:
    """Every resource in a YAML file, or in every *.yaml / *.yml file of a folder (sorted)."""
    path = Path(path)
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    for file in files:
        try:
            docs = list(yaml.safe_load_all(file.read_text()))
        except (OSError, yaml.YAMLError) as exc:
            raise ManifestError(f"{file}: cannot read YAML: {exc}") from None
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            yield parse_resource(doc, f"{file}#{index}")
