"""The trader's durable ledger: orders, fills, closed trades, positions and its checkpoint.

Everything one market event changed is written in ONE transaction together with the engine state
after that event, so the database ledger and the checkpoint can never disagree: a crash either keeps
both or neither. Rows are keyed (client order id, fill id, trade key), so writing the same batch
twice is harmless.

When PostgreSQL is unreachable the batch goes to a local journal (one JSON file per agent under
``FLOOR_STATE_DIR/trader``, replaced atomically) and the latest state there wins on restart; the
journal is replayed into the database, exactly once thanks to the keys, when it answers again.

Workaround note: ``tradingfloor.persistence`` (orders/fills/trades/positions/agent_checkpoints and
its DurableWriter) had not landed when this was written; these ``trader_*`` tables are this
module's own until the trader moves onto that schema.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from tradingfloor.persistence.db import dumps, init_connection, is_unavailable
from tradingfloor.trading.ledger import ClosedTrade, Ledger
from tradingfloor.trading.orders import Fill, Order

SCHEMA = """
CREATE TABLE IF NOT EXISTS trader_orders (
    client_order_id text PRIMARY KEY, agent text NOT NULL, market_id text NOT NULL, token_id text NOT NULL,
    side text NOT NULL, price numeric NOT NULL, size numeric NOT NULL, order_type text NOT NULL,
    status text NOT NULL, reason text NOT NULL DEFAULT '', submission jsonb, ts_ms bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS trader_fills (
    fill_id text PRIMARY KEY, client_order_id text NOT NULL, agent text NOT NULL, market_id text NOT NULL,
    token_id text NOT NULL, side text NOT NULL, price numeric NOT NULL, size numeric NOT NULL,
    fee numeric NOT NULL, liquidity text NOT NULL, ts_ms bigint NOT NULL);
CREATE TABLE IF NOT EXISTS trader_trades (
    trade_key text PRIMARY KEY, agent text NOT NULL, market_id text NOT NULL, token_id text NOT NULL,
    outcome text NOT NULL, gross_pnl numeric NOT NULL, costs numeric NOT NULL, opened_ms bigint NOT NULL,
    closed_ms bigint NOT NULL);
CREATE TABLE IF NOT EXISTS trader_positions (
    agent text NOT NULL, token_id text NOT NULL, market_id text NOT NULL, outcome text NOT NULL,
    shares numeric NOT NULL, cost_basis numeric NOT NULL, fees numeric NOT NULL, PRIMARY KEY (agent, token_id));
CREATE TABLE IF NOT EXISTS trader_checkpoints (
    agent text PRIMARY KEY, seq bigint NOT NULL, state jsonb NOT NULL, saved_at timestamptz NOT NULL DEFAULT now());
"""


def trade_key(agent: str, trade: ClosedTrade) -> str:
    return f"{agent}/{trade.market_id}/{trade.token_id}/{trade.closed_ms}"


@dataclass
class Batch:
    """What one step changed: rows to upsert plus the state to checkpoint with them."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    order_updates: list[tuple[str, str, str]] = field(default_factory=list)  # (client id, status, reason)

    def add_order(self, order: Order, status: str, reason: str = "", submission: dict | None = None) -> None:
        self.orders.append({"client_order_id": order.client_id, "market_id": order.market_id,
                            "token_id": order.token_id, "side": order.side, "price": str(order.price),
                            "size": str(order.size), "order_type": order.order_type, "status": status,
                            "reason": reason[:500], "submission": submission, "ts_ms": order.ts_ms})

    def add_fill(self, fill_id: str, f: Fill) -> None:
        self.fills.append({"fill_id": fill_id, "client_order_id": f.client_id, "market_id": f.market_id,
                           "token_id": f.token_id, "side": f.side, "price": str(f.price), "size": str(f.size),
                           "fee": str(f.fee), "liquidity": f.liquidity, "ts_ms": f.ts_ms})

    def add_trade(self, agent: str, t: ClosedTrade) -> None:
        self.trades.append({"trade_key": trade_key(agent, t), **t.to_json()})

    def extend(self, other: "Batch") -> None:
        self.orders += other.orders
        self.fills += other.fills
        self.trades += other.trades
        self.order_updates += other.order_updates

    def __bool__(self) -> bool:
        return bool(self.orders or self.fills or self.trades or self.order_updates)

    def to_json(self) -> dict[str, Any]:
        return {"orders": self.orders, "fills": self.fills, "trades": self.trades,
                "order_updates": [list(u) for u in self.order_updates]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Batch":
        return cls(list(d["orders"]), list(d["fills"]), list(d["trades"]), [tuple(u) for u in d["order_updates"]])


class TraderStore:
    def __init__(self, database_url: str | None, state_dir: Path, agent: str) -> None:
        self.database_url = database_url
        self.agent = agent
        self.journal_path = state_dir / "trader" / f"{agent}.journal.json"
        self.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.pool: asyncpg.Pool | None = None
        self.db_ok = False

    async def open(self) -> None:
        if self.database_url is None:
            return
        try:
            self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=2, init=init_connection,
                                                  timeout=10, command_timeout=10)
            async with self.pool.acquire() as conn:
                await conn.execute(SCHEMA)
            self.db_ok = True
        except Exception as exc:  # noqa: BLE001 - an outage falls back to the journal
            if not is_unavailable(exc):
                raise
            self.db_ok = False

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    # --- writes ---------------------------------------------------------------------------
    async def commit(self, seq: int, state: dict[str, Any], batch: Batch, ledger: Ledger) -> bool:
        """Write ``batch`` and the checkpoint atomically. Falls back to the local journal (returns
        False) when the database is unreachable; the journal keeps every unsynced row."""
        pending = self._read_journal()
        if pending is not None:
            batch = _merged(Batch.from_json(pending["batch"]), batch)
        if self.pool is not None:
            try:
                await self._write(seq, state, batch, ledger)
                self.db_ok = True
                if pending is not None:
                    self.journal_path.unlink(missing_ok=True)
                return True
            except Exception as exc:  # noqa: BLE001
                if not is_unavailable(exc):
                    raise
                self.db_ok = False
        self._write_journal({"seq": seq, "state": state, "batch": batch.to_json()})
        return False

    async def _write(self, seq: int, state: dict[str, Any], batch: Batch, ledger: Ledger) -> None:
        a = self.agent
        async with self.pool.acquire() as conn, conn.transaction():  # type: ignore[union-attr]
            if batch.orders:
                await conn.executemany(
                    "INSERT INTO trader_orders (client_order_id, agent, market_id, token_id, side, price, size,"
                    " order_type, status, reason, submission, ts_ms) VALUES ($1,$2,$3,$4,$5,$6::numeric,$7::numeric,"
                    "$8,$9,$10,$11::jsonb,$12) ON CONFLICT (client_order_id) DO UPDATE SET status = EXCLUDED.status,"
                    " reason = EXCLUDED.reason, submission = COALESCE(EXCLUDED.submission, trader_orders.submission),"
                    " updated_at = now()",
                    [(o["client_order_id"], a, o["market_id"], o["token_id"], o["side"], o["price"], o["size"],
                      o["order_type"], o["status"], o["reason"], o["submission"], o["ts_ms"]) for o in batch.orders])
            if batch.order_updates:
                await conn.executemany(
                    "UPDATE trader_orders SET status = $2, reason = $3, updated_at = now() WHERE client_order_id = $1",
                    batch.order_updates)
            if batch.fills:
                await conn.executemany(
                    "INSERT INTO trader_fills VALUES ($1,$2,$3,$4,$5,$6,$7::numeric,$8::numeric,$9::numeric,$10,$11)"
                    " ON CONFLICT (fill_id) DO NOTHING",
                    [(f["fill_id"], f["client_order_id"], a, f["market_id"], f["token_id"], f["side"], f["price"],
                      f["size"], f["fee"], f["liquidity"], f["ts_ms"]) for f in batch.fills])
            if batch.trades:
                await conn.executemany(
                    "INSERT INTO trader_trades VALUES ($1,$2,$3,$4,$5,$6::numeric,$7::numeric,$8,$9)"
                    " ON CONFLICT (trade_key) DO NOTHING",
                    [(t["trade_key"], a, t["market_id"], t["token_id"], t["outcome"], t["gross_pnl"], t["costs"],
                      t["opened_ms"], t["closed_ms"]) for t in batch.trades])
            if batch.fills or batch.trades:
                await conn.execute("DELETE FROM trader_positions WHERE agent = $1", a)
                await conn.executemany(
                    "INSERT INTO trader_positions VALUES ($1,$2,$3,$4,$5::numeric,$6::numeric,$7::numeric)",
                    [(a, p.token_id, p.market_id, p.outcome, str(p.shares), str(p.cost_basis), str(p.fees))
                     for p in ledger.positions.values()])
            await conn.execute(
                "INSERT INTO trader_checkpoints (agent, seq, state) VALUES ($1, $2, $3::jsonb) ON CONFLICT (agent)"
                " DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state, saved_at = now()"
                " WHERE trader_checkpoints.seq <= EXCLUDED.seq", a, seq, state)

    async def record_intent(self, order: Order, submission: dict[str, Any]) -> None:
        """A live order's signed form, durable before it is sent (outside the step transaction)."""
        batch = Batch()
        batch.add_order(order, "submitting", submission=submission)
        if self.pool is not None:
            try:
                async with self.pool.acquire() as conn:
                    await conn.executemany(
                        "INSERT INTO trader_orders (client_order_id, agent, market_id, token_id, side, price, size,"
                        " order_type, status, reason, submission, ts_ms) VALUES ($1,$2,$3,$4,$5,$6::numeric,"
                        "$7::numeric,$8,$9,$10,$11::jsonb,$12) ON CONFLICT (client_order_id) DO NOTHING",
                        [(o["client_order_id"], self.agent, o["market_id"], o["token_id"], o["side"], o["price"],
                          o["size"], o["order_type"], o["status"], o["reason"], o["submission"], o["ts_ms"])
                         for o in batch.orders])
                return
            except Exception as exc:  # noqa: BLE001
                if not is_unavailable(exc):
                    raise
        intents = self.journal_path.with_suffix(".intents.jsonl")
        with intents.open("a") as fh:
            fh.write(dumps(batch.orders[0]) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # --- reads ----------------------------------------------------------------------------
    async def load(self) -> tuple[int, dict[str, Any]] | None:
        """The newest checkpoint: the journal's when it is ahead of the database's."""
        best = None
        if self.pool is not None and self.db_ok:
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow("SELECT seq, state FROM trader_checkpoints WHERE agent = $1", self.agent)
            if row is not None:
                best = (int(row["seq"]), row["state"])
        pending = self._read_journal()
        if pending is not None and (best is None or pending["seq"] > best[0]):
            best = (int(pending["seq"]), pending["state"])
        return best

    async def submitted_orders(self) -> list[dict[str, Any]]:
        """Live orders journaled as submitting (their signed form kept), for adoption after a crash."""
        rows: list[dict[str, Any]] = []
        if self.pool is not None and self.db_ok:
            async with self.pool.acquire() as conn:
                found = await conn.fetch("SELECT submission FROM trader_orders WHERE agent = $1 AND status ="
                                         " 'submitting' AND submission IS NOT NULL", self.agent)
            rows = [r["submission"] for r in found]
        intents = self.journal_path.with_suffix(".intents.jsonl")
        if intents.exists():
            rows += [json.loads(line)["submission"] for line in intents.read_text().splitlines() if line.strip()]
        return rows

    # --- journal --------------------------------------------------------------------------
    def _read_journal(self) -> dict[str, Any] | None:
        if not self.journal_path.exists():
            return None
        return json.loads(self.journal_path.read_text())

    def _write_journal(self, data: dict[str, Any]) -> None:
        tmp = self.journal_path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            fh.write(dumps(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.journal_path)


def _merged(older: Batch, newer: Batch) -> Batch:
    out = Batch()
    out.extend(older)
    out.extend(newer)
    return out
