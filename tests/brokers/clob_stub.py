"""A local STUB of the Polymarket CLOB endpoints the live broker uses (not the real venue, and not
the simulator): ``GET /version``, ``/tick-size``, ``/neg-risk``, ``POST /order``, ``GET /data/order/<hash>``,
``DELETE /order``. It checks the L2 API-key header and the order's EIP-712 signature, keys orders by
their hash like the venue, and can be told how to answer the next orders (match, rest, reject, answer
too late, or drop the request) so timeouts and reconciliation can be exercised on loopback.

It runs its own event loop in a thread because the CLOB client is synchronous.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_typed_data
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderV2, SignedOrderV2
from py_clob_client_v2.order_utils.model.side import Side as ClobSide
from py_clob_client_v2.order_utils.model.signature_type_v2 import SignatureTypeV2

from tradingfloor.brokers.live import order_hash

SCALE = Decimal(10) ** 6


class ClobStub:
    """Behaviours for upcoming POSTs, consumed in order (default ``match``):
    ``match`` fill at the limit; ``rest`` accept onto the book; ``reject`` 400;
    ``late`` accept and fill but answer after ``late_s`` (the client times out);
    ``drop`` answer after ``late_s`` without accepting (the order never arrived);
    ``error500`` accept and fill, then answer 500."""

    def __init__(
        self, api_key: str, signer_address: str, tick_size: str = "0.01", late_s: float = 1.5
    ) -> None:
        self.api_key = api_key
        self.signer_address = signer_address
        self.tick_size = tick_size
        self.late_s = late_s
        self.behaviours: list[str] = []
        self.orders: dict[str, dict[str, Any]] = {}  # by hash
        self.posts: list[str] = []  # hashes in arrival order, including duplicates
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> ClobStub:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="clob-stub", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("CLOB stub did not start within 10 s")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/version", self._version)
        app.router.add_get("/tick-size", self._tick_size)
        app.router.add_get("/neg-risk", self._neg_risk)
        app.router.add_post("/order", self._post_order)
        app.router.add_get("/data/order/{hash}", self._get_order)
        app.router.add_delete("/order", self._cancel)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        loop, runner, thread = self._loop, self._runner, self._thread
        if loop is None or runner is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    # --- handlers -------------------------------------------------------------------------
    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": 2})

    async def _tick_size(self, request: web.Request) -> web.Response:
        return web.json_response({"minimum_tick_size": self.tick_size})

    async def _neg_risk(self, request: web.Request) -> web.Response:
        return web.json_response({"neg_risk": False})

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("POLY_API_KEY") == self.api_key and bool(
            request.headers.get("POLY_SIGNATURE")
        )

    async def _post_order(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "Unauthorized/Invalid api key"}, status=401)
        body = await request.json()
        wire = body["order"]
        signed = SignedOrderV2(
            **{
                **wire,
                "salt": str(wire["salt"]),
                "side": ClobSide.BUY if wire["side"] == "BUY" else ClobSide.SELL,
                "signatureType": SignatureTypeV2(wire["signatureType"]),
            }
        )
        h = order_hash(signed, 137, False)
        if self._recover(signed) != self.signer_address:
            return web.json_response({"error": "invalid signature"}, status=400)
        self.posts.append(h)
        if h in self.orders:
            return web.json_response({"success": False, "errorMsg": "INVALID_ORDER_DUPLICATED"}, status=400)
        behaviour = self.behaviours.pop(0) if self.behaviours else "match"
        side = wire["side"]
        maker, taker = Decimal(wire["makerAmount"]) / SCALE, Decimal(wire["takerAmount"]) / SCALE
        shares, price = (taker, maker / taker) if side == "BUY" else (maker, taker / maker)
        if behaviour == "reject":
            return web.json_response(
                {"success": False, "errorMsg": "not enough balance / allowance"}, status=400
            )
        if behaviour == "drop":
            await asyncio.sleep(self.late_s)
            return web.json_response({"success": False, "errorMsg": "too late"}, status=400)
        resting = behaviour == "rest"
        self.orders[h] = {
            "id": h,
            "status": "LIVE" if resting else "MATCHED",
            "side": side,
            "price": str(price),
            "original_size": str(shares),
            "size_matched": "0" if resting else str(shares),
            "asset_id": wire["tokenId"],
        }
        if behaviour == "late":
            await asyncio.sleep(self.late_s)
        if behaviour == "error500":
            return web.json_response({"error": "internal error"}, status=500)
        making, taking = (shares * price, shares) if side == "BUY" else (shares, shares * price)
        if resting:
            making = taking = Decimal(0)
        return web.json_response(
            {
                "success": True,
                "orderID": h,
                "status": "live" if resting else "matched",
                "makingAmount": str(making),
                "takingAmount": str(taking),
                "errorMsg": "",
            }
        )

    def _recover(self, signed: SignedOrderV2) -> str:
        builder = ExchangeOrderBuilderV2(get_contract_config(137).exchange_v2, 137, None, domain_version="2")
        fields = {k: getattr(signed, k) for k in OrderV2.__dataclass_fields__}
        typed = builder.build_order_typed_data(OrderV2(**fields))
        return Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature)

    async def _get_order(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "Unauthorized/Invalid api key"}, status=401)
        order = self.orders.get(request.match_info["hash"])
        if order is None:
            return web.json_response({"error": "order not found"}, status=404)
        return web.json_response(order)

    async def _cancel(self, request: web.Request) -> web.Response:
        body = await request.json()
        order = self.orders.get(body["orderID"])
        if order is None or order["status"] != "LIVE":
            return web.json_response({"not_canceled": {body["orderID"]: "not found"}, "canceled": []})
        order["status"] = "CANCELED"
        return web.json_response({"canceled": [body["orderID"]], "not_canceled": {}})

    # --- test controls ----------------------------------------------------------------------
    def fill_resting(self, h: str, shares: Decimal) -> None:
        """The venue matched ``shares`` more of a resting order (thread-safe enough: a dict update)."""
        order = self.orders[h]
        matched = Decimal(order["size_matched"]) + shares
        order["size_matched"] = str(matched)
        if matched >= Decimal(order["original_size"]):
            order["status"] = "MATCHED"
