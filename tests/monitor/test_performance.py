"""Monitor arithmetic without I/O: metrics against analytics computed by hand, alerts, report files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from floor_agents.monitor.performance import AlertThresholds, TradePnl, agent_metrics, alerts_for
from floor_agents.monitor.render import write_report
from tradingfloor.analytics.stats import max_drawdown, sharpe_ratio, wilson_interval

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def trades(agent, pnls, start=NOW - timedelta(days=2)):
    return [TradePnl(agent, D(p), D("0.1"), start + timedelta(hours=6 * i)) for i, p in enumerate(pnls)]


def test_metrics_match_the_analytics_definitions():
    pnls = ["10", "-5", "20", "-30", "5", "-8"]
    m = agent_metrics("a", D(1000), trades("a", pnls), NOW)
    curve = [1000, 1010, 1005, 1025, 995, 1000, 992]
    assert [float(v) for _, v in m.curve] == curve
    assert (m.trades, m.wins, m.losses) == (6, 3, 3)
    assert m.pnl == D(-8) and m.equity == D(992) and m.fees == D("0.6")
    assert m.win_rate_low == wilson_interval(3, 6)[0]
    assert m.max_drawdown == max_drawdown(curve) == 33 / 1025
    assert m.drawdown == (1025 - 992) / 1025
    assert m.consecutive_losses == 1
    # daily equity: start 1000, end of 03-01 1005, end of 03-02 992, end of 03-03 (today) 992
    assert m.sharpe == sharpe_ratio([1005 / 1000 - 1, 992 / 1005 - 1, 0.0], 365)
    status = m.figures.status(NOW)
    assert status["pnl"] == "-8" and status["trades"] == 6 and status["maxDrawdown"] == f"{33 / 1025:.4f}"
    assert status["capital"] == "1000" and status["sharpeTrack"]["periods"] == 6


def test_alerts_on_current_state():
    th = AlertThresholds(
        drawdown_bps=300, daily_loss_bps=100, consecutive_losses=2, heartbeat_stale_seconds=60
    )
    m = agent_metrics("a", D(1000), trades("a", ["50", "-20", "-20"], start=NOW - timedelta(hours=13)), NOW)
    assert sorted(a.alert for a in alerts_for(m, th, heartbeat_age=61)) == [
        "consecutive_losses",
        "daily_loss",
        "drawdown",
        "heartbeat_stale",
    ]
    calm = agent_metrics("b", D(1000), trades("b", ["-20", "50"]), NOW)
    assert alerts_for(calm, th, heartbeat_age=None) == []


def test_report_files(tmp_path):
    a = agent_metrics("alpha", D(1000), trades("alpha", ["10", "-4"]), NOW)
    b = agent_metrics("beta/2", D(500), trades("beta/2", ["-7"]), NOW)
    floor = agent_metrics("floor", D(1500), trades("alpha", ["10", "-4"]) + trades("beta/2", ["-7"]), NOW)
    for fmt, suffix in (("markdown", ".md"), ("html", ".html")):
        page = write_report("daily", NOW - timedelta(days=1), NOW, [a, b], floor, [], tmp_path / fmt, fmt)
        assert page.suffix == suffix
        text = page.read_text()
        assert (
            "alpha" in text
            and "beta/2" in text
            and ("| floor | 3 |" in text or "<td>floor</td><td>3</td>" in text)
        )
        assert "-1" in text  # the floor's P&L: 10 − 4 − 7
        pngs = sorted(p.name for p in (tmp_path / fmt).glob("*.png"))
        assert len(pngs) == 2 and all(name in text for name in pngs)
        assert all((tmp_path / fmt / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)


def test_report_labels_its_clock_and_shows_undefined_statistics_as_a_dash(tmp_path):
    one = agent_metrics("solo", D(1000), trades("solo", ["10"]), NOW)
    page = write_report(
        "hourly", NOW - timedelta(hours=1), NOW, [one], one, [], tmp_path, "markdown", simulated=True
    )
    assert "market-" in page.name
    text = page.read_text()
    assert "market clock (simulated floor)" in text
    row = next(line for line in text.splitlines() if line.startswith("| solo |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    sharpe, sortino, psr = cells[7], cells[8], cells[11]
    assert (sharpe, sortino, psr) == ("–", "–", "–")  # one trade has no spread: undefined, not 0
    wall = write_report("hourly", NOW - timedelta(hours=1), NOW, [one], one, [], tmp_path / "w", "markdown")
    assert "wall clock" in wall.read_text() and "market-" not in wall.name
