"""Both doors agree: a generated catalogue of bad manifests, refused by ``floor validate`` (the
models) and by the API server (tests/k8s_schema.py: metadata rules, the CRD's OpenAPI schema and
CEL rules), plus a property test that random edits of good manifests get the same verdict from
both. The cases are generated from the schemas and the rules, not listed by hand, so a new field
or parameter is covered without touching this file."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.k8s_schema import decode_request, load_crd_schema, validate
from tradingfloor.cli import app
from tradingfloor.models.crd import RESOURCES
from tradingfloor.models.manifests import ManifestError, parse_resource
from tradingfloor.models.transitions import check_update
from tradingfloor.strategies.params import PARAM_MODELS, param_fields

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    doc["metadata"]["name"]: doc
    for path in sorted((ROOT / "examples").glob("*.yaml"))
    for doc in yaml.safe_load_all(path.read_text())
}


@functools.cache
def schema(kind: str) -> dict[str, Any]:
    return load_crd_schema(ROOT / "crds" / RESOURCES[kind].filename)


def base(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for d in EXAMPLES.values() if d["kind"] == kind))


def floor_rejects(doc: Any) -> str | None:
    try:
        parse_resource(doc, "case.yaml")
    except ManifestError as exc:
        return str(exc)
    return None


def set_path(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return doc


# ---- the catalogue, generated from the CRD schemas and the strategy models ----------------------


def leaves(
    node: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    for name, sub in node.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            yield from leaves(sub, (*path, name))
        elif "type" in sub:
            yield (*path, name), sub


def bad_values(sub: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Values the field's schema refuses: wrong JSON type, out of range, not in the enum."""
    kind = sub["type"]
    if kind == "integer":
        yield "as-string", str(sub.get("minimum", 1))
        yield "fraction", 1.5
        if "minimum" in sub:
            yield "below-min", sub["minimum"] - 1
        if "maximum" in sub:
            yield "above-max", sub["maximum"] + 1
    elif kind == "string":
        yield "as-number", 1
        if "enum" in sub:
            yield "not-in-enum", "Nonsense"
        if "pattern" in sub:
            yield "bad-pattern", "Not A Pattern!"
        if "maxLength" in sub:
            yield "too-long", "9" * (sub["maxLength"] + 1)
        for rule in sub.get("x-kubernetes-validations", []):
            if "double(self) >=" in rule["rule"]:
                yield "below-range", "-1"
                yield "above-range", "999999999"
    elif kind == "boolean":
        yield "as-string", "true"
    elif kind == "object":
        yield "as-list", ["x"]


def spec_cases() -> Iterator[Any]:
    for kind in RESOURCES:
        spec_schema = schema(kind)["properties"]["spec"]
        for path, sub in leaves(spec_schema):
            for label, value in bad_values(sub):
                case = set_path(base(kind), ("spec", *path), value)
                yield pytest.param(case, id=f"{kind}.{'.'.join(path)}={label}")
        for path in [(), *{p[:-1] for p, _ in leaves(spec_schema) if len(p) > 1}]:
            yield pytest.param(
                set_path(base(kind), ("spec", *path, "noSuchField"), 1), id=f"{kind}.{path}.unknown"
            )
        yield pytest.param({**base(kind), "extraTopLevel": {}}, id=f"{kind}.unknown-top-level")
        yield pytest.param(
            set_path(
                base(kind), ("spec", "restartPolicy"), {"backoffBaseSeconds": 600, "backoffCapSeconds": 60}
            ),
            id=f"{kind}.backoff-over-cap",
        )


NAMES = {
    "300-chars": "a" * 300,
    "64-chars": "a" * 64,
    "punctuation": "Momentum_BTC!",
    "upper": "Momentum",
    "traversal": "../../x",
    "dotted": "a.b",
    "leading-dash": "-a",
    "number": 12345,
    "empty": "",
    "list": ["a"],
}
LABELS = {
    "value-space": {"team": "a b"},
    "value-64": {"team": "v" * 64},
    "key-slash": {"a/b/c": "x"},
    "key-bad-prefix": {"Bad_Prefix/x": "y"},
    "value-number": {"team": 5},
    "as-list": ["team"],
}
METADATA = {
    "as-list": ["name", "x"],
    "as-string": "x",
    "namespace-upper": {"name": "ok", "namespace": "Prod"},
}


def metadata_cases() -> Iterator[Any]:
    for kind in RESOURCES:
        for label, name in NAMES.items():
            yield pytest.param(set_path(base(kind), ("metadata", "name"), name), id=f"{kind}.name-{label}")
        for label, labels in LABELS.items():
            yield pytest.param(
                set_path(base(kind), ("metadata", "labels"), labels), id=f"{kind}.labels-{label}"
            )
        for label, meta in METADATA.items():
            yield pytest.param({**base(kind), "metadata": meta}, id=f"{kind}.metadata-{label}")


def param_cases() -> Iterator[Any]:
    for strategy, model in PARAM_MODELS.items():
        doc = base("TraderAgent")
        doc["spec"].update(strategy=strategy, params={})
        for index, info in enumerate(param_fields(model)):
            name = info.name
            values: dict[str, object]
            # one wrong type and one value out of range per parameter (sides alternate)
            if info.is_int:
                low, high = int(info.low), int(info.high)
                values = (
                    {"as-string": str(low), "below": low - 1}
                    if index % 2
                    else {"as-bool": True, "above": high + 1}
                )
            else:
                lo, hi = info.low, info.high
                values = (
                    {"as-number": float(lo), "below": format(lo - Decimal("0.001"), "f")}
                    if index % 2
                    else {"pattern": "0.5e1", "above": format(hi + 1, "f")}
                )
            for label, value in values.items():
                yield pytest.param(
                    set_path(doc, ("spec", "params", name), value), id=f"{strategy}.{name}={label}"
                )
        yield pytest.param(
            set_path(doc, ("spec", "params", "noSuchParam"), 1), id=f"{strategy}.unknown-param"
        )
        for low_name, high_name in model.ORDERED:
            default_high = next(f.default for f in param_fields(model) if f.name == high_name)
            decimal = isinstance(default_high, Decimal)
            as_written = format(default_high, "f") if decimal else default_high
            yield pytest.param(
                set_path(doc, ("spec", "params", low_name), as_written),
                id=f"{strategy}.{low_name}-equal-default-{high_name}",
            )
            both = set_path(doc, ("spec", "params", low_name), "0.60" if decimal else 30)
            yield pytest.param(
                set_path(both, ("spec", "params", high_name), "0.50" if decimal else 29),
                id=f"{strategy}.{low_name}-above-{high_name}",
            )
    own_parent = set_path(
        base("TraderAgent"), ("spec", "lineage", "parent"), base("TraderAgent")["metadata"]["name"]
    )
    yield pytest.param(own_parent, id="TraderAgent.own-parent")
    yield pytest.param(
        set_path(base("TraderAgent"), ("spec", "mode"), "live"), id="TraderAgent.live-without-credentials"
    )
    yield pytest.param(
        set_path(base("TraderAgent"), ("spec", "params", "maxEntryPrice"), "1.01"),
        id="TraderAgent.maxEntryPrice-over-1",
    )


@pytest.mark.parametrize("doc", [*spec_cases(), *metadata_cases(), *param_cases()])
def test_both_doors_refuse(doc):
    kind = doc["kind"]
    floor = floor_rejects(doc)
    api = validate(schema(kind), doc)
    assert floor is not None, f"floor validate accepted it (the API server said {api})"
    assert api, f"the API server accepted it (floor validate said {floor})"


# ---- raw files: decoding rules, through the `floor validate` command -------------------------


def alias_bomb() -> bytes:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def deep(n: int) -> bytes:
    return (yaml.safe_dump(base("Monitor")) + "spec2: " + "[" * n + "]" * n + "\n").encode()


def duplicated_mode() -> bytes:
    text = yaml.safe_dump(base("TraderAgent"), sort_keys=False)
    return text.replace("  mode: paper\n", "  mode: paper\n  mode: live\n").encode()


RAW = {
    "empty": b"",
    "only-comments": b"# nothing here\n---\n",
    "not-utf8": b"apiVersion: tradingfloor.dev/v1alpha1\nkind: Monitor\nmetadata: {name: m\xff\xfe}\n",
    "over-3-mib": yaml.safe_dump(base("Monitor")).encode() + b"# " + b"x" * (3 * 1024 * 1024) + b"\n",
    "alias-bomb": alias_bomb(),
    "deep-20000": deep(20000),
    "duplicate-mode": duplicated_mode(),
    "metadata-list": b"apiVersion: tradingfloor.dev/v1alpha1\nkind: Monitor\nmetadata: [a, b]\nspec: {}\n",
    "tab-indent": b"apiVersion: tradingfloor.dev/v1alpha1\nkind: Monitor\nmetadata:\n\tname: m\n",
    "scalar-document": b"just a string\n",
}


@pytest.mark.parametrize("name", sorted(RAW))
def test_bad_files_are_named_not_crashed_on(name, tmp_path):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(RAW[name])
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert f"FAIL {path}" in result.output
    docs, api_errors = decode_request(RAW[name])
    assert api_errors or any(validate(schema("Monitor"), d) for d in docs), "the API server would accept it"


def test_duplicate_key_names_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_bytes(duplicated_mode())
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert "duplicate key 'mode'" in result.output


def test_a_good_file_still_passes(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump_all(list(EXAMPLES.values())))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok   ") == len(EXAMPLES)


# ---- transitions: Retired is terminal for every kind ----------------------------------------


@pytest.mark.parametrize("kind", sorted(RESOURCES))
@pytest.mark.parametrize("target", ["Active", "Paused"])
def test_retired_is_terminal_at_both_doors(kind, target):
    old = set_path(base(kind), ("spec", "lifecycle"), "Retired")
    new = set_path(old, ("spec", "lifecycle"), target)
    assert validate(schema(kind), new, old=old)
    with pytest.raises(ManifestError, match="Retired"):
        check_update(kind, old["metadata"]["name"], old["spec"], new["spec"])


# ---- property: random edits of good manifests get one verdict from both doors ---------------

SCALARS = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0, 1, 2, 5, 60, 3600, 10000]),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(
        [
            "",
            "0",
            "0.5",
            "1",
            "1.5",
            "3",
            "-1",
            "0.70",
            "1e3",
            "abc",
            "Active",
            "Retired",
            "paper",
            "live",
            "BTC",
            "15m",
            "momentum",
        ]
    ),
)


def all_paths(kind: str) -> list[tuple[str, ...]]:
    spec_schema = schema(kind)["properties"]["spec"]
    paths = [("spec", *p) for p, _ in leaves(spec_schema)]
    if kind == "TraderAgent":
        paths += [
            ("spec", "params", k) for m in PARAM_MODELS.values() for k in (f.name for f in param_fields(m))
        ]
    return [*sorted(set(paths)), ("metadata", "name"), ("metadata", "labels", "team")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(RESOURCES)),
    data=st.data(),
)
def test_random_edits_get_one_verdict(kind, data):
    doc = base(kind)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(all_paths(kind)))
        doc = set_path(doc, path, data.draw(SCALARS))
    floor = floor_rejects(doc)
    api = validate(schema(kind), doc)
    assert (floor is None) == (not api), f"doors disagree on {doc}: floor={floor!r} api={api!r}"
