"""Typed records (msgspec Structs) read from plain data and written back to it.

The custom resources, the strategies' parameters, the floor policy and the bus's messages are
Structs. ``parse`` reads one from what YAML or JSON gave (the API server's typing: ``"5"`` is not
an integer, ``5.0`` is; decimals are strings), ``dump`` writes one as JSON-ready builtins, and
``schema`` describes one as JSON Schema (the CRDs are generated from it). msgspec rather than
pydantic: a trader process imports these models, and msgspec costs it about 1.3 MiB, pydantic 11.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

from tradingfloor.decimal_fields import DecimalStr, decimal_schema, decode_decimal, integral

T = TypeVar("T")


class ModelError(ValueError):
    """Data that does not fit its model: ``path`` is where (``spec.risk.capital``, "" for the whole
    object), ``problem`` what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


# msgspec's hooks: each handles the one custom type here (decimal strings) and raises
# NotImplementedError for any other, which is how msgspec is told to report the type as unsupported.
def _dec_hook(field_type: type, value: object) -> object:
    if isinstance(field_type, type) and issubclass(field_type, DecimalStr):
        return decode_decimal(field_type, value)
    raise NotImplementedError(f"no decoder for {field_type}")


def _enc_hook(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise NotImplementedError(f"cannot write {type(value).__name__}")


def _schema_hook(field_type: type) -> dict[str, Any]:
    if issubclass(field_type, DecimalStr):
        return decimal_schema(field_type)
    raise NotImplementedError(f"no schema for {field_type}")


def _integral_floats(value: Any) -> Any:
    """``value`` with every float that has no fraction made an int, as the API server reads
    ``type: integer`` (no model field is a float that 5.0 and 5 would tell apart)."""
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    return integral(value)


def _split(message: str) -> tuple[str, str]:
    """msgspec's "problem - at `$.a.b[0]`" as ("a.b[0]", "problem")."""
    problem, sep, where = message.rpartition(" - at `")
    if not sep:
        return "", message
    return where.rstrip("`").removeprefix("$").removeprefix("."), problem


def _choices(model: type, path: str) -> list[Any] | None:
    """The values a Literal field at ``path`` (``spec.market.asset``) allows, if that is what it is."""
    node: Any = mi.type_info(model)
    for name in re.sub(r"\[\d+\]", "", path).split(".") if path else []:
        while isinstance(node, mi.Metadata | mi.UnionType):
            node = (
                node.type
                if isinstance(node, mi.Metadata)
                else next((t for t in node.types if not isinstance(t, mi.NoneType)), None)
            )
        if isinstance(node, mi.ListType):
            node = node.item_type
        if not isinstance(node, mi.StructType):
            return None
        node = next((f.type for f in node.fields if f.encode_name == name), None)
    while isinstance(node, mi.Metadata):
        node = node.type
    return list(node.values) if isinstance(node, mi.LiteralType) else None


def parse(model: type[T], data: Any) -> T:
    """``data`` (plain dicts, lists and scalars) as ``model``; raises :class:`ModelError`."""
    try:
        return msgspec.convert(data, model, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        error = exc  # perhaps a whole float where an integer belongs: read those as integers, try again
    try:
        return msgspec.convert(_integral_floats(data), model, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        error = exc
    except RecursionError:
        pass  # too deep to walk (no model nests that deep): the first error stands
    path, problem = _split(str(error))
    if problem.startswith("Invalid enum value"):
        choices = _choices(model, path)
        if choices:
            problem += f": expected one of {', '.join(repr(c) for c in choices)}"
    raise ModelError(path, problem) from None


def _decimals_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _decimals_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_as_text(v) for v in value]
    return format(value, "f") if isinstance(value, Decimal) else value


def dump(record: Any, *, exclude_none: bool = False, include: Collection[str] | None = None) -> Any:
    """``record`` as JSON-ready builtins: decimals as plain decimal strings, times as RFC 3339.
    ``exclude_none`` drops None-valued keys at every depth; ``include`` keeps only those top keys."""
    data = _decimals_as_text(msgspec.to_builtins(record, builtin_types=(Decimal,), enc_hook=_enc_hook))
    if include is not None and isinstance(data, dict):
        data = {k: v for k, v in data.items() if k in include}
    return _without_none(data) if exclude_none else data


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def schema(model: type) -> dict[str, Any]:
    """``model``'s JSON Schema, definitions under ``$defs``."""
    result: dict[str, Any] = msgspec.json.schema(model, schema_hook=_schema_hook)
    return result
