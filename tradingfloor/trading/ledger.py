"""Cash, positions and P&L of one account, in Decimal.

Invariant, exact at every step (``invariant_gap`` is 0):
    cash + Σ shares × mark = starting capital + realized + unrealized − costs
where realized and unrealized are gross of costs and costs are taker fees plus redemption costs.
Cost basis is kept as a total per position (not an average price) so partial closes stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingfloor.market.events import Outcome

ZERO = Decimal(0)


class LedgerError(ValueError):
    pass


@dataclass(slots=True)
class Position:
    market_id: str
    token_id: str
    outcome: Outcome
    shares: Decimal = ZERO
    cost_basis: Decimal = ZERO  # total paid for the open shares, excluding fees
    fees: Decimal = ZERO  # fees attributable to this position (open and closed parts)
    realized: Decimal = ZERO  # gross realized P&L of closed parts
    opened_ms: int = 0
    bought: Decimal = ZERO  # shares bought over the position's life
    entry_cost: Decimal = ZERO  # what they cost, fees included

    @property
    def break_even(self) -> Decimal | None:
        """All-in entry cost per share: the win probability at which the bet breaks even."""
        return self.entry_cost / self.bought if self.bought > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {
            "market_id": self.market_id,
            "token_id": self.token_id,
            "outcome": self.outcome,
            "shares": str(self.shares),
            "cost_basis": str(self.cost_basis),
            "fees": str(self.fees),
            "realized": str(self.realized),
            "opened_ms": self.opened_ms,
            "bought": str(self.bought),
            "entry_cost": str(self.entry_cost),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Position:
        return cls(
            d["market_id"],
            d["token_id"],
            d["outcome"],
            Decimal(d["shares"]),
            Decimal(d["cost_basis"]),
            Decimal(d["fees"]),
            Decimal(d["realized"]),
            int(d["opened_ms"]),
            Decimal(d.get("bought", "0")),  # absent in checkpoints written before break-even was kept
            Decimal(d.get("entry_cost", "0")),
        )


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A position fully closed (sold or settled): one entry in win-rate and streak statistics."""

    market_id: str
    token_id: str
    outcome: Outcome
    gross_pnl: Decimal
    costs: Decimal
    opened_ms: int
    closed_ms: int
    break_even: Decimal | None = None  # entry price + the market's fee at it, per share

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.costs

    def to_json(self) -> dict[str, Any]:
        return {
            "market_id": self.market_id,
            "token_id": self.token_id,
            "outcome": self.outcome,
            "gross_pnl": str(self.gross_pnl),
            "costs": str(self.costs),
            "opened_ms": self.opened_ms,
            "closed_ms": self.closed_ms,
            "break_even": None if self.break_even is None else str(self.break_even),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClosedTrade:
        return cls(
            d["market_id"],
            d["token_id"],
            d["outcome"],
            Decimal(d["gross_pnl"]),
            Decimal(d["costs"]),
            int(d["opened_ms"]),
            int(d["closed_ms"]),
            Decimal(d["break_even"]) if d.get("break_even") is not None else None,
        )


class Ledger:
    def __init__(self, starting_capital: Decimal) -> None:
        if starting_capital <= 0:
            raise LedgerError(f"starting capital must be positive, got {starting_capital}")
        self.starting_capital = starting_capital
        self.cash = starting_capital
        self.positions: dict[str, Position] = {}  # by token id
        self.realized = ZERO
        self.fees = ZERO
        self.redemption_costs = ZERO
        self.closed: list[ClosedTrade] = []

    @property
    def costs(self) -> Decimal:
        return self.fees + self.redemption_costs

    def buy(
        self,
        market_id: str,
        token_id: str,
        outcome: Outcome,
        shares: Decimal,
        price: Decimal,
        fee: Decimal,
        ts_ms: int,
    ) -> None:
        notional = shares * price
        if notional + fee > self.cash:
            raise LedgerError(f"insufficient cash: need {notional + fee}, have {self.cash}")
        pos = self.positions.get(token_id)
        if pos is None:
            pos = self.positions[token_id] = Position(market_id, token_id, outcome, opened_ms=ts_ms)
        self.cash -= notional + fee
        pos.shares += shares
        pos.cost_basis += notional
        pos.fees += fee
        pos.bought += shares
        pos.entry_cost += notional + fee
        self.fees += fee

    def sell(self, token_id: str, shares: Decimal, price: Decimal, fee: Decimal, ts_ms: int) -> None:
        pos = self.positions.get(token_id)
        if pos is None or shares > pos.shares:
            held = pos.shares if pos else ZERO
            raise LedgerError(f"cannot sell {shares} shares of {token_id}: holding {held}")
        self.cash += shares * price - fee
        self.fees += fee
        pos.fees += fee
        self._close(pos, shares, shares * price, ts_ms)

    def settle(self, token_id: str, payout_per_share: Decimal, redemption_cost: Decimal, ts_ms: int) -> None:
        """Resolve a position: each share pays ``payout_per_share`` (1 for the winner, 0 for the loser);
        redeeming a non-zero payout costs ``redemption_cost``."""
        pos = self.positions[token_id]
        proceeds = pos.shares * payout_per_share
        cost = redemption_cost if proceeds > 0 else ZERO
        self.cash += proceeds - cost
        self.redemption_costs += cost
        pos.fees += cost
        self._close(pos, pos.shares, proceeds, ts_ms)

    def _close(self, pos: Position, shares: Decimal, proceeds: Decimal, ts_ms: int) -> None:
        removed = pos.cost_basis if shares == pos.shares else pos.cost_basis * shares / pos.shares
        pnl = proceeds - removed
        pos.shares -= shares
        pos.cost_basis -= removed
        pos.realized += pnl
        self.realized += pnl
        if pos.shares == 0:
            del self.positions[pos.token_id]
            self.closed.append(
                ClosedTrade(
                    pos.market_id,
                    pos.token_id,
                    pos.outcome,
                    pos.realized,
                    pos.fees,
                    pos.opened_ms,
                    ts_ms,
                    pos.break_even,
                )
            )

    def position_value(self, marks: dict[str, Decimal]) -> Decimal:
        return sum((p.shares * marks[p.token_id] for p in self.positions.values()), ZERO)

    def unrealized(self, marks: dict[str, Decimal]) -> Decimal:
        return sum((p.shares * marks[p.token_id] - p.cost_basis for p in self.positions.values()), ZERO)

    def open_exposure(self) -> Decimal:
        """Capital at risk in open positions (their cost basis)."""
        return sum((p.cost_basis for p in self.positions.values()), ZERO)

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        return self.cash + self.position_value(marks)

    def gross_pnl(self, marks: dict[str, Decimal]) -> Decimal:
        return self.realized + self.unrealized(marks)

    def net_pnl(self, marks: dict[str, Decimal]) -> Decimal:
        return self.gross_pnl(marks) - self.costs

    def invariant_gap(self, marks: dict[str, Decimal]) -> Decimal:
        """cash + position value − (start + realized + unrealized − costs); always exactly 0."""
        return self.equity(marks) - (
            self.starting_capital + self.realized + self.unrealized(marks) - self.costs
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "starting_capital": str(self.starting_capital),
            "cash": str(self.cash),
            "realized": str(self.realized),
            "fees": str(self.fees),
            "redemption_costs": str(self.redemption_costs),
            "positions": [p.to_json() for p in self.positions.values()],
            "closed": [c.to_json() for c in self.closed],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Ledger:
        led = cls(Decimal(d["starting_capital"]))
        led.cash = Decimal(d["cash"])
        led.realized = Decimal(d["realized"])
        led.fees = Decimal(d["fees"])
        led.redemption_costs = Decimal(d["redemption_costs"])
        led.positions = {p["token_id"]: Position.from_json(p) for p in d["positions"]}
        led.closed = [ClosedTrade.from_json(c) for c in d["closed"]]
        return led
