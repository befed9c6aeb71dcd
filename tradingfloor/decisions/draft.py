"""The working plan of one decision pass: a copy of the status plus actions and events so far."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Literal

from tradingfloor.decisions import status as conds
from tradingfloor.decisions.observation import Action, Decision, Event, Observation, Plan
from tradingfloor.structs import dump

OWNED_STATUS_FIELDS = {
    "observedGeneration",
    "phase",
    "conditions",
    "restarts",
    "podName",
    "startedAt",
    "message",
    "stage",
    "stageSince",
    "sizeMultiplier",
    "lastDecision",
}


class Draft:
    def __init__(self, obs: Observation, now: datetime) -> None:
        self.obs = obs
        self.now = now
        self.status = copy.deepcopy(obs.status)
        self.actions: list[Action] = []
        self.events: list[Event] = []
        self.decisions: list[Decision] = []
        self.requeue_after: float | None = None

    def condition(self, type_: str, value: bool, reason: str, message: str = "") -> None:
        self.status.conditions = conds.set_condition(
            self.status.conditions, type_, value, reason, message, self.now, self.obs.generation
        )

    def is_true(self, type_: str) -> bool:
        return conds.is_true(self.status.conditions, type_)

    def held_for(self, type_: str) -> float | None:
        """Seconds a condition has been True, or None."""
        since = conds.true_since(self.status.conditions, type_)
        return None if since is None else (self.now - since).total_seconds()

    def act(self, action: Action) -> None:
        if action not in self.actions:
            self.actions.append(action)

    def event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    def decide(self, action: str, reason: str, evidence: dict[str, str] | None = None) -> None:
        self.decisions.append(Decision(action, reason, dict(evidence or {})))

    def requeue(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)

    def plan(self) -> Plan:
        self.status.phase = conds.derive_phase(self.status.conditions)
        self.status.observedGeneration = self.obs.generation
        if self.decisions:
            from tradingfloor.models.trader_agent import Decision as StatusDecision

            last = self.decisions[0]
            if hasattr(self.status, "lastDecision"):
                self.status.lastDecision = StatusDecision(
                    action=last.action, reason=last.reason, at=self.now, evidence=last.evidence or None
                )
        dumped = dump(self.status, include=OWNED_STATUS_FIELDS)
        return Plan(
            tuple(self.actions), tuple(self.events), dumped, tuple(self.decisions), self.requeue_after
        )
