"""One aiohttp server speaking Polymarket's protocols at Polymarket's paths, driven by the model.

* Gamma: ``GET /events?slug=``, ``/events/slug/{slug}``, ``/markets?slug=|condition_ids=``, ``/markets/slug/{slug}``
* CLOB REST: ``/book``, ``POST /books``, ``/price``, ``POST /prices``, ``/midpoint``, ``POST /midpoints``,
  ``/spread``, ``POST /spreads``, ``/last-trade-price``, ``POST /last-trades-prices``, ``/prices-history``,
  ``/tick-size``, ``/neg-risk``, ``/fee-rate``, ``/time``, ``/version``, ``/ok``, ``GET /markets?next_cursor=``
  (CLOB's paged list; without ``next_cursor`` the same path is Gamma's), ``/markets/{condition_id}``,
  ``/clob-markets/{condition_id}``, ``/markets-by-token/{token_id}``, ``/simplified-markets``,
  ``/sampling-markets``, ``/sampling-simplified-markets``, orders (``POST /order``, ``POST /orders``,
  ``DELETE /order|/orders|/cancel-all``, ``/data/order/{id}``, ``/data/orders``, ``/data/trades``),
  ``POST /v1/heartbeats``, API-key and balance endpoints
* market WebSocket ``/ws/market``; authenticated user WebSocket ``/ws/user``; spot stream ``/ws/spot``
  (RTDS ``crypto_prices`` shape)
* test control (simulator-only facts live here, never in venue messages): ``/sim/book?token_id=``,
  ``/sim/state``, ``/sim/trades``, ``POST /sim/pause``, ``POST /sim/resume``

Every venue answer keeps the venue's shape (docs/simulator.md lists each one and what is not served).

Simulated time runs ``speed`` times faster than the wall clock from a ``SimClock``; a server
restarted with the same clock replays the model up to "now" and carries on identically.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from tradingfloor.market.book import OrderBook
from tradingfloor.market.events import (
    BestBidAsk,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    SpotTick,
    TickSizeChange,
)
from tradingfloor.observability.logging import get_logger
from tradingfloor.sim import wire
from tradingfloor.sim.exchange import SimExchange
from tradingfloor.sim.model import MarketSimulator, SimConfig
from tradingfloor.sim.request_body import BadBody, parse_body

log = get_logger("tradingfloor.sim.server")
SIM_KEY: web.AppKey[SimServer] = web.AppKey("sim")
SOCKETS_KEY: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
SUBSCRIBER_QUEUE = 10_000  # a consumer this far behind is dropped, like the venue's "slow consumer" close


@dataclass
class SimClock:
    """Simulated ms = start_ms + (wall − wall_anchor) · speed, freezable for inspection."""

    start_ms: int
    speed: float = 1.0
    wall_anchor: float = field(default_factory=time.time)
    paused_at: float | None = None

    def now_ms(self) -> int:
        wall = self.paused_at if self.paused_at is not None else time.time()
        return self.start_ms + int((wall - self.wall_anchor) * 1000 * self.speed)

    def pause(self) -> None:
        if self.paused_at is None:
            self.paused_at = time.time()

    def resume(self) -> None:
        if self.paused_at is not None:
            self.wall_anchor += time.time() - self.paused_at
            self.paused_at = None


@dataclass(eq=False)
class _Sub:
    ws: web.WebSocketResponse
    queue: asyncio.Queue
    assets: set[str] = field(default_factory=set)
    custom: bool = False
    symbols: set[str] = field(default_factory=set)
    owner: str | None = None  # user channel: the API key it authenticated with
    markets: set[str] = field(default_factory=set)  # user channel: condition ids (empty: all)


class SimServer:
    def __init__(self, config: SimConfig, clock: SimClock, tick_s: float = 0.02) -> None:
        self.config = config
        self.clock = clock
        self.tick_s = tick_s
        self.model = MarketSimulator(config)
        self.exchange = SimExchange(
            self.model, chain_id=config.chain_id, async_answers=config.async_order_answers
        )
        self.books: dict[str, OrderBook] = {}
        self.infos: dict[str, MarketInfo] = {}  # published (opened) markets by id
        self.last_trade: dict[str, Decimal] = {}
        self.last_trade_side: dict[str, str] = {}
        self.resolved: dict[str, MarketResolved] = {}
        self.spot_history: dict[str, deque[tuple[int, Decimal, Decimal]]] = {
            a: deque(maxlen=120) for a in config.assets
        }
        self.market_subs: set[_Sub] = set()
        self._closing: set[asyncio.Future] = set()
        self.spot_subs: set[_Sub] = set()
        self.user_subs: set[_Sub] = set()
        self.price_history: dict[str, list[tuple[int, Decimal]]] = {}  # token -> [(unix s, mid)], per minute
        self.heartbeats = 0
        self.frames_sent = 0
        self._best: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        # catch up silently (a restart with an old clock rebuilds the same state)
        self._apply(self.model.advance_to(clock.now_ms()), send=False)

    # -- event publication ---------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now_ms()
        self.exchange.on_tick(now)
        self._apply(self.model.advance_to(now), send=True)
        self._send_user_events()

    def _send_user_events(self) -> None:
        for ev in self.exchange.drain():
            text = None
            for sub in list(self.user_subs):
                if sub.owner == ev.owner and (not sub.markets or ev.market in sub.markets):
                    text = text or json.dumps(ev.message, separators=(",", ":"))
                    self._enqueue(sub, text)

    def _apply(self, events: list[MarketEvent], send: bool) -> None:
        out: list[
            tuple[dict, set[str] | None, bool]
        ] = []  # (message, token filter or None = all, custom only)
        group: list[tuple[PriceChange, Decimal | None, Decimal | None]] = []
        touched: set[str] = set()

        def flush() -> None:
            if group:
                ch0 = group[0][0]
                out.append(
                    (
                        wire.price_change_message(ch0.market_id, ch0.ts_ms, list(group)),
                        {c.token_id for c, _, _ in group},
                        False,
                    )
                )
                group.clear()

        for ev in events:
            if isinstance(ev, PriceChange):
                if group and (group[0][0].market_id != ev.market_id or group[0][0].ts_ms != ev.ts_ms):
                    flush()
                book = self._book(ev.token_id, ev.market_id)
                book.apply_change(ev)
                group.append((ev, book.best_bid(), book.best_ask()))
                touched.add(ev.token_id)
                continue
            flush()
            if isinstance(ev, SpotTick):
                self.spot_history[ev.asset].append((ev.ts_ms, ev.price, ev.volume))
                if send:
                    self._send_spot(ev)
            elif isinstance(ev, BookSnapshot):
                book = self._book(ev.token_id, ev.market_id)
                book.apply_snapshot(ev)
                touched.add(ev.token_id)
                out.append(
                    (
                        wire.book_message(
                            book,
                            self.infos[ev.market_id],
                            last_trade=self.last_trade.get(ev.token_id),
                            ts_ms=ev.ts_ms,
                            rest=False,
                        ),
                        {ev.token_id},
                        False,
                    )
                )
            elif isinstance(ev, LastTrade):
                self.last_trade[ev.token_id] = ev.price
                self.last_trade_side[ev.token_id] = ev.side
                out.append((wire.last_trade_message(ev), {ev.token_id}, False))
            elif isinstance(ev, TickSizeChange):
                book = self._book(ev.token_id, ev.market_id)
                book.clear()
                book.tick_size = ev.new_tick_size
                self.infos[ev.market_id] = self.model.market(ev.market_id)
                out.append((wire.tick_size_message(ev), {ev.token_id}, False))
            elif isinstance(ev, NewMarket):
                announced = ev.info.market_id in self.infos  # a start updates the info: no new message
                self.infos[ev.info.market_id] = ev.info
                if not announced:
                    out.append((wire.new_market_message(ev, self.config.rebate_rate), None, True))
            elif isinstance(ev, MarketResolved):
                self.resolved[ev.market_id] = ev
                for tok in (self.infos[ev.market_id].up_token_id, self.infos[ev.market_id].down_token_id):
                    self.price_history.pop(tok, None)
                info = self.infos[ev.market_id]
                out.append((wire.resolved_message(ev, info), {info.up_token_id, info.down_token_id}, True))
        flush()
        for tok in touched:
            book = self.books[tok]
            self._record_price(tok, book)
            best = (book.best_bid(), book.best_ask())
            if self._best.get(tok) != best:
                self._best[tok] = best
                out.append(
                    (
                        wire.best_bid_ask_message(
                            BestBidAsk(book.market_id, tok, best[0], best[1], book.ts_ms)
                        ),
                        {tok},
                        True,
                    )
                )
        if send and out:
            self._send_market(out)

    def _record_price(self, token_id: str, book: OrderBook) -> None:
        """One midpoint a minute per token, for ``/prices-history`` (the venue's resolution)."""
        mid = book.mid()
        if mid is None:
            return
        minute = book.ts_ms // 60_000 * 60
        hist = self.price_history.setdefault(token_id, [])
        if hist and hist[-1][0] == minute:
            hist[-1] = (minute, mid)
        else:
            hist.append((minute, mid))

    def _book(self, token_id: str, market_id: str) -> OrderBook:
        book = self.books.get(token_id)
        if book is None:
            book = self.books[token_id] = OrderBook(token_id, market_id, self.model.tick_size(token_id))
        return book

    def _send_market(self, out: list[tuple[dict, set[str] | None, bool]]) -> None:
        for sub in list(self.market_subs):
            for msg, tokens, custom_only in out:
                if custom_only and not sub.custom:
                    continue
                if tokens is not None and not (tokens & sub.assets):
                    continue
                self._enqueue(sub, json.dumps(msg, separators=(",", ":")))

    def _send_spot(self, ev: SpotTick) -> None:
        symbol = f"{ev.asset.lower()}usdt"
        text = None
        for sub in list(self.spot_subs):
            if not sub.symbols or symbol in sub.symbols:
                text = text or json.dumps(
                    wire.spot_update(ev.asset, ev.price, ev.volume, ev.ts_ms, self.clock.now_ms())
                )
                self._enqueue(sub, text)

    def _enqueue(self, sub: _Sub, text: str) -> None:
        try:
            sub.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("sim_slow_consumer_dropped")
            self.market_subs.discard(sub)
            self.spot_subs.discard(sub)
            self.user_subs.discard(sub)
            task = asyncio.ensure_future(sub.ws.close(code=1013, message=b"slow consumer"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    # -- lookups -------------------------------------------------------------------------------

    def visible_rounds(self) -> list:
        now = self.clock.now_ms()
        return [r for r in self.model.rounds() if r.listed_ms <= now]

    def gamma_market_json(self, rnd) -> dict:
        now = self.clock.now_ms()
        info = rnd.info  # the model's current view (price to beat from the start on)
        up_book = self.books.get(info.up_token_id)
        res = self.resolved.get(info.market_id)
        market = wire.gamma_market(
            info,
            listed_ms=rnd.listed_ms,
            now_ms=now,
            rebate_rate=self.config.rebate_rate,
            show_tokens=now >= rnd.listed_ms + self.config.token_ids_delay_ms,
            up_price=up_book.mid() if up_book else None,
            best=(up_book.best_bid(), up_book.best_ask()) if up_book else (None, None),
            resolved=res.winning_outcome if res else None,
            final_price=res.final_price if res else None,
        )
        market["acceptingOrders"] = rnd.book_open and not rnd.closed
        if not self.config.gamma_fee_schedule:  # Gamma's 2026-03 shape: fees on, no schedule
            market.pop("feeSchedule", None)
            market["feeType"] = "crypto_fees"
        return market

    def token_info(self, token_id: str) -> MarketInfo | None:
        try:
            rnd, _ = self.model.round_of_token(token_id)
        except KeyError:
            return None
        return self.infos.get(rnd.info.market_id, rnd.info)


# -- HTTP handlers ------------------------------------------------------------------------------


def _err(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _srv(request: web.Request) -> SimServer:
    return request.app[SIM_KEY]


def _gamma_rounds(request: web.Request, srv: SimServer) -> list | web.Response:
    """Listed rounds matching Gamma's filters (slug, series_slug, condition_ids, closed, limit/offset),
    selected before any JSON is built: a day of listings is a few hundred rounds."""
    q = request.query
    slug = q.get("slug") or request.match_info.get("slug")
    series = q.get("series_slug")
    cids = set(filter(None, q.get("condition_ids", "").split(",")))
    closed = {"true": True, "false": False}.get(q.get("closed", "").lower())
    rounds = [
        r
        for r in srv.visible_rounds()
        if (not slug or r.info.slug == slug)
        and (not series or f"{r.info.asset.lower()}-up-or-down-{r.info.interval}" == series)
        and (not cids or r.info.market_id in cids)
        and (closed is None or (r.info.market_id in srv.resolved) == closed)
    ]
    try:
        offset = int(q.get("offset", "0"))
        limit = int(q["limit"]) if "limit" in q else len(rounds)
    except ValueError:
        return _err(400, "limit and offset must be integers")
    return rounds[offset : offset + limit]


async def gamma_events(request: web.Request) -> web.Response:
    srv = _srv(request)
    rounds = _gamma_rounds(request, srv)
    if isinstance(rounds, web.Response):
        return rounds
    out = [wire.gamma_event(srv.gamma_market_json(r)) for r in rounds]
    if "slug" in request.match_info:
        return web.json_response(out[0]) if out else _err(404, "event not found")
    return web.json_response(out)


async def gamma_markets(request: web.Request) -> web.Response:
    srv = _srv(request)
    if "next_cursor" in request.query and "slug" not in request.match_info:
        return await clob_markets(request)  # the CLOB's paged list shares the path with Gamma's
    rounds = _gamma_rounds(request, srv)
    if isinstance(rounds, web.Response):
        return rounds
    out = [srv.gamma_market_json(r) for r in rounds]
    if "slug" in request.match_info:
        return web.json_response(out[0]) if out else _err(404, "market not found")
    return web.json_response(out)


def _token_book(srv: SimServer, token_id: str | None) -> tuple[OrderBook, MarketInfo] | None:
    if not token_id or token_id not in srv.books:
        return None
    info = srv.token_info(token_id)
    return (srv.books[token_id], info) if info else None


def _book_json(srv: SimServer, token_id: str) -> dict | None:
    found = _token_book(srv, token_id)
    if found is None:
        return None
    book, info = found
    return wire.book_message(
        book, info, last_trade=srv.last_trade.get(token_id), ts_ms=book.ts_ms or srv.clock.now_ms(), rest=True
    )


async def clob_book(request: web.Request) -> web.Response:
    body = _book_json(_srv(request), request.query.get("token_id", ""))
    return web.json_response(body) if body else _err(404, "No orderbook exists for the requested token id")


async def _json_body(request: web.Request) -> Any:
    """The request's JSON, or a 400 naming what is wrong with it (never a 500, never a crash)."""
    try:
        return parse_body(await request.read())
    except BadBody as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": str(exc)}), content_type="application/json"
        ) from None


async def clob_books(request: web.Request) -> web.Response:
    params = await _json_body(request)
    if not isinstance(params, list):
        return _err(400, "body must be a list of {token_id}")
    srv = _srv(request)
    return web.json_response(
        [b for p in params if isinstance(p, dict) and (b := _book_json(srv, str(p.get("token_id"))))]
    )


def _side_price(book: OrderBook, side: str) -> Decimal | None:
    # side=BUY reads the bid side, side=SELL the ask side
    return book.best_bid() if side == "BUY" else book.best_ask()


async def clob_price(request: web.Request) -> web.Response:
    found = _token_book(_srv(request), request.query.get("token_id"))
    side = request.query.get("side", "").upper()
    if side not in ("BUY", "SELL"):
        return _err(400, "side must be BUY or SELL")
    if found is None or (p := _side_price(found[0], side)) is None:
        return _err(404, "No orderbook exists for the requested token id")
    return web.json_response({"price": str(p)})


async def clob_prices(request: web.Request) -> web.Response:
    params = await _json_body(request)
    if not isinstance(params, list):
        return _err(400, "body must be a list of {token_id, side}")
    srv = _srv(request)
    out: dict[str, dict[str, str]] = {}
    for p in params:
        if isinstance(p, dict) and (found := _token_book(srv, str(p.get("token_id")))):
            price = _side_price(found[0], str(p.get("side", "")).upper())
            if price is not None:
                out.setdefault(str(p["token_id"]), {})[str(p["side"]).upper()] = str(price)
    return web.json_response(out)


async def clob_midpoint(request: web.Request) -> web.Response:
    found = _token_book(_srv(request), request.query.get("token_id"))
    if found is None or found[0].mid() is None:
        return _err(404, "No orderbook exists for the requested token id")
    return web.json_response({"mid": str(found[0].mid())})


async def clob_spread(request: web.Request) -> web.Response:
    found = _token_book(_srv(request), request.query.get("token_id"))
    if found is None or found[0].spread() is None:
        return _err(404, "No orderbook exists for the requested token id")
    return web.json_response({"spread": str(found[0].spread())})


async def clob_last_trade(request: web.Request) -> web.Response:
    token = request.query.get("token_id", "")
    return web.json_response(_last_trade_json(_srv(request), token))


def _last_trade_json(srv: SimServer, token: str) -> dict:
    # before any trade the venue answers an empty price (not a made-up 0.5)
    price = srv.last_trade.get(token)
    side = srv.last_trade_side.get(token, "")
    return {"price": str(price) if price is not None else "", "side": side}


async def _token_list(request: web.Request) -> list[str] | web.Response:
    params = await _json_body(request)
    if not isinstance(params, list) or not all(isinstance(p, dict) and p.get("token_id") for p in params):
        return _err(400, "body must be a list of {token_id}")
    return [str(p["token_id"]) for p in params]


async def _per_token_book_figure(request: web.Request, figure: str) -> web.Response:
    """``{token_id: "<figure>"}`` for the listed tokens whose book has one (``mid`` or ``spread``)."""
    tokens = await _token_list(request)
    if isinstance(tokens, web.Response):
        return tokens
    srv = _srv(request)
    out = {}
    for t in tokens:
        found = _token_book(srv, t)
        if found is not None and (value := getattr(found[0], figure)()) is not None:
            out[t] = str(value)
    return web.json_response(out)


async def clob_midpoints(request: web.Request) -> web.Response:
    return await _per_token_book_figure(request, "mid")


async def clob_spreads(request: web.Request) -> web.Response:
    return await _per_token_book_figure(request, "spread")


async def clob_last_trades(request: web.Request) -> web.Response:
    tokens = await _token_list(request)
    if isinstance(tokens, web.Response):
        return tokens
    srv = _srv(request)
    return web.json_response([{"token_id": t, **_last_trade_json(srv, t)} for t in tokens])


_HISTORY_SPAN_S = {"1m": 60, "1h": 3600, "6h": 6 * 3600, "1d": 86400, "1w": 7 * 86400}


async def clob_prices_history(request: web.Request) -> web.Response:
    """``{"history": [{"t", "p"}]}``: one midpoint a minute, ``fidelity`` minutes apart."""
    srv, q = _srv(request), request.query
    token = q.get("market", "")
    if not token:
        return _err(400, "market (a token id) is required")
    try:
        fidelity = max(1, int(q.get("fidelity", "1")))
        now_s = srv.clock.now_ms() // 1000
        interval = q.get("interval")
        if interval is not None:
            if interval not in _HISTORY_SPAN_S and interval not in ("max", "all"):
                return _err(400, f"interval must be one of {sorted(_HISTORY_SPAN_S)} or max or all")
            start, end = now_s - _HISTORY_SPAN_S.get(interval, now_s), now_s
        elif "startTs" in q and "endTs" in q:
            start, end = int(q["startTs"]), int(q["endTs"])
        else:
            return _err(400, "give interval, or startTs and endTs")
    except ValueError:
        return _err(400, "startTs, endTs and fidelity must be integers")
    points, last_t = [], None
    for t, p in srv.price_history.get(token, []):
        if start <= t <= end and (last_t is None or t - last_t >= fidelity * 60):
            points.append({"t": t, "p": float(p)})
            last_t = t
    return web.json_response({"history": points})


async def clob_tick_size(request: web.Request) -> web.Response:
    info = _srv(request).token_info(request.query.get("token_id", ""))
    return (
        web.json_response({"minimum_tick_size": float(info.tick_size)})
        if info
        else _err(404, "market not found")
    )


async def clob_neg_risk(request: web.Request) -> web.Response:
    info = _srv(request).token_info(request.query.get("token_id", ""))
    return web.json_response({"neg_risk": info.neg_risk}) if info else _err(404, "market not found")


async def clob_fee_rate(request: web.Request) -> web.Response:
    info = _srv(request).token_info(request.query.get("token_id", ""))
    # the legacy base-fee flag, not the charged rate (research §1.3): that is feeSchedule.rate
    return web.json_response({"base_fee": 1000}) if info else _err(404, "market not found")


async def clob_time(request: web.Request) -> web.Response:
    return web.json_response(_srv(request).clock.now_ms() // 1000)


async def clob_version(request: web.Request) -> web.Response:
    return web.json_response({"version": 2})


async def clob_ok(request: web.Request) -> web.Response:
    return web.json_response("OK")


def _market_by_cid(srv: SimServer, cid: str) -> MarketInfo | None:
    try:
        srv.model.market(cid)
    except KeyError:
        return None
    return srv.infos.get(cid, srv.model.market(cid))


async def clob_market(request: web.Request) -> web.Response:
    srv = _srv(request)
    info = _market_by_cid(srv, request.match_info["cid"])
    if info is None:
        return _err(404, "market not found")
    return web.json_response(_clob_market_json(srv, info))


def _clob_market_json(srv: SimServer, info: MarketInfo) -> dict:
    res = srv.resolved.get(info.market_id)
    opened = info.market_id in srv.infos
    tokens = [
        {
            "token_id": tok if opened else "",
            "outcome": label,
            "price": float(srv.books[tok].mid() or 0) if tok in srv.books else 0.5,
            "winner": bool(res and res.winning_token_id == tok),
        }
        for tok, label in ((info.up_token_id, "Up"), (info.down_token_id, "Down"))
    ]
    return {
        "condition_id": info.market_id,
        "question_id": "0x" + info.market_id[-64:][::-1],
        "question": wire.question(info),
        "market_slug": info.slug,
        "tokens": tokens,
        "minimum_order_size": float(info.min_size),
        "minimum_tick_size": float(info.tick_size),
        "accepting_orders": opened and res is None and srv.clock.now_ms() < info.end_ms,
        "enable_order_book": opened,
        "active": res is None,
        "closed": res is not None,
        "neg_risk": info.neg_risk,
        "seconds_delay": 0,
        "maker_base_fee": 1000,
        "taker_base_fee": 1000,
        "end_date_iso": wire.iso(info.end_ms),
        "game_start_time": wire.iso(info.start_ms),
        "archived": False,
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "tags": ["Crypto", "Up or Down"],
    }


_PAGE = 100
_END_CURSOR = "LTE="  # base64 of "-1": the last page


def _page(items: list, cursor: str) -> dict | None:
    """The CLOB's cursor paging: the cursor is the base64 of the offset ("MA==" is 0)."""
    try:
        offset = int(base64.b64decode(cursor or "MA==").decode())
    except ValueError:
        return None
    if offset < 0:
        return {"data": [], "next_cursor": _END_CURSOR, "limit": _PAGE, "count": 0}
    data = items[offset : offset + _PAGE]
    nxt = offset + _PAGE
    return {
        "data": data,
        "next_cursor": base64.b64encode(str(nxt).encode()).decode() if nxt < len(items) else _END_CURSOR,
        "limit": _PAGE,
        "count": len(data),
    }


def _listed_clob_markets(srv: SimServer) -> list[dict]:
    return [_clob_market_json(srv, r.info) for r in srv.visible_rounds()]


async def _paged(request: web.Request, items: list) -> web.Response:
    page = _page(items, request.query.get("next_cursor", "MA=="))
    return web.json_response(page) if page is not None else _err(400, "invalid next_cursor")


async def clob_markets(request: web.Request) -> web.Response:
    return await _paged(request, _listed_clob_markets(_srv(request)))


def _simplified(m: dict) -> dict:
    keys = ("condition_id", "rewards", "tokens", "active", "closed", "archived", "accepting_orders")
    return {k: m[k] for k in keys}


async def clob_simplified_markets(request: web.Request) -> web.Response:
    return await _paged(request, [_simplified(m) for m in _listed_clob_markets(_srv(request))])


async def clob_sampling_markets(request: web.Request) -> web.Response:
    # sampling = markets in the liquidity-rewards program; up/down rounds are not (research §1.3)
    return await _paged(request, [])


async def clob_market_compact(request: web.Request) -> web.Response:
    info = _market_by_cid(_srv(request), request.match_info["cid"])
    if info is None:
        return _err(404, "market not found")
    return web.json_response(
        {
            "t": [{"t": info.up_token_id, "o": "Up"}, {"t": info.down_token_id, "o": "Down"}],
            "mts": float(info.tick_size),
            "nr": info.neg_risk,
            "mos": float(info.min_size),
            "fd": {"r": float(info.fee_rate), "e": info.fee_exponent, "to": True},
            "mbf": 1000,
            "tbf": 1000,
            "seconds_delay": 0,
            "rfq_enabled": False,
            "taker_order_delay_enabled": False,
        }
    )


async def clob_market_by_token(request: web.Request) -> web.Response:
    info = _srv(request).token_info(request.match_info["tid"])
    return web.json_response({"condition_id": info.market_id}) if info else _err(404, "market not found")


async def post_order(request: web.Request) -> web.Response:
    srv = _srv(request)
    body = await _json_body(request)
    res = srv.exchange.post(body, srv.clock.now_ms())
    _after_orders(srv)
    return web.json_response(res, status=200 if res.get("success") else 400)


async def post_orders(request: web.Request) -> web.Response:
    srv = _srv(request)
    body = await _json_body(request)
    if not isinstance(body, list) or len(body) > 15:
        return _err(400, "body must be a list of at most 15 orders")
    res = [srv.exchange.post(o, srv.clock.now_ms()) for o in body]
    _after_orders(srv)
    return web.json_response(res)


def _owner(request: web.Request) -> str | None:
    """The API key of an L2-authenticated request (credentials themselves are not checked)."""
    return request.headers.get("POLY_API_KEY")


def _after_orders(srv: SimServer) -> None:
    srv.tick()  # publish the fills' book changes and the owners' user-channel events at once


async def delete_order(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict) or not body.get("orderID"):
        return _err(400, "body must be {orderID}")
    srv = _srv(request)
    res = srv.exchange.cancel([str(body["orderID"])], srv.clock.now_ms(), _owner(request))
    _after_orders(srv)
    return web.json_response(res)


async def delete_orders(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, list):
        return _err(400, "body must be a list of order ids")
    srv = _srv(request)
    res = srv.exchange.cancel([str(x) for x in body], srv.clock.now_ms(), _owner(request))
    _after_orders(srv)
    return web.json_response(res)


async def cancel_all(request: web.Request) -> web.Response:
    srv = _srv(request)
    res = srv.exchange.cancel_all(srv.clock.now_ms(), _owner(request))
    _after_orders(srv)
    return web.json_response(res)


async def get_order(request: web.Request) -> web.Response:
    # like the venue, only open orders are listed: a filled or cancelled one is found by its trades
    o = _srv(request).exchange.open_order(request.match_info["oid"], _owner(request))
    return web.json_response(o.as_json() if o else None)


async def get_orders(request: web.Request) -> web.Response:
    q, owner = request.query, _owner(request)
    data = [
        o.as_json()
        for o in _srv(request).exchange.orders.values()
        if o.status == "LIVE"
        and (owner is None or o.owner == owner)
        and (not q.get("market") or o.market == q["market"])
        and (not q.get("asset_id") or o.token_id == q["asset_id"])
        and (not q.get("id") or o.id == q["id"])
    ]
    return await _paged(request, data)


async def get_trades(request: web.Request) -> web.Response:
    q = request.query
    try:
        before = int(q["before"]) if q.get("before") else None
        after = int(q["after"]) if q.get("after") else None
    except ValueError:
        return _err(400, "before and after must be unix seconds")
    data = [
        t
        for t in _srv(request).exchange.trades_of(_owner(request))
        if (not q.get("id") or t["id"] == q["id"])
        and (not q.get("market") or t["market"] == q["market"])
        and (not q.get("asset_id") or t["asset_id"] == q["asset_id"])
        and (not q.get("maker_address") or t["maker_address"] == q["maker_address"])
        and (before is None or int(t["match_time"]) < before)
        and (after is None or int(t["match_time"]) > after)
    ]
    return await _paged(request, data)


async def sim_trades(request: web.Request) -> web.Response:
    """Every trade the simulator's exchange made, every owner's (simulator-only; for tests)."""
    return web.json_response(_srv(request).exchange.trades)


async def heartbeat(request: web.Request) -> web.Response:
    srv = _srv(request)
    srv.heartbeats += 1
    return web.json_response({"status": "ok", "heartbeat_id": f"sim-hb-{srv.heartbeats}"})


async def api_key(request: web.Request) -> web.Response:
    # credentials are not checked by the simulator; any well-formed triple works
    return web.json_response(
        {
            "apiKey": "00000000-0000-4000-8000-000000000000",
            "secret": "c2ltdWxhdG9y",
            "passphrase": "simulator",
        }
    )


async def balance_allowance(request: web.Request) -> web.Response:
    return web.json_response({"balance": "1000000000000", "allowances": {}})


async def sim_book(request: web.Request) -> web.Response:
    srv = _srv(request)
    book = srv.books.get(request.query.get("token_id", ""))
    if book is None:
        return _err(404, "no book for that token")
    return web.json_response(
        {
            "token_id": book.token_id,
            "market": book.market_id,
            "ts_ms": book.ts_ms,
            "tick_size": str(book.tick_size),
            "bids": [[str(p), str(s)] for p, s in book.bids()],
            "asks": [[str(p), str(s)] for p, s in book.asks()],
        }
    )


async def sim_state(request: web.Request) -> web.Response:
    srv = _srv(request)
    return web.json_response(
        {
            "now_ms": srv.clock.now_ms(),
            "paused": srv.clock.paused_at is not None,
            "speed": srv.clock.speed,
            "frames_sent": srv.frames_sent,
            "markets": [
                {
                    "market_id": i.market_id,
                    "slug": i.slug,
                    "start_ms": i.start_ms,
                    "end_ms": i.end_ms,
                    "resolved": srv.resolved[i.market_id].winning_outcome
                    if i.market_id in srv.resolved
                    else None,
                }
                for i in srv.infos.values()
            ],
        }
    )


async def sim_pause(request: web.Request) -> web.Response:
    _srv(request).clock.pause()
    return web.json_response({"paused": True, "now_ms": _srv(request).clock.now_ms()})


async def sim_resume(request: web.Request) -> web.Response:
    _srv(request).clock.resume()
    return web.json_response({"paused": False, "now_ms": _srv(request).clock.now_ms()})


# -- WebSockets ---------------------------------------------------------------------------------


async def _writer(sub: _Sub, srv: SimServer) -> None:
    while True:
        text = await sub.queue.get()
        if sub.ws.closed:
            return
        await sub.ws.send_str(text)
        srv.frames_sent += 1


async def _serve_socket(request: web.Request, subscribers: set, on_request) -> web.WebSocketResponse:
    """One subscriber's socket: PING → PONG, JSON requests to ``on_request(sub, req)``, garbage ignored
    (as the venue does); its frames go out through a queue so a slow reader never blocks the tick."""
    srv = _srv(request)
    ws = web.WebSocketResponse(heartbeat=None)
    await ws.prepare(request)
    sub = _Sub(ws, asyncio.Queue(SUBSCRIBER_QUEUE))
    writer = asyncio.create_task(_writer(sub, srv))
    request.app[SOCKETS_KEY].add(ws)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            if msg.data.strip() == "PING":
                sub.queue.put_nowait("PONG")
                continue
            try:
                req = parse_body(msg.data.encode())
            except BadBody:
                continue
            if isinstance(req, dict):
                on_request(srv, sub, req)
    finally:
        subscribers.discard(sub)
        request.app[SOCKETS_KEY].discard(ws)
        writer.cancel()
    return ws


def _market_request(srv: SimServer, sub: _Sub, req: dict) -> None:
    if not isinstance(req.get("assets_ids", []), list):
        return
    assets = {str(a) for a in req.get("assets_ids", [])}
    if req.get("operation") == "unsubscribe":
        sub.assets -= assets
        return
    new = assets - sub.assets
    sub.assets |= assets
    sub.custom = sub.custom or bool(req.get("custom_feature_enabled"))
    srv.market_subs.add(sub)
    if req.get("initial_dump", True):
        dump = [
            wire.book_message(b, info, last_trade=srv.last_trade.get(t), ts_ms=b.ts_ms, rest=False)
            for t in sorted(new)
            if (b := srv.books.get(t)) is not None and (info := srv.token_info(t)) is not None
        ]
        if dump:
            sub.queue.put_nowait(json.dumps(dump, separators=(",", ":")))
        elif sub.custom and not new:
            sub.queue.put_nowait("NO NEW ASSETS")


def _spot_request(srv: SimServer, sub: _Sub, req: dict) -> None:
    if req.get("action") != "subscribe" or not isinstance(req.get("subscriptions"), list):
        return
    for s in req["subscriptions"]:
        if isinstance(s, dict) and s.get("topic") == "crypto_prices":
            filt = s.get("filters") or ""
            sub.symbols |= {x.strip().lower() for x in str(filt).split(",") if x.strip()}
    srv.spot_subs.add(sub)
    for asset, hist in srv.spot_history.items():
        if not sub.symbols or f"{asset.lower()}usdt" in sub.symbols:
            sub.queue.put_nowait(json.dumps(wire.spot_snapshot(asset, list(hist)[-60:])))


def _user_request(srv: SimServer, sub: _Sub, req: dict) -> None:
    """``{"auth": {apiKey, secret, passphrase}, "markets": [condition ids], "type": "user"}``; the key
    decides whose events the socket gets (the secret is not checked); no markets means all."""
    auth = req.get("auth")
    if not isinstance(auth, dict) or not auth.get("apiKey"):
        task = asyncio.ensure_future(sub.ws.close(code=4001, message=b"auth required"))
        srv._closing.add(task)
        task.add_done_callback(srv._closing.discard)
        return
    markets = req.get("markets") or []
    if req.get("operation") == "unsubscribe":
        sub.markets -= {str(m) for m in markets}
        return
    sub.owner = str(auth["apiKey"])
    sub.markets |= {str(m) for m in markets if isinstance(m, str)}
    srv.user_subs.add(sub)


async def ws_user(request: web.Request) -> web.WebSocketResponse:
    return await _serve_socket(request, _srv(request).user_subs, _user_request)


async def ws_market(request: web.Request) -> web.WebSocketResponse:
    return await _serve_socket(request, _srv(request).market_subs, _market_request)


async def ws_spot(request: web.Request) -> web.WebSocketResponse:
    return await _serve_socket(request, _srv(request).spot_subs, _spot_request)


# -- app and lifecycle --------------------------------------------------------------------------


def build_app(srv: SimServer) -> web.Application:
    app = web.Application()
    app[SIM_KEY] = srv
    app[SOCKETS_KEY] = set()
    r = app.router
    r.add_get("/events", gamma_events)
    r.add_get("/events/slug/{slug}", gamma_events)
    r.add_get("/markets", gamma_markets)
    r.add_get("/markets/slug/{slug}", gamma_markets)
    r.add_get("/book", clob_book)
    r.add_post("/books", clob_books)
    r.add_get("/price", clob_price)
    r.add_post("/prices", clob_prices)
    r.add_get("/midpoint", clob_midpoint)
    r.add_post("/midpoints", clob_midpoints)
    r.add_get("/spread", clob_spread)
    r.add_post("/spreads", clob_spreads)
    r.add_get("/last-trade-price", clob_last_trade)
    r.add_post("/last-trades-prices", clob_last_trades)
    r.add_get("/prices-history", clob_prices_history)
    r.add_get("/simplified-markets", clob_simplified_markets)
    r.add_get("/sampling-markets", clob_sampling_markets)
    r.add_get("/sampling-simplified-markets", clob_sampling_markets)
    r.add_get("/tick-size", clob_tick_size)
    r.add_get("/neg-risk", clob_neg_risk)
    r.add_get("/fee-rate", clob_fee_rate)
    r.add_get("/time", clob_time)
    r.add_get("/version", clob_version)
    r.add_get("/ok", clob_ok)
    r.add_get("/markets/{cid}", clob_market)
    r.add_get("/clob-markets/{cid}", clob_market_compact)
    r.add_get("/markets-by-token/{tid}", clob_market_by_token)
    r.add_post("/order", post_order)
    r.add_post("/orders", post_orders)
    r.add_delete("/order", delete_order)
    r.add_delete("/orders", delete_orders)
    r.add_delete("/cancel-all", cancel_all)
    r.add_get("/data/order/{oid}", get_order)
    r.add_get("/data/orders", get_orders)
    r.add_get("/data/trades", get_trades)
    r.add_post("/v1/heartbeats", heartbeat)
    r.add_post("/auth/api-key", api_key)
    r.add_get("/auth/derive-api-key", api_key)
    r.add_get("/balance-allowance", balance_allowance)
    r.add_get("/balance-allowance/update", balance_allowance)
    r.add_get("/ws/market", ws_market)
    r.add_get("/ws/user", ws_user)
    r.add_get("/ws/spot", ws_spot)
    r.add_get("/sim/book", sim_book)
    r.add_get("/sim/state", sim_state)
    r.add_get("/sim/trades", sim_trades)
    r.add_post("/sim/pause", sim_pause)
    r.add_post("/sim/resume", sim_resume)
    return app


@dataclass
class SimHandle:
    server: SimServer
    runner: web.AppRunner
    host: str
    port: int
    _ticker: asyncio.Task

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def market_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/market"

    @property
    def user_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/user"

    @property
    def spot_ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws/spot"

    @property
    def clock(self) -> SimClock:
        return self.server.clock

    async def stop(self) -> None:
        """Stop ticking, drop every socket abruptly (as a crash would) and free the port."""
        self._ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._ticker
        sockets: set[web.WebSocketResponse] = self.runner.app[SOCKETS_KEY]
        for ws in list(sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1012, message=b"simulator stopping")
        await self.runner.cleanup()


async def _tick_forever(srv: SimServer) -> None:
    while True:
        try:
            srv.tick()
        except Exception:  # the loop must survive a bad step; the error is logged, not swallowed silently
            log.exception("sim_tick_failed")
        await asyncio.sleep(srv.tick_s)


async def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    config: SimConfig | None = None,
    speed: float = 1.0,
    *,
    clock: SimClock | None = None,
    tick_s: float = 0.02,
) -> SimHandle:
    config = config or SimConfig()
    clock = clock or SimClock(start_ms=config.start_ms, speed=speed)
    srv = SimServer(config, clock, tick_s)
    runner = web.AppRunner(build_app(srv), handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    actual_port = runner.addresses[0][1]
    ticker = asyncio.create_task(_tick_forever(srv))
    log.info(
        "sim_started",
        url=f"http://{host}:{actual_port}",
        speed=clock.speed,
        seed=config.seed,
        pattern=config.pattern,
    )
    return SimHandle(srv, runner, host, actual_port, ticker)


def run_simulator(
    host: str = "127.0.0.1", port: int = 8765, config: SimConfig | None = None, speed: float = 1.0
) -> None:
    """Blocking: serve until interrupted (the ``floor sim`` command)."""

    async def main() -> None:
        handle = await start_simulator(host, port, config, speed)
        try:
            await asyncio.Event().wait()
        finally:
            await handle.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
