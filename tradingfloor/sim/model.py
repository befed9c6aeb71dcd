"""A pure, deterministic model of Polymarket's crypto Up/Down markets (no I/O).

Per asset, one step every ``step_ms``:

* **spot**: log-price diffusion with ``volatility`` (annualised), rare symmetric jumps with a
  volume burst, plus the ``pattern``: ``momentum`` adds drift regimes that persist (so a move
  predicts more of the same), ``meanReversion`` pulls the price back to a slow moving anchor,
  ``none`` adds nothing (no strategy should win after fees).
* **rounds**: listed ``listing_lead_ms`` (a day) before they start, as the venue lists them; the
  book opens ``book_lead_ms`` before the start (``NewMarket`` then, and quiet quotes around
  0.50/0.51 that anyone can trade, as captured on the venue the day before a start — drawn from
  the round's own RNG so the live rounds' stream does not depend on it); at the start the price
  to beat is the spot TWAP of the last ``twap_window_ms`` (the previous round's final value), the
  market maker's live quotes replace the quiet ones with a snapshot, and at the end the round
  settles on the end TWAP: Up wins iff TWAP(end) ≥ price to beat. ``MarketResolved`` follows
  ``resolution_delay_ms`` later.
* **books**: the market maker prices Up with the naive model the research found calibrated,
  Φ((E[F] − K)/sd) with variance σ²(τ − 40 s) (σ²τ³/3/60² inside the last minute) — it knows the
  volatility but not the pattern. The ladder sits around that fair value with a 1–3 tick spread,
  depth like the observed 15-minute figures, and reacts ``book_lag_ms`` after spot. Down's book is
  the mirror (Down bid = 1 − Up ask). Takers trade at the touch now and then. Near the extremes
  the tick drops to ``extreme_tick`` (a ``TickSizeChange`` then a fresh snapshot), and back.

Everything comes from one seed; the same config gives the same events, byte for byte.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from tradingfloor.market.book import OrderBook
from tradingfloor.market.codec import interval_ms
from tradingfloor.market.events import (
    Asset,
    BookSnapshot,
    LastTrade,
    MarketEvent,
    MarketInfo,
    MarketResolved,
    NewMarket,
    PriceChange,
    Side,
    SpotTick,
    TickSizeChange,
)

Pattern = Literal["none", "momentum", "meanReversion"]
PATTERNS: tuple[Pattern, ...] = ("none", "momentum", "meanReversion")


def parse_pattern(value: str) -> Pattern:
    """``value`` as a :data:`Pattern`, or a ValueError naming the patterns there are."""
    for pattern in PATTERNS:
        if value == pattern:
            return pattern
    raise ValueError(f"pattern must be none, momentum or meanReversion; got {value!r}")


SECONDS_PER_YEAR = 365 * 24 * 3600
MILLI = 1000  # book prices are kept as integer thousandths


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    assets: tuple[Asset, ...] = ("BTC", "ETH")
    interval: str = "15m"
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00Z, on the 15-minute grid
    pattern: Pattern = "none"
    volatility: float = 0.60  # annualised diffusion volatility of spot
    initial_prices: tuple[tuple[str, float], ...] = (("BTC", 95_000.0), ("ETH", 3_300.0))
    jumps_per_hour: float = 1.0
    jump_size: float = 0.004  # standard deviation of a jump's log return
    momentum_drift_bps_per_min: float = 10.0  # drift while a regime lasts (0.5 % per 5 minutes)
    momentum_regime_minutes: float = 20.0  # mean regime length
    reversion_minutes: float = 5.0  # meanReversion: time constant of the pull
    step_ms: int = 1_000
    # Books reprice on each spot step. With lag 0 the book's update comes *before* the spot tick
    # at the same instant, so no strategy can trade a stale quote it could not hit in reality
    # (the venue's book leads every feed but the fastest exchanges; research §8.2). A positive
    # lag publishes spot first and the book that many ms later: a latency-arbitrage playground.
    book_lag_ms: int = 0
    # Real rounds are listed about a day ahead and accept orders long before they start (research
    # §11: bid/ask 0.50/0.51 the day before a start). ``book_lead_ms`` > 0 opens books (and sends
    # ``new_market``) that long before the start; 0 opens them at the start. The default stays 0
    # until the collector also finds rounds by periodic discovery: one that subscribes only on
    # ``new_market`` misses every round announced before it connected.
    listing_lead_ms: int = 86_400_000
    book_lead_ms: int = 0
    fee_rate: Decimal = Decimal("0.07")  # crypto_fees_v2: rate 0.07, exponent 1, taker only
    fee_exponent: int = 1
    rebate_rate: Decimal = Decimal("0.2")
    tick_size: Decimal = Decimal("0.01")
    extreme_tick: Decimal = Decimal("0.001")
    extreme_band: Decimal = Decimal("0.04")  # tick drops when fair Up < band or > 1 − band
    min_size: Decimal = Decimal("5")
    levels: int = 6
    touch_shares: float = 110.0  # median touch ≈ $60 at 0.5 (research: 15m Up ask $61)
    trades_per_minute: float = 6.0  # per market
    twap_window_ms: int = 60_000
    resolution_delay_ms: int = 10_000
    token_ids_delay_ms: int = 0  # Gamma hides token ids of a new listing this long (CLOB hydration)
    # venue quirks the simulator can reproduce (docs/simulator.md)
    chain_id: int = 137  # the EIP-712 domain the order ids (order hashes) are computed under
    async_order_answers: bool = False  # POST /order answers success + ids only, no status (venue async)
    gamma_fee_schedule: bool = True  # False: Gamma omits feeSchedule, as in its 2026-03 shape

    def __post_init__(self) -> None:
        parse_pattern(self.pattern)
        if not self.assets or any(a not in dict(self.initial_prices) for a in self.assets):
            raise ValueError(f"assets {self.assets!r} need an initial price in initial_prices")
        if self.step_ms <= 0 or self.book_lag_ms < 0 or self.book_lag_ms >= self.step_ms:
            raise ValueError("step_ms must be positive and book_lag_ms in [0, step_ms)")
        if self.volatility <= 0:
            raise ValueError("volatility must be positive")
        if not 0 <= self.book_lead_ms <= self.listing_lead_ms:
            raise ValueError("book_lead_ms must be in [0, listing_lead_ms]")
        interval_ms(self.interval)


@dataclass
class Round:
    info: MarketInfo
    listed_ms: int
    strike: float | None = None
    final: float | None = None
    open: bool = False  # started: the live market maker quotes it
    book_open: bool = False  # accepting orders (from book_lead_ms before the start)
    closed: bool = False
    resolved: bool = False
    tick_milli: int = 10  # current tick in thousandths
    up_bids: dict[int, int] = field(default_factory=dict)  # price (thousandths) -> size (cents of a share)
    up_asks: dict[int, int] = field(default_factory=dict)
    spread_ticks: int = 1
    last_trade_milli: int = 500


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def fair_up_probability(
    spot: float, strike: float, tau_s: float, sigma_s: float, window_sum: float, window_s: float
) -> float:
    """P(TWAP_window(end) ≥ strike) with no drift: the naive no-momentum pricing.

    ``window_sum`` is the sum of 1-per-second spot samples already inside the final window
    (only used when ``tau_s`` < ``window_s``)."""
    if tau_s >= window_s:
        mean = spot
        sd = spot * sigma_s * math.sqrt(max(tau_s - window_s + window_s / 3.0, 0.0))
    else:
        mean = (window_sum + spot * tau_s) / window_s
        sd = spot * sigma_s * math.sqrt(tau_s**3 / 3.0) / window_s
    if sd <= 0.0:
        return 1.0 if mean >= strike else 0.0
    return normal_cdf((mean - strike) / sd)


def _stable_id(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()


class _AssetState:
    """Spot path and pattern state for one asset; its own RNG keeps assets independent."""

    def __init__(self, asset: Asset, cfg: SimConfig, index: int) -> None:
        self.asset = asset
        self.rng = random.Random(cfg.seed * 7919 + index)
        self.price = dict(cfg.initial_prices)[asset]
        self.anchor = math.log(self.price)
        self.drift = 0.0
        self.burst_steps = 0
        self.samples: deque[float] = deque(
            [self.price] * (cfg.twap_window_ms // cfg.step_ms), maxlen=cfg.twap_window_ms // cfg.step_ms
        )
        self.window_sum = self.price * len(self.samples)


class MarketSimulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = c = config
        self._interval_ms = interval_ms(c.interval)
        self._dt = c.step_ms / 1000.0
        self._sigma_s = c.volatility / math.sqrt(SECONDS_PER_YEAR)
        jump_var_s = c.jumps_per_hour / 3600.0 * c.jump_size**2
        self._pricing_sigma_s = math.sqrt(self._sigma_s**2 + jump_var_s)  # what the market maker knows
        self._assets = [_AssetState(a, c, i) for i, a in enumerate(c.assets)]
        self._rounds: dict[str, Round] = {}  # by market id, in listing order
        self._by_token: dict[str, tuple[Round, bool]] = {}  # token -> (round, is_up)
        self._live: dict[str, Round] = {}  # asset -> round being traded
        self._unresolved: deque[Round] = deque()  # closed, awaiting resolution, by end time
        self._resolved: deque[Round] = deque()  # by end time, forgotten an hour later
        self._awaiting_book: dict[str, deque[Round]] = {a: deque() for a in c.assets}  # by start
        first = -(-c.start_ms // self._interval_ms) * self._interval_ms
        self._next_start = {a: first for a in c.assets}
        self._next_step = c.start_ms
        self._pending: deque[MarketEvent] = deque()
        self.now_ms = c.start_ms
        self._tick_dec = {10: c.tick_size, 1: c.extreme_tick}
        self._price_cache: dict[tuple[int, int], Decimal] = {}
        self._size_cache: dict[int, Decimal] = {}
        self._list_rounds(c.start_ms)

    # -- public API ----------------------------------------------------------------------------

    def advance_to(self, t_ms: int) -> list[MarketEvent]:
        """All events with ts ≤ ``t_ms`` not returned before, in time order."""
        while self._next_step <= t_ms:
            self._step(self._next_step)
            self._next_step += self.config.step_ms
        out = []
        pending = self._pending
        while pending and pending[0].ts_ms <= t_ms:
            out.append(pending.popleft())
        self.now_ms = max(self.now_ms, t_ms)
        return out

    def markets(self) -> list[MarketInfo]:
        return [r.info for r in self._rounds.values()]

    def market(self, market_id: str) -> MarketInfo:
        return self._rounds[market_id].info

    def round_of_token(self, token_id: str) -> tuple[Round, bool]:
        return self._by_token[token_id]

    def rounds(self) -> list[Round]:
        return list(self._rounds.values())

    def spot(self, asset: str) -> float:
        return next(s.price for s in self._assets if s.asset == asset)

    def book(self, token_id: str) -> OrderBook:
        """The token's current book as the model has emitted it (events up to now)."""
        rnd, is_up = self._by_token[token_id]
        bids, asks = self._levels(rnd, is_up)
        book = OrderBook(token_id, rnd.info.market_id, self._tick_dec[rnd.tick_milli])
        book.apply_snapshot(BookSnapshot(rnd.info.market_id, token_id, bids, asks, self.now_ms))
        return book

    def tick_size(self, token_id: str) -> Decimal:
        return self._tick_dec[self._by_token[token_id][0].tick_milli]

    def take(
        self, token_id: str, side: Side, limit: Decimal, size: Decimal, ts_ms: int
    ) -> list[tuple[Decimal, Decimal]]:
        """An outside taker (the simulator's order endpoint) walks the book: returns fills
        [(price, size)] and queues the resulting level changes and trades as events."""
        rnd, is_up = self._by_token[token_id]
        if not rnd.book_open or rnd.closed:
            return []
        fills: list[tuple[Decimal, Decimal]] = []
        remaining = int(size * 100)
        lim = int(limit * MILLI)
        events: list[MarketEvent] = []
        while remaining > 0:
            bids, asks = self._own_side_levels(rnd, is_up)
            if side == "BUY":
                if not asks:
                    break
                price = min(asks)
                if price > lim:
                    break
                avail = asks[price]
            else:
                if not bids:
                    break
                price = max(bids)
                if price < lim:
                    break
                avail = bids[price]
            qty = min(avail, remaining)
            remaining -= qty
            self._consume(rnd, is_up, side, price, qty, ts_ms, events)
            fills.append((self._price(price, rnd.tick_milli), self._size(qty)))
        self._pending.extend(events)
        return fills

    # -- listing, stepping ---------------------------------------------------------------------

    def _list_rounds(self, t_ms: int) -> None:
        c = self.config
        for st in self._assets:
            while self._next_start[st.asset] - c.listing_lead_ms <= t_ms:
                start = self._next_start[st.asset]
                self._next_start[st.asset] = start + self._interval_ms
                slug = f"{st.asset.lower()}-updown-{c.interval}-{start // 1000}"
                h = _stable_id(c.seed, slug)
                info = MarketInfo(
                    market_id="0x" + h,
                    slug=slug,
                    asset=st.asset,
                    interval=c.interval,
                    up_token_id=str(int(_stable_id(c.seed, slug + ":up"), 16)),
                    down_token_id=str(int(_stable_id(c.seed, slug + ":down"), 16)),
                    start_ms=start,
                    end_ms=start + self._interval_ms,
                    tick_size=c.tick_size,
                    min_size=c.min_size,
                    fee_rate=c.fee_rate,
                    fee_exponent=c.fee_exponent,
                )
                rnd = Round(info=info, listed_ms=max(t_ms, start - c.listing_lead_ms))
                self._rounds[info.market_id] = rnd
                self._awaiting_book[st.asset].append(rnd)
                self._by_token[info.up_token_id] = (rnd, True)
                self._by_token[info.down_token_id] = (rnd, False)

    def _step(self, t: int) -> None:
        c = self.config
        self._list_rounds(t)
        events: list[MarketEvent] = []
        for st in self._assets:
            self._move_spot(st)
            tick = SpotTick(st.asset, self._spot_dec(st.price), t, self._volume(st))
            if c.book_lag_ms:
                events.append(tick)
            rnd = self._live.get(st.asset)
            if rnd is not None and t >= rnd.info.end_ms:
                self._close(rnd, st, t, events)
                rnd = self._live.pop(st.asset)
                rnd = None
            if rnd is None:
                rnd = self._due_round(st.asset, t)
                if rnd is not None:
                    self._open(rnd, st, t + c.book_lag_ms, events)
            elif t + c.book_lag_ms < rnd.info.end_ms:
                self._requote(rnd, st, t + c.book_lag_ms, events)
                self._random_trade(rnd, st, t, events)
            self._open_books(st.asset, t, events)
            if not c.book_lag_ms:
                events.append(tick)
        while self._unresolved and self._unresolved[0].info.end_ms + c.resolution_delay_ms <= t:
            self._resolve(self._unresolved.popleft(), t, events)
        events.sort(key=lambda e: e.ts_ms)
        self._pending.extend(events)
        self._forget_old_rounds(t)

    def _due_round(self, asset: str, t: int) -> Round | None:
        for rnd in self._rounds.values():
            if rnd.info.asset == asset and not rnd.open and rnd.info.start_ms <= t < rnd.info.end_ms:
                return rnd
        return None

    def _forget_old_rounds(self, t: int) -> None:
        # long backtests must not grow without bound: drop rounds resolved over an hour ago, keeping
        # the last 64 resolved (clients still ask about recent rounds, whatever the speed)
        while len(self._resolved) > 64 and self._resolved[0].info.end_ms < t - 3_600_000:
            r = self._resolved.popleft()
            self._rounds.pop(r.info.market_id, None)
            self._by_token.pop(r.info.up_token_id, None)
            self._by_token.pop(r.info.down_token_id, None)

    def _open_books(self, asset: str, t: int, events: list[MarketEvent]) -> None:
        """Open the books of rounds starting within ``book_lead_ms`` (a round already due opens at
        its start instead)."""
        waiting = self._awaiting_book[asset]
        while waiting and waiting[0].info.start_ms - self.config.book_lead_ms <= t:
            rnd = waiting.popleft()
            if not rnd.book_open and rnd.info.start_ms > t:
                self._pre_open(rnd, t, events)

    def _pre_open(self, rnd: Round, t: int, events: list[MarketEvent]) -> None:
        """Quiet quotes before the start: Up bid 0.50 / ask 0.51 and a few levels behind, sized like
        the live book, from the round's own RNG."""
        c = self.config
        rng = random.Random(_stable_id(c.seed, rnd.info.slug + ":pre"))
        tick = rnd.tick_milli

        def size(k: int) -> int:
            shares = c.touch_shares * (1.0 + 1.6 * k) * rng.lognormvariate(0.0, 0.5)
            return max(int(c.min_size * 100), int(shares) * 100)

        rnd.up_bids = {MILLI // 2 - k * tick: size(k) for k in range(c.levels)}
        rnd.up_asks = {MILLI // 2 + (k + 1) * tick: size(k) for k in range(c.levels)}
        rnd.book_open = True
        events.append(NewMarket(rnd.info, t))
        self._snapshots(rnd, t, events)

    # -- spot ----------------------------------------------------------------------------------

    def _move_spot(self, st: _AssetState) -> None:
        c, rng, dt = self.config, st.rng, self._dt
        logp = math.log(st.price)
        ret = self._sigma_s * math.sqrt(dt) * rng.gauss(0.0, 1.0)
        if rng.random() < c.jumps_per_hour / 3600.0 * dt:
            ret += rng.gauss(0.0, c.jump_size)
            st.burst_steps = int(60 / dt)
        if c.pattern == "momentum":
            if rng.random() < dt / (c.momentum_regime_minutes * 60.0):
                roll = rng.random()
                st.drift = (
                    0.0
                    if roll < 1 / 3
                    else (1.0 if roll < 2 / 3 else -1.0) * c.momentum_drift_bps_per_min / 1e4 / 60.0
                )
                if st.drift:
                    st.burst_steps = int(60 / dt)
            ret += st.drift * dt
        elif c.pattern == "meanReversion":
            ret -= (logp - st.anchor) * dt / (c.reversion_minutes * 60.0)
            st.anchor += (logp - st.anchor) * dt / 7200.0  # the anchor itself drifts over hours
        st.price = math.exp(logp + ret)
        oldest = st.samples[0]
        st.samples.append(st.price)
        st.window_sum += st.price - oldest

    def _volume(self, st: _AssetState) -> Decimal:
        base = 0.8 if st.asset == "BTC" else 12.0
        mult = 5.0 if st.burst_steps > 0 else 1.0
        st.burst_steps = max(0, st.burst_steps - 1)
        return Decimal(f"{base * mult * st.rng.lognormvariate(0.0, 0.6):.4f}")

    def _spot_dec(self, price: float) -> Decimal:
        return Decimal(f"{price:.2f}")

    def _twap(self, st: _AssetState) -> float:
        return st.window_sum / len(st.samples)

    # -- rounds --------------------------------------------------------------------------------

    def _open(self, rnd: Round, st: _AssetState, t: int, events: list[MarketEvent]) -> None:
        rnd.open = rnd.book_open = True
        rnd.up_bids, rnd.up_asks = {}, {}  # the quiet quotes go; the live ladder starts afresh
        rnd.strike = self._twap(st)
        rnd.info = _replace_info(rnd.info, price_to_beat=Decimal(f"{rnd.strike:.2f}"))
        self._live[st.asset] = rnd
        # announced when its book opened: this NewMarket updates the round's info (price to beat);
        # the server does not repeat new_market on the wire for it
        events.append(NewMarket(rnd.info, t))
        self._quote(rnd, st, t)
        self._snapshots(rnd, t, events)

    def _close(self, rnd: Round, st: _AssetState, t: int, events: list[MarketEvent]) -> None:
        rnd.closed = True
        rnd.final = self._twap(st)
        rnd.up_bids.clear()
        rnd.up_asks.clear()
        self._unresolved.append(rnd)

    def _resolve(self, rnd: Round, t: int, events: list[MarketEvent]) -> None:
        rnd.resolved = True
        self._resolved.append(rnd)
        final = Decimal(f"{rnd.final:.2f}")
        strike = rnd.info.price_to_beat
        if strike is None:  # set when the round opens
            raise RuntimeError(f"round {rnd.info.slug} resolves without a price to beat")
        up = final >= strike  # ties resolve Up (≥), compared as published
        events.append(
            MarketResolved(
                rnd.info.market_id,
                rnd.info.up_token_id if up else rnd.info.down_token_id,
                "Up" if up else "Down",
                t,
                final_price=final,
            )
        )

    def resolution(self, market_id: str) -> str | None:
        rnd = self._rounds[market_id]
        if rnd.final is None or rnd.info.price_to_beat is None:
            return None
        return "Up" if Decimal(f"{rnd.final:.2f}") >= rnd.info.price_to_beat else "Down"

    # -- books ---------------------------------------------------------------------------------

    def _fair(self, rnd: Round, st: _AssetState, t: int) -> float:
        tau = max(0.0, (rnd.info.end_ms - t) / 1000.0)
        window = self.config.twap_window_ms / 1000.0
        observed = 0.0
        if tau < window:
            n_in = int(window - tau)  # samples already inside the final window
            observed = sum(list(st.samples)[-n_in:]) if n_in > 0 else 0.0
        return fair_up_probability(
            st.price, rnd.strike or st.price, tau, self._pricing_sigma_s, observed, window
        )

    def _target_ladder(self, rnd: Round, fair: float) -> tuple[dict[int, int], dict[int, int]]:
        c, rng = self.config, self._assets[0].rng
        tick = rnd.tick_milli
        if rng.random() < 0.08:  # the spread re-rolls now and then: 1 tick ~57 %, else 2–3
            r = rng.random()
            rnd.spread_ticks = 1 if r < 0.57 else (2 if r < 0.85 else 3)
        n_ticks = MILLI // tick
        f = fair * n_ticks
        bid_i = math.floor(f - rnd.spread_ticks / 2 + 0.5)
        bid_i = min(max(bid_i, 1), n_ticks - 1 - rnd.spread_ticks)
        bid_i = max(bid_i, 0)
        ask_i = bid_i + rnd.spread_ticks
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for k in range(c.levels):
            if bid_i - k >= 1:
                p = (bid_i - k) * tick
                bids[p] = rnd.up_bids.get(p) or self._fresh_size(k)
            if ask_i + k <= n_ticks - 1:
                p = (ask_i + k) * tick
                asks[p] = rnd.up_asks.get(p) or self._fresh_size(k)
        # a resting order is refreshed now and then, so sizes move without churning every level
        for levels in (bids, asks):
            for p in levels:
                if rng.random() < 0.03:
                    levels[p] = self._fresh_size(0 if p in (bid_i * tick, ask_i * tick) else 2)
        return bids, asks

    def _fresh_size(self, depth_index: int) -> int:
        rng = self._assets[0].rng
        shares = self.config.touch_shares * (1.0 + 1.6 * depth_index) * rng.lognormvariate(0.0, 0.5)
        return max(int(self.config.min_size * 100), int(shares) * 100)

    def _quote(self, rnd: Round, st: _AssetState, t: int) -> None:
        bids, asks = self._target_ladder(rnd, self._fair(rnd, st, t))
        rnd.up_bids, rnd.up_asks = bids, asks

    def _requote(self, rnd: Round, st: _AssetState, t: int, events: list[MarketEvent]) -> None:
        fair = self._fair(rnd, st, t)
        band = float(self.config.extreme_band)
        want_fine = fair < band or fair > 1 - band
        if want_fine != (rnd.tick_milli == 1) and (want_fine or band * 1.5 < fair < 1 - band * 1.5):
            self._change_tick(rnd, 1 if want_fine else 10, t, events)
            rnd.up_bids, rnd.up_asks = self._target_ladder(rnd, fair)
            self._snapshots(rnd, t, events)
            return
        bids, asks = self._target_ladder(rnd, fair)
        # removals before additions, so the book is never crossed between two events
        changes: list[tuple[int, int, Side]] = [(p, size, "BUY") for p, size in _diff(rnd.up_bids, bids)] + [
            (p, size, "SELL") for p, size in _diff(rnd.up_asks, asks)
        ]
        changes.sort(key=lambda c: c[1] != 0)
        for p, size, side in changes:
            self._emit_level(rnd, side, p, size, t, events)
        rnd.up_bids, rnd.up_asks = bids, asks

    def _change_tick(self, rnd: Round, tick_milli: int, t: int, events: list[MarketEvent]) -> None:
        old, new = self._tick_dec[rnd.tick_milli], self._tick_dec[tick_milli]
        rnd.tick_milli = tick_milli
        for tok in (rnd.info.up_token_id, rnd.info.down_token_id):
            events.append(TickSizeChange(rnd.info.market_id, tok, old, new, t))
        rnd.info = _replace_info(rnd.info, tick_size=new)

    def _emit_level(
        self, rnd: Round, up_side: Side, p: int, size: int, t: int, events: list[MarketEvent]
    ) -> None:
        """One Up level changed; the Down book's mirror level changes with it."""
        info, tick = rnd.info, rnd.tick_milli
        down_side: Side = "SELL" if up_side == "BUY" else "BUY"
        events.append(
            PriceChange(info.market_id, info.up_token_id, up_side, self._price(p, tick), self._size(size), t)
        )
        events.append(
            PriceChange(
                info.market_id,
                info.down_token_id,
                down_side,
                self._price(MILLI - p, tick),
                self._size(size),
                t,
            )
        )

    def _own_side_levels(self, rnd: Round, is_up: bool) -> tuple[dict[int, int], dict[int, int]]:
        if is_up:
            return rnd.up_bids, rnd.up_asks
        return (
            {MILLI - p: s for p, s in rnd.up_asks.items()},
            {MILLI - p: s for p, s in rnd.up_bids.items()},
        )

    def _consume(
        self, rnd: Round, is_up: bool, side: Side, price: int, qty: int, t: int, events: list[MarketEvent]
    ) -> None:
        """A taker on token (is_up) with ``side`` takes ``qty`` at its own-book ``price``."""
        # in Up terms: buying Up or selling Down hits the Up asks; the other two hit the Up bids
        hits_up_asks = (side == "BUY") == is_up
        up_price = price if is_up else MILLI - price
        levels = rnd.up_asks if hits_up_asks else rnd.up_bids
        left = levels.get(up_price, 0) - qty
        if left > 0:
            levels[up_price] = left
        else:
            levels.pop(up_price, None)
        self._emit_level(rnd, "SELL" if hits_up_asks else "BUY", up_price, max(left, 0), t, events)
        token = rnd.info.up_token_id if is_up else rnd.info.down_token_id
        rnd.last_trade_milli = up_price
        fee_bps = int(self.config.fee_rate * 10_000)
        events.append(
            LastTrade(
                rnd.info.market_id,
                token,
                self._price(price, rnd.tick_milli),
                self._size(qty),
                side,
                t,
                fee_bps,
            )
        )

    def _random_trade(self, rnd: Round, st: _AssetState, t: int, events: list[MarketEvent]) -> None:
        rng = st.rng
        if rng.random() >= self.config.trades_per_minute / 60.0 * self._dt:
            return
        is_up = rng.random() < 0.5
        side: Side = "BUY" if rng.random() < 0.5 else "SELL"
        bids, asks = self._own_side_levels(rnd, is_up)
        levels = asks if side == "BUY" else bids
        if not levels:
            return
        price = min(levels) if side == "BUY" else max(levels)
        qty = min(levels[price], max(500, int(rng.expovariate(1 / 40.0)) * 100))
        ts = (
            t + self.config.book_lag_ms + rng.randrange(1, self.config.step_ms - self.config.book_lag_ms)
        )  # between steps
        if ts >= rnd.info.end_ms:
            return
        self._consume(rnd, is_up, side, price, qty, ts, events)

    def _snapshots(self, rnd: Round, t: int, events: list[MarketEvent]) -> None:
        tick = self._tick_dec[rnd.tick_milli]
        for tok, is_up in ((rnd.info.up_token_id, True), (rnd.info.down_token_id, False)):
            bids, asks = self._levels(rnd, is_up)
            events.append(BookSnapshot(rnd.info.market_id, tok, bids, asks, t, tick_size=tick))

    def _levels(
        self, rnd: Round, is_up: bool
    ) -> tuple[tuple[tuple[Decimal, Decimal], ...], tuple[tuple[Decimal, Decimal], ...]]:
        bids, asks = self._own_side_levels(rnd, is_up)
        tick = rnd.tick_milli
        return (
            tuple((self._price(p, tick), self._size(s)) for p, s in sorted(bids.items(), reverse=True)),
            tuple((self._price(p, tick), self._size(s)) for p, s in sorted(asks.items())),
        )

    def _price(self, milli: int, tick_milli: int) -> Decimal:
        key = (milli, tick_milli)
        d = self._price_cache.get(key)
        if d is None:
            d = self._price_cache[key] = Decimal(milli).scaleb(-3).quantize(self._tick_dec[tick_milli])
        return d

    def _size(self, cents: int) -> Decimal:
        d = self._size_cache.get(cents)
        if d is None:
            d = self._size_cache[cents] = Decimal(cents).scaleb(-2)
        return d


def _diff(old: dict[int, int], new: dict[int, int]) -> list[tuple[int, int]]:
    """(price, new size) of every level whose size changed; size 0 means removed."""
    return [(p, new.get(p, 0)) for p in sorted(old.keys() | new.keys()) if old.get(p, 0) != new.get(p, 0)]


def _replace_info(info: MarketInfo, **changes: Any) -> MarketInfo:
    from dataclasses import replace

    return replace(info, **changes)


def simulate(config: SimConfig, duration_ms: int) -> Iterator[MarketEvent]:
    """Every event from ``config.start_ms`` for ``duration_ms``, as fast as it can be made."""
    sim = MarketSimulator(config)
    end = config.start_ms + duration_ms
    t = config.start_ms
    chunk = 60_000
    while t < end:
        t = min(t + chunk, end)
        yield from sim.advance_to(t)
