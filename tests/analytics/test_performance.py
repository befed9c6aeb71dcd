"""The one definition of every performance figure (tradingfloor/analytics/performance.py), and
that the trader, the Monitor and the risk manager all use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from floor_agents.monitor.performance import TradePnl, agent_metrics
from floor_agents.trader.performance import performance
from tradingfloor.analytics import performance as perf
from tradingfloor.analytics import stats
from tradingfloor.models.trader_agent import Performance
from tradingfloor.structs import parse
from tradingfloor.trading.fees import break_even_probability
from tradingfloor.trading.ledger import ClosedTrade, Ledger
from tradingfloor.trading.risk import RiskLimits, RiskManager

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
PNLS = ["10", "-5", "0", "-4", "20", "-30", "0", "-8"]


def results(pnls, start=NOW - timedelta(days=2)):
    return [perf.TradeResult(D(p), start + timedelta(hours=5 * i), D("0.1")) for i, p in enumerate(pnls)]


def test_loss_streak_zero_trades_neither_extend_nor_end_it():
    assert perf.loss_streak(D(p) for p in ["-1", "0", "-2"]) == 2
    assert perf.loss_streak(D(p) for p in ["-1", "3", "0", "-2"]) == 1
    assert perf.loss_streak([]) == 0


def test_risk_manager_trader_status_and_monitor_agree_on_the_streak():
    risk = RiskManager(RiskLimits(max_consecutive_losses=100))
    closed = [ClosedTrade("m", f"t{i}", "Up", D(p), D(0), i, i + 1) for i, p in enumerate(PNLS)]
    for t in closed:
        risk.record(t, D(1000))
    status = performance(closed, D(1000), D(983), D(0), D(1000), risk.consecutive_losses, NOW)
    monitor = agent_metrics("a", D(1000), [TradePnl("a", D(p), D(0), NOW) for p in PNLS], NOW)
    assert risk.consecutive_losses == status["consecutiveLosses"] == monitor.consecutive_losses == 2
    risk.resume()  # a resume restarts the streak; the trader reports the risk manager's streak
    assert risk.consecutive_losses == 0


def test_drawdown_is_measured_from_the_agents_own_capital():
    # The same trades on 5000 of capital: the Monitor used to assume 1000 for everyone.
    trades = results(["-100", "-200", "-64"])
    own = perf.figures(D(5000), trades, NOW)
    assert own.drawdown == pytest.approx(364 / 5000) and own.max_drawdown == pytest.approx(364 / 5000)
    assert perf.figures(D(1000), trades, NOW).drawdown == pytest.approx(0.364)
    assert own.status(NOW)["capital"] == "5000"


def test_sharpe_track_is_per_trade_returns_with_moments():
    trades = results(PNLS)
    f = perf.figures(D(1000), trades, NOW)
    returns = perf.trade_returns(D(1000), [t.net_pnl for t in trades])
    assert returns[:2] == [10 / 1000, -5 / 1010]
    assert f.track == perf.SharpeTrack(
        stats.sharpe_ratio(returns), len(PNLS), stats.skewness(returns), stats.kurtosis(returns)
    )
    assert f.psr == stats.probabilistic_sharpe_ratio(f.track.sharpe, 8, f.track.skew, f.track.kurtosis)
    status = parse(Performance, f.status(NOW))
    assert status.sharpeTrack.periods == 8 and status.sharpeTrack.sharpe == f"{f.track.sharpe:.4f}"
    assert (f.wins, f.losses, f.trades) == (2, 4, 8)  # two zero-P&L trades are neither


def test_break_even_is_entry_price_plus_the_markets_fee():
    rate = D("0.07")
    ledger = Ledger(D(1000))
    price, shares = D("0.70"), D(10)
    fee = shares * price * (1 - price) * rate
    ledger.buy("m", "up", "Up", shares, price, fee, 1)
    ledger.settle("up", D(1), D(0), 2)
    (trade,) = ledger.closed
    assert trade.break_even == break_even_probability(price, rate, 1) == D("0.7147")
    assert ClosedTrade.from_json(trade.to_json()) == trade
    low = perf.TradeResult(D(1), NOW, break_even=break_even_probability(D("0.30"), rate, 1))
    high = perf.TradeResult(D(1), NOW, break_even=trade.break_even)
    assert perf.mean_break_even([low, high]) == pytest.approx((0.3147 + 0.7147) / 2)
    assert perf.mean_break_even([perf.TradeResult(D(1), NOW)]) is None


def test_figures_reject_negative_capital():
    with pytest.raises(ValueError, match="capital"):
        perf.figures(D(-1), [], NOW)
