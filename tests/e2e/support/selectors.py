"""Label selectors (equality- and set-based, as `kubectl -l` sends them) and the field selectors the
API server supports for every kind (metadata.name, metadata.namespace) plus a few Pod fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """A selector this server cannot parse (HTTP 400)."""


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def _requirement(term: str) -> Predicate:
    term = term.strip()
    if m := _SET.match(term):
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in term:
            key, _, value = (s.strip() for s in term.partition(op))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = term[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[\w./-]+", term):
        return lambda labels: term in labels
    raise SelectorError(f"unable to parse requirement: {term!r}")


def label_selector(text: str | None) -> Predicate:
    if not text:
        return lambda obj: True
    reqs = [_requirement(t) for t in _split(text)]
    return lambda obj: all(r(obj.get("metadata", {}).get("labels") or {}) for r in reqs)


FIELDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "metadata.name": lambda o: o["metadata"].get("name"),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase"),
    "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName"),
    "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name"),
    "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind"),
    "involvedObject.uid": lambda o: (o.get("involvedObject") or {}).get("uid"),
    "reason": lambda o: o.get("reason"),
    "type": lambda o: o.get("type"),
}


def field_selector(text: str | None) -> Predicate:
    if not text:
        return lambda obj: True
    checks = []
    for term in text.split(","):
        negate = "!=" in term
        name, _, value = term.replace("!=", "=").replace("==", "=").partition("=")
        name = name.strip()
        if name not in FIELDS:
            raise SelectorError(f'field label not supported: "{name}"')
        get = FIELDS[name]
        checks.append((get, value.strip(), negate))
    return lambda obj: all((str(get(obj) or "") == value) != negate for get, value, negate in checks)
