"""The Auditor custom resource: re-checks every trade and keeps the hash-chained audit log."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from msgspec import Meta, field

from tradingfloor.decimal_fields import DecimalStr
from tradingfloor.models.common import (
    API_VERSION,
    AgentSelector,
    LifecycleField,
    ResourceModel,
    RestartPolicy,
    RestartPolicyField,
    SpecModel,
    StatusModel,
    Timestamp,
    WorkloadStatus,
)

KIND: Final = "Auditor"
PLURAL = "auditors"


class Tolerance(DecimalStr, low="0", high="1000"):
    pass


class AuditThresholds(SpecModel):
    maxPriceDeviationBps: Annotated[
        int,
        Meta(ge=0, le=10000, description="Fill price vs the book it met, beyond which a trade is flagged."),
    ] = 100
    pnlTolerance: Annotated[Tolerance, Meta(description="USD difference allowed when recomputing P&L.")] = (
        Tolerance("0.01")
    )
    feeTolerance: Annotated[Tolerance, Meta(description="USD difference allowed on fees.")] = Tolerance(
        "0.00001"
    )


class AuditorSpec(SpecModel):
    """An auditor: re-checks every trade and keeps the hash-chained audit log."""

    selector: AgentSelector = field(default_factory=AgentSelector)
    checkIntervalSeconds: Annotated[int, Meta(ge=1, le=3600)] = 10
    thresholds: AuditThresholds = field(default_factory=AuditThresholds)
    lifecycle: LifecycleField = "Active"
    restartPolicy: RestartPolicyField = field(default_factory=RestartPolicy)
    image: Annotated[str, Meta(max_length=512)] | None = None


class AuditSummary(StatusModel):
    reportedAt: Timestamp | None = None
    tradesChecked: int = 0
    violations: int = 0
    lastViolation: str | None = None
    chainHead: str | None = None


class AuditorStatus(WorkloadStatus):
    audit: AuditSummary = field(default_factory=AuditSummary)


class Auditor(ResourceModel, kw_only=True):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["Auditor"] = KIND
    spec: AuditorSpec
    status: AuditorStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Checked", "type": "integer", "jsonPath": ".status.audit.tradesChecked"},
    {"name": "Violations", "type": "integer", "jsonPath": ".status.audit.violations"},
    {"name": "Restarts", "type": "integer", "jsonPath": ".status.restarts.total"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
