"""The audit log's hash chain: canonical JSON, entry hashes and verification (pure, no I/O).

Each entry's hash is HMAC-SHA-256, under the audit key, over ``prev_hash || canonical body || seq
|| ts``, where the body is the canonical JSON of ``{"agent", "subject", "kind", "payload"}`` —
every stored column except the hashes themselves, so editing any of them breaks the chain. The key
lives outside the database (the Auditor's Secret, or a file under the local state dir), so whoever
owns the database can edit rows but cannot recompute a chain that verifies. Without a key
(``key=None``) the hash is plain SHA-256, which only detects accidents. The first entry's
``prev_hash`` is ``GENESIS_HASH``.

Canonical JSON: keys sorted, no whitespace, UTF-8, ``Decimal`` written as its string. Floats are
refused: the log lives in a PostgreSQL ``jsonb`` column, which may rewrite a float's digits
(``1e-07`` comes back as ``0.0000001``) and so would break a hash computed before storage.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS_HASH = "0" * 64
_SEP = b"|"


class CanonicalJSONError(ValueError):
    """A payload that cannot be hashed reproducibly; the message names the offending path."""


def _normalize(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalJSONError(f"{path}: non-finite Decimal {value} cannot be logged")
        return format(value, "f")
    if isinstance(value, float):
        raise CanonicalJSONError(
            f"{path}: float {value!r} is not allowed in the audit log; use Decimal or str"
        )
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJSONError(f"{path}: key {key!r} is not a string")
            out[key] = _normalize(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_normalize(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise CanonicalJSONError(f"{path}: {type(value).__name__} is not JSON-serializable")


def normalize_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as it will be stored (Decimals and datetimes as strings); raises on floats."""
    if not isinstance(payload, dict):
        raise CanonicalJSONError(f"payload: expected a dict, got {type(payload).__name__}")
    normalized: dict[str, Any] = _normalize(payload, "payload")
    return normalized


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        _normalize(value, "$"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def format_ts(ts: datetime) -> str:
    """UTC, microsecond precision: exactly what a PostgreSQL timestamptz gives back."""
    if ts.tzinfo is None:
        raise CanonicalJSONError(f"timestamp {ts.isoformat()} has no time zone")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(
    prev_hash: str,
    agent: str,
    subject: str,
    kind: str,
    payload: dict[str, Any],
    seq: int,
    ts: datetime,
    key: bytes | None = None,
) -> str:
    body = canonical_json({"agent": agent, "subject": subject, "kind": kind, "payload": payload})
    parts = (prev_hash.encode("ascii"), body, str(seq).encode("ascii"), format_ts(ts).encode("ascii"))
    message = b"".join(part + _SEP for part in parts)
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts: datetime
    agent: str
    subject: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def computed_hash(self, key: bytes | None = None) -> str:
        return entry_hash(
            self.prev_hash, self.agent, self.subject, self.kind, self.payload, self.seq, self.ts, key
        )


def next_entry(
    head: AuditEntry | None,
    agent: str,
    subject: str,
    kind: str,
    payload: dict[str, Any],
    ts: datetime,
    key: bytes | None = None,
) -> AuditEntry:
    """The entry that follows ``head`` (or starts the chain), hashed and ready to store."""
    ts = ts.astimezone(UTC)
    seq = head.seq + 1 if head else 1
    prev = head.hash if head else GENESIS_HASH
    stored = normalize_payload(payload)
    return AuditEntry(
        seq,
        ts,
        agent,
        subject,
        kind,
        stored,
        prev,
        entry_hash(prev, agent, subject, kind, stored, seq, ts, key),
    )


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int | None = None
    head_hash: str | None = None
    bad_seq: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            if self.checked == 0:
                return "audit log is empty: nothing to verify"
            return f"audit log intact: {self.checked} entries, head seq {self.head_seq} hash {self.head_hash}"
        return f"audit log broken at seq {self.bad_seq}: {self.reason}"


def verify_chain(
    entries: Iterable[AuditEntry],
    anchor: tuple[int, str] | None = None,
    *,
    key: bytes | None = None,
    start: tuple[int, str] | None = None,
) -> VerifyResult:
    """Walk ``entries`` in seq order; report the first entry that breaks the chain.

    ``anchor`` is a (seq, hash) recorded outside the database (the exported chain head): it
    catches the one change the chain alone cannot, the removal of the newest entries. ``key`` is
    the audit key the hashes were made with. ``start`` checks a segment: the entries after an
    already-verified (seq, hash) instead of the whole log from genesis.
    """
    expected_seq, prev_hash = (start[0] + 1, start[1]) if start else (1, GENESIS_HASH)
    checked = 0
    last: AuditEntry | None = None
    for entry in entries:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    bad_seq=expected_seq,
                    reason=f"entry missing: seq {expected_seq} expected, next present is {entry.seq}",
                )
            return VerifyResult(
                False,
                checked,
                bad_seq=entry.seq,
                reason=f"seq out of order: {entry.seq} after {expected_seq - 1}",
            )
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False,
                checked,
                bad_seq=entry.seq,
                reason=f"prev_hash {entry.prev_hash[:16]}… does not match the previous entry's hash {prev_hash[:16]}…",
            )
        try:
            actual = entry.computed_hash(key)
        except CanonicalJSONError as exc:
            return VerifyResult(False, checked, bad_seq=entry.seq, reason=f"payload cannot be hashed: {exc}")
        if actual != entry.hash:
            return VerifyResult(
                False,
                checked,
                bad_seq=entry.seq,
                reason="content does not match its hash under the audit key (entry edited, hash "
                "recomputed without the key, or the wrong key)",
            )
        if anchor is not None and entry.seq == anchor[0] and entry.hash != anchor[1]:
            return VerifyResult(
                False,
                checked,
                bad_seq=entry.seq,
                reason=f"hash differs from the recorded head {anchor[1][:16]}…: chain rewritten",
            )
        checked += 1
        prev_hash, expected_seq, last = entry.hash, entry.seq + 1, entry
    if anchor is not None:
        anchor_seq = anchor[0]
        if last is None or last.seq < anchor_seq:
            return VerifyResult(
                False,
                checked,
                bad_seq=(last.seq + 1 if last else 1),
                reason=f"log ends before the recorded head seq {anchor_seq}: newest entries removed",
            )
    return VerifyResult(True, checked, last.seq if last else None, last.hash if last else None)
