"""Row builders shared by the persistence tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradingfloor.persistence import repositories as repo

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def trade(key: str, i: int = 1, agent: str = "agent-a") -> repo.TradeRow:
    entry = Decimal("0.40") + Decimal(i % 10) / 100
    gross = (Decimal(1) - entry) * 10 if i % 2 else -entry * 10
    fees = Decimal("0.01234")
    return repo.TradeRow(
        idempotency_key=key,
        agent=agent,
        market_id="0xmarket",
        token_id="111",
        size=Decimal(10),
        entry_price=entry,
        exit_price=Decimal(1) if i % 2 else Decimal(0),
        exit_kind="settled",
        opened_at=T0 + timedelta(minutes=i),
        closed_at=T0 + timedelta(minutes=i + 15),
        gross_pnl=gross,
        fees=fees,
        net_pnl=gross - fees,
        outcome="Up",
        details={"i": i},
    )


def order(coid: str, agent: str = "agent-a", status: repo.OrderStatus = "new") -> repo.OrderRow:
    return repo.OrderRow(
        client_order_id=coid,
        agent=agent,
        market_id="0xmarket",
        token_id="111",
        side="BUY",
        order_type="FOK",
        limit_price=Decimal("0.55"),
        size=Decimal("12.5"),
        status=status,
        created_at=T0,
    )
