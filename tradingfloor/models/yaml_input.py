"""Read manifest YAML the way the API server's decoder would take it, and never crash on it.

Limits, each refused with a message naming the file and what is wrong: at most ``MAX_BYTES``
(the API server's request limit, 3 MiB); UTF-8 only; no duplicated mapping keys (a second
``mode:`` must not silently win); alias expansion bounded (a "billion laughs" file stays small
on disk but not in memory); nesting bounded (the composer recurses, deep input would overflow
the stack). Timestamps stay strings, as they do once kubectl has turned the YAML into JSON.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 3 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 20_000  # a manifest holds tens; a list of 20,000 values is not one

# libyaml's parser when present (fast; the depth pre-check keeps its recursion shallow)
_EventLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAMLInputError(ValueError):
    """Input that is not acceptable manifest YAML; the message says what and where."""


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keeps timestamps as written."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise YAMLInputError(
                    f"mapping key at {_where(key_node.start_mark)} is not a scalar"
                ) from None
            if first is not None:
                raise YAMLInputError(
                    f"duplicate key {key!r} at {_where(key_node.start_mark)} (first at {_where(first)})"
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: _StrictLoader, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):  # the timestamp resolver only matches scalars
        raise yaml.constructor.ConstructorError(None, None, "a timestamp must be a scalar", node.start_mark)
    return str(loader.construct_scalar(node))


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _flow_depth(text: str, limit: int) -> int:
    """The deepest ``[``/``{`` nesting (up to ``limit + 1``) outside quotes and comments. PyYAML's
    scanner slows quadratically with flow nesting, so deep brackets are refused before parsing;
    anything this rough pass misses is still caught by the parser-event check."""
    if text.count("[") + text.count("{") <= limit:
        return 0  # too few brackets to nest that deep (a fast path for ordinary files)
    depth = deepest = 0
    quote = ""
    comment = False
    for ch in text:
        if comment:
            comment = ch != "\n"
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def _check_shape(text: str) -> None:
    """One pass over the parser's events (iterative, so deep input cannot overflow the stack):
    depth and the size the document has once every alias is expanded."""
    # Per open collection: [expanded node count, height below it, anchor]
    stack: list[list[Any]] = []
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
    total = 0

    def add(count: int, height: int) -> None:
        nonlocal total
        if stack:
            stack[-1][0] += count
            stack[-1][1] = max(stack[-1][1], height)
        else:
            total += count
        if len(stack) + height > MAX_DEPTH:
            raise YAMLInputError(f"nesting deeper than {MAX_DEPTH} levels")
        if total + sum(s[0] for s in stack) > MAX_EXPANDED_NODES:
            raise YAMLInputError(f"more than {MAX_EXPANDED_NODES} values (aliases expanded)")

    if _flow_depth(text, MAX_DEPTH) > MAX_DEPTH:
        raise YAMLInputError(f"nesting deeper than {MAX_DEPTH} levels")
    for event in yaml.parse(text, Loader=_EventLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([0, 0, event.anchor])
            if len(stack) > MAX_DEPTH:
                raise YAMLInputError(f"nesting deeper than {MAX_DEPTH} levels at {_where(event.start_mark)}")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            count, height, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = (count + 1, height + 1)
            add(count + 1, height + 1)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = (1, 0)
            add(1, 0)
        elif isinstance(event, yaml.AliasEvent):
            count, height = sizes.get(event.anchor or "", (1, 0))
            add(count, height)
        elif isinstance(event, yaml.DocumentEndEvent):
            sizes.clear()


def decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise YAMLInputError(f"{source}: {len(data)} bytes is over the {MAX_BYTES}-byte (3 MiB) limit")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YAMLInputError(
            f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def load_documents(data: bytes, source: str) -> list[Any]:
    """Every non-empty YAML document in ``data``; YAMLInputError when the input breaks a rule."""
    text = decode(data, source)
    try:
        _check_shape(text)
        return [doc for doc in yaml.load_all(text, Loader=_StrictLoader) if doc is not None]
    except YAMLInputError as exc:
        raise YAMLInputError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        raise YAMLInputError(f"{source}: cannot read YAML: {problem} at {_where(mark)}") from None
