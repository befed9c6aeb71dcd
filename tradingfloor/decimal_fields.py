"""Decimal fields written as strings, shared by the resource models and the strategies' parameters.

Money, prices and ratios in a spec are strings holding decimals (Kubernetes API conventions avoid
floats in specs); they parse to ``Decimal`` in Python and carry a pattern in the CRD schema. This
module sits below both ``models`` and ``strategies`` so neither has to import the other for it.

The CRD's types are the contract, so a manifest gets the same typing here as at the API server: a
decimal must be written as a string, an integer as a number (``"5"`` and ``true`` are refused).

A field typed :class:`DecimalStr` (or a bounded subclass, ``class Price(DecimalStr, low="0.01",
high="0.99")``) is read by :func:`decode_decimal` and described in a schema by
:func:`decimal_schema`; ``tradingfloor.structs`` hands both to msgspec.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
_DECIMAL_RE = re.compile(DECIMAL_PATTERN)
MAX_DECIMAL_CHARS = 64


class DecimalStr(Decimal):
    """A decimal that a manifest writes as a string; subclasses may bound it to [low, high].

    Calling the class (``Price("0.70")``, as defaults do) gives a plain ``Decimal``: defaults then
    encode like any Decimal (msgspec writes them into the CRD schema). Values read from a manifest
    are instances of the field's class, which is what msgspec checks them against."""

    LOW: ClassVar[Decimal | None] = None
    HIGH: ClassVar[Decimal | None] = None

    def __init_subclass__(cls, low: str | None = None, high: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (low is None) != (high is None):
            raise TypeError(f"{cls.__name__}: give both bounds or neither")
        if low is not None and high is not None:
            cls.LOW, cls.HIGH = Decimal(low), Decimal(high)

    def __new__(cls, value: str | Decimal = "0") -> DecimalStr:
        return Decimal(value)  # type: ignore[return-value]  # a plain Decimal: see the class doc


def decode_decimal(field_type: type[DecimalStr], value: object) -> DecimalStr:
    """``value`` from a manifest as a decimal of ``field_type``; numbers, non-decimal strings and
    values outside the type's bounds raise ValueError naming what was wrong."""
    if not isinstance(value, str):
        raise ValueError(
            f'expected a decimal number written as a string, e.g. "0.25", got {type(value).__name__} {value!r}'
        )
    if len(value) > MAX_DECIMAL_CHARS or not _DECIMAL_RE.match(value):
        raise ValueError(f'expected a decimal number written as a string, e.g. "0.25", got {value[:40]!r}')
    try:
        number = Decimal.__new__(field_type, value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError(f"{value!r} is not a decimal number") from None
    low, high = field_type.LOW, field_type.HIGH
    if low is not None and high is not None and not low <= number <= high:
        raise ValueError(f"must be between {low} and {high}, got {value}")
    return number


def decimal_schema(field_type: type[DecimalStr]) -> dict[str, Any]:
    """The field's JSON Schema: a decimal string, its bounds as a CEL rule for the API server."""
    schema: dict[str, Any] = {"type": "string", "pattern": DECIMAL_PATTERN}
    low, high = field_type.LOW, field_type.HIGH
    if low is not None and high is not None:
        schema["maxLength"] = MAX_DECIMAL_CHARS
        schema["x-kubernetes-validations"] = [
            {
                "rule": f"double(self) >= {float(low)} && double(self) <= {float(high)}",
                "message": f"must be between {low} and {high}",
            }
        ]
    return schema


def integral(value: Any) -> Any:
    """What the API server accepts for ``type: integer``: an int, or a float with no fraction
    (JSON does not tell 5 from 5.0). Anything else is returned unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
