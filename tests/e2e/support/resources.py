"""The resource types the emulated API server serves: the built-in kinds the chart and the operator
use, plus every CustomResourceDefinition applied to it (registered from the CRD object itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    subresources: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None  # a custom resource's openAPIV3Schema
    columns: list[dict[str, Any]] = field(default_factory=list)  # additionalPrinterColumns
    custom: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        return f"{self.group_version}/{self.plural}"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def discovery(self) -> list[dict[str, Any]]:
        main = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": VERBS,
        }
        if self.short_names:
            main["shortNames"] = self.short_names
        if self.categories:
            main["categories"] = self.categories
        subs = [
            {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }
            for sub in self.subresources
        ]
        return [main, *subs]


def _builtin(gv: str, plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    group, _, version = gv.rpartition("/")
    return ResourceType(group, version, plural, kind, namespaced, **kw)


BUILTINS = [
    _builtin("v1", "namespaces", "Namespace", False, short_names=["ns"], subresources=("status",)),
    _builtin("v1", "pods", "Pod", short_names=["po"], categories=["all"], subresources=("status", "log")),
    _builtin("v1", "services", "Service", short_names=["svc"], categories=["all"], subresources=("status",)),
    _builtin("v1", "endpoints", "Endpoints", short_names=["ep"]),
    _builtin("v1", "secrets", "Secret"),
    _builtin("v1", "configmaps", "ConfigMap", short_names=["cm"]),
    _builtin("v1", "serviceaccounts", "ServiceAccount", short_names=["sa"]),
    _builtin("v1", "events", "Event", short_names=["ev"]),
    _builtin(
        "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short_names=["pvc"], subresources=("status",)
    ),
    _builtin(
        "apps/v1",
        "deployments",
        "Deployment",
        short_names=["deploy"],
        categories=["all"],
        subresources=("status",),
    ),
    _builtin(
        "apps/v1",
        "statefulsets",
        "StatefulSet",
        short_names=["sts"],
        categories=["all"],
        subresources=("status",),
    ),
    _builtin("events.k8s.io/v1", "events", "Event", short_names=["ev"]),
    _builtin("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _builtin("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _builtin("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _builtin("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", short_names=["netpol"]),
    _builtin(
        "policy/v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        short_names=["pdb"],
        subresources=("status",),
    ),
    _builtin("coordination.k8s.io/v1", "leases", "Lease"),
    _builtin(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=["crd", "crds"],
        subresources=("status",),
    ),
]


class CrdError(ValueError):
    """A CustomResourceDefinition this server cannot serve (named in the message)."""


def from_crd(crd: dict[str, Any]) -> ResourceType:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not spec.get("group") or not names.get("plural") or not names.get("kind") or not versions:
        raise CrdError("spec.group, spec.names.plural, spec.names.kind and one served version are required")
    version = next((v for v in versions if v.get("storage")), versions[0])
    expected = f"{names['plural']}.{spec['group']}"
    if crd.get("metadata", {}).get("name") != expected:
        raise CrdError(f'metadata.name must be spec.names.plural+"."+spec.group: {expected!r}')
    return ResourceType(
        group=spec["group"],
        version=version["name"],
        plural=names["plural"],
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=list(names.get("shortNames") or []),
        categories=list(names.get("categories") or []),
        subresources=tuple(sorted((version.get("subresources") or {}).keys())),
        schema=(version.get("schema") or {}).get("openAPIV3Schema"),
        columns=list(version.get("additionalPrinterColumns") or []),
        custom=True,
    )
