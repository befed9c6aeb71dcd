"""Cloning winners: deterministic parameter variations within each strategy's bounds, clone names
and lineage labels. Clones are new, independent agents (not owned by their parent)."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from tradingfloor.models.common import GROUP
from tradingfloor.strategies.params import PARAM_MODELS, StrategyParams, param_fields, parse_params

LABEL_ROOT = f"{GROUP}/lineage-root"
LABEL_PARENT = f"{GROUP}/parent"
LABEL_GENERATION = f"{GROUP}/generation"
MAX_NAME = 63  # the name must also fit in label values
_CLONE_SUFFIX = re.compile(r"-g\d+-[0-9a-f]{6}$")
_DECIMAL_STEP = Decimal("0.01")


def tunable_fields(strategy: str) -> list[str]:
    """Parameters of the strategy (all bounded numbers), its own first; the shared entry rules only if it has none."""
    numeric = [f.name for f in param_fields(PARAM_MODELS[strategy])]
    shared = {f.name for f in param_fields(StrategyParams)}
    own = [f for f in numeric if f not in shared]
    return sorted(own or numeric)


def vary_params(
    strategy: str, params: dict[str, Any], k: int, step: float = 0.10
) -> tuple[dict[str, Any], str]:
    """Variation number ``k`` of ``params``: one parameter moved up or down by a growing step,
    clipped to its bounds. Same inputs, same variation; k = 0, 1, 2 … walk fields, then directions."""
    by_name = {f.name: f for f in param_fields(PARAM_MODELS[strategy])}
    current = parse_params(strategy, params)
    fields = tunable_fields(strategy)
    if not fields:
        raise ValueError(f"strategy {strategy} has no bounded numeric parameter to vary")
    for attempt in range(k, k + 4 * len(fields)):  # skip variations that cannot move (at a bound)
        field = fields[attempt % len(fields)]
        rounds = attempt // len(fields)
        sign = 1 if rounds % 2 == 0 else -1
        magnitude = Decimal(str(step)) * (rounds // 2 + 1)
        lo, hi, is_int = by_name[field].low, by_name[field].high, by_name[field].is_int
        value = Decimal(str(getattr(current, field)))
        unit = Decimal(1) if is_int else _DECIMAL_STEP
        delta = max(abs(value) * magnitude, unit * (rounds // 2 + 1))
        new = min(hi, max(lo, value + sign * delta))
        new = new.quantize(unit) if not is_int else new.to_integral_value()
        new = min(hi, max(lo, new))
        if new != value:
            out = dict(params)
            out[field] = int(new) if is_int else format(new, "f")
            try:
                parse_params(strategy, out)  # the variation must still be a valid manifest
            except ValueError:
                continue  # e.g. fastPeriod moved up to slowPeriod: try the next variation
            return out, f"{field}={out[field]}"
    raise ValueError(f"no variation of {strategy} params moves any parameter (all at their bounds)")


def variation_hash(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:6]


def clone_name(parent: str, generation: int, params: dict[str, Any]) -> str:
    """``<parent>-g<gen>-<hash>``; a parent that is itself a clone contributes its base name, so
    names do not grow with every generation."""
    base = _CLONE_SUFFIX.sub("", parent)
    suffix = f"-g{generation}-{variation_hash(params)}"
    return base[: MAX_NAME - len(suffix)].rstrip("-.") + suffix


def root_from_labels(name: str, labels: dict[str, str] | None) -> str:
    """The lineage root a resource's labels name (a resource without the label is its own root)."""
    return (labels or {}).get(LABEL_ROOT) or name


def clone_manifest(
    parent_name: str, parent_labels: dict[str, str] | None, parent_spec: dict[str, Any], k: int, step: float
) -> dict[str, Any]:
    """A new TraderAgent (apiVersion/kind/metadata/spec) varying the parent's params (variation ``k``).

    Clones start Active in paper mode: a clone never trades real money without a human opting in.
    """
    generation = int(parent_spec.get("lineage", {}).get("generation", 0)) + 1
    params, variation = vary_params(parent_spec["strategy"], parent_spec.get("params") or {}, k, step)
    name = clone_name(parent_name, generation, params)
    spec = {
        **parent_spec,
        "params": params,
        "lifecycle": "Active",
        "mode": "paper",
        "lineage": {"parent": parent_name, "generation": generation, "variation": variation},
    }
    labels = {
        LABEL_ROOT: root_from_labels(parent_name, parent_labels),
        LABEL_PARENT: parent_name,
        LABEL_GENERATION: str(generation),
    }
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
