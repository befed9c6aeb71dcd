"""CEL rules for ``TraderAgent.spec.params``, generated from the strategies' parameter models.

``spec.params`` is a free map in the CRD schema (its keys depend on ``spec.strategy``), so its
keys, types, bounds and ordering rules reach the API server as CEL rules on the spec, built here
from the same pydantic models that check a manifest in Python: one source, two doors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import annotated_types
from pydantic.fields import FieldInfo

from tradingfloor.decimal_fields import DECIMAL_PATTERN
from tradingfloor.strategies.params import PARAM_MODELS, StrategyParams


def bounds(info: FieldInfo) -> tuple[Any, Any]:
    """(low, high) of a parameter, from ``Field(ge=, le=)`` or a grouped ``Between``."""
    low = high = None
    flat = [
        m
        for item in info.metadata
        for m in (item if isinstance(item, annotated_types.GroupedMetadata) else [item])
    ]
    for item in flat:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Le):
            high = item.le
    if low is None or high is None:
        raise ValueError(f"parameter {info.alias or info} needs both bounds to be expressed as a CEL rule")
    return low, high


def _value_test(info: FieldInfo, ref: str) -> tuple[str, str]:
    """(CEL test on ``ref``, words for the message) for one parameter's type and bounds."""
    low, high = bounds(info)
    if info.annotation is int:
        return f"type({ref}) == int && {ref} >= {low} && {ref} <= {high}", f"an integer from {low} to {high}"
    if info.annotation is Decimal:
        lo, hi = Decimal(low), Decimal(high)
        test = (
            f"type({ref}) == string && {ref}.matches('{DECIMAL_PATTERN}') && "
            f"double({ref}) >= {float(lo)} && double({ref}) <= {float(hi)}"
        )
        return test, f'a decimal string from "{lo}" to "{hi}"'
    raise ValueError(f"no CEL rule for parameter type {info.annotation}")


def _default_literal(info: FieldInfo) -> str:
    return str(info.default) if info.annotation is int else f"'{info.default}'"


def _numeric(info: FieldInfo, ref: str) -> str:
    return ref if info.annotation is int else f"double({ref})"


def _param(name: str, info: FieldInfo) -> str:
    """The parameter's value in CEL, its default when the manifest leaves it out."""
    ref = f"self.params.{name}"
    return f"(has({ref}) ? {ref} : {_default_literal(info)})"


# Guards are written as ``cond ? true : rule`` rather than ``cond || rule``: the same meaning,
# but evaluators stop at the guard, so the rules of other strategies cost next to nothing.
def _unless(condition: str, rule: str) -> str:
    return f"{condition} ? true : ({rule})"


def _for_strategy(strategy: str, rule: str) -> str:
    return _unless(f"self.strategy != '{strategy}'", rule)


def _if_present(name: str, rule: str) -> str:
    return _unless(f"!has(self.params.{name})", rule)


def _ordered_rule(model: type[StrategyParams], low: str, high: str, strategy: str | None) -> dict[str, str]:
    lo_info, hi_info = model.model_fields[low], model.model_fields[high]
    typed = " && ".join(
        f"(!has(self.params.{n}) || type(self.params.{n}) == {'int' if i.annotation is int else 'string'})"
        for n, i in ((low, lo_info), (high, hi_info))
    )
    compare = f"{_numeric(lo_info, _param(low, lo_info))} < {_numeric(hi_info, _param(high, hi_info))}"
    # a wrongly typed value is reported by its own rule; this one only compares numbers
    rule = _unless(f"!({typed})", compare)
    where = f" for strategy {strategy}" if strategy else ""
    return {
        "rule": _for_strategy(strategy, rule) if strategy else rule,
        "message": f"params.{low} must be below params.{high}{where}",
        "fieldPath": f".params.{low}",
    }


def params_rules() -> list[dict[str, str]]:
    rules = []
    for strategy, model in PARAM_MODELS.items():
        keys = ", ".join(f"'{k}'" for k in model.model_fields)
        rules.append(
            {
                "rule": _for_strategy(strategy, f"self.params.all(k, k in [{keys}])"),
                "message": f"params has a key strategy {strategy} does not know (see docs/strategies.md)",
                "fieldPath": ".params",
            }
        )
    shared = StrategyParams.model_fields
    for name, info in shared.items():
        test, words = _value_test(info, f"self.params.{name}")
        rules.append(
            {
                "rule": _if_present(name, test),
                "message": f"params.{name} must be {words}",
                "fieldPath": f".params.{name}",
            }
        )
    for strategy, model in PARAM_MODELS.items():
        for name, info in model.model_fields.items():
            if name in shared:
                continue
            test, words = _value_test(info, f"self.params.{name}")
            rules.append(
                {
                    "rule": _for_strategy(strategy, _if_present(name, test)),
                    "message": f"params.{name} must be {words} for strategy {strategy}",
                    "fieldPath": f".params.{name}",
                }
            )
        for low, high in model.ORDERED:
            if (low, high) in StrategyParams.ORDERED:
                continue  # shared by every strategy: emitted once below
            rules.append(_ordered_rule(model, low, high, strategy))
    for low, high in StrategyParams.ORDERED:
        rules.append(_ordered_rule(StrategyParams, low, high, None))
    return rules
