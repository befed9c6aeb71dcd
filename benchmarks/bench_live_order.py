"""Time for the live broker to build and sign one CLOB V2 order (``LiveBroker.prepare``: amounts,
EIP-712 struct, secp256k1 signature, order hash), with the market's tick size and the API version
already cached — the per-order cost on the live path. Aim: under 25 ms.

Runs against the local CLOB stub from tests/brokers (loopback only, a throwaway key).

    .venv/bin/python benchmarks/bench_live_order.py [N]
"""

from __future__ import annotations

import base64
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eth_account import Account

from tests.brokers.clob_stub import ClobStub
from tradingfloor.brokers import make_broker
from tradingfloor.brokers.live import LiveBroker
from tradingfloor.market.events import MarketInfo
from tradingfloor.models.trader_agent import TraderAgentSpec
from tradingfloor.settings import Settings
from tradingfloor.structs import parse
from tradingfloor.trading.ledger import Ledger
from tradingfloor.trading.orders import Order, client_order_id


def main(n: int = 300) -> None:
    key = Account.create().key.hex()
    stub = ClobStub("bench-key", Account.from_key(key).address).start()
    try:
        settings = Settings(
            allow_live_trading=True,
            polymarket_api_key="bench-key",
            polymarket_secret=base64.urlsafe_b64encode(b"s" * 32).decode(),
            polymarket_passphrase="p",
            polymarket_private_key=key,
            clob_url=stub.url,
        )
        spec = parse(
            TraderAgentSpec,
            dict(
                strategy="momentum", market={"asset": "BTC"}, mode="live", credentialsSecretRef={"name": "k"}
            ),
        )
        broker = make_broker(spec, settings, Ledger(D(1000)))
        assert isinstance(broker, LiveBroker)  # the spec is live and every key is set
        info = MarketInfo(
            "0xbench",
            "btc-updown-15m-bench",
            "BTC",
            "15m",
            "1111",
            "2222",
            0,
            900_000,
            D("0.01"),
            D("5"),
            D("0.07"),
            1,
        )
        broker.register_market(info)
        orders = [
            Order(
                client_order_id("bench", info.market_id, i),
                "bench",
                info.market_id,
                "1111",
                "BUY",
                D("0.47"),
                D("10"),
                "FOK",
                0,
            )
            for i in range(n + 1)
        ]
        broker.prepare(orders[-1])  # warm the client's tick-size and version caches (one HTTP each)
        times = []
        for order in orders[:n]:
            t0 = time.perf_counter()
            broker.prepare(order)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
        print(
            f"live order build+sign: n={n} p50={p50:.2f} ms p99={p99:.2f} ms max={times[-1]:.2f} ms "
            f"(target < 25 ms)"
        )
    finally:
        stub.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
