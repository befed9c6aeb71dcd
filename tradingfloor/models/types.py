"""Field types shared by the custom-resource models.

Money, prices and ratios in a spec are strings holding decimals (Kubernetes API conventions avoid
floats in specs); they parse to ``Decimal`` in Python and carry a pattern in the CRD schema. The
CRD's types are the contract, so a manifest gets the same typing here as at the API server: a
decimal must be written as a string, an integer as a number (``"5"`` and ``true`` are refused).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)
_MAX_DECIMAL_CHARS = 64


def _to_decimal(value: object) -> object:
    """A decimal string (or a Decimal built in code) as Decimal; numbers and other shapes refused."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite decimal")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_DECIMAL_CHARS or not _DECIMAL_RE.match(value):
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


def decimal_cel(low: Decimal, high: Decimal) -> str:
    """The CEL test that a decimal string lies in [low, high] (``self`` is the string)."""
    return f"double(self) >= {float(low)} && double(self) <= {float(high)}"


def decimal_between(low: str, high: str) -> Any:
    """A DecimalStr bounded to [low, high] (checked by the model; the CRD gets a CEL rule)."""
    lo, hi = Decimal(low), Decimal(high)
    return Annotated[
        DecimalStr,
        Field(ge=lo, le=hi),
        WithJsonSchema(
            {
                "type": "string",
                "pattern": DECIMAL_PATTERN,
                "maxLength": _MAX_DECIMAL_CHARS,
                "x-kubernetes-validations": [
                    {"rule": decimal_cel(lo, hi), "message": f"must be between {low} and {high}"}
                ],
            }
        ),
    ]
