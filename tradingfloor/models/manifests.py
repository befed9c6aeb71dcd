"""Load and validate agent manifests (YAML files as applied with kubectl) into typed models.

The rules are the API server's: the same name and label rules, the same strict typing, unknown
fields refused, and the YAML limits of ``yaml_input``. Every problem is a ``ManifestError``
naming the file, the object and the field; no input ends in a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from tradingfloor.models.common import API_VERSION
from tradingfloor.models.names import metadata_errors
from tradingfloor.models.yaml_input import YAMLInputError, load_documents
from tradingfloor.structs import ModelError, parse

if TYPE_CHECKING:
    from tradingfloor.models.auditor import Auditor
    from tradingfloor.models.monitor import Monitor
    from tradingfloor.models.trader_agent import TraderAgent

Resource: TypeAlias = "TraderAgent | Auditor | Monitor"

# The module of each kind's model, imported when a document of that kind is first read: an agent
# process builds only its own kind's validators (the other two cost ~0.4 MiB in every trader).
MODEL_MODULES: dict[str, str] = {
    "TraderAgent": "tradingfloor.models.trader_agent",
    "Auditor": "tradingfloor.models.auditor",
    "Monitor": "tradingfloor.models.monitor",
}


def model_of(kind: str) -> type[Resource]:
    """The model of ``kind`` (one of ``MODEL_MODULES``)."""
    model: type[Resource] = getattr(importlib.import_module(MODEL_MODULES[kind]), kind)
    return model


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, the object and the field."""


def _name_of(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name[:63] if isinstance(name, str) and name else "?"


def parse_resource(doc: Any, source: str = "<manifest>") -> Resource:
    if not isinstance(doc, dict):
        raise ManifestError(f"{source}: expected a mapping, got {type(doc).__name__}")
    kind = doc.get("kind")
    name = _name_of(doc)
    if not isinstance(kind, str) or kind not in MODEL_MODULES:
        raise ManifestError(f"{source}: kind {kind!r} is not one of {sorted(MODEL_MODULES)}")
    if doc.get("apiVersion") != API_VERSION:
        raise ManifestError(
            f"{source}: {kind}/{name}: apiVersion must be {API_VERSION}, got {doc.get('apiVersion')!r}"
        )
    problems = metadata_errors(doc.get("metadata"))
    if problems:
        raise ManifestError(f"{source}: {kind}/{name}: {'; '.join(problems)}")
    try:
        return parse(model_of(kind), doc)
    except ModelError as exc:
        raise ManifestError(f"{source}: {kind}/{name}: {exc.path or '(object)'}: {exc.problem}") from None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise ManifestError(f"{path}: no *.yaml or *.yml files in this folder")
        return files
    if not path.exists():
        raise ManifestError(f"{path}: no such file")
    return [path]


def load_manifests(path: Path) -> Iterator[Resource]:
    """Every resource in a YAML file, or in every *.yaml / *.yml file of a folder (sorted)."""
    for file in _files(Path(path)):
        try:
            docs = load_documents(file.read_bytes(), str(file))
        except OSError as exc:
            raise ManifestError(f"{file}: cannot read: {exc.strerror or exc}") from None
        except YAMLInputError as exc:
            raise ManifestError(str(exc)) from None
        if not docs:
            raise ManifestError(f"{file}: no manifest in this file (empty, or only comments)")
        for index, doc in enumerate(docs):
            yield parse_resource(doc, f"{file}#{index}")
