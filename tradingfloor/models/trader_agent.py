"""The TraderAgent custom resource: one strategy on one market series, with its risk and lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from msgspec import Meta, field

from tradingfloor.decimal_fields import DecimalStr
from tradingfloor.models.common import (
    API_VERSION,
    LifecycleField,
    ResourceModel,
    RestartPolicy,
    RestartPolicyField,
    SecretRef,
    SpecModel,
    StatusModel,
    Timestamp,
    WorkloadStatus,
)
from tradingfloor.strategies.params import StrategyName, StrategyParams, parse_params

KIND: Final = "TraderAgent"
PLURAL = "traderagents"


class MarketRef(SpecModel):
    asset: Literal["BTC", "ETH"]
    interval: Literal["5m", "15m", "1h"] = "15m"


class KellyFraction(DecimalStr, low="0.01", high="1"):
    pass


class Capital(DecimalStr, low="1", high="100000000"):
    pass


class Risk(SpecModel):
    """Risk limits. Ratios are basis points of the agent's capital (200 bps = 2 %)."""

    capital: Annotated[Capital, Meta(description="Capital allocated to this agent, in USD.")] = Capital(
        "1000"
    )
    riskPerTradeBps: Annotated[int, Meta(ge=1, le=10000)] = 200
    maxPositionBps: Annotated[int, Meta(ge=1, le=10000, description="Open exposure cap for this agent.")] = (
        1000
    )
    maxConcurrentTrades: Annotated[int, Meta(ge=1, le=100)] = 3
    dailyLossLimitBps: Annotated[int, Meta(ge=1, le=10000)] = 1000
    maxDrawdownBps: Annotated[int, Meta(ge=1, le=10000, description="Pause beyond this drawdown.")] = 2000
    maxConsecutiveLosses: Annotated[int, Meta(ge=1, le=1000)] = 5
    kellyFraction: KellyFraction = KellyFraction("0.25")


class Evaluation(SpecModel):
    testingPeriodHours: Annotated[int, Meta(ge=0, le=8760, description="Testing stage length (7 days).")] = (
        168
    )
    testingCapitalBps: Annotated[
        int, Meta(ge=1, le=10000, description="Share of capital used while Testing.")
    ] = 2500


class Lineage(SpecModel):
    parent: Annotated[str, Meta(max_length=253)] | None = None
    generation: Annotated[int, Meta(ge=0, le=10000)] = 0
    variation: Annotated[str, Meta(max_length=1024)] | None = None


STRATEGY_IMMUTABLE = {
    "rule": "self == oldSelf",
    "message": "strategy is immutable; create a new TraderAgent instead",
}


class TraderAgentSpec(SpecModel):
    """A trader agent: one strategy trading one market series, with its risk limits and lifecycle."""

    strategy: Annotated[
        StrategyName, Meta(extra_json_schema={"x-kubernetes-validations": [STRATEGY_IMMUTABLE]})
    ]
    market: MarketRef
    params: Annotated[
        dict[str, int | str],
        Meta(description="Strategy parameters; keys depend on the strategy.", max_length=32),
    ] = field(default_factory=dict)
    risk: Risk = field(default_factory=Risk)
    mode: Literal["paper", "live"] = "paper"
    credentialsSecretRef: Annotated[
        SecretRef | None, Meta(description="Secret with the Polymarket keys; required when mode is live.")
    ] = None
    lifecycle: LifecycleField = "Active"
    restartPolicy: RestartPolicyField = field(default_factory=RestartPolicy)
    evaluation: Evaluation = field(default_factory=Evaluation)
    lineage: Lineage = field(default_factory=Lineage)
    image: (
        Annotated[str, Meta(max_length=512, description="Overrides the operator's agent image.")] | None
    ) = None

    def __post_init__(self) -> None:
        if self.mode == "live" and self.credentialsSecretRef is None:
            raise ValueError(
                "mode live requires credentialsSecretRef (the Secret holding the Polymarket keys)"
            )
        try:
            parse_params(self.strategy, self.params)
        except ValueError as exc:
            raise ValueError(f"params are not valid for strategy {self.strategy}: {exc}") from None

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

    reportedAt: Timestamp | None = None
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
    at: Timestamp
    evidence: dict[str, str] | None = None  # numbers and thresholds behind it (decisions/evidence.py)


class TraderAgentStatus(WorkloadStatus):
    stage: Literal["Testing", "Production"] | None = None
    stageSince: Timestamp | None = None
    sizeMultiplier: DecimalStr | None = None
    performance: Performance = field(default_factory=Performance)
    lastDecision: Decision | None = None


class TraderAgent(ResourceModel, kw_only=True):
    apiVersion: Literal["tradingfloor.dev/v1alpha1"] = API_VERSION
    kind: Literal["TraderAgent"] = KIND
    spec: TraderAgentSpec
    status: TraderAgentStatus | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        name = self.metadata.get("name")
        if name is not None and self.spec.lineage.parent == name:
            raise ValueError(f"spec.lineage.parent: an agent cannot be its own parent ({name})")


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
]

ROOT_RULES = [
    {
        "rule": "!has(self.spec.lineage) || !has(self.spec.lineage.parent) "
        "|| self.spec.lineage.parent != self.metadata.name",
        "message": "spec.lineage.parent: an agent cannot be its own parent",
        "fieldPath": ".spec.lineage.parent",
    }
]
