"""NautilusTrader's half of ``benchmarks/bench_compare.py``; runs in .venv-nautilus, never imports
this project. Reads the L2 stream that bench_compare.py wrote (JSON lines, one event each), builds
Nautilus ``OrderBookDelta`` objects the way Nautilus's own Polymarket adapter does (a snapshot is a
CLEAR and one ADD per level; a level change is an UPDATE, or a DELETE at size 0), then times a
``BacktestEngine`` run whose strategy reads the managed book's best bid and ask on every update.
Prints one JSON line: L2 events, CPU and wall seconds (best of the runs), peak RSS, and the final books.

Run: .venv-nautilus/bin/python benchmarks/compare_nautilus_side.py STREAM.jsonl [runs]
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import nautilus_trader
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.data import BookOrder, OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import (
    AccountType,
    AssetClass,
    BookAction,
    BookType,
    OmsType,
    OrderSide,
    RecordFlag,
)
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import BinaryOption
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.trading.strategy import Strategy
from proc_memory import peak_rss_mib  # benchmarks/ is the script's own folder

VENUE = Venue("POLYMARKET")
PRICE_PRECISION = 3  # the venue's finest tick is 0.001
SIZE_PRECISION = 2
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def instrument(token: str) -> BinaryOption:
    symbol = Symbol(token)
    return BinaryOption(
        instrument_id=InstrumentId(symbol, VENUE),
        raw_symbol=symbol,
        outcome="Yes",
        description=token,
        asset_class=AssetClass.ALTERNATIVE,
        currency=USDC,
        price_precision=PRICE_PRECISION,
        price_increment=Price.from_str("0.001"),
        size_precision=SIZE_PRECISION,
        size_increment=Quantity.from_str("0.01"),
        activation_ns=0,
        expiration_ns=4_102_444_800_000_000_000,
        max_quantity=None,
        min_quantity=Quantity.from_int(5),
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
        ts_event=0,
        ts_init=0,
    )


class BookReaderConfig(StrategyConfig, frozen=True):  # type: ignore[call-arg]  # msgspec-style config
    instrument_ids: tuple[str, ...] = ()


class BookReader(Strategy):
    """Reads the best bid and ask of the updated book on every book update (no orders)."""

    def __init__(self, config: BookReaderConfig) -> None:
        super().__init__(config)
        self.ids = [InstrumentId.from_str(i) for i in config.instrument_ids]
        self.reads = 0
        self.crossed = 0

    def on_start(self) -> None:
        for iid in self.ids:
            self.subscribe_order_book_deltas(iid, book_type=BookType.L2_MBP)

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        book = self.cache.order_book(deltas.instrument_id)
        bid, ask = book.best_bid_price(), book.best_ask_price()
        self.reads += 1
        if bid is not None and ask is not None and bid >= ask:
            self.crossed += 1


def build_deltas(path: str) -> tuple[list, list[BinaryOption], int]:
    """Every L2 event of the JSON-lines stream as Nautilus deltas with strictly increasing ts_init
    (the file's order), and one instrument per token."""
    out: list = []
    instruments: dict[str, BinaryOption] = {}
    n = 0
    with open(path) as fh:
        for seq, line in enumerate(fh):
            ts_ms, token, kind, body = json.loads(line)
            inst = instruments.get(token)
            if inst is None:
                inst = instruments[token] = instrument(token)
            iid = inst.id
            ts = ts_ms * 1_000_000 + seq
            n += 1
            if kind == "book":
                bids, asks = body
                levels = [(OrderSide.BUY, p, s) for p, s in bids] + [(OrderSide.SELL, p, s) for p, s in asks]
                batch = [OrderBookDelta.clear(iid, 0, ts, ts)]
                for i, (side, p, s) in enumerate(levels):
                    flags = RecordFlag.F_SNAPSHOT | (RecordFlag.F_LAST if i == len(levels) - 1 else 0)
                    order = BookOrder(side, Price.from_str(p), Quantity.from_str(s), 0)
                    batch.append(OrderBookDelta(iid, BookAction.ADD, order, flags, 0, ts, ts))
                out.append(OrderBookDeltas(iid, batch))
            else:
                side, p, s = body
                size = Quantity.from_str(s)
                order = BookOrder(
                    OrderSide.BUY if side == "BUY" else OrderSide.SELL, Price.from_str(p), size, 0
                )
                action = BookAction.UPDATE if size > 0 else BookAction.DELETE
                out.append(OrderBookDelta(iid, action, order, RecordFlag.F_LAST, 0, ts, ts))
    return out, list(instruments.values()), n


def book_levels(engine: BacktestEngine, iid: InstrumentId) -> dict:
    book = engine.cache.order_book(iid)
    if book is None:
        return {"bids": [], "asks": []}
    return {
        "bids": [[str(lv.price), str(lv.size())] for lv in book.bids()],
        "asks": [[str(lv.price), str(lv.size())] for lv in book.asks()],
    }


def main() -> None:
    data, instruments, n_events = build_deltas(sys.argv[1])
    ids = [i.id for i in instruments]
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id="BENCH-001",
            logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
        )
    )
    engine.add_venue(
        venue=VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USDC,
        starting_balances=[Money(1_000_000, USDC)],
        book_type=BookType.L2_MBP,
    )
    for inst in instruments:
        engine.add_instrument(inst)
    engine.add_data(data)
    del data
    strategy = BookReader(BookReaderConfig(instrument_ids=tuple(str(i) for i in ids)))
    engine.add_strategy(strategy)
    cpu = wall = float("inf")
    for attempt in range(RUNS):  # the best of RUNS runs over the same data, as on our side
        if attempt:
            engine.reset()
        c0, w0 = time.process_time(), time.perf_counter()
        engine.run()
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    books = {str(i.symbol): book_levels(engine, i) for i in ids}
    print(
        json.dumps(
            {
                "engine": "nautilus",
                "version": nautilus_trader.__version__,
                "events": n_events,
                "reads": strategy.reads,
                "cpu_s": cpu,
                "wall_s": wall,
                "peak_rss_mib": peak_rss_mib(),
                "books": books,
            }
        )
    )
    engine.dispose()


if __name__ == "__main__":
    main()
