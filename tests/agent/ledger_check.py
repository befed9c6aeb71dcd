"""Compare the trader's ledger in the shared tables (orders, fills, trades, positions) with its
newest checkpoint in ``agent_checkpoints``: they must agree exactly whenever the process died."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import asyncpg

from floor_agents.trader.store import trade_key
from tradingfloor.trading.ledger import Ledger


async def check_ledger(db_url: str, agent: str) -> dict[str, int]:
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            "SELECT seq, state::text AS state FROM agent_checkpoints WHERE agent = $1"
            " ORDER BY seq DESC LIMIT 1",
            agent,
        )
        if row is None:
            return {"fills": 0, "trades": 0, "orders": 0, "seq": 0}
        state = json.loads(row["state"])
        ledger = Ledger.from_json(state["engine"]["broker"]["ledger"])
        seen = set(state["engine"]["broker"]["seen"])
        orders = {
            r["client_order_id"]: r for r in await conn.fetch("SELECT * FROM orders WHERE agent = $1", agent)
        }
        fills = await conn.fetch(
            "SELECT f.*, o.token_id, o.side FROM fills f JOIN orders o USING (client_order_id)"
            " WHERE o.agent = $1",
            agent,
        )
        trades = await conn.fetch("SELECT * FROM trades WHERE agent = $1", agent)
        positions = await conn.fetch("SELECT * FROM positions WHERE agent = $1", agent)
        markets = {r["condition_id"]: r for r in await conn.fetch("SELECT * FROM markets")}
    finally:
        await conn.close()

    # every order in the database is one the checkpointed broker knows (nothing traded twice)
    assert set(orders) <= seen, f"orders unknown to the checkpoint: {set(orders) - seen}"
    assert len({f["fill_id"] for f in fills}) == len(fills)
    filled: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        filled[f["client_order_id"]] += f["size"]
    for cid, order in orders.items():
        assert order["filled_size"] == filled.get(cid, 0), (
            f"order {cid} filled_size {order['filled_size']} != fills {filled.get(cid)}"
        )
        assert filled.get(cid, 0) <= order["size"], (
            f"order {cid} filled {filled[cid]} > its size {order['size']}"
        )
        assert order["market_id"] in markets, f"order {cid} in a market missing from the markets table"

    # positions
    db_pos = {p["token_id"]: (p["size"], p["cost"], p["fees"]) for p in positions}
    led_pos = {t: (p.shares, p.cost_basis, p.fees) for t, p in ledger.positions.items()}
    assert db_pos == led_pos, f"positions differ: db={db_pos} ledger={led_pos}"

    # closed trades; each settled one in a market recorded as resolved
    assert sorted(t["idempotency_key"] for t in trades) == sorted(trade_key(agent, t) for t in ledger.closed)
    for t in trades:
        assert t["net_pnl"] == t["gross_pnl"] - t["fees"]
        if t["exit_kind"] == "settled":
            assert markets[t["market_id"]]["resolution"] is not None, (
                f"trade {t['idempotency_key']} in an unresolved market"
            )

    # cash, recomputed from the database rows alone
    buy_notional: dict[str, Decimal] = defaultdict(Decimal)
    sell_notional: dict[str, Decimal] = defaultdict(Decimal)
    fees: dict[str, Decimal] = defaultdict(Decimal)
    cash = ledger.starting_capital
    for f in fills:
        notional = f["size"] * f["price"]
        fees[f["token_id"]] += f["fee"]
        if f["side"] == "BUY":
            buy_notional[f["token_id"]] += notional
            cash -= notional + f["fee"]
        else:
            sell_notional[f["token_id"]] += notional
            cash += notional - f["fee"]
    for t in trades:
        settled = t["gross_pnl"] + buy_notional[t["token_id"]] - sell_notional[t["token_id"]]
        redemption = t["fees"] - fees[t["token_id"]]
        cash += settled - redemption
    assert cash == ledger.cash, f"cash from database rows {cash} != checkpointed ledger cash {ledger.cash}"
    return {"fills": len(fills), "trades": len(trades), "orders": len(orders), "seq": int(row["seq"])}
