"""What the decision core sees (Observation) and what it asks for (Plan).

Runtime-neutral: an "instance" is a Pod under Kubernetes and an OS process on the local floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

from tradingfloor.models.auditor import AuditorSpec
from tradingfloor.models.common import WorkloadStatus
from tradingfloor.models.monitor import MonitorSpec
from tradingfloor.models.trader_agent import TraderAgentSpec

_A = TypeVar("_A")  # an action type, for Plan.of

InstanceState = Literal["pending", "running", "succeeded", "failed"]


@dataclass(frozen=True)
class Instance:
    name: str
    state: InstanceState
    started_at: datetime | None = None
    deleting: bool = False
    detail: str = ""  # why it ended, e.g. "exit code 1" or "OOMKilled"
    waiting: str = ""  # why a pending instance is not starting, e.g. "ImagePullBackOff"
    generation: int | None = None  # the spec generation it was started for (None: not recorded)
    template: str | None = None  # a digest of how it was built (image, command, env …), where tracked


@dataclass(frozen=True)
class FamilyMember:
    """An agent sharing this agent's lineage root (the agent itself included)."""

    name: str
    parent: str | None = None
    created_at: datetime | None = None
    sharpe: float | None = None


@dataclass(frozen=True)
class Observation:
    kind: Literal["TraderAgent", "Auditor", "Monitor"]
    name: str
    spec: TraderAgentSpec | AuditorSpec | MonitorSpec
    status: WorkloadStatus  # TraderAgentStatus for traders (carries the agent's performance)
    generation: int = 1
    labels: dict[str, str] = field(default_factory=dict)
    instances: tuple[Instance, ...] = ()
    heartbeats_enabled: bool = False  # False: no heartbeat source, the heartbeat rule is skipped
    heartbeat_at: datetime | None = None
    family: tuple[FamilyMember, ...] = ()
    breakers: tuple[str, ...] = ()  # open floor-wide circuit breakers
    template: str | None = None  # the digest a new instance would carry (None: the runtime does not track it)
    template_roll_allowed: bool = True  # False: another agent moved to a new template too recently


# --- actions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StartInstance:
    name: str


@dataclass(frozen=True)
class StopInstance:
    name: str
    reason: str


@dataclass(frozen=True)
class SetLifecycle:
    """Write spec.lifecycle (Paused or Retired): a human resumes a paused agent by setting Active."""

    lifecycle: Literal["Active", "Paused", "Retired"]
    reason: str
    message: str


@dataclass(frozen=True)
class CreateClone:
    manifest: dict[str, Any]  # a complete TraderAgent without namespace


Action = StartInstance | StopInstance | SetLifecycle | CreateClone


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    action: str  # start, restart, backoff, budget-exhausted, pause, retire, clone, reduce, promote
    reason: str
    # The numbers and thresholds behind a pause, retire, clone or reduce (plain strings, so the
    # runtimes can put them in status.lastDecision.evidence and the Event as they are).
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    events: tuple[Event, ...]
    status: dict[str, Any]  # the operator-owned status fields, JSON-ready
    decisions: tuple[Decision, ...] = ()
    requeue_after: float | None = None  # seconds until the plan changes by itself (backoff expiry)

    def of(self, kind: type[_A]) -> list[_A]:
        return [a for a in self.actions if isinstance(a, kind)]
