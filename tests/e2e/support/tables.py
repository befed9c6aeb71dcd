"""Table responses for `kubectl get`: a CRD's additionalPrinterColumns (evaluated with the small JSONPath
subset those columns use) or the server-side columns of the built-in kinds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from tests.e2e.support.resources import ResourceType

_TOKEN = re.compile(r"\.([\w-]+)|\[\?\(@\.([\w.-]+)\s*==\s*['\"]([^'\"]*)['\"]\)\]|\[(\d+)\]|\[\*\]")


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Values at ``path``: `.a.b`, `[0]`, `[*]` and `[?(@.field=='value')]` steps."""
    current = [obj]
    pos = 0
    path = path.strip().removeprefix("{").removesuffix("}").removeprefix("$")
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise ValueError(f"unsupported JSONPath {path!r} at {pos}")
        pos = m.end()
        nxt: list[Any] = []
        for value in current:
            if m.group(1) is not None and isinstance(value, dict) and m.group(1) in value:
                nxt.append(value[m.group(1)])
            elif m.group(2) is not None and isinstance(value, list):
                field = m.group(2).split(".")
                for item in value:
                    probe = item
                    for f in field:
                        probe = probe.get(f) if isinstance(probe, dict) else None
                    if probe is not None and str(probe) == m.group(3):
                        nxt.append(item)
            elif m.group(4) is not None and isinstance(value, list) and int(m.group(4)) < len(value):
                nxt.append(value[int(m.group(4))])
            elif m.group(0) == "[*]" and isinstance(value, list):
                nxt.extend(value)
        current = nxt
    return current


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    seconds = int(
        (datetime.now(UTC) - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds()
    )
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size if unit != "m" else seconds >= 120:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _cell(values: list[Any], type_: str) -> Any:
    if not values:
        return None
    value = values[0] if len(values) == 1 else ",".join(str(v) for v in values)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if type_ == "date":
        return age(str(value))  # the API server turns date columns into ages, as kubectl shows them
    if type_ == "integer" and isinstance(value, (int, float)):
        return int(value)
    if type_ == "number" and isinstance(value, (int, float)):
        return value
    return value if type_ in ("integer", "number", "boolean") else str(value)


def _pod_status(pod: dict[str, Any]) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            return state["waiting"]["reason"]
        if "terminated" in state:
            return state["terminated"].get("reason") or "Error"
    return status.get("phase", "Pending")


def _pod_cells(pod: dict[str, Any]) -> list[Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    return [f"{ready}/{len(containers)}", _pod_status(pod), restarts]


def _event_cells(ev: dict[str, Any]) -> list[Any]:
    involved = ev.get("involvedObject") or {}
    return [
        age(ev.get("lastTimestamp") or ev.get("eventTime") or ev["metadata"].get("creationTimestamp")),
        ev.get("type", ""),
        ev.get("reason", ""),
        f"{(involved.get('kind') or '').lower()}/{involved.get('name', '')}",
        ev.get("message", ""),
    ]


def _deploy_cells(d: dict[str, Any]) -> list[Any]:
    status = d.get("status") or {}
    want = (d.get("spec") or {}).get("replicas", 1)
    return [
        f"{status.get('readyReplicas', 0)}/{want}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
    ]


BUILTIN_COLUMNS: dict[str, tuple[list[tuple[str, str]], Any]] = {
    "v1/pods": ([("Ready", "string"), ("Status", "string"), ("Restarts", "integer")], _pod_cells),
    "v1/events": (
        [
            ("Last Seen", "string"),
            ("Type", "string"),
            ("Reason", "string"),
            ("Object", "string"),
            ("Message", "string"),
        ],
        _event_cells,
    ),
    "apps/v1/deployments": (
        [("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer")],
        _deploy_cells,
    ),
}


def table(rtype: ResourceType, objects: list[dict[str, Any]], include: str, rv: str) -> dict[str, Any]:
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    if rtype.custom:
        for col in rtype.columns:
            columns.append(
                {
                    "name": col["name"],
                    "type": col.get("type", "string"),
                    "format": col.get("format", ""),
                    "description": col.get("description", ""),
                    "priority": col.get("priority", 0),
                }
            )
    else:
        extra, _ = BUILTIN_COLUMNS.get(rtype.key, ([], None))
        columns += [{"name": n, "type": t, "format": "", "description": n, "priority": 0} for n, t in extra]
        if rtype.key != "v1/events":
            columns.append(
                {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}
            )
    rows = []
    for obj in objects:
        cells: list[Any] = [obj["metadata"]["name"]]
        if rtype.custom:
            cells += [_cell(jsonpath(obj, c["jsonPath"]), c.get("type", "string")) for c in rtype.columns]
        else:
            _, cells_of = BUILTIN_COLUMNS.get(rtype.key, ([], None))
            if cells_of is not None:
                cells += cells_of(obj)
            if rtype.key != "v1/events":
                cells.append(age(obj["metadata"].get("creationTimestamp")))
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns,
        "rows": rows,
    }
