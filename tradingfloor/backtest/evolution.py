"""A simulated floor at backtest speed: the real Floor Boss decision core over real trading engines.

Each agent is a :class:`~tradingfloor.trading.engine.TradingEngine` (strategy → sizing → risk →
paper broker) fed the simulator's events. Every ``review_ms`` of simulated time each agent's
``status.performance`` is computed exactly as the trader computes it
(:mod:`tradingfloor.analytics.performance`) and :func:`tradingfloor.decisions.decide` runs on it
with the floor's policy; its plan is applied as the runtimes apply it:

* ``CreateClone`` → a new engine with the clone's parameters, trading from that moment;
* ``SetLifecycle Paused`` → no new entries (open positions still settle); the pause is lifted at the
  next UTC day, standing in for the human who resumes an agent (as the backtester does);
* ``SetLifecycle Retired`` → no new entries, for good;
* the status the core owns (conditions, stage, size multiplier) is kept for the next review, and
  the size multiplier is handed to the engine.

Process supervision is not simulated: every agent has one healthy instance throughout.

**Shadow policies** answer "what would another bar have done" on the same market at no extra
simulation: each shadow runs the decision core beside the floor's policy on every *original* agent,
on its own copy of the status (conditions and hold times), acts on nothing, and records the first
clone it would have made of each family. Up to that first clone a family is only its original, whose
trades never depend on the clone policy, so a shadow's first clone is exactly the floor's under that
policy (provided the shadow pauses on the same rules: pauses do change the original's trades).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from msgspec.structs import replace

from tradingfloor.analytics.performance import TradeResult, figures
from tradingfloor.decisions import (
    CreateClone,
    FamilyMember,
    FloorPolicy,
    Instance,
    Observation,
    Plan,
    SetLifecycle,
    decide,
)
from tradingfloor.decisions.evolution import LABEL_PARENT, LABEL_ROOT, root_from_labels
from tradingfloor.decisions.performance import family_sharpe
from tradingfloor.market.events import MarketEvent
from tradingfloor.models.trader_agent import Performance, TraderAgentSpec, TraderAgentStatus
from tradingfloor.structs import dump, parse
from tradingfloor.trading.ledger import ClosedTrade
from tradingfloor.trading.pipeline import EngineConfig, TradingEngine
from tradingfloor.trading.risk import RiskLimits

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class FloorAgent:
    name: str
    spec: TraderAgentSpec
    labels: dict[str, str]
    engine: TradingEngine
    created_ms: int
    status: TraderAgentStatus = field(default_factory=TraderAgentStatus)
    generation: int = 1  # metadata.generation: bumped when the spec changes (pause, resume)
    resume_day: int | None = None  # the UTC day a Floor Boss pause is lifted

    @property
    def root(self) -> str:
        return root_from_labels(self.name, self.labels)

    @property
    def parent(self) -> str | None:
        return self.spec.lineage.parent

    def trades(self) -> list[ClosedTrade]:
        return self.engine.broker.ledger.closed


@dataclass(frozen=True)
class Clone:
    """One clone the core created: when, of whom, and the parent's evidence at that moment."""

    at_ms: int
    parent: str
    child: str
    root: str
    parent_trades: int
    evidence: dict[str, str]


@dataclass
class FloorRun:
    agents: dict[str, FloorAgent]
    clones: list[Clone] = field(default_factory=list)
    decisions: list[tuple[int, str, str]] = field(default_factory=list)  # (ms, agent, action)
    events: int = 0
    # per shadow policy (by index): lineage root -> the first clone that policy would have made
    shadow_clones: list[dict[str, Clone]] = field(default_factory=list)

    def families(self) -> list[str]:
        """Lineage roots of the floor's original agents."""
        return sorted({a.root for a in self.agents.values()})

    def first_clone(self, root: str) -> Clone | None:
        return next((c for c in self.clones if c.root == root), None)

    def first_decision(self, agent: str, actions: tuple[str, ...]) -> int | None:
        """When the core first decided one of ``actions`` for ``agent`` (market ms), or None."""
        return next((ms for ms, name, action in self.decisions if name == agent and action in actions), None)


def engine_for(name: str, spec: TraderAgentSpec) -> TradingEngine:
    config = EngineConfig(name, spec.strategy, spec.market.asset, dict(spec.params or {}))
    return TradingEngine(config, RiskLimits.from_spec(spec.risk))


def new_agent(name: str, spec: TraderAgentSpec, labels: dict[str, str], now_ms: int) -> FloorAgent:
    return FloorAgent(name, spec, dict(labels), engine_for(name, spec), now_ms)


def status_performance(agent: FloorAgent, now_ms: int) -> dict[str, Any]:
    """What the trader would write into ``status.performance`` now."""
    engine = agent.engine
    results = [TradeResult(t.net_pnl, _at(t.closed_ms), t.costs, t.break_even) for t in agent.trades()]
    return figures(
        Decimal(agent.spec.risk.capital),
        results,
        _at(now_ms),
        equity=engine.realized_equity(),
        exposure=engine.broker.ledger.open_exposure(),
        day_start_equity=engine.risk.day_start_equity,
        streak=engine.risk.consecutive_losses,
    ).status(_at(now_ms))


class SimulatedFloor:
    """The floor: agents, the policy, and the review clock."""

    def __init__(
        self,
        manifests: Iterable[dict[str, Any]],
        policy: FloorPolicy,
        start_ms: int,
        review_ms: int = HOUR_MS,
        shadows: Sequence[FloorPolicy] = (),
    ) -> None:
        if review_ms <= 0:
            raise ValueError(f"review_ms must be positive, got {review_ms}")
        self.policy = policy
        self.review_ms = review_ms
        self.shadows = tuple(shadows)
        self.run = FloorRun({}, shadow_clones=[{} for _ in self.shadows])
        for m in manifests:
            name = m["metadata"]["name"]
            spec = parse(TraderAgentSpec, m["spec"])
            self.run.agents[name] = new_agent(name, spec, m["metadata"].get("labels") or {}, start_ms)
        self.originals = tuple(self.run.agents)
        # (shadow index, original) -> the status that shadow's decision core keeps for that agent
        self.shadow_status: dict[tuple[int, str], TraderAgentStatus] = {
            (i, name): TraderAgentStatus() for i in range(len(self.shadows)) for name in self.originals
        }
        self.next_review = start_ms + review_ms

    def feed(self, events: Iterable[MarketEvent]) -> FloorRun:
        for ev in events:
            ts = ev.ts_ms
            while ts >= self.next_review:
                self.review(self.next_review)
                self.next_review += self.review_ms
            for agent in list(self.run.agents.values()):
                agent.engine.on_event(ev)
            self.run.events += 1
        return self.run

    # --- one review: the decision core for every agent ------------------------------------------
    def review(self, now_ms: int) -> None:
        day = now_ms // DAY_MS
        for agent in list(self.run.agents.values()):
            if agent.resume_day is not None and day >= agent.resume_day:
                self._set_lifecycle(agent, "Active")
                agent.engine.risk.resume()
            elif agent.spec.lifecycle == "Active" and agent.engine.pause_reason and agent.resume_day is None:
                # the agent paused itself (risk manager); it resumes with the next day like any pause
                agent.resume_day = day + 1
        for agent in list(self.run.agents.values()):
            if agent.spec.lifecycle == "Active":
                self._decide(agent, now_ms)
                if agent.name in self.originals:
                    self._shadow_decide(agent, now_ms)

    def _family(self, agent: FloorAgent) -> tuple[FamilyMember, ...]:
        return tuple(_member(other) for other in self.run.agents.values() if other.root == agent.root)

    def _decide(self, agent: FloorAgent, now_ms: int) -> None:
        now = _at(now_ms)
        agent.status = replace(
            agent.status, performance=parse(Performance, status_performance(agent, now_ms))
        )
        plan = decide(_observation(agent, agent.status, self._family(agent)), self.policy, now)
        agent.status = parse(TraderAgentStatus, {**dump(agent.status), **plan.status})
        if agent.status.sizeMultiplier is not None:
            agent.engine.set_size_multiplier(min(Decimal(1), Decimal(agent.status.sizeMultiplier)))
        for decision in plan.decisions:
            self.run.decisions.append((now_ms, agent.name, decision.action))
        for action in plan.actions:
            if isinstance(action, SetLifecycle):
                self._set_lifecycle(agent, action.lifecycle)
                if action.lifecycle == "Paused":
                    agent.resume_day = now_ms // DAY_MS + 1
            elif isinstance(action, CreateClone):
                self._clone(agent, action.manifest, now_ms, plan)

    def _shadow_decide(self, agent: FloorAgent, now_ms: int) -> None:
        """Each shadow policy's verdict on an original, on the performance the floor just computed."""
        now = _at(now_ms)
        for i, policy in enumerate(self.shadows):
            if agent.root in self.run.shadow_clones[i]:
                continue  # that policy's first clone of this family is known; later ones differ
            status = replace(self.shadow_status[(i, agent.name)], performance=agent.status.performance)
            # before its first clone, the family is the original alone
            plan = decide(_observation(agent, status, (_member(agent),)), policy, now)
            self.shadow_status[(i, agent.name)] = parse(TraderAgentStatus, {**dump(status), **plan.status})
            clone = next((a for a in plan.actions if isinstance(a, CreateClone)), None)
            if clone is not None:
                child = clone.manifest["metadata"]["name"]
                self.run.shadow_clones[i][agent.root] = Clone(
                    now_ms, agent.name, child, agent.root, len(agent.trades()), _clone_evidence(plan)
                )

    def _set_lifecycle(self, agent: FloorAgent, lifecycle: str) -> None:
        agent.spec = replace(agent.spec, lifecycle=lifecycle)
        agent.generation += 1
        risk = agent.engine.risk
        if lifecycle == "Active":
            agent.resume_day = None
            risk.pause_reason = None
        else:
            risk.pause_reason = risk.pause_reason or f"Floor Boss: {lifecycle}"  # no new entries

    def _clone(self, parent: FloorAgent, manifest: dict[str, Any], now_ms: int, plan: Plan) -> None:
        name = manifest["metadata"]["name"]
        if name in self.run.agents:
            return  # the runtimes' create is idempotent on the deterministic name
        spec = parse(TraderAgentSpec, manifest["spec"])
        labels = manifest["metadata"].get("labels") or {}
        self.run.agents[name] = new_agent(name, spec, labels, now_ms)
        self.run.clones.append(
            Clone(
                now_ms,
                parent.name,
                name,
                labels.get(LABEL_ROOT, parent.root),
                len(parent.trades()),
                _clone_evidence(plan),
            )
        )


def _member(agent: FloorAgent) -> FamilyMember:
    perf = dump(agent.status.performance, exclude_none=True)
    return FamilyMember(agent.name, agent.parent, _at(agent.created_ms), family_sharpe(perf))


def _observation(
    agent: FloorAgent, status: TraderAgentStatus, family: tuple[FamilyMember, ...]
) -> Observation:
    """What the decision core sees of one agent: one healthy instance, ``status`` and ``family``."""
    return Observation(
        kind="TraderAgent",
        name=agent.name,
        spec=agent.spec,
        status=status,
        generation=agent.generation,
        labels=agent.labels,
        instances=(Instance(f"{agent.name}-0", "running", _at(agent.created_ms)),),
        family=family,
    )


def _clone_evidence(plan: Plan) -> dict[str, str]:
    return next((d.evidence for d in plan.decisions if d.action == "clone"), {})


def example_manifests(paths: Iterable[Any]) -> list[dict[str, Any]]:
    """The TraderAgent documents of YAML files (other kinds are skipped)."""
    import yaml

    out = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if doc and doc.get("kind") == "TraderAgent":
                    out.append(doc)
    return out


__all__ = [
    "LABEL_PARENT",
    "Clone",
    "FloorAgent",
    "FloorRun",
    "SimulatedFloor",
    "example_manifests",
    "status_performance",
]
