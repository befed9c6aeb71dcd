"""The Monitor custom resource: computes performance, writes it into status, raises alerts, reports."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from msgspec import Meta, field

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

KIND: Final = "Monitor"
PLURAL = "monitors"


class AlertThresholds(SpecModel):
    drawdownBps: Annotated[int, Meta(ge=1, le=10000, description="Alert beyond this drawdown.")] = 1500
    dailyLossBps: Annotated[int, Meta(ge=1, le=10000)] = 1000
    consecutiveLosses: Annotated[int, Meta(ge=1, le=1000)] = 4
    heartbeatStaleSeconds: Annotated[int, Meta(ge=1, le=86400)] = 90


class Reports(SpecModel):
    hourly: bool = True
    daily: bool = True
    format: Literal["markdown", "html"] = "markdown"


class MonitorSpec(SpecModel):
    """A monitor: computes performance every interval, writes it into status, alerts and reports."""

    selector: AgentSelector = field(default_factory=AgentSelector)
    intervalSeconds: Annotated[
        int, Meta(ge=5, le=86400, description="How often metrics are computed (5 min).")
    ] = 300
    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    reports: Reports = field(default_factory=Reports)
    lifecycle: LifecycleField = "Active"
    restartPolicy: RestartPolicyField = field(default_factory=RestartPolicy)
    image: Annotated[str, Meta(max_length=512)] | None = None


class FloorSummary(StatusModel):
    reportedAt: Timestamp | None = None
    agents: int = 0
    trades: int = 0
    pnl: str | None = None
    winRate: str | None = None
    sharpe: str | None = None
    maxDrawdown: str | None = None
    alerts: int = 0


class MonitorStatus(WorkloadStatus):
    floor: FloorSummary = field(default_factory=FloorSummary)


class Monitor(ResourceModel, kw_only=True):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["Monitor"] = KIND
    spec: MonitorSpec
    status: MonitorStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Agents", "type": "integer", "jsonPath": ".status.floor.agents"},
    {"name": "PnL", "type": "string", "jsonPath": ".status.floor.pnl"},
    {"name": "Alerts", "type": "integer", "jsonPath": ".status.floor.alerts"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
