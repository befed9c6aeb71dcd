"""The one table of agent kinds: model, plural, agent command and who writes which status keys.

Every module that needs to know about kinds (the operator's Pods and API paths, the local floor's
processes, the reconciler's validation) reads it from here instead of keeping its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tradingfloor.decisions.draft import OWNED_STATUS_FIELDS
from tradingfloor.models import auditor, monitor, trader_agent
from tradingfloor.models.common import WorkloadStatus


@dataclass(frozen=True)
class KindInfo:
    kind: Literal["TraderAgent", "Auditor", "Monitor"]
    plural: str
    command: str  # `floor agent <command>`
    resource: type[trader_agent.TraderAgent | auditor.Auditor | monitor.Monitor]
    spec: type[trader_agent.TraderAgentSpec | auditor.AuditorSpec | monitor.MonitorSpec]
    status: type[WorkloadStatus]
    agent_status_fields: frozenset[str]  # status keys the agent process itself writes

    @property
    def floor_boss_status_fields(self) -> frozenset[str]:
        """Status keys the Floor Boss writes (the decision core's plan status)."""
        return frozenset(OWNED_STATUS_FIELDS)


KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in (
        KindInfo(
            trader_agent.KIND,
            trader_agent.PLURAL,
            "trader",
            trader_agent.TraderAgent,
            trader_agent.TraderAgentSpec,
            trader_agent.TraderAgentStatus,
            frozenset({"performance"}),
        ),
        KindInfo(
            auditor.KIND,
            auditor.PLURAL,
            "auditor",
            auditor.Auditor,
            auditor.AuditorSpec,
            auditor.AuditorStatus,
            frozenset({"audit"}),
        ),
        KindInfo(
            monitor.KIND,
            monitor.PLURAL,
            "monitor",
            monitor.Monitor,
            monitor.MonitorSpec,
            monitor.MonitorStatus,
            frozenset({"floor"}),
        ),
    )
}
PLURALS: dict[str, str] = {k: info.plural for k, info in KINDS.items()}
COMMANDS: dict[str, str] = {k: info.command for k, info in KINDS.items()}


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown agent kind {kind!r}: expected one of {sorted(KINDS)}") from None
