"""Rules about changing a resource, not just its new value (the API server's CEL transition rules).

The CRDs enforce these in Kubernetes; the local floor calls ``check_update`` when a manifest file
changes, so both runtimes refuse the same edits with the same words.
"""

from __future__ import annotations

from typing import Any

from tradingfloor.models.manifests import ManifestError


def check_update(kind: str, name: str, old_spec: dict[str, Any], new_spec: dict[str, Any]) -> None:
    if kind == "TraderAgent" and old_spec.get("strategy") != new_spec.get("strategy"):
        raise ManifestError(
            f"{kind}/{name}: spec.strategy: strategy is immutable; create a new TraderAgent instead"
        )
    if old_spec.get("lifecycle") == "Retired" and new_spec.get("lifecycle", "Active") != "Retired":
        raise ManifestError(
            f"{kind}/{name}: spec.lifecycle: a Retired agent cannot return to Active or Paused"
        )
