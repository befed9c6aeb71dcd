"""The one table of agent kinds: model, plural, agent command and who writes which status keys.

Every module that needs to know about kinds (the operator's Pods and API paths, the local floor's
processes, the reconciler's validation) reads it from here instead of keeping its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tradingfloor.decisions.draft import OWNED_STATUS_FIELDS
from tradingfloor.models.auditor import Auditor, AuditorSpec, AuditorStatus
from tradingfloor.models.common import WorkloadStatus
from tradingfloor.models.monitor import Monitor, MonitorSpec, MonitorStatus
from tradingfloor.models.trader_agent import TraderAgent, TraderAgentSpec, TraderAgentStatus


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    command: str  # `floor agent <command>`
    resource: type[BaseModel]
    spec: type[BaseModel]
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
            "TraderAgent",
            "traderagents",
            "trader",
            TraderAgent,
            TraderAgentSpec,
            TraderAgentStatus,
            frozenset({"performance"}),
        ),
        KindInfo("Auditor", "auditors", "auditor", Auditor, AuditorSpec, AuditorStatus, frozenset({"audit"})),
        KindInfo("Monitor", "monitors", "monitor", Monitor, MonitorSpec, MonitorStatus, frozenset({"floor"})),
    )
}
PLURALS: dict[str, str] = {k: info.plural for k, info in KINDS.items()}
COMMANDS: dict[str, str] = {k: info.command for k, info in KINDS.items()}


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown agent kind {kind!r}: expected one of {sorted(KINDS)}") from None
