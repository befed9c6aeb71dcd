"""The Auditor custom resource: re-checks every trade and keeps the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from tradingfloor.decimal_fields import Between, DecimalStr
from tradingfloor.models.common import (
    API_VERSION,
    AgentSelector,
    Lifecycle,
    ResourceModel,
    RestartPolicy,
    SpecModel,
    StatusModel,
    WorkloadStatus,
    lifecycle_field,
)

KIND: Final = "Auditor"
PLURAL = "auditors"


class AuditThresholds(SpecModel):
    maxPriceDeviationBps: int = Field(
        default=100,
        ge=0,
        le=10000,
        description="Fill price vs the book it met, beyond which a trade is flagged.",
    )
    pnlTolerance: Annotated[DecimalStr, Between("0", "1000")] = Field(
        default=Decimal("0.01"), description="USD difference allowed when recomputing P&L."
    )
    feeTolerance: Annotated[DecimalStr, Between("0", "1000")] = Field(
        default=Decimal("0.00001"), description="USD difference allowed on fees."
    )


class AuditorSpec(SpecModel):
    """An auditor: re-checks every trade and keeps the hash-chained audit log."""

    selector: AgentSelector = Field(default_factory=AgentSelector)
    checkIntervalSeconds: int = Field(default=10, ge=1, le=3600)
    thresholds: AuditThresholds = Field(default_factory=AuditThresholds)
    lifecycle: Lifecycle = lifecycle_field()
    restartPolicy: RestartPolicy = Field(default_factory=RestartPolicy)
    image: str | None = Field(default=None, max_length=512)


class AuditSummary(StatusModel):
    reportedAt: datetime | None = None
    tradesChecked: int = 0
    violations: int = 0
    lastViolation: str | None = None
    chainHead: str | None = None


class AuditorStatus(WorkloadStatus):
    audit: AuditSummary = Field(default_factory=AuditSummary)


class Auditor(ResourceModel):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["Auditor"] = KIND
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: AuditorSpec
    status: AuditorStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Checked", "type": "integer", "jsonPath": ".status.audit.tradesChecked"},
    {"name": "Violations", "type": "integer", "jsonPath": ".status.audit.violations"},
    {"name": "Restarts", "type": "integer", "jsonPath": ".status.restarts.total"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
