"""What the Floor Boss refuses to run, whoever could create the resource (pure, no I/O).

Whoever can create a TraderAgent must not thereby run their own code with the floor's secrets:
``spec.image`` must match the image allow-list (``FLOOR_ALLOWED_IMAGES``, comma-separated; an
entry ending in ``*`` is a prefix, e.g. ``ghcr.io/trading-floor/agent:*``; the operator's own agent
image is always allowed), and the Secret named by ``credentialsSecretRef`` must carry the label
``FLOOR_CREDENTIALS_LABEL`` (default ``tradingfloor.dev/credentials=true``), so an arbitrary
Secret of the namespace cannot be mounted into an agent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_CREDENTIALS_LABEL = ("tradingfloor.dev/credentials", "true")


@dataclass(frozen=True)
class AdmissionPolicy:
    default_image: str
    allowed_images: tuple[str, ...] = ()
    credentials_label: tuple[str, str] = DEFAULT_CREDENTIALS_LABEL

    @classmethod
    def from_env(cls, default_image: str, env: Mapping[str, str] | None = None) -> AdmissionPolicy:
        env = os.environ if env is None else env
        images = tuple(i.strip() for i in env.get("FLOOR_ALLOWED_IMAGES", "").split(",") if i.strip())
        label = env.get("FLOOR_CREDENTIALS_LABEL", "=".join(DEFAULT_CREDENTIALS_LABEL))
        key, sep, value = label.partition("=")
        if not key.strip() or not sep:
            raise ValueError(f"FLOOR_CREDENTIALS_LABEL must look like key=value, got {label!r}")
        return cls(default_image, images, (key.strip(), value.strip()))

    def image_allowed(self, image: str) -> bool:
        if image == self.default_image:
            return True
        for entry in self.allowed_images:
            if entry.endswith("*") and image.startswith(entry[:-1]):
                return True
            if image == entry:
                return True
        return False


def image_problem(spec: Mapping[str, Any], policy: AdmissionPolicy) -> str | None:
    image = spec.get("image")
    if not image or policy.image_allowed(str(image)):
        return None
    allowed = ", ".join([policy.default_image, *policy.allowed_images])
    return f"spec.image {str(image)[:200]!r} is not in the allowed images ({allowed})"


def credentials_secret_name(kind: str, spec: Mapping[str, Any]) -> str | None:
    ref = spec.get("credentialsSecretRef") if kind == "TraderAgent" else None
    return str(ref["name"]) if isinstance(ref, Mapping) and ref.get("name") else None


def credentials_problem(
    name: str, secret_labels: Mapping[str, str] | None, policy: AdmissionPolicy
) -> str | None:
    """``secret_labels`` is None when the Secret does not exist."""
    key, value = policy.credentials_label
    if secret_labels is None:
        return f"credentialsSecretRef: Secret {name!r} not found"
    if secret_labels.get(key) != value:
        return (
            f"credentialsSecretRef: Secret {name!r} is not labelled {key}={value}; "
            "only Secrets labelled for the floor can hold an agent's credentials"
        )
    return None


def refusal(
    kind: str, spec: Mapping[str, Any], secret_labels: Mapping[str, str] | None, policy: AdmissionPolicy
) -> str | None:
    """Why the agent may not get a Pod (None: it may). ``secret_labels``: the labels of its
    credentials Secret (None when it has none or the Secret is missing)."""
    problems = [p for p in [image_problem(spec, policy)] if p]
    name = credentials_secret_name(kind, spec)
    if name is not None:
        problem = credentials_problem(name, secret_labels, policy)
        if problem:
            problems.append(problem)
    return "; ".join(problems) or None
