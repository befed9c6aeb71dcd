"""The TraderAgent custom resource: one strategy on one market series, with its risk and lifecycle."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import Field, model_validator

from tradingfloor.decimal_fields import Between, DecimalStr
from tradingfloor.models.common import (
    API_VERSION,
    Lifecycle,
    ResourceModel,
    RestartPolicy,
    SecretRef,
    SpecModel,
    StatusModel,
    WorkloadStatus,
    lifecycle_field,
)
from tradingfloor.models.params_rules import params_rules
from tradingfloor.strategies.params import StrategyName, StrategyParams, parse_params

KIND: Final = "TraderAgent"
PLURAL = "traderagents"


class MarketRef(SpecModel):
    asset: Literal["BTC", "ETH"]
    interval: Literal["5m", "15m", "1h"] = "15m"


class Risk(SpecModel):
    """Risk limits. Ratios are basis points of the agent's capital (200 bps = 2 %)."""

    capital: Annotated[DecimalStr, Between("1", "100000000")] = Field(
        default=Decimal("1000"), description="Capital allocated to this agent, in USD."
    )
    riskPerTradeBps: int = Field(default=200, ge=1, le=10000)
    maxPositionBps: int = Field(default=1000, ge=1, le=10000, description="Open exposure cap for this agent.")
    maxConcurrentTrades: int = Field(default=3, ge=1, le=100)
    dailyLossLimitBps: int = Field(default=1000, ge=1, le=10000)
    maxDrawdownBps: int = Field(default=2000, ge=1, le=10000, description="Pause beyond this drawdown.")
    maxConsecutiveLosses: int = Field(default=5, ge=1, le=1000)
    kellyFraction: Annotated[DecimalStr, Between("0.01", "1")] = Field(default=Decimal("0.25"))


class Evaluation(SpecModel):
    testingPeriodHours: int = Field(default=168, ge=0, le=8760, description="Testing stage length (7 days).")
    testingCapitalBps: int = Field(
        default=2500, ge=1, le=10000, description="Share of capital used while Testing."
    )


class Lineage(SpecModel):
    parent: str | None = Field(default=None, max_length=253)
    generation: int = Field(default=0, ge=0, le=10000)
    variation: str | None = Field(default=None, max_length=1024)


class TraderAgentSpec(SpecModel):
    """A trader agent: one strategy trading one market series, with its risk limits and lifecycle."""

    strategy: StrategyName = Field(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self == oldSelf",
                    "message": "strategy is immutable; create a new TraderAgent instead",
                }
            ]
        }
    )
    market: MarketRef
    params: dict[str, int | str] = Field(
        default_factory=dict,
        description="Strategy parameters; keys depend on the strategy.",
        json_schema_extra={"maxProperties": 32},
    )
    risk: Risk = Field(default_factory=Risk)
    mode: Literal["paper", "live"] = "paper"
    credentialsSecretRef: SecretRef | None = Field(
        default=None, description="Secret with the Polymarket keys; required when mode is live."
    )
    lifecycle: Lifecycle = lifecycle_field()
    restartPolicy: RestartPolicy = Field(default_factory=RestartPolicy)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    lineage: Lineage = Field(default_factory=Lineage)
    image: str | None = Field(
        default=None, max_length=512, description="Overrides the operator's agent image."
    )

    @model_validator(mode="after")
    def _check(self) -> TraderAgentSpec:
        if self.mode == "live" and self.credentialsSecretRef is None:
            raise ValueError(
                "mode live requires credentialsSecretRef (the Secret holding the Polymarket keys)"
            )
        try:
            parse_params(self.strategy, self.params)
        except ValueError as exc:
            raise ValueError(f"params are not valid for strategy {self.strategy}: {exc}") from None
        return self

    @property
    def strategy_params(self) -> StrategyParams:
        return parse_params(self.strategy, self.params)


class SharpeTrackStatus(StatusModel):
    """Per-trade, non-annualized Sharpe with what the Deflated Sharpe needs (tradingfloor.analytics.performance)."""

    sharpe: str | None = None
    periods: int = 0
    skew: str | None = None
    kurtosis: str | None = None


class Performance(StatusModel):
    """Written by the agent itself (low frequency). Numbers are strings: status avoids floats."""

    # Every figure is defined once, in tradingfloor.analytics.performance.

    reportedAt: datetime | None = None
    capital: str | None = None
    trades: int = 0
    wins: int = 0
    losses: int = 0
    winRate: str | None = None
    winRateLow: str | None = None
    breakEvenWinRate: str | None = None
    pnl: str | None = None
    dailyPnl: str | None = None
    equity: str | None = None
    exposure: str | None = None
    sharpe: str | None = None
    sortino: str | None = None
    sharpeTrack: SharpeTrackStatus | None = None
    maxDrawdown: str | None = None
    drawdown: str | None = None
    profitFactor: str | None = None
    psr: str | None = None
    consecutiveLosses: int = 0
    fees: str | None = None


class Decision(StatusModel):
    action: str
    reason: str
    at: datetime
    evidence: dict[str, str] | None = None  # numbers and thresholds behind it (decisions/evidence.py)


class TraderAgentStatus(WorkloadStatus):
    stage: Literal["Testing", "Production"] | None = None
    stageSince: datetime | None = None
    sizeMultiplier: DecimalStr | None = None
    performance: Performance = Field(default_factory=Performance)
    lastDecision: Decision | None = None


class TraderAgent(ResourceModel):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["TraderAgent"] = KIND
    metadata: dict[str, Any] = Field(default_factory=dict)
    spec: TraderAgentSpec
    status: TraderAgentStatus | None = None

    @model_validator(mode="after")
    def _not_own_parent(self) -> TraderAgent:
        name = self.metadata.get("name")
        if name is not None and self.spec.lineage.parent == name:
            raise ValueError(f"spec.lineage.parent: an agent cannot be its own parent ({name})")
        return self


PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Strategy", "type": "string", "jsonPath": ".spec.strategy"},
    {"name": "Market", "type": "string", "jsonPath": ".spec.market.asset"},
    {"name": "Interval", "type": "string", "jsonPath": ".spec.market.interval", "priority": 1},
    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Stage", "type": "string", "jsonPath": ".status.stage", "priority": 1},
    {"name": "PnL", "type": "string", "jsonPath": ".status.performance.pnl"},
    {"name": "WinRate", "type": "string", "jsonPath": ".status.performance.winRate"},
    {"name": "Trades", "type": "integer", "jsonPath": ".status.performance.trades"},
    {"name": "Restarts", "type": "integer", "jsonPath": ".status.restarts.total"},
    {
        "name": "Ready",
        "type": "string",
        "jsonPath": ".status.conditions[?(@.type=='Ready')].status",
        "priority": 1,
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


SPEC_RULES: list[dict[str, Any]] = [
    {
        "rule": "self.mode != 'live' || has(self.credentialsSecretRef)",
        "message": "mode live requires credentialsSecretRef",
        "fieldPath": ".credentialsSecretRef",
    },
    *params_rules(),
]

ROOT_RULES = [
    {
        "rule": "!has(self.spec.lineage) || !has(self.spec.lineage.parent) "
        "|| self.spec.lineage.parent != self.metadata.name",
        "message": "spec.lineage.parent: an agent cannot be its own parent",
        "fieldPath": ".spec.lineage.parent",
    }
]
