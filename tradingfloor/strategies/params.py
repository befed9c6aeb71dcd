"""Each strategy's parameter model: the defaults are the seed's starting rules.

A TraderAgent's ``spec.params`` is validated by the model of its ``spec.strategy``: unknown keys,
wrong types, out-of-range values and the ordering rules in ``ORDERED`` are rejected here and, by
CEL rules generated from these models (``tradingfloor.models.params_rules``), at the API server.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tradingfloor.decimal_fields import Between, DecimalStr, integral

StrategyName = Literal["momentum", "meanReversion", "volumeSpike", "orderFlow", "technicalPattern"]

Price = Annotated[DecimalStr, Between("0.01", "0.99")]


class StrategyParams(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, validate_default=True, strict=True
    )

    # (smaller, larger): the first must be strictly below the second, defaults included.
    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = (("minEntryPrice", "maxEntryPrice"),)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_floats(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return integral(value) if field is not None and field.annotation is int else value

    @model_validator(mode="after")
    def _ordered(self) -> StrategyParams:
        for low, high in self.ORDERED:
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low)}) must be below {high} ({getattr(self, high)})")
        return self

    maxEntryPrice: Price = Field(default=Decimal("0.70"), description="Never pay more than this per share.")
    minEntryPrice: Annotated[DecimalStr, Between("0.001", "0.99")] = Field(
        default=Decimal("0.05"),
        description="Never buy a side priced below this: sub-cent shares are lottery tickets, "
        "not a conservative rule's trade (lower it in the manifest to allow them).",
    )
    minSecondsToClose: int = Field(
        default=60, ge=0, le=3600, description="No new entries this close to the round's end."
    )
    minSecondsFromOpen: int = Field(
        default=0, ge=0, le=3600, description="No new entries this soon after the round opens."
    )


class MomentumParams(StrategyParams):
    """Buy Up after spot rose by thresholdBps within lookbackSeconds; Down after it fell."""

    lookbackSeconds: int = Field(default=300, ge=5, le=3600)
    thresholdBps: int = Field(default=50, ge=1, le=5000, description="50 bps = a 0.5 % move.")


class MeanReversionParams(StrategyParams):
    """Buy Down after spot rose by more than thresholdBps within lookbackSeconds; Up after it fell."""

    lookbackSeconds: int = Field(default=600, ge=5, le=3600)
    thresholdBps: int = Field(default=100, ge=1, le=5000)


class VolumeSpikeParams(StrategyParams):
    """Trade in the direction of the move when recent spot volume is spikeMultiple × its baseline."""

    ORDERED = (*StrategyParams.ORDERED, ("windowSeconds", "baselineSeconds"))

    windowSeconds: int = Field(default=60, ge=5, le=3600)
    baselineSeconds: int = Field(default=900, ge=60, le=86400)
    spikeMultiple: Annotated[DecimalStr, Between("1.1", "100")] = Field(default=Decimal("3"))
    minMoveBps: int = Field(default=5, ge=0, le=5000)


class OrderFlowParams(StrategyParams):
    """Follow the side whose resting depth dominates: (bid − ask) / (bid + ask) beyond the threshold."""

    depthLevels: int = Field(default=5, ge=1, le=50)
    imbalanceThreshold: Annotated[DecimalStr, Between("0.05", "0.95")] = Field(default=Decimal("0.30"))


class TechnicalPatternParams(StrategyParams):
    """EMA crossover on spot bars: buy Up when the fast EMA crosses above the slow one, Down below."""

    ORDERED = (*StrategyParams.ORDERED, ("fastPeriod", "slowPeriod"))

    barSeconds: int = Field(default=60, ge=1, le=3600)
    fastPeriod: int = Field(default=5, ge=2, le=200)
    slowPeriod: int = Field(default=20, ge=3, le=500)


PARAM_MODELS: dict[str, type[StrategyParams]] = {
    "momentum": MomentumParams,
    "meanReversion": MeanReversionParams,
    "volumeSpike": VolumeSpikeParams,
    "orderFlow": OrderFlowParams,
    "technicalPattern": TechnicalPatternParams,
}


def parse_params(strategy: str, params: dict[str, Any] | None) -> StrategyParams:
    """Validate ``params`` with the strategy's model; errors name the strategy and the key."""
    try:
        model = PARAM_MODELS[strategy]
    except KeyError:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {sorted(PARAM_MODELS)}") from None
    return model.model_validate(params or {})
