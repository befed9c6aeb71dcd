"""Pieces shared by the three custom resources: API identity, conditions, restart policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, field

from tradingfloor.models.names import as_metadata

GROUP: Final = "tradingfloor.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "tradingfloor.dev/v1alpha1"  # f"{GROUP}/{VERSION}", spelled out as a literal type
CATEGORY = "tradingfloor"

ConditionType = Literal["Ready", "Paused", "Retired", "RestartBackoff", "RestartBudgetExhausted", "Degraded"]


class SpecModel(msgspec.Struct, forbid_unknown_fields=True):
    """Specs reject unknown keys, so a typo is an error, not a silently ignored setting, and type
    values as the CRD does: strict (``"5"`` is not an integer, ``1`` is not a string; see
    ``tradingfloor.structs.parse``)."""


LIFECYCLE_RULE: dict[str, Any] = {
    "rule": "oldSelf != 'Retired' || self == 'Retired'",
    "message": "a Retired agent cannot return to Active or Paused",
}

Lifecycle = Literal["Active", "Paused", "Retired"]

# A point in time (RFC 3339, ``format: date-time`` in the CRD). A time without a zone is read as
# written, as status is lenient on read; every writer on the floor gives UTC.
Timestamp = Annotated[datetime, Meta(extra_json_schema={"format": "date-time"})]

# ``spec.lifecycle``: Retired is terminal (a CEL transition rule at the API server,
# ``transitions.check_update`` on the local floor).
LifecycleField = Annotated[Lifecycle, Meta(extra_json_schema={"x-kubernetes-validations": [LIFECYCLE_RULE]})]


class ResourceModel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A whole manifest: no unknown top-level fields, metadata checked by Kubernetes' rules."""

    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        as_metadata(self.metadata)


class StatusModel(msgspec.Struct):
    """Status parts are lenient on read (an older/newer writer may add fields)."""


class Condition(StatusModel, kw_only=True):
    """The standard metav1.Condition shape."""

    type: Annotated[
        str,
        Meta(
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    status: Literal["True", "False", "Unknown"]
    reason: Annotated[
        str, Meta(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    ]
    message: Annotated[str, Meta(max_length=32768)] = ""
    lastTransitionTime: Timestamp
    observedGeneration: Annotated[int, Meta(ge=0)] | None = None


BACKOFF_RULE: dict[str, Any] = {
    "rule": "self.backoffBaseSeconds <= self.backoffCapSeconds",
    "message": "backoffBaseSeconds must not exceed backoffCapSeconds",
    "fieldPath": ".backoffBaseSeconds",
}


class RestartPolicy(SpecModel):
    """How the Floor Boss restarts a failed agent: exponential backoff with an hourly budget."""

    maxRestartsPerHour: Annotated[int, Meta(ge=0, le=1000)] = 10
    backoffBaseSeconds: Annotated[int, Meta(ge=1, le=3600)] = 1
    backoffCapSeconds: Annotated[int, Meta(ge=1, le=86400)] = 300
    healthyResetSeconds: Annotated[
        int, Meta(ge=1, le=86400, description="Running this long without a failure resets the backoff.")
    ] = 600
    heartbeatTimeoutSeconds: Annotated[
        int,
        Meta(
            ge=3,
            le=3600,
            description="A heartbeat older than this counts as missed; 3 misses restart the agent.",
        ),
    ] = 90

    def __post_init__(self) -> None:
        if self.backoffBaseSeconds > self.backoffCapSeconds:
            raise ValueError(
                f"backoffBaseSeconds ({self.backoffBaseSeconds}) must not exceed "
                f"backoffCapSeconds ({self.backoffCapSeconds})"
            )


# Every kind's ``spec.restartPolicy``, with its rule for the API server.
RestartPolicyField = Annotated[
    RestartPolicy, Meta(extra_json_schema={"x-kubernetes-validations": [BACKOFF_RULE]})
]


class SecretRef(SpecModel):
    name: Annotated[str, Meta(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


class AgentSelector(SpecModel):
    """Which TraderAgents an Auditor or Monitor watches: all in its namespace, or those with these labels."""

    matchLabels: dict[str, str] = field(default_factory=dict)


class Restarts(StatusModel):
    total: int = 0
    consecutiveFailures: int = 0
    recent: list[Timestamp] = field(default_factory=list)
    lastRestartTime: Timestamp | None = None
    nextRestartAfter: Timestamp | None = None


class WorkloadStatus(StatusModel):
    """Status fields the Floor Boss owns for every agent kind."""

    observedGeneration: int | None = None
    phase: str | None = None
    conditions: list[Condition] = field(default_factory=list)
    restarts: Restarts = field(default_factory=Restarts)
    podName: str | None = None
    startedAt: Timestamp | None = None
    message: str | None = None
