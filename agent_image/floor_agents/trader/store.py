"""The trader's durable ledger on the floor's shared tables (``tradingfloor.persistence``):
``orders``, ``fills``, ``trades``, ``positions``, ``markets`` and ``agent_checkpoints``.

Everything one market event changed is written in ONE transaction together with the engine state
after that event (checkpoint ``seq``), through the shared :class:`DurableWriter`: a crash keeps both
or neither, so the database ledger always equals the newest checkpoint. Every row is keyed (client
order id, fill id, trade idempotency key, checkpoint agent+seq) or a whole-row replacement
(positions, order status), so replaying a batch is a no-op.

When PostgreSQL is unreachable the batch goes to the writer's local journal
(``FLOOR_STATE_DIR/trader/<agent>.journal``, one fsync'd JSON line per batch); later batches queue
behind it and the journal is replayed in order, exactly once, as soon as the database answers. On
start the newest checkpoint wins: one still in the journal is newer than any in the database.

Live orders: the signed form is written (order status ``new``, ``orders.submission``, migration
0010) before it is sent, so a restarted agent can adopt and reconcile it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tradingfloor.market.events import MarketInfo, MarketResolved, Outcome
from tradingfloor.observability.logging import get_logger
from tradingfloor.persistence import repositories as repo
from tradingfloor.persistence.db import Database, DatabaseUnavailable, Retry, is_unavailable
from tradingfloor.persistence.journal import OPERATIONS, DurableWriter, Journal, Op
from tradingfloor.persistence.migrate import migrate
from tradingfloor.trading.ledger import ClosedTrade, Ledger
from tradingfloor.trading.orders import Fill, Order

log = get_logger("floor_agents.trader.store")

ZERO = Decimal(0)
KEEP_CHECKPOINTS = 20  # older checkpoints of the agent are pruned every PRUNE_EVERY commits
PRUNE_EVERY = 100
Mode = Literal["paper", "live"]


def trade_key(agent: str, trade: ClosedTrade) -> str:
    """The idempotency key of a closed trade in the shared ``trades`` table."""
    return f"{agent}/{trade.market_id}/{trade.token_id}/{trade.closed_ms}"


def fill_id(client_id: str, n: int) -> str:
    """The ``n``-th fill (from 0) of an order."""
    return f"{client_id}/{n}"


# --- extra journaled operations (all idempotent on replay) ------------------------------------


async def _record_intent(ex: Any, o: repo.OrderRow, submission: dict[str, Any]) -> None:
    await repo.record_order(ex, o)
    await ex.execute(
        "UPDATE orders SET submission = $2 WHERE client_order_id = $1 AND submission IS NULL",
        o.client_order_id,
        submission,
    )


async def _upsert_order(ex: Any, o: repo.OrderRow) -> None:
    """Insert the order, or (an order journaled as a live intent first) bring its status up to date."""
    if not await repo.record_order(ex, o):
        await repo.update_order_status(ex, o.client_order_id, o.status, reason=o.reason, at=o.updated_at)


async def _sync_filled_size(ex: Any, client_order_id: str) -> None:
    await ex.execute(
        """UPDATE orders SET filled_size = coalesce((SELECT sum(size) FROM fills f
               WHERE f.client_order_id = $1), 0) WHERE client_order_id = $1""",
        client_order_id,
    )


async def _resolve_market(
    ex: Any,
    m: repo.MarketRow,
    resolution: Outcome,
    winning_token_id: str,
    resolved_at: datetime,
    final_price: Decimal | None,
) -> None:
    await repo.upsert_market(ex, m)
    await repo.resolve_market(
        ex,
        m.condition_id,
        resolution,
        winning_token_id,
        resolved_at,
        final_price,
    )


TRADER_OPERATIONS = {
    **OPERATIONS,
    "trader_intent": _record_intent,
    "trader_order": _upsert_order,
    "trader_filled_size": _sync_filled_size,
    "delete_position": repo.delete_position,
    "trader_resolve_market": _resolve_market,
    "prune_checkpoints": repo.prune_checkpoints,
}


# --- what one step changed ------------------------------------------------------------------------


@dataclass
class Lot:
    """Shares bought and sold of one token while its position is open (for the trade row)."""

    bought: Decimal = ZERO
    buy_notional: Decimal = ZERO
    sold: Decimal = ZERO
    sell_notional: Decimal = ZERO

    def add(self, f: Fill) -> None:
        if f.side == "BUY":
            self.bought += f.size
            self.buy_notional += f.size * f.price
        else:
            self.sold += f.size
            self.sell_notional += f.size * f.price

    def to_json(self) -> list[str]:
        return [str(self.bought), str(self.buy_notional), str(self.sold), str(self.sell_notional)]

    @classmethod
    def from_json(cls, d: list[str]) -> Lot:
        return cls(*(Decimal(x) for x in d))


@dataclass
class Batch:
    """The ledger rows one step changed; turned into journal operations by :meth:`ops`."""

    agent: str
    mode: Mode = "paper"
    ops: list[Op] = field(default_factory=list)
    capital: Decimal | None = None  # the agent's spec.risk.capital, recorded with each trade

    def market(self, info: MarketInfo) -> None:
        self.ops.append(("market", {"m": repo.MarketRow.from_info(info)}))

    def order(self, order: Order, status: repo.OrderStatus, reason: str = "") -> None:
        now = repo.utcnow()
        row = dataclasses.replace(
            repo.OrderRow.from_order(order, status=status, mode=self.mode),
            reason=reason[:500],
            updated_at=now,
        )
        self.ops.append(("trader_order", {"o": row}))

    def order_status(self, client_id: str, status: repo.OrderStatus, reason: str) -> None:
        self.ops.append(
            (
                "order_status",
                {
                    "client_order_id": client_id,
                    "status": status,
                    "filled_size": None,
                    "reason": reason[:500],
                    "venue_order_id": None,
                    "at": repo.utcnow(),
                },
            )
        )

    def fill(self, fid: str, f: Fill) -> None:
        self.ops.append(
            (
                "fill",
                {
                    "f": repo.FillRow(
                        fid, f.client_id, f.price, f.size, f.fee, repo.ts_from_ms(f.ts_ms), f.liquidity
                    )
                },
            )
        )
        self.ops.append(("trader_filled_size", {"client_order_id": f.client_id}))

    def trade(self, t: ClosedTrade, lot: Lot, settled: bool) -> None:
        size = lot.bought
        entry = lot.buy_notional / size if size > 0 else ZERO
        if settled:
            # gross = sales + payout − purchases, so the payout per share is exact (1 or 0)
            left = lot.bought - lot.sold
            payout = t.gross_pnl + lot.buy_notional - lot.sell_notional
            exit_price = payout / left if left > 0 else ZERO
        else:
            exit_price = lot.sell_notional / lot.sold if lot.sold > 0 else ZERO
        self.ops.append(
            (
                "trade",
                {
                    "t": repo.TradeRow(
                        trade_key(self.agent, t),
                        self.agent,
                        t.market_id,
                        t.token_id,
                        size,
                        entry,
                        exit_price,
                        "settled" if settled else "sold",
                        repo.ts_from_ms(t.opened_ms),
                        repo.ts_from_ms(t.closed_ms),
                        t.gross_pnl,
                        t.costs,
                        t.net_pnl,
                        outcome=t.outcome,
                        mode=self.mode,
                        details={
                            "sold_shares": str(lot.sold),
                            # for the Monitor: the capital the figures start from, and the trade's break-even
                            **({"capital": str(self.capital)} if self.capital is not None else {}),
                            **({"break_even": str(t.break_even)} if t.break_even is not None else {}),
                        },
                    )
                },
            )
        )

    def resolution(self, info: MarketInfo, event: MarketResolved) -> None:
        self.ops.append(
            (
                "trader_resolve_market",
                {
                    "m": repo.MarketRow.from_info(info),
                    "resolution": event.winning_outcome,
                    "winning_token_id": event.winning_token_id,
                    "resolved_at": repo.ts_from_ms(event.ts_ms),
                    "final_price": event.final_price,
                },
            )
        )

    def positions(self, ledger: Ledger, previous: set[str]) -> set[str]:
        """Replace the agent's positions with the ledger's; returns the tokens now stored."""
        now = repo.utcnow()
        for token in sorted(previous - set(ledger.positions)):
            self.ops.append(("delete_position", {"agent": self.agent, "token_id": token}))
        for p in ledger.positions.values():
            self.ops.append(
                (
                    "position",
                    {
                        "p": repo.PositionRow(
                            self.agent,
                            p.token_id,
                            p.market_id,
                            p.shares,
                            p.cost_basis / p.shares if p.shares else ZERO,
                            p.cost_basis,
                            p.fees,
                            p.realized,
                            p.outcome,
                            repo.ts_from_ms(p.opened_ms),
                            now,
                        )
                    },
                )
            )
        return set(ledger.positions)

    def __bool__(self) -> bool:
        return bool(self.ops)


# --- the store ------------------------------------------------------------------------------------


class TraderStore:
    """``database_url`` None: journal only (nothing reaches a database until a store with one opens
    the same journal). ``startup_wait_s``: how long ``load`` waits for an unreachable database when
    nothing local says where the agent stands (it never starts from scratch on a guess)."""

    def __init__(
        self, database_url: str | None, state_dir: Path, agent: str, *, startup_wait_s: float = 60.0
    ) -> None:
        self.database_url = database_url
        self.agent = agent
        self.startup_wait_s = startup_wait_s
        self.journal_path = Path(state_dir) / "trader" / f"{agent}.journal"
        self.db: Database | None = (
            Database(database_url, max_size=3, timeout=5.0, command_timeout=15.0) if database_url else None
        )
        self.journal: Journal | None = None
        self.writer: DurableWriter | None = None
        self.migrated = False

    def _open_journal(self) -> Journal:
        if self.journal is None:
            raise RuntimeError(f"the store of {self.agent} is used before open()")
        return self.journal

    @property
    def pending(self) -> int:
        """Batches waiting in the journal."""
        return len(self.journal) if self.journal is not None else 0

    async def open(self) -> None:
        self.journal = Journal(self.journal_path)
        if self.db is not None:
            self.writer = DurableWriter(self.db, self.journal, operations=TRADER_OPERATIONS)
            await self._migrate(Retry(attempts=1))
            await self.writer.start()

    async def _migrate(self, retry: Retry) -> bool:
        if self.migrated or self.database_url is None:
            return self.migrated
        try:
            await migrate(self.database_url, retry=retry)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning(
                "trader.db_unavailable_at_start", agent=self.agent, error=f"{type(exc).__name__}: {exc}"
            )
            return False
        self.migrated = True
        return True

    async def close(self, drain_timeout: float = 5.0) -> None:
        if self.writer is not None:
            await self.writer.close(drain_timeout=drain_timeout)
        elif self.journal is not None:
            self.journal.close()
        if self.db is not None:
            await self.db.close()

    # --- writes ---------------------------------------------------------------------------
    async def commit(self, seq: int, state: dict[str, Any], batch: Batch) -> bool:
        """Write ``batch`` and checkpoint ``seq`` in one transaction; True when committed to the
        database, False when journaled (safe on disk, replayed later)."""
        ops: list[Op] = [
            *batch.ops,
            ("checkpoint", {"agent": self.agent, "seq": seq, "state": state, "created_at": repo.utcnow()}),
        ]
        if seq % PRUNE_EVERY == 0:
            ops.append(("prune_checkpoints", {"agent": self.agent, "keep": KEEP_CHECKPOINTS}))
        if self.writer is None:
            self._open_journal().append(ops)
            return False
        return await self.writer.submit(*ops) == "db"

    async def record_intent(self, order: Order, submission: dict[str, Any]) -> None:
        """A live order's signed form, durable before it is sent (outside the step transaction)."""
        row = dataclasses.replace(
            repo.OrderRow.from_order(order, status="new", mode="live"), updated_at=repo.utcnow()
        )
        op: Op = ("trader_intent", {"o": row, "submission": submission})
        if self.writer is None:
            self._open_journal().append([op])
        else:
            await self.writer.submit(op)

    # --- reads ----------------------------------------------------------------------------
    async def load(self) -> tuple[int, dict[str, Any]] | None:
        """The newest checkpoint: one still in the journal is newer than the database's (writes
        queue behind the journal). With the journal empty the database must answer: waits up to
        ``startup_wait_s`` and then raises :class:`DatabaseUnavailable` rather than start afresh."""
        journaled = self._journaled_checkpoint()
        if journaled is not None or self.db is None:
            return journaled
        deadline = time.monotonic() + self.startup_wait_s
        delay = 0.2
        while True:
            try:
                await self._migrate(Retry(attempts=1))
                row = await repo.load_checkpoint(self.db, self.agent)
                return (int(row.seq), row.state) if row is not None else None
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(self.db.url, 1, exc) from exc
                log.warning(
                    "trader.waiting_for_database", agent=self.agent, error=f"{type(exc).__name__}: {exc}"
                )
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)

    def _journaled_checkpoint(self) -> tuple[int, dict[str, Any]] | None:
        best: tuple[int, dict[str, Any]] | None = None
        for entry in self._open_journal().pending_entries():
            for op, args in entry.ops:
                if (
                    op == "checkpoint"
                    and args["agent"] == self.agent
                    and (best is None or args["seq"] > best[0])
                ):
                    best = (int(args["seq"]), args["state"])
        return best

    async def submitted_orders(self) -> list[dict[str, Any]]:
        """Live orders written as signed intents and not yet answered (status ``new``), for adoption
        after a crash: those in the database and those still in the journal."""
        found: dict[str, dict[str, Any]] = {}
        answered: set[str] = set()
        for entry in self._open_journal().pending_entries():
            for op, args in entry.ops:
                if op == "trader_intent":
                    found[args["o"].client_order_id] = args["submission"]
                elif op in ("trader_order", "order_status"):
                    cid = args["o"].client_order_id if op == "trader_order" else args["client_order_id"]
                    found.pop(cid, None)
                    answered.add(cid)
        if self.db is not None:
            try:
                rows = await self.db.fetch(
                    "SELECT client_order_id, submission FROM orders WHERE agent = $1 AND status = 'new'"
                    " AND submission IS NOT NULL",
                    self.agent,
                )
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                rows = []
            for r in rows:
                if r["client_order_id"] not in answered:
                    found.setdefault(r["client_order_id"], r["submission"])
        return list(found.values())
