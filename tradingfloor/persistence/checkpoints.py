"""Agent checkpoints: PostgreSQL first, a local file as the fallback for reads.

``save`` writes the checkpoint through the :class:`DurableWriter` (so during an outage it waits in
the journal and lands exactly once later) and also replaces ``<dir>/<agent>.checkpoint.json``
atomically (write to a temporary file, fsync, rename). ``load`` returns the newest checkpoint it
can see — the database's, the file's, or one still waiting in the journal — and works while
PostgreSQL is down. State is JSON: ``Decimal`` values come back as strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import dumps, is_unavailable
from tradingfloor.persistence.journal import DurableWriter, atomic_write

log = get_logger("tradingfloor.persistence.checkpoints")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    agent: str
    seq: int
    state: dict[str, Any]
    created_at: datetime
    source: Literal["db", "file", "journal"]


class CheckpointStore:
    def __init__(self, writer: DurableWriter, directory: Path | str) -> None:
        self.writer = writer
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._last_seq: dict[str, int] = {}

    def file_path(self, agent: str) -> Path:
        return self.directory / f"{_SAFE_NAME.sub('_', agent)}.checkpoint.json"

    async def save(self, agent: str, state: dict[str, Any], *, seq: int | None = None) -> Checkpoint:
        """Store a new checkpoint; ``seq`` defaults to one past the newest known. Returns it, with
        ``source`` saying where it is now: ``db`` (committed) or ``journal`` (on disk, pending)."""
        if seq is None:
            last = self._last_seq.get(agent)
            if last is None:
                newest = await self.load(agent)
                last = newest.seq if newest else 0
            seq = last + 1
        created_at = repo.utcnow()
        # JSON round trip first, so the file, the journal and the database all hold the same state
        state = json.loads(dumps(state))
        self._write_file(agent, seq, state, created_at)
        where = await self.writer.save_checkpoint(agent, seq, state, created_at)
        self._last_seq[agent] = seq
        return Checkpoint(agent, seq, state, created_at, where)

    async def load(self, agent: str) -> Checkpoint | None:
        """The newest checkpoint of ``agent`` among the database, the file and the journal."""
        candidates: list[Checkpoint] = []
        try:
            row = await repo.load_checkpoint(self.writer.db, agent)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning(
                "checkpoint.db_unavailable_reading_file", agent=agent, error=f"{type(exc).__name__}: {exc}"
            )
        else:
            if row is not None:
                candidates.append(Checkpoint(row.agent, row.seq, row.state, row.created_at, "db"))
        from_file = self._read_file(agent)
        if from_file is not None:
            candidates.append(from_file)
        for entry in self.writer.journal.pending_entries():
            for op, args in entry.ops:
                if op == "checkpoint" and args["agent"] == agent:
                    candidates.append(
                        Checkpoint(agent, args["seq"], args["state"], args["created_at"], "journal")
                    )
        if not candidates:
            return None
        newest = max(candidates, key=lambda c: c.seq)
        self._last_seq[agent] = max(self._last_seq.get(agent, 0), newest.seq)
        return newest

    def _write_file(self, agent: str, seq: int, state: dict[str, Any], created_at: datetime) -> None:
        body = dumps({"agent": agent, "seq": seq, "created_at": created_at, "state": state})
        atomic_write(self.file_path(agent), body.encode("utf-8"))

    def _read_file(self, agent: str) -> Checkpoint | None:
        path = self.file_path(agent)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.error("checkpoint.file_unreadable", path=str(path), error=str(exc))
            return None
        if raw.get("agent") != agent:
            log.error("checkpoint.file_for_other_agent", path=str(path), found=raw.get("agent"))
            return None
        return Checkpoint(
            agent, int(raw["seq"]), raw["state"], datetime.fromisoformat(raw["created_at"]), "file"
        )
