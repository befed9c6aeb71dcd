"""Per-kind access of agent Pods (pure): each kind runs under its own ServiceAccount (the chart
binds each to a Role with only that kind's rights), and only the Auditor gets the audit key and
the name of the ConfigMap holding the exported audit-chain head."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

SUFFIX = {"TraderAgent": "trader", "Auditor": "auditor", "Monitor": "monitor"}


def service_account(base: str, kind: str) -> str:
    """``<base>-trader`` / ``-auditor`` / ``-monitor`` (FLOOR_AGENT_SERVICE_ACCOUNT is the base)."""
    return f"{base}-{SUFFIX[kind]}"


def extra_env(kind: str, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    env = os.environ if env is None else env
    if kind != "Auditor":
        return []
    out: list[dict[str, Any]] = []
    if env.get("FLOOR_AUDIT_KEY_SECRET"):
        out.append(
            {
                "name": "AUDIT_HMAC_KEY",
                "valueFrom": {"secretKeyRef": {"name": env["FLOOR_AUDIT_KEY_SECRET"], "key": "key"}},
            }
        )
    if env.get("FLOOR_AUDIT_HEAD_CONFIGMAP"):
        out.append({"name": "AUDIT_HEAD_CONFIGMAP", "value": env["FLOOR_AUDIT_HEAD_CONFIGMAP"]})
    return out
