"""Where agents write their observed-state summaries: the custom resource's status (Kubernetes)
or the ``agents`` table's status column (local floor), through one ``StatusSink`` protocol."""

from tradingfloor.status.sink import (
    OWNED_KEYS,
    StatusOwnershipError,
    StatusSink,
    check_ownership,
    merge_patch,
)

__all__ = ["OWNED_KEYS", "StatusOwnershipError", "StatusSink", "check_ownership", "merge_patch"]
