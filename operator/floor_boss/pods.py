"""Pure builders: the Pod for one agent instance, the labels that find it, and the reverse
mapping from a Pod to the decision core's runtime-neutral Instance."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from floor_boss import agent_access
from floor_boss.settings import BossSettings
from tradingfloor.decisions import Instance
from tradingfloor.decisions.kinds import COMMANDS
from tradingfloor.decisions.observation import InstanceState
from tradingfloor.models.common import GROUP

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "floor-boss"
LABEL_KIND = f"{GROUP}/kind"
LABEL_AGENT = f"{GROUP}/agent"
# The spec generation a Pod was created for: a newer one means the agent must start again to read it.
SPEC_GENERATION = f"{GROUP}/spec-generation"
# A digest of the Pod's spec as built (image, command, environment, resources …): a Floor Boss
# upgraded or configured since builds another, and the agent is started again in a Pod of the new one.
POD_TEMPLATE = f"{GROUP}/pod-template"
METRICS_PORT = 9100
_PHASES: dict[str, InstanceState] = {
    "Pending": "pending",
    "Running": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
}


def label_value(name: str) -> str:
    """Label values hold at most 63 characters; longer names keep a prefix and a hash."""
    if len(name) <= 63:
        return name
    return f"{name[:54]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def agent_labels(kind: str, name: str) -> dict[str, str]:
    return {
        MANAGED_BY: MANAGER,
        "app.kubernetes.io/name": "trading-floor-agent",
        "app.kubernetes.io/component": COMMANDS[kind],
        LABEL_KIND: kind,
        LABEL_AGENT: label_value(name),
    }


def owner_reference(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource["metadata"]
    return {
        "apiVersion": resource["apiVersion"],
        "kind": resource["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def pod_spec(resource: Mapping[str, Any], settings: BossSettings) -> dict[str, Any]:
    """The spec of every Pod of ``resource`` (a TraderAgent, Auditor or Monitor body): the same for
    each instance, as the Pod's name is not in it."""
    kind, meta, spec = resource["kind"], resource["metadata"], resource.get("spec") or {}
    name, namespace = meta["name"], meta["namespace"]
    env = [
        {"name": "FLOOR_AGENT_NAME", "value": name},
        {"name": "FLOOR_NAMESPACE", "value": namespace},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "FLOOR_STATE_DIR", "value": "/var/lib/floor"},
        _secret_env(
            "DATABASE_URL",
            db_login_secret_name(name) if settings.agent_db_logins else settings.connection_secret,
            "DATABASE_URL",
        ),
        _secret_env("REDIS_URL", settings.connection_secret, "REDIS_URL"),
        # the floor-wide live key; a trader still needs mode: live and its own credentials Secret
        {"name": "FLOOR_ALLOW_LIVE_TRADING", "value": "true" if settings.allow_live_trading else "false"},
    ]
    if settings.floor_capital:
        env.append({"name": "FLOOR_CAPITAL", "value": settings.floor_capital})
    env.extend({"name": k, "value": v} for k, v in sorted(settings.market_env.items()))
    env += agent_access.extra_env(kind)  # the Auditor's key and head ConfigMap; no one else's
    container: dict[str, Any] = {
        "name": "agent",
        "image": spec.get("image") or settings.agent_image,
        "imagePullPolicy": settings.image_pull_policy,
        # floor-agent, not `floor agent`: the agent's own light entry (floor_agents.entry)
        "command": ["floor-agent", COMMANDS[kind], "--resource", name, "--namespace", namespace],
        "env": env,
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
            "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "initialDelaySeconds": 10,
            "periodSeconds": 15,
            "failureThreshold": 4,
        },
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "state", "mountPath": "/var/lib/floor"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    credentials = spec.get("credentialsSecretRef")
    if kind == "TraderAgent" and credentials:
        # Live keys come only from the agent's own Secret, never from the shared connection Secret.
        container["envFrom"] = [{"secretRef": {"name": credentials["name"]}}]
    return {
        # The operator owns restarts (backoff, hourly budget), so the kubelet must not restart.
        "restartPolicy": "Never",
        "serviceAccountName": agent_access.service_account(settings.agent_service_account, kind),
        "terminationGracePeriodSeconds": 30,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [_state_volume(kind, name, settings), {"name": "tmp", "emptyDir": {}}],
    }


def build_pod(resource: dict[str, Any], pod_name: str, settings: BossSettings) -> dict[str, Any]:
    """The Pod running one instance of ``resource``."""
    kind, meta = resource["kind"], resource["metadata"]
    spec = pod_spec(resource, settings)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": meta["namespace"],
            "labels": agent_labels(kind, meta["name"]),
            "annotations": {
                SPEC_GENERATION: str(meta.get("generation", "")),
                POD_TEMPLATE: template_digest(spec),
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(METRICS_PORT),
                "prometheus.io/path": "/metrics",
            },
            "ownerReferences": [owner_reference(resource)],
        },
        "spec": spec,
    }


def template_digest(spec: dict[str, Any]) -> str:
    """A short, stable digest of a Pod spec (key order does not matter)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def pod_template(resource: Mapping[str, Any], settings: BossSettings) -> str:
    """The digest a Pod created now for ``resource`` would carry."""
    return template_digest(pod_spec(resource, settings))


def db_login_secret_name(agent: str) -> str:
    return f"{agent}-db-login"[:253]


def db_login_secret(resource: dict[str, Any], database_url: str) -> dict[str, Any]:
    """The Secret holding one agent's own database login (least privilege, settings.agent_db_logins);
    garbage-collected with the agent."""
    kind, meta = resource["kind"], resource["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": db_login_secret_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": agent_labels(kind, meta["name"]),
            "ownerReferences": [owner_reference(resource)],
        },
        "stringData": {"DATABASE_URL": database_url},
    }


def journal_claim_name(agent: str) -> str:
    return f"{agent}-journal"[:253]


def _state_volume(kind: str, name: str, settings: BossSettings) -> dict[str, Any]:
    """A trader's journal and checkpoints survive a Pod restart when the chart asks for a claim."""
    if kind == "TraderAgent" and settings.journal_storage_size:
        return {"name": "state", "persistentVolumeClaim": {"claimName": journal_claim_name(name)}}
    return {"name": "state", "emptyDir": {}}


def journal_claim(resource: dict[str, Any], settings: BossSettings) -> dict[str, Any]:
    """The trader's journal claim, owned by the TraderAgent (deleted with it, kept across its Pods)."""
    meta = resource["metadata"]
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": settings.journal_storage_size}},
    }
    if settings.journal_storage_class:
        spec["storageClassName"] = settings.journal_storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": journal_claim_name(meta["name"]),
            "namespace": meta["namespace"],
            "labels": agent_labels(resource["kind"], meta["name"]),
            "ownerReferences": [owner_reference(resource)],
        },
        "spec": spec,
    }


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _generation(meta: dict[str, Any]) -> int | None:
    text = (meta.get("annotations") or {}).get(SPEC_GENERATION, "")
    return int(text) if text.isdigit() else None  # a Pod from before the annotation, or edited by hand


def _template(meta: dict[str, Any]) -> str | None:
    return (meta.get("annotations") or {}).get(POD_TEMPLATE) or None  # None: a Pod from before it


def pod_instance(pod: dict[str, Any]) -> Instance:
    """What the decision core needs to know about a Pod."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    detail = waiting = ""
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        ended = state.get("terminated")
        if ended:
            detail = f"{ended.get('reason') or 'Terminated'}, exit code {ended.get('exitCode')}"
        if (state.get("waiting") or {}).get("reason"):
            waiting = state["waiting"]["reason"]
    return Instance(
        name=meta.get("name", ""),
        state=_PHASES.get(status.get("phase", "Pending"), "pending"),
        started_at=_time(status.get("startTime")) or _time(meta.get("creationTimestamp")),
        deleting=bool(meta.get("deletionTimestamp")),
        detail=detail,
        waiting=waiting,
        generation=_generation(meta),
        template=_template(meta),
    )
