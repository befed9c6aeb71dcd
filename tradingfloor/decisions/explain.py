"""``floor explain AGENT``: why the Floor Boss did what it did to an agent, and where the agent
stands against the clone and retire bar now (pure: status and spec in, lines out)."""

from __future__ import annotations

from typing import Any

from tradingfloor.decisions.evidence import Evidence, clone_evidence, retire_evidence
from tradingfloor.decisions.performance import break_even, number, sharpe_track
from tradingfloor.decisions.policy import FloorPolicy
from tradingfloor.models.trader_agent import Performance
from tradingfloor.structs import parse


def family_size(name: str, parents: dict[str, str | None]) -> int:
    """Agents sharing ``name``'s lineage root, ``parents`` mapping every agent to its parent."""

    def root(n: str) -> str:
        seen = set()
        while (parent := parents.get(n)) and n not in seen:
            seen.add(n)
            n = parent
        return n

    mine = root(name)
    return max(1, sum(1 for other in parents if root(other) == mine))


def _facts(facts: dict[str, str], indent: str = "    ") -> list[str]:
    width = max((len(k) for k in facts), default=0)
    return [f"{indent}{k.ljust(width)}  {v}" for k, v in facts.items()]


def _bar(title: str, evidence: Evidence) -> list[str]:
    verdict = "met" if evidence.ok else "not met"
    return [f"{title}: {verdict} — {evidence.reason}", *_facts(evidence.facts)]


def explain(
    name: str, spec: dict[str, Any], status: dict[str, Any], policy: FloorPolicy, n_family: int = 1
) -> list[str]:
    perf = parse(Performance, status.get("performance") or {})
    lines = [
        f"{name}: lifecycle {spec.get('lifecycle', 'Active')}, phase {status.get('phase', '?')}, "
        f"stage {status.get('stage') or '-'}, size × {status.get('sizeMultiplier') or '1'}"
    ]
    if perf.reportedAt is None:
        lines.append("no performance reported yet")
    else:
        rate = perf.wins / perf.trades if perf.trades else 0.0
        be = break_even(perf)
        lines.append(
            f"performance at {perf.reportedAt.isoformat()}: {perf.trades} trades, {perf.wins} wins "
            f"({rate:.1%}), break-even {be:.3f}"
            if be is not None
            else f"performance at {perf.reportedAt.isoformat()}: {perf.trades} trades, {perf.wins} wins ({rate:.1%})"
        )
        lines.append(
            f"  P&L {perf.pnl} on capital {perf.capital or '?'}, drawdown {perf.drawdown} "
            f"(max {perf.maxDrawdown}), loss streak {perf.consecutiveLosses}, Sharpe {perf.sharpe} (annualized)"
        )
        track = sharpe_track(perf)
        if track is not None:
            lines.append(
                f"  Sharpe track: {track.sharpe:.4f} per trade over {track.periods} trades, skew "
                f"{track.skew:.2f}, kurtosis {track.kurtosis:.2f}, PSR {perf.psr}"
            )
    last = status.get("lastDecision")
    if last:
        lines.append(f"last decision: {last.get('action')} at {last.get('at')} — {last.get('reason')}")
        if last.get("evidence"):
            lines += _facts(last["evidence"])
    else:
        lines.append("no decision recorded")
    if perf.reportedAt is not None:
        lines += _bar(
            f"clone bar now (family of {n_family})",
            clone_evidence(
                perf.wins,
                perf.trades,
                policy,
                n_family,
                break_even=break_even(perf),
                psr=number(perf.psr),
                track=sharpe_track(perf),
            ),
        )
        lines += _bar(
            f"retire bar now (family of {n_family})",
            retire_evidence(perf.wins, perf.trades, policy, n_family, break_even=break_even(perf)),
        )
    return lines
