"""The local floor's table: one row per agent, floor totals, recent events.

Pure rendering from plain rows (what ``floor status`` prints once and ``floor up`` refreshes live).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from rich.console import Group
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class AgentRow:
    name: str
    kind: str
    strategy: str
    market: str
    mode: str
    phase: str
    pnl: str | None
    win_rate: str | None
    trades: int
    restarts: int
    heartbeat_age: float | None  # seconds since the last heartbeat; None = never seen
    lineage: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


def rows_from_agents(agents: list[dict], heartbeat_ages: dict[str, float]) -> list[AgentRow]:
    """Rows from stored agents (``name``, ``kind``, ``spec``, ``status`` dicts)."""
    rows = []
    for agent in sorted(agents, key=lambda a: (a["kind"] != "TraderAgent", a["name"])):
        spec, status = agent.get("spec") or {}, agent.get("status") or {}
        perf = status.get("performance") or {}
        market = spec.get("market") or {}
        lineage = spec.get("lineage") or {}
        rows.append(
            AgentRow(
                name=agent["name"],
                kind=agent["kind"],
                strategy=spec.get("strategy", "-"),
                market=f"{market.get('asset', '-')} {market.get('interval', '')}".strip() if market else "-",
                mode=spec.get("mode", "-") if agent["kind"] == "TraderAgent" else "-",
                phase=status.get("phase") or "Pending",
                pnl=perf.get("pnl"),
                win_rate=perf.get("winRate"),
                trades=int(perf.get("trades") or 0),
                restarts=int((status.get("restarts") or {}).get("total") or 0),
                heartbeat_age=heartbeat_ages.get(agent["name"]),
                lineage=f"{lineage['parent']} g{lineage.get('generation', 0)}"
                if lineage.get("parent")
                else None,
            )
        )
    return rows


def _decimal(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def floor_totals(rows: list[AgentRow]) -> dict:
    traders = [r for r in rows if r.kind == "TraderAgent"]
    return {
        "agents": len(traders),
        "running": sum(1 for r in traders if r.phase == "Running"),
        "trades": sum(r.trades for r in traders),
        "pnl": str(sum((_decimal(r.pnl) for r in traders), Decimal(0))),
        "restarts": sum(r.restarts for r in rows),
    }


_PHASE_STYLE = {
    "Running": "green",
    "Backoff": "yellow",
    "Paused": "yellow",
    "Failed": "red",
    "Retired": "dim",
    "Pending": "cyan",
}


def _money(text: str | None) -> Text:
    if text is None:
        return Text("-")
    value = _decimal(text)
    return Text(f"{value:+.2f}", style="green" if value > 0 else "red" if value < 0 else "")


def _percent(text: str | None) -> str:
    return f"{_decimal(text) * 100:.1f}%" if text else "-"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}m ago"


def render(
    rows: list[AgentRow],
    events: list[dict],
    title: str = "Trading Floor",
    *,
    services: str | None = None,
    expand: bool = True,
) -> Group:
    """The floor's table; ``expand=False`` sizes it to its content (for a pipe, where nothing may be cut)."""
    table = Table(title=title, expand=expand)
    for column in (
        "Agent",
        "Kind",
        "Strategy",
        "Market",
        "Mode",
        "Phase",
        "P&L",
        "Win rate",
        "Trades",
        "Restarts",
        "Heartbeat",
    ):
        table.add_column(
            column, justify="right" if column in ("P&L", "Win rate", "Trades", "Restarts") else "left"
        )
    for r in rows:
        name = r.name if not r.lineage else f"{r.name}\n[dim]← {r.lineage}[/dim]"
        table.add_row(
            name,
            r.kind,
            r.strategy,
            r.market,
            r.mode,
            Text(r.phase, style=_PHASE_STYLE.get(r.phase, "")),
            _money(r.pnl),
            _percent(r.win_rate) if r.trades else "-",
            str(r.trades),
            str(r.restarts),
            _age(r.heartbeat_age),
        )
    totals = floor_totals(rows)
    summary = Text(
        f"Floor: {totals['agents']} traders ({totals['running']} running) · {totals['trades']} trades · "
        f"P&L {_decimal(totals['pnl']):+.2f} · {totals['restarts']} restarts",
        style="bold",
    )
    if services:
        summary.append(f"\nServices: {services}", style="")
    recent = Table(title="Recent events", expand=expand, show_header=True)
    for column in ("Time", "Agent", "Event", "Reason"):
        recent.add_column(column)
    for event in events[:8]:
        recent.add_row(
            str(event.get("ts", ""))[11:19],
            event.get("agent") or "-",
            event.get("type", ""),
            event.get("message") or event.get("reason") or "",
        )
    return Group(table, summary, recent)
