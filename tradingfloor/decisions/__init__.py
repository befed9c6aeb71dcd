"""The Floor Boss decision core: pure, shared by the Kubernetes operator and the local supervisor.

Entry point: ``decide(Observation, FloorPolicy, now) -> Plan``; floor-wide breakers with
``open_breakers(FloorSignals, FloorPolicy)``. No I/O and no Kubernetes in here.
"""

from tradingfloor.decisions.circuit_breakers import (
    FloorSignals,
    ProbeStreak,
    floor_pnl,
    floor_signals,
    open_breakers,
)
from tradingfloor.decisions.lifecycle import instance_name
from tradingfloor.decisions.observation import (
    Action,
    CreateClone,
    Decision,
    Event,
    FamilyMember,
    Instance,
    Observation,
    Plan,
    SetLifecycle,
    StartInstance,
    StopInstance,
)
from tradingfloor.decisions.planner import decide
from tradingfloor.decisions.policy import FloorPolicy

__all__ = [
    "Action",
    "CreateClone",
    "Decision",
    "Event",
    "FamilyMember",
    "FloorPolicy",
    "FloorSignals",
    "Instance",
    "Observation",
    "Plan",
    "ProbeStreak",
    "SetLifecycle",
    "StartInstance",
    "StopInstance",
    "decide",
    "floor_pnl",
    "floor_signals",
    "instance_name",
    "open_breakers",
]
