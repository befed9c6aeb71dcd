"""The Monitor custom resource: computes performance, writes it into status, raises alerts, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import Field

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

KIND: Final = "Monitor"
PLURAL = "monitors"


class AlertThresholds(SpecModel):
    drawdownBps: int = Field(default=1500, ge=1, le=10000, description="Alert beyond this drawdown.")
    dailyLossBps: int = Field(default=1000, ge=1, le=10000)
    consecutiveLosses: int = Field(default=4, ge=1, le=1000)
    heartbeatStaleSeconds: int = Field(default=90, ge=1, le=86400)


class Reports(SpecModel):
    hourly: bool = True
    daily: bool = True
    format: Literal["markdown", "html"] = "markdown"


class MonitorSpec(SpecModel):
    """A monitor: computes performance every interval, writes it into status, alerts and reports."""

    selector: AgentSelector = Field(default_factory=AgentSelector)
    intervalSeconds: int = Field(
        default=300, ge=5, le=86400, description="How often metrics are computed (5 min)."
    )
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)
    reports: Reports = Field(default_factory=Reports)
    lifecycle: Lifecycle = lifecycle_field()
    restartPolicy: RestartPolicy = Field(default_factory=RestartPolicy)
    image: str | None = Field(default=None, max_length=512)


class FloorSummary(StatusModel):
    reportedAt: datetime | None = None
    agents: int = 0
    trades: int = 0
    pnl: str | None = None
    winRate: str | None = None
    sharpe: str | None = None
    maxDrawdown: str | None = None
    alerts: int = 0


class MonitorStatus(WorkloadStatus):
    floor: FloorSummary = Field(default_factory=FloorSummary)


class Monitor(ResourceModel):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["Monitor"] = KIND
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: MonitorSpec
    status: MonitorStatus | None = None


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Agents", "type": "integer", "jsonPath": ".status.floor.agents"},
    {"name": "PnL", "type": "string", "jsonPath": ".status.floor.pnl"},
    {"name": "Alerts", "type": "integer", "jsonPath": ".status.floor.alerts"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]
