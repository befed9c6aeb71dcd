"""Decimal fields written as strings, shared by the resource models and the strategies' parameters.

Money, prices and ratios in a spec are strings holding decimals (Kubernetes API conventions avoid
floats in specs); they parse to ``Decimal`` in Python and carry a pattern in the CRD schema. This
module sits below both ``models`` and ``strategies`` so neither has to import the other for it.

The CRD's types are the contract, so a manifest gets the same typing here as at the API server: a
decimal must be written as a string, an integer as a number (``"5"`` and ``true`` are refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import annotated_types
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)
MAX_DECIMAL_CHARS = 64


def _to_decimal(value: object) -> object:
    """A decimal string (or a Decimal built in code) as Decimal; numbers and other shapes refused."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite decimal")
        return value
    if isinstance(value, str):
        if len(value) > MAX_DECIMAL_CHARS or not _DECIMAL_RE.match(value):
            raise ValueError(
                f'expected a decimal number written as a string, e.g. "0.25", got {value[:40]!r}'
            )
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            raise ValueError(f"{value!r} is not a decimal number") from None
    raise ValueError(
        f'expected a decimal number written as a string, e.g. "0.25", got {type(value).__name__} {value!r}'
    )


def integral(value: Any) -> Any:
    """What the API server accepts for ``type: integer``: an int, or a float with no fraction
    (JSON does not tell 5 from 5.0). Strings and booleans stay as they are and fail strict typing."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
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
                "maxLength": MAX_DECIMAL_CHARS,
                "x-kubernetes-validations": [
                    {
                        "rule": f"double(self) >= {float(lo)} && double(self) <= {float(hi)}",
                        "message": f"must be between {self.low} and {self.high}",
                    }
                ],
            }
        )
