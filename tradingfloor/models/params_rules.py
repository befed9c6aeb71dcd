"""CEL rules for ``TraderAgent.spec.params``, generated from the strategies' parameter models.

``spec.params`` is a free map in the CRD schema (its keys depend on ``spec.strategy``), so its
keys, types, bounds and ordering rules reach the API server as CEL rules on the spec, built here
from the same models that check a manifest in Python: one source, two doors.
"""

from __future__ import annotations

from tradingfloor.decimal_fields import DECIMAL_PATTERN
from tradingfloor.strategies.params import PARAM_MODELS, ParamField, StrategyParams, param_fields


def _value_test(info: ParamField, ref: str) -> tuple[str, str]:
    """(CEL test on ``ref``, words for the message) for one parameter's type and bounds."""
    low, high = info.low, info.high
    if info.is_int:
        return f"type({ref}) == int && {ref} >= {low} && {ref} <= {high}", f"an integer from {low} to {high}"
    test = (
        f"type({ref}) == string && {ref}.matches('{DECIMAL_PATTERN}') && "
        f"double({ref}) >= {float(low)} && double({ref}) <= {float(high)}"
    )
    return test, f'a decimal string from "{low}" to "{high}"'


def _default_literal(info: ParamField) -> str:
    return str(info.default) if info.is_int else f"'{info.default}'"


def _numeric(info: ParamField, ref: str) -> str:
    return ref if info.is_int else f"double({ref})"


def _param(info: ParamField) -> str:
    """The parameter's value in CEL, its default when the manifest leaves it out."""
    ref = f"self.params.{info.name}"
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
    by_name = {f.name: f for f in param_fields(model)}
    lo_info, hi_info = by_name[low], by_name[high]
    typed = " && ".join(
        f"(!has(self.params.{i.name}) || type(self.params.{i.name}) == {'int' if i.is_int else 'string'})"
        for i in (lo_info, hi_info)
    )
    compare = f"{_numeric(lo_info, _param(lo_info))} < {_numeric(hi_info, _param(hi_info))}"
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
        keys = ", ".join(f"'{f.name}'" for f in param_fields(model))
        rules.append(
            {
                "rule": _for_strategy(strategy, f"self.params.all(k, k in [{keys}])"),
                "message": f"params has a key strategy {strategy} does not know (see docs/strategies.md)",
                "fieldPath": ".params",
            }
        )
    shared = {f.name for f in param_fields(StrategyParams)}
    for info in param_fields(StrategyParams):
        name = info.name
        test, words = _value_test(info, f"self.params.{name}")
        rules.append(
            {
                "rule": _if_present(name, test),
                "message": f"params.{name} must be {words}",
                "fieldPath": f".params.{name}",
            }
        )
    for strategy, model in PARAM_MODELS.items():
        for info in param_fields(model):
            name = info.name
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
