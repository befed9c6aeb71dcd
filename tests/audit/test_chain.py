"""The hash chain without a database: build, verify, and every kind of tampering."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradingfloor.audit.chain import (
    GENESIS_HASH,
    CanonicalJSONError,
    canonical_json,
    next_entry,
    verify_chain,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def build(n: int):
    entries, head = [], None
    for i in range(n):
        head = next_entry(
            head,
            "auditor",
            f"trade-{i}",
            "trade_checked",
            {"price": Decimal("0.51"), "i": i, "ok": True},
            T0 + timedelta(seconds=i),
        )
        entries.append(head)
    return entries


def test_canonical_json_is_key_order_independent_and_refuses_floats():
    assert canonical_json({"b": 1, "a": Decimal("0.10")}) == b'{"a":"0.10","b":1}'
    assert canonical_json({"a": Decimal("0.10"), "b": 1}) == canonical_json({"b": 1, "a": Decimal("0.10")})
    with pytest.raises(CanonicalJSONError, match=r"\$\.x\.y: float"):
        canonical_json({"x": {"y": 0.1}})


def test_intact_chain_verifies():
    entries = build(5)
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    result = verify_chain(entries)
    assert result.ok and result.checked == 5 and result.head_seq == 5 and result.head_hash == entries[-1].hash
    assert verify_chain([]).ok


def test_edited_payload_names_its_seq():
    entries = build(5)
    entries[2] = dataclasses.replace(entries[2], payload={**entries[2].payload, "price": "0.99"})
    result = verify_chain(entries)
    assert not result.ok and result.bad_seq == 3 and "does not match its hash" in result.reason


def test_edited_agent_column_is_detected():
    entries = build(3)
    entries[1] = dataclasses.replace(entries[1], agent="someone-else")
    assert verify_chain(entries).bad_seq == 2


def test_deleted_entry_is_named():
    entries = build(5)
    del entries[3]
    result = verify_chain(entries)
    assert not result.ok and result.bad_seq == 4 and "missing" in result.reason


def test_swapped_hashes_are_detected():
    entries = build(5)
    a, b = entries[1], entries[2]
    entries[1], entries[2] = dataclasses.replace(a, hash=b.hash), dataclasses.replace(b, hash=a.hash)
    result = verify_chain(entries)
    assert not result.ok and result.bad_seq == 2


def test_rewritten_tail_and_truncation_caught_by_anchor():
    entries = build(4)
    anchor = (4, entries[3].hash)
    assert verify_chain(entries, anchor).ok
    truncated = verify_chain(entries[:3], anchor)
    assert not truncated.ok and truncated.bad_seq == 4 and "removed" in truncated.reason
    # a forger who re-hashes everything from seq 3 on keeps the chain consistent, but not the anchor
    forged = entries[:2]
    head = forged[-1]
    for e in entries[2:]:
        head = next_entry(head, e.agent, e.subject, e.kind, {**e.payload, "ok": False}, e.ts)
        forged.append(head)
    assert verify_chain(forged).ok
    assert verify_chain(forged, anchor).bad_seq == 4
