"""Decimal fields written as strings, shared by the resource models and the strategies' parameters.

Money, prices and ratios in a spec are strings holding decimals (Kubernetes API conventions avoid
floats in specs); they parse to ``Decimal`` in Python and carry a pattern in the CRD schema. This
module sits below both ``models`` and ``strategies`` so neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

import annotated_types
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

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


@dataclass(frozen=True)
class Between(annotated_types.GroupedMetadata):
    """Bounds a :data:`DecimalStr` to [low, high]: ``Annotated[DecimalStr, Between("0", "1")]``.

    The model checks the bounds; the CRD schema gets the same bounds as a CEL rule."""

    low: str
    high: str

    def __iter__(self) -> Iterator[object]:
        lo, hi = Decimal(self.low), Decimal(self.high)
        yield annotated_types.Ge(lo)
        yield annotated_types.Le(hi)
        yield WithJsonSchema(
            {
                "type": "string",
                "pattern": DECIMAL_PATTERN,
                "x-kubernetes-validations": [
                    {
                        "rule": f"double(self) >= {float(lo)} && double(self) <= {float(hi)}",
                        "message": f"must be between {self.low} and {self.high}",
                    }
                ],
            }
        )
