"""Kubernetes name and label rules, for manifests and for anything that puts a name into a path.

An agent's name becomes a Pod name, a label value, a database role suffix and a file name under
the state dir, so it must be an RFC 1123 label (at most 63 characters of ``a-z``, ``0-9`` and
``-``, alphanumeric at both ends). The CRDs enforce the same rule with a CEL rule on
``metadata.name``; label keys and values follow ``k8s.io/apimachinery``'s validation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
ANNOTATIONS_MAX_BYTES = 256 * 1024

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
QUALIFIED_NAME = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

_DNS_LABEL_RE = re.compile(DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(DNS_SUBDOMAIN)
_QUALIFIED_NAME_RE = re.compile(QUALIFIED_NAME)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE)


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def dns_label_error(value: object, what: str = "name") -> str | None:
    if not isinstance(value, str):
        return f"{what} must be a string, got {type(value).__name__}"
    if not value:
        return f"{what} must not be empty"
    if len(value) > DNS_LABEL_MAX:
        return f"{what} must be at most {DNS_LABEL_MAX} characters, got {len(value)}"
    if not _DNS_LABEL_RE.match(value):
        return (
            f"{what} {_show(value)} must consist of lower case letters, digits and '-', "
            "and start and end with a letter or digit"
        )
    return None


def _qualified_name_error(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > DNS_SUBDOMAIN_MAX or not _DNS_SUBDOMAIN_RE.match(prefix)):
        return f"label key {_show(key)}: prefix must be a DNS subdomain"
    if not name or len(name) > DNS_LABEL_MAX or not _QUALIFIED_NAME_RE.match(name):
        return (
            f"key {_show(key)}: name part must be at most 63 characters of letters, digits, '-', '_' "
            "or '.', starting and ending with a letter or digit"
        )
    return None


def label_errors(labels: object, where: str = "metadata.labels") -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [f"{where} must be a mapping, got {type(labels).__name__}"]
    errors = []
    for key, value in labels.items():
        if not isinstance(key, str):
            errors.append(f"{where}: key {key!r} must be a string")
            continue
        if (err := _qualified_name_error(key)) is not None:
            errors.append(f"{where}: {err}")
        if not isinstance(value, str):
            errors.append(f"{where}.{key}: value must be a string, got {type(value).__name__}")
        elif len(value) > LABEL_VALUE_MAX or not _LABEL_VALUE_RE.match(value):
            errors.append(
                f"{where}.{key}: value {_show(value)} must be at most 63 characters of letters, digits, "
                "'-', '_' or '.', starting and ending with a letter or digit"
            )
    return errors


def metadata_errors(meta: object) -> list[str]:
    """Problems with a manifest's ``metadata``, each naming the field (empty list = fine)."""
    if meta is None:
        return ["metadata.name is required (metadata is missing)"]
    if not isinstance(meta, dict):
        return [f"metadata must be a mapping, got {type(meta).__name__}"]
    errors = []
    if "name" not in meta:
        errors.append("metadata.name is required")
    elif (err := dns_label_error(meta["name"], "metadata.name")) is not None:
        errors.append(err)
    if "namespace" in meta and (err := dns_label_error(meta["namespace"], "metadata.namespace")):
        errors.append(err)
    errors += label_errors(meta.get("labels"))
    annotations = meta.get("annotations")
    if annotations is not None:
        if not isinstance(annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
        ):
            errors.append("metadata.annotations must map strings to strings")
        else:
            errors += [
                f"metadata.annotations: {err}"
                for k in annotations
                if (err := _qualified_name_error(k)) is not None
            ]
            size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
            if size > ANNOTATIONS_MAX_BYTES:
                errors.append(
                    f"metadata.annotations: total size {size} bytes exceeds {ANNOTATIONS_MAX_BYTES}"
                )
    return errors


def path_component(name: object, what: str = "agent name") -> str:
    """``name`` if it is safe as one file-name component (an RFC 1123 label: no '/', no '..');
    otherwise ValueError naming it. Use before joining an agent's name to a directory."""
    err = dns_label_error(name, what)
    if err is not None:
        raise ValueError(err)
    assert isinstance(name, str)
    return name


def child_path(directory: Path, name: object, suffix: str = "", what: str = "agent name") -> Path:
    """``directory / (name + suffix)`` after checking ``name``; the result never leaves ``directory``."""
    return Path(directory) / f"{path_component(name, what)}{suffix}"


def metadata_cel_rule() -> dict[str, str]:
    """The root-level CEL rule that gives the API server the same name rule as the models."""
    return {
        "rule": f"self.metadata.name.size() <= {DNS_LABEL_MAX} && self.metadata.name.matches('{DNS_LABEL}')",
        "message": "metadata.name must be an RFC 1123 label: at most 63 characters of a-z, 0-9 and '-', "
        "starting and ending with a letter or digit",
        "fieldPath": ".metadata.name",
    }


def as_metadata(meta: Any) -> dict[str, Any]:
    """``meta`` checked by :func:`metadata_errors`; raises ValueError listing every problem."""
    errors = metadata_errors(meta)
    if errors:
        raise ValueError("; ".join(errors))
    assert isinstance(meta, dict)
    return meta
