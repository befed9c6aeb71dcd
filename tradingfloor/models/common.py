"""Pieces shared by the three custom resources: API identity, conditions, restart policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic.json_schema import JsonDict

from tradingfloor.decimal_fields import integral
from tradingfloor.models.names import as_metadata

GROUP: Final = "tradingfloor.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "tradingfloor.dev/v1alpha1"  # f"{GROUP}/{VERSION}", spelled out as a literal type
CATEGORY = "tradingfloor"

ConditionType = Literal["Ready", "Paused", "Retired", "RestartBackoff", "RestartBudgetExhausted", "Degraded"]


class SpecModel(BaseModel):
    """Specs reject unknown keys, so a typo is an error, not a silently ignored setting, and type
    values as the CRD does: strict (``"5"`` is not an integer, ``1`` is not a string)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True, strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_floats(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation is int:
            return integral(value)
        return value


LIFECYCLE_RULE: JsonDict = {
    "rule": "oldSelf != 'Retired' || self == 'Retired'",
    "message": "a Retired agent cannot return to Active or Paused",
}


def lifecycle_field() -> Any:
    """``spec.lifecycle``: Retired is terminal (a CEL transition rule at the API server,
    ``transitions.check_update`` on the local floor)."""
    return Field(default="Active", json_schema_extra={"x-kubernetes-validations": [LIFECYCLE_RULE]})


Lifecycle = Literal["Active", "Paused", "Retired"]


class ResourceModel(BaseModel):
    """A whole manifest: no unknown top-level fields, metadata checked by Kubernetes' rules."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("metadata", mode="before", check_fields=False)
    @classmethod
    def _metadata(cls, value: Any) -> dict[str, Any]:
        return as_metadata(value)


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


BACKOFF_RULE: JsonDict = {
    "rule": "self.backoffBaseSeconds <= self.backoffCapSeconds",
    "message": "backoffBaseSeconds must not exceed backoffCapSeconds",
    "fieldPath": ".backoffBaseSeconds",
}


class RestartPolicy(SpecModel):
    """How the Floor Boss restarts a failed agent: exponential backoff with an hourly budget."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [BACKOFF_RULE]})

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

    @model_validator(mode="after")
    def _backoff_within_cap(self) -> RestartPolicy:
        if self.backoffBaseSeconds > self.backoffCapSeconds:
            raise ValueError(
                f"backoffBaseSeconds ({self.backoffBaseSeconds}) must not exceed "
                f"backoffCapSeconds ({self.backoffCapSeconds})"
            )
        return self


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
