"""Compare the trader's database ledger (orders, fills, trades, positions) with its checkpointed
ledger: they must agree exactly whenever the process died."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import asyncpg

from floor_agents.trader.store import trade_key
from tradingfloor.trading.ledger import Ledger


async def check_ledger(db_url: str, agent: str) -> dict[str, int]:
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow("SELECT seq, state::text AS state FROM trader_checkpoints WHERE agent = $1", agent)
        if row is None:
            return {"fills": 0, "trades": 0, "orders": 0, "seq": 0}
        import json

        state = json.loads(row["state"])
        ledger = Ledger.from_json(state["engine"]["broker"]["ledger"])
        seen = set(state["engine"]["broker"]["seen"])
        orders = {r["client_order_id"]: r for r in await conn.fetch("SELECT * FROM trader_orders WHERE agent = $1", agent)}
        fills = await conn.fetch("SELECT * FROM trader_fills WHERE agent = $1", agent)
        trades = await conn.fetch("SELECT * FROM trader_trades WHERE agent = $1", agent)
        positions = await conn.fetch("SELECT * FROM trader_positions WHERE agent = $1", agent)
    finally:
        await conn.close()

    # every order in the database is one the checkpointed broker knows (nothing traded twice)
    assert set(orders) <= seen, f"orders unknown to the checkpoint: {set(orders) - seen}"
    filled: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        assert f["client_order_id"] in orders, f"fill {f['fill_id']} without its order"
        filled[f["client_order_id"]] += f["size"]
    for cid, size in filled.items():
        assert size <= orders[cid]["size"], f"order {cid} filled {size} > its size {orders[cid]['size']}"

    # positions
    db_pos = {p["token_id"]: (p["shares"], p["cost_basis"], p["fees"]) for p in positions}
    led_pos = {t: (p.shares, p.cost_basis, p.fees) for t, p in ledger.positions.items()}
    assert db_pos == led_pos, f"positions differ: db={db_pos} ledger={led_pos}"

    # closed trades
    assert sorted(t["trade_key"] for t in trades) == sorted(trade_key(agent, t) for t in ledger.closed)

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
        redemption = t["costs"] - fees[t["token_id"]]
        cash += settled - redemption
    assert cash == ledger.cash, f"cash from database rows {cash} != checkpointed ledger cash {ledger.cash}"
    return {"fills": len(fills), "trades": len(trades), "orders": len(orders), "seq": int(row["seq"])}
