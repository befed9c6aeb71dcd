"""Report files: one PNG (equity above, drawdown below) per agent and a Markdown or HTML page."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a Pod or a test
import matplotlib.pyplot as plt

from floor_agents.monitor.performance import AgentMetrics, Alert, money, ratio

COLUMNS = (
    "Agent",
    "Trades",
    "Win rate",
    "Win rate (95 % low)",
    "P&L",
    "Equity",
    "Fees",
    "Sharpe",
    "Sortino",
    "Max drawdown",
    "Profit factor",
    "PSR",
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def equity_picture(m: AgentMetrics, path: Path) -> Path:
    times = [t for t, _ in m.curve]
    values = [float(v) for _, v in m.curve]
    peak, drawdowns = float("-inf"), []
    for v in values:
        peak = max(peak, v)
        drawdowns.append(-(peak - v) / peak * 100 if peak > 0 else 0.0)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    try:
        top.step(times, values, where="post", color="tab:blue", marker="o" if len(times) < 20 else None)
        top.set_title(f"{m.agent}: equity (USD)")
        if len(times) < 2:  # nothing to draw a curve through: say so instead of an empty frame
            top.text(
                0.5,
                0.5,
                f"{m.trades} settled trade(s) in this window",
                transform=top.transAxes,
                ha="center",
                va="center",
                color="gray",
            )
        top.grid(alpha=0.3)
        bottom.fill_between(times, drawdowns, 0, step="post", color="tab:red", alpha=0.4)
        bottom.set_ylabel("drawdown %")
        bottom.grid(alpha=0.3)
        if times and max(times) - min(times) < timedelta(
            minutes=10
        ):  # matplotlib would pick a years-wide axis
            top.set_xlim(min(times) - timedelta(minutes=5), max(times) + timedelta(minutes=5))
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=80)
    finally:
        plt.close(fig)
    return path


UNDEFINED = "–"  # a statistic the trades cannot define (no trade, or one: no spread) is not 0


def stat(x: float | None, defined: bool = True) -> str:
    if not defined or x is None or (isinstance(x, float) and math.isnan(x)):
        return UNDEFINED
    return ratio(x)


def _row(m: AgentMetrics) -> list[str]:
    any_trade, spread = m.trades >= 1, m.trades >= 2
    return [
        m.agent,
        str(m.trades),
        stat(m.win_rate, any_trade),
        stat(m.win_rate_low, any_trade),
        money(m.pnl),
        money(m.equity),
        money(m.fees),
        stat(m.sharpe, spread),
        stat(m.sortino, spread),
        stat(m.max_drawdown),
        stat(m.profit_factor, any_trade),
        stat(m.psr, spread),
    ]


def clock_label(simulated: bool) -> str:
    """Which clock a report's times are on: a simulated floor's trades carry the market's time."""
    return "market clock (simulated floor)" if simulated else "wall clock"


def write_report(
    window: str,
    start: datetime,
    end: datetime,
    agents: Sequence[AgentMetrics],
    floor: AgentMetrics,
    alerts: Sequence[Alert],
    out: Path,
    fmt: str,
    simulated: bool = False,
) -> Path:
    """Write the pictures and the page into ``out``; return the page's path. Names and times are on
    the ledger's clock, which ``simulated`` says is the market's (``-market-`` in the file name)."""
    if fmt not in ("markdown", "html"):
        raise ValueError(f"report format must be markdown or html, got {fmt!r}")
    out.mkdir(parents=True, exist_ok=True)
    stamp = ("market-" if simulated else "") + end.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    pictures = {
        m.agent: equity_picture(m, out / f"{window}-{stamp}-{_safe(m.agent)}.png").name for m in agents
    }
    title = f"Trading floor {window} report"
    period = (
        f"{start.astimezone(UTC):%Y-%m-%d %H:%M} to {end.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{clock_label(simulated)}"
    )
    rows = [_row(floor)] + [_row(m) for m in agents]
    alert_lines = [f"{a.agent}: {a.alert} — {a.message}" for a in alerts] or ["none"]
    if fmt == "markdown":
        lines = [
            f"# {title}",
            "",
            period,
            "",
            "## Floor summary",
            "",
            f"{len(agents)} agents, {floor.trades} trades, P&L {money(floor.pnl)} USD, "
            f"win rate {stat(floor.win_rate, floor.trades >= 1)}, max drawdown {stat(floor.max_drawdown)}.",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += ["", "## Alerts", ""] + [f"- {a}" for a in alert_lines] + ["", "## Agents", ""]
        for m in agents:
            lines += [f"### {m.agent}", "", f"![{m.agent} equity and drawdown]({pictures[m.agent]})", ""]
        page = out / f"{window}-{stamp}.md"
        page.write_text("\n".join(lines))
        return page
    esc = html.escape
    table = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(period)}</p>",
        "<h2>Floor summary</h2>",
        f"<p>{len(agents)} agents, {floor.trades} trades, P&amp;L {esc(money(floor.pnl))} USD, "
        f"win rate {stat(floor.win_rate, floor.trades >= 1)}, max drawdown {stat(floor.max_drawdown)}.</p>",
        "<table><thead><tr>"
        + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
        + f"</tr></thead><tbody>{table}</tbody></table>",
        "<h2>Alerts</h2><ul>" + "".join(f"<li>{esc(a)}</li>" for a in alert_lines) + "</ul>",
        "<h2>Agents</h2>",
    ]
    body += [
        f'<h3>{esc(m.agent)}</h3><img src="{esc(pictures[m.agent])}" alt="{esc(m.agent)} equity and drawdown">'
        for m in agents
    ]
    page = out / f"{window}-{stamp}.html"
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{esc(title)}</title></head>'
        f"<body>{''.join(body)}</body></html>"
    )
    return page
