"""The pure rules of status patches: merge semantics and ownership."""

from __future__ import annotations

import pytest

from tradingfloor.status.sink import StatusOwnershipError, check_ownership, merge_patch


def test_merge_patch_is_deep_and_null_deletes():
    target = {
        "phase": "Running",
        "conditions": [{"type": "Ready"}],
        "audit": {"violations": 1, "lastViolation": "x"},
    }
    merged = merge_patch(target, {"audit": {"violations": 2, "lastViolation": None, "chainHead": "ab"}})
    assert merged == {
        "phase": "Running",
        "conditions": [{"type": "Ready"}],
        "audit": {"violations": 2, "chainHead": "ab"},
    }
    assert target["audit"] == {"violations": 1, "lastViolation": "x"}  # input untouched


def test_agents_write_only_their_own_key():
    check_ownership("Auditor", {"audit": {}})
    check_ownership("Monitor", {"floor": {}})
    check_ownership("TraderAgent", {"performance": {}})
    for kind, patch in [
        ("Auditor", {"conditions": []}),
        ("Monitor", {"floor": {}, "phase": "x"}),
        ("TraderAgent", {"audit": {}}),
        ("Pod", {"audit": {}}),
        ("Auditor", {}),
    ]:
        with pytest.raises(StatusOwnershipError):
            check_ownership(kind, patch)
