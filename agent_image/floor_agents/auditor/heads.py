"""The Auditor's side of the exported chain head: before it appends, the database must still
continue the head it exported last; after it appends, it exports the new head."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from floor_agents.auditor.log import entries_after, entry_at
from tradingfloor.audit.heads import (
    ChainHead,
    ChainRewritten,
    FileHeadStore,
    HeadStore,
    check_continuation,
    local_head_path,
)

HEAD_CONFIGMAP_ENV = "AUDIT_HEAD_CONFIGMAP"


def head_store(state_dir: Path, namespace: str, in_cluster: bool) -> HeadStore:
    """A ConfigMap when the chart names one (``AUDIT_HEAD_CONFIGMAP``), else a file under the state dir."""
    name = os.environ.get(HEAD_CONFIGMAP_ENV)
    if in_cluster and name:
        from floor_agents.auditor.configmap_head import ConfigMapHeadStore

        return ConfigMapHeadStore(name, namespace)
    return FileHeadStore(local_head_path(state_dir))


async def advance_head(pool: Any, store: HeadStore, key: bytes | None) -> ChainHead | None:
    """Check the log continues the exported head and export its newest entry; raise
    ChainRewritten (naming the first bad entry) and export nothing when it does not."""
    exported = await store.read()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        at = await entry_at(conn, exported.seq) if exported else None
        newer = await entries_after(conn, exported.seq if exported else 0)
    result = check_continuation(exported, at, newer, key)
    if not result.ok:
        raise ChainRewritten(result)
    if newer:
        exported = ChainHead(newer[-1].seq, newer[-1].hash)
        await store.write(exported)
    return exported
