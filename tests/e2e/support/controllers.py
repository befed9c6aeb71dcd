"""The one controller the chart needs: a Deployment keeps `replicas` Pods from its template (owned by
the Deployment directly; no ReplicaSet objects) and reports ready replicas in its status."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from typing import Any

from tests.e2e.support.apiserver import POD_KEY, ApiError, ApiServer

DEPLOY_KEY = "apps/v1/deployments"


class DeploymentController:
    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self._dirty = asyncio.Event()
        api.store.listeners.append(self._changed)
        self.task = asyncio.get_running_loop().create_task(self._loop())

    def _changed(self, resource: str, event: str, obj: dict[str, Any]) -> None:
        if resource in (DEPLOY_KEY, POD_KEY):
            self._dirty.set()

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await asyncio.sleep(0.05)  # coalesce bursts
            for deploy in list(self.api.store.list(DEPLOY_KEY)):
                try:
                    self._reconcile(deploy)
                except ApiError:
                    self._dirty.set()

    def _reconcile(self, deploy: dict[str, Any]) -> None:
        meta, spec = deploy["metadata"], deploy["spec"]
        if meta.get("deletionTimestamp"):
            return
        template = spec.get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        # Its Pods are those whose controller reference names it: other dependents (the operator's
        # collector Pods are owned by its Deployment, without being controlled by it) are not replicas.
        pods = [
            p
            for p in self.api.store.list(POD_KEY, meta["namespace"])
            if any(
                o.get("uid") == meta["uid"] and o.get("controller")
                for o in p["metadata"].get("ownerReferences") or []
            )
        ]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        pod_type = self.api.types[POD_KEY]
        for stale in [p for p in live if p["metadata"].get("labels", {}).get("pod-template-hash") != digest]:
            self.api.delete(pod_type, meta["namespace"], stale["metadata"]["name"], {})
            live.remove(stale)
        if spec.get("strategy", {}).get("type") == "Recreate" and len(live) < len(pods):
            pass  # Recreate: wait for the old Pods to go before starting new ones
        elif len(live) < int(spec.get("replicas", 1)):
            pod_meta = copy.deepcopy(template.get("metadata") or {})
            pod_meta["labels"] = {**(pod_meta.get("labels") or {}), "pod-template-hash": digest}
            pod_meta["generateName"] = f"{meta['name']}-{digest}-"
            pod_meta["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            self.api.create(
                pod_type,
                meta["namespace"],
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": pod_meta,
                    "spec": copy.deepcopy(template.get("spec") or {}),
                },
            )
            self._dirty.set()
        ready = sum(
            1
            for p in live
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        )
        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(live),
            "updatedReplicas": len(live),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready >= int(spec.get("replicas", 1)) else "False",
                    "reason": "MinimumReplicasAvailable",
                }
            ],
        }
        if deploy.get("status") != status:
            self.api.update(
                self.api.types[DEPLOY_KEY],
                meta["namespace"],
                meta["name"],
                {**deploy, "status": status},
                "status",
                precondition=False,
            )
