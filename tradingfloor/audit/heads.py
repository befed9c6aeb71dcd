"""Chain heads exported outside the database, and the rule that a new head must continue the last.

The Auditor writes ``(seq, hash)`` of the newest entry it has verified to a store the database
owner cannot reach: a file under the state dir locally, a ConfigMap in Kubernetes. A rewritten or
truncated log no longer contains that head, so ``floor audit verify`` and the Auditor itself see
the rewrite, whatever the database says about itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tradingfloor.audit.chain import AuditEntry, VerifyResult, verify_chain

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash}, sort_keys=True)

    @classmethod
    def parse(cls, text: str, source: str) -> ChainHead:
        try:
            data = json.loads(text)
            seq, digest = data["seq"], data["hash"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"{source}: not a chain head (expected {{'seq': n, 'hash': '<64 hex>'}})"
            ) from None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError(f"{source}: seq must be a positive integer, got {seq!r}")
        if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(f"{source}: hash must be 64 lower-case hex digits")
        return cls(seq, digest)


class HeadStore(Protocol):
    async def read(self) -> ChainHead | None: ...

    async def write(self, head: ChainHead) -> None: ...


class ChainRewritten(RuntimeError):
    """The log in the database does not continue the exported head."""

    def __init__(self, result: VerifyResult) -> None:
        super().__init__(result.describe())
        self.result = result


@dataclass
class FileHeadStore:
    """The head as a small JSON file, replaced atomically, readable by its owner only."""

    path: Path

    async def read(self) -> ChainHead | None:
        if not self.path.exists():
            return None
        return ChainHead.parse(self.path.read_text(), str(self.path))

    async def write(self, head: ChainHead) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(head.to_json() + "\n")
        os.replace(tmp, self.path)


def local_head_path(state_dir: Path) -> Path:
    return Path(state_dir) / "audit" / "head.json"


def check_continuation(
    exported: ChainHead | None, at_exported: AuditEntry | None, newer: list[AuditEntry], key: bytes | None
) -> VerifyResult:
    """Whether the database still holds the exported head (``at_exported`` is its entry at that
    seq) and ``newer`` (the entries after it, in order) chain on from it under ``key``."""
    if exported is not None:
        if at_exported is None:
            return VerifyResult(
                False,
                0,
                bad_seq=exported.seq,
                reason=f"the exported head seq {exported.seq} is missing from the database: entries removed",
            )
        if at_exported.hash != exported.hash:
            return VerifyResult(
                False,
                0,
                bad_seq=exported.seq,
                reason=f"hash differs from the exported head {exported.hash[:16]}…: chain rewritten",
            )
    start = (exported.seq, exported.hash) if exported else None
    return verify_chain(newer, key=key, start=start)
