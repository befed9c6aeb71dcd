"""Each strategy's parameter model: the defaults are the seed's starting rules.

A TraderAgent's ``spec.params`` is validated by the model of its ``spec.strategy``: unknown keys,
wrong types, out-of-range values and the ordering rules in ``ORDERED`` are rejected here and, by
CEL rules generated from these models (``tradingfloor.models.params_rules``), at the API server.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import msgspec.inspect
from msgspec import Meta

from tradingfloor.decimal_fields import DecimalStr
from tradingfloor.structs import parse

StrategyName = Literal["momentum", "meanReversion", "volumeSpike", "orderFlow", "technicalPattern"]


class Price(DecimalStr, low="0.01", high="0.99"):
    """A share price a rule may pay."""


class PriceFloor(DecimalStr, low="0.001", high="0.99"):
    """The lowest share price a rule may buy at."""


class SpikeMultiple(DecimalStr, low="1.1", high="100"):
    pass


class Imbalance(DecimalStr, low="0.05", high="0.95"):
    pass


class StrategyParams(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    # (smaller, larger): the first must be strictly below the second, defaults included.
    ORDERED: ClassVar[tuple[tuple[str, str], ...]] = (("minEntryPrice", "maxEntryPrice"),)

    def __post_init__(self) -> None:
        for low, high in self.ORDERED:
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{low} ({getattr(self, low)}) must be below {high} ({getattr(self, high)})")

    maxEntryPrice: Annotated[Price, Meta(description="Never pay more than this per share.")] = Price("0.70")
    minEntryPrice: Annotated[
        PriceFloor,
        Meta(
            description="Never buy a side priced below this: sub-cent shares are lottery tickets, "
            "not a conservative rule's trade (lower it in the manifest to allow them)."
        ),
    ] = PriceFloor("0.05")
    minSecondsToClose: Annotated[
        int, Meta(ge=0, le=3600, description="No new entries this close to the round's end.")
    ] = 60
    minSecondsFromOpen: Annotated[
        int, Meta(ge=0, le=3600, description="No new entries this soon after the round opens.")
    ] = 0


class MomentumParams(StrategyParams, frozen=True):
    """Buy Up after spot rose by thresholdBps within lookbackSeconds; Down after it fell."""

    lookbackSeconds: Annotated[int, Meta(ge=5, le=3600)] = 300
    thresholdBps: Annotated[int, Meta(ge=1, le=5000, description="50 bps = a 0.5 % move.")] = 50


class MeanReversionParams(StrategyParams, frozen=True):
    """Buy Down after spot rose by more than thresholdBps within lookbackSeconds; Up after it fell."""

    lookbackSeconds: Annotated[int, Meta(ge=5, le=3600)] = 600
    thresholdBps: Annotated[int, Meta(ge=1, le=5000)] = 100


class VolumeSpikeParams(StrategyParams, frozen=True):
    """Trade in the direction of the move when recent spot volume is spikeMultiple × its baseline."""

    ORDERED = (*StrategyParams.ORDERED, ("windowSeconds", "baselineSeconds"))

    windowSeconds: Annotated[int, Meta(ge=5, le=3600)] = 60
    baselineSeconds: Annotated[int, Meta(ge=60, le=86400)] = 900
    spikeMultiple: SpikeMultiple = SpikeMultiple("3")
    minMoveBps: Annotated[int, Meta(ge=0, le=5000)] = 5


class OrderFlowParams(StrategyParams, frozen=True):
    """Follow the side whose resting depth dominates: (bid − ask) / (bid + ask) beyond the threshold."""

    depthLevels: Annotated[int, Meta(ge=1, le=50)] = 5
    imbalanceThreshold: Imbalance = Imbalance("0.30")


class TechnicalPatternParams(StrategyParams, frozen=True):
    """EMA crossover on spot bars: buy Up when the fast EMA crosses above the slow one, Down below."""

    ORDERED = (*StrategyParams.ORDERED, ("fastPeriod", "slowPeriod"))

    barSeconds: Annotated[int, Meta(ge=1, le=3600)] = 60
    fastPeriod: Annotated[int, Meta(ge=2, le=200)] = 5
    slowPeriod: Annotated[int, Meta(ge=3, le=500)] = 20


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
    return parse(model, params or {})


@dataclass(frozen=True)
class ParamField:
    """One parameter as the CEL rules and the clone variations need it."""

    name: str
    is_int: bool  # else a decimal string
    low: Decimal
    high: Decimal
    default: int | Decimal


def param_fields(model: type[StrategyParams]) -> list[ParamField]:
    """Every parameter of ``model``: its name, type, bounds and default, in declaration order."""
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = []
    for f in info.fields:
        kind = f.type.type if isinstance(f.type, msgspec.inspect.Metadata) else f.type  # described fields
        if isinstance(kind, msgspec.inspect.IntType) and kind.ge is not None and kind.le is not None:
            fields.append(ParamField(f.name, True, Decimal(kind.ge), Decimal(kind.le), f.default))
        elif isinstance(kind, msgspec.inspect.CustomType) and issubclass(kind.cls, DecimalStr):
            low, high = kind.cls.LOW, kind.cls.HIGH
            if low is None or high is None:
                raise ValueError(f"parameter {f.name} needs bounds")
            fields.append(ParamField(f.name, False, low, high, f.default))
        else:
            raise ValueError(f"parameter {f.name} of {model.__name__}: no bounded int or decimal type")
    return fields
