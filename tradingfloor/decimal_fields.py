"""Decimal fields written as strings, shared by the resource models and the strategies' parameters.

Money, prices and ratios in a spec are strings holding decimals (Kubernetes API conventions avoid
floats in specs); they parse to ``Decimal`` in Python and carry a pattern in the CRD schema. This
module sits below both ``models`` and ``strategies`` so neither has to import the other for it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _to_decimal(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError('expected a decimal number written as a string, e.g. "0.25"')
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    return value


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]


def decimal_between(low: str, high: str) -> object:
    """A DecimalStr bounded to [low, high] (checked by the model; the CRD gets a CEL rule)."""
    lo, hi = Decimal(low), Decimal(high)
    return Annotated[
        DecimalStr,
        Field(ge=lo, le=hi),
        WithJsonSchema(
            {
                "type": "string",
                "pattern": DECIMAL_PATTERN,
                "x-kubernetes-validations": [
                    {
                        "rule": f"double(self) >= {float(lo)} && double(self) <= {float(hi)}",
                        "message": f"must be between {low} and {high}",
                    }
                ],
            }
        ),
    ]
