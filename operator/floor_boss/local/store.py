"""The local floor's desired and observed state: the agents table in PostgreSQL.

Manifest files are the user's desired state, like ``kubectl apply``: a file whose content changed
since it was last applied overwrites the stored spec (after the same update rules the CRDs enforce);
an unchanged file leaves the stored spec alone, so what the Floor Boss decided (a pause, a
retirement, its clones) survives a restart of ``floor up``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tradingfloor.models.common import API_VERSION
from tradingfloor.models.manifests import Resource
from tradingfloor.models.names import child_path
from tradingfloor.models.transitions import check_update
from tradingfloor.persistence import repositories as repo
from tradingfloor.structs import dump

MANIFEST_HASH_LABEL = "tradingfloor.dev/manifest-hash"


def _spec_json(resource: Resource) -> dict:
    return dump(resource.spec, exclude_none=True)


def _hash(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


class LocalStore:
    def __init__(self, pool) -> None:
        self.pool = pool

    async def apply_manifests(self, resources: list[Resource]) -> list[str]:
        """Store new or changed manifests; returns what was applied (``created x`` / ``updated x``)."""
        applied = []
        for resource in resources:
            name = resource.metadata["name"]
            spec = _spec_json(resource)
            digest = _hash(spec)
            existing = await repo.get_agent(self.pool, name)
            if existing is not None and existing.labels.get(MANIFEST_HASH_LABEL) == digest:
                continue
            if existing is not None:
                check_update(resource.kind, name, existing.spec, spec)
            labels = {**(resource.metadata.get("labels") or {}), MANIFEST_HASH_LABEL: digest}
            lineage = spec.get("lineage") or {}
            await repo.upsert_agent(
                self.pool,
                name,
                resource.kind,
                spec,
                labels=labels,
                generation=int(lineage.get("generation", 0)),
                parent=lineage.get("parent"),
            )
            applied.append(f"{'updated' if existing else 'created'} {resource.kind}/{name}")
        return applied

    async def agents(self) -> list[repo.AgentRow]:
        return await repo.list_agents(self.pool)

    async def reachable(self, timeout: float = 5.0) -> bool:
        """A real probe: PostgreSQL answers ``SELECT 1`` through the pool within ``timeout``."""
        import asyncio

        try:
            async with asyncio.timeout(timeout):
                async with self.pool.acquire() as conn:
                    await conn.fetchval("SELECT 1")
        except Exception:  # refused, reset, timed out, pool closing: all mean "not reachable now"
            return False
        return True

    async def set_lifecycle(self, name: str, lifecycle: str) -> None:
        agent = await repo.get_agent(self.pool, name)
        if agent is None or agent.spec.get("lifecycle") == lifecycle:
            return
        await repo.upsert_agent(
            self.pool,
            name,
            agent.kind,
            {**agent.spec, "lifecycle": lifecycle},
            labels=agent.labels,
            generation=agent.generation,
            parent=agent.parent,
        )
        if lifecycle == "Retired":
            await repo.retire_agent(self.pool, name)

    async def create_clone(self, manifest: dict) -> str:
        name = manifest["metadata"]["name"]
        if await repo.get_agent(self.pool, name) is not None:
            return name  # already created by an earlier pass: clones are idempotent by name
        spec = manifest["spec"]
        lineage = spec.get("lineage") or {}
        await repo.upsert_agent(
            self.pool,
            name,
            "TraderAgent",
            spec,
            labels=manifest["metadata"].get("labels") or {},
            generation=int(lineage.get("generation", 0)),
            parent=lineage.get("parent"),
        )
        return name

    async def patch_status(self, name: str, patch: dict) -> None:
        await repo.patch_agent_status(self.pool, name, patch)

    async def record_event(self, agent: str, type_: str, reason: str, message: str) -> None:
        await repo.record_event(self.pool, reason, message, agent=agent, reason=type_)


def write_manifest(agent: repo.AgentRow, folder: Path) -> Path:
    """The agent's current manifest as a file for its process (clones have no file of their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = child_path(folder, agent.name, ".yaml")  # the name is checked: no "../"
    doc = {
        "apiVersion": API_VERSION,
        "kind": agent.kind,
        "metadata": {
            "name": agent.name,
            "labels": {k: v for k, v in agent.labels.items() if k != MANIFEST_HASH_LABEL},
        },
        "spec": agent.spec,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    tmp.replace(path)
    return path
