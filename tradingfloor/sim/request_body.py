"""JSON request bodies the simulator accepts: bounded nesting, finite numbers, exact decimals.

Some libraries the floor imports raise Python's recursion limit (``py_ecc`` sets it to 100,000),
and then a body nested a few thousand brackets deep overflows the C stack inside ``json.loads``
and kills the whole process. So nesting is measured before parsing, iteratively. Numbers parse as
``Decimal`` — ``1e999999`` stays exactly that rather than ``inf``, and ``NaN``/``Infinity`` (which
Python's ``json`` accepts, though JSON has no such literals) become Decimal's own — so the field
validation that follows can refuse them naming the field they were given for.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32  # the deepest venue request (a list of orders, each an object) nests 3 levels
# the characters that matter for nesting: brackets, quotes, and an escape with what it escapes
_TOKENS = re.compile(rb'\\.|[\[\]{}"]', re.DOTALL)


class BadBody(ValueError):
    """A request body the simulator refuses, with a message naming what is wrong."""


def nesting_depth(data: bytes, limit: int = MAX_DEPTH) -> int:
    """How deep ``[``/``{`` nest outside JSON strings (stops counting past ``limit``)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0  # too few brackets to nest that deep: an ordinary body costs nothing more
    depth = deepest = 0
    in_string = False
    for match in _TOKENS.finditer(data):  # one linear pass: no backtracking on unclosed strings
        token = match.group()
        if token == b'"':
            in_string = not in_string
        elif in_string or len(token) > 1:
            continue  # a bracket inside a string, or an escaped character
        elif token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def parse_body(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``data``; ``BadBody`` naming the problem when it is not acceptable."""
    if not data.strip():
        raise BadBody("the request body is empty (expected JSON)")
    if nesting_depth(data, max_depth) > max_depth:
        raise BadBody(f"the request body nests deeper than {max_depth} levels")
    try:
        text = data.decode()  # explicitly: json.loads would guess UTF-16 or UTF-32 from the bytes
    except UnicodeDecodeError:
        raise BadBody("the request body is not UTF-8") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=Decimal)
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4,300 digits
        raise BadBody(f"the request body is not valid JSON: {exc}") from None
