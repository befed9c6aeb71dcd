"""The status-sink protocol and its two pure rules: which status keys an agent may write, and how
a patch merges (RFC 7386 JSON merge patch, the same semantics as the Kubernetes API server's)."""

from __future__ import annotations

import copy
from typing import Any, Protocol

# An agent owns exactly one part of a resource's status; the Floor Boss owns the rest
# (phase, conditions, restarts …). The monitor writes trader performance it computed from the ledger.
OWNED_KEYS: dict[str, frozenset[str]] = {
    "TraderAgent": frozenset({"performance"}),
    "Auditor": frozenset({"audit"}),
    "Monitor": frozenset({"floor"}),
}


class StatusOwnershipError(ValueError):
    """A patch reaching into a part of status the agent does not own."""


class StatusTargetMissing(LookupError):
    """The resource whose status is patched does not exist."""


class StatusSink(Protocol):
    async def patch_status(self, kind: str, name: str, patch: dict[str, Any]) -> None: ...


def check_ownership(kind: str, patch: dict[str, Any]) -> None:
    if kind not in OWNED_KEYS:
        raise StatusOwnershipError(f"unknown kind {kind!r}: expected one of {sorted(OWNED_KEYS)}")
    if not isinstance(patch, dict) or not patch:
        raise StatusOwnershipError(f"status patch for {kind} must be a non-empty dict, got {patch!r}")
    foreign = sorted(set(patch) - OWNED_KEYS[kind])
    if foreign:
        raise StatusOwnershipError(
            f"status patch for {kind} may only set {sorted(OWNED_KEYS[kind])}, not {foreign}"
        )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: dicts merge recursively, ``None`` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
