"""Pieces shared by the three custom resources: API identity, conditions, restart policy."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

GROUP: Final = "tradingfloor.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "tradingfloor.dev/v1alpha1"  # f"{GROUP}/{VERSION}", spelled out as a literal type
CATEGORY = "tradingfloor"

ConditionType = Literal["Ready", "Paused", "Retired", "RestartBackoff", "RestartBudgetExhausted", "Degraded"]


class SpecModel(BaseModel):
    """Specs reject unknown keys, so a typo is an error, not a silently ignored setting."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)


class StatusModel(BaseModel):
    """Status parts are lenient on read (an older/newer writer may add fields)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Condition(StatusModel):
    """The standard metav1.Condition shape."""

    type: str = Field(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
    )
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(default="", max_length=32768)
    lastTransitionTime: datetime
    observedGeneration: int | None = Field(default=None, ge=0)


class RestartPolicy(SpecModel):
    """How the Floor Boss restarts a failed agent: exponential backoff with an hourly budget."""

    maxRestartsPerHour: int = Field(default=10, ge=0, le=1000)
    backoffBaseSeconds: int = Field(default=1, ge=1, le=3600)
    backoffCapSeconds: int = Field(default=300, ge=1, le=86400)
    healthyResetSeconds: int = Field(
        default=600, ge=1, le=86400, description="Running this long without a failure resets the backoff."
    )
    heartbeatTimeoutSeconds: int = Field(
        default=90,
        ge=3,
        le=3600,
        description="A heartbeat older than this counts as missed; 3 misses restart the agent.",
    )


class SecretRef(SpecModel):
    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class AgentSelector(SpecModel):
    """Which TraderAgents an Auditor or Monitor watches: all in its namespace, or those with these labels."""

    matchLabels: dict[str, str] = Field(default_factory=dict)


class Restarts(StatusModel):
    total: int = 0
    consecutiveFailures: int = 0
    recent: list[datetime] = Field(default_factory=list)
    lastRestartTime: datetime | None = None
    nextRestartAfter: datetime | None = None


class WorkloadStatus(StatusModel):
    """Status fields the Floor Boss owns for every agent kind."""

    observedGeneration: int | None = None
    phase: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    restarts: Restarts = Field(default_factory=Restarts)
    podName: str | None = None
    startedAt: datetime | None = None
    message: str | None = None
