"""Gamma discovery of Up/Down rounds by computed slug (research §1).

The slug of the round starting at ``s`` (unix seconds on the interval grid) is
``{asset}-updown-{interval}-{s}``; we compute the current and next ones instead of paging Gamma.
Lists inside markets are JSON strings inside JSON; Up/Down are mapped by label; tick, minimum
size, fee schedule, neg-risk, protocol version and the price to beat are read per market.

A market with ``feesEnabled`` but no ``feeSchedule`` (Gamma's shape before mid-2026) keeps its
round: the fee comes from the CLOB's market info (``/clob-markets/{condition_id}`` → ``fd``) when a
CLOB URL is known, else from the documented default for its category; either way it is logged.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

from tradingfloor.market.codec import FrameError, interval_ms, map_outcomes
from tradingfloor.market.codec import to_decimal as _dec
from tradingfloor.market.events import MarketInfo, parse_asset
from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.market.gamma")
# Gamma answers 403 to the default Python User-Agent (research §1.1)
USER_AGENT = "Mozilla/5.0 (compatible; trading-floor/0.1)"


# Documented taker fee rates per category (docs.polymarket.com/trading/fees, as tabled in
# NautilusTrader's Polymarket guide, 2026); exponent 1. Used only when neither Gamma nor the CLOB
# says what a fee-enabled market charges.
CATEGORY_FEE_RATES: dict[str, Decimal] = {
    "crypto": Decimal("0.072"),
    "sports": Decimal("0.03"),
    "finance": Decimal("0.04"),
    "politics": Decimal("0.04"),
    "mentions": Decimal("0.04"),
    "tech": Decimal("0.04"),
    "economics": Decimal("0.05"),
    "culture": Decimal("0.05"),
    "weather": Decimal("0.05"),
    "other": Decimal("0.05"),
    "geopolitics": Decimal(0),
}


def fee_category(m: dict) -> str:
    """The fee category of a Gamma market: from ``feeType`` (``crypto_fees``, ``crypto_fees_v2`` …);
    up/down rounds are crypto markets whatever else they say."""
    fee_type = str(m.get("feeType") or "").lower()
    for category in CATEGORY_FEE_RATES:
        if fee_type.startswith(category):
            return category
    return "crypto" if "-updown-" in str(m.get("slug", "")) else "other"


class MarketNotReady(Exception):
    """Listed, but its token ids are not published yet (the CLOB hydration window)."""


def round_start_ms(now_ms: int, interval: str) -> int:
    step = interval_ms(interval)
    return now_ms // step * step


def round_slug(asset: str, interval: str, start_ms: int) -> str:
    return f"{asset.lower()}-updown-{interval}-{start_ms // 1000}"


def _iso_ms(value: Any, name: str) -> int:
    if not isinstance(value, str):
        raise FrameError(f"{name} must be an ISO time string")
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise FrameError(f"{name} is not an ISO time: {value!r}") from None


def parse_gamma_market(
    m: dict, event: dict | None = None, *, clob_fee: tuple[Decimal, int] | None = None
) -> MarketInfo:
    """A Gamma market object (and its event, for the price to beat) → ``MarketInfo``.

    ``clob_fee`` (rate, exponent), read from the CLOB, stands in for a missing ``feeSchedule``.
    Raises ``MarketNotReady`` while token ids are empty and ``FrameError`` naming a bad field."""
    if not isinstance(m, dict):
        raise FrameError("Gamma market must be an object")
    slug = m.get("slug")
    if not isinstance(slug, str) or "-updown-" not in slug:
        raise FrameError(f"not an up/down market slug: {slug!r}")
    asset, _, rest = slug.partition("-updown-")
    interval, _, start_s = rest.partition("-")
    tokens = m.get("clobTokenIds")
    if tokens in (None, "", "[]", []):
        raise MarketNotReady(slug)
    up, down = map_outcomes(m.get("outcomes"), tokens, slug)
    if event is None and isinstance(m.get("events"), list) and m["events"]:
        event = m["events"][0]
    start_ms = (
        _iso_ms(m["eventStartTime"], "eventStartTime") if m.get("eventStartTime") else int(start_s) * 1000
    )
    end_ms = _iso_ms(m.get("endDate"), "endDate")
    fees_enabled = bool(m.get("feesEnabled", False))
    schedule = m.get("feeSchedule")
    if isinstance(schedule, dict):
        fee_rate, fee_exponent = (
            _dec(schedule.get("rate"), "feeSchedule.rate"),
            int(schedule.get("exponent", 1)),
        )
    elif not fees_enabled:
        fee_rate, fee_exponent = Decimal(0), 1
    elif clob_fee is not None:
        fee_rate, fee_exponent = clob_fee
        log.warning("gamma_fee_schedule_missing", slug=slug, source="clob", rate=str(fee_rate))
    else:
        category = fee_category(m)
        fee_rate, fee_exponent = CATEGORY_FEE_RATES[category], 1
        log.warning(
            "gamma_fee_schedule_missing",
            slug=slug,
            source="category default",
            category=category,
            rate=str(fee_rate),
        )
    meta = (event or {}).get("eventMetadata") or {}
    ptb = meta.get("priceToBeat") if isinstance(meta, dict) else None
    return MarketInfo(
        market_id=str(m.get("conditionId") or ""),
        slug=slug,
        asset=parse_asset(asset),
        interval=interval,
        up_token_id=up,
        down_token_id=down,
        start_ms=start_ms,
        end_ms=end_ms,
        tick_size=_dec(m.get("orderPriceMinTickSize"), "orderPriceMinTickSize"),
        min_size=_dec(m.get("orderMinSize"), "orderMinSize"),
        fee_rate=fee_rate,
        fee_exponent=fee_exponent,
        neg_risk=bool(m.get("negRisk", False)),
        version=str(m.get("version") or "v1"),
        price_to_beat=_dec(ptb, "priceToBeat") if ptb is not None else None,
    )


def clob_fee_of(market_info: Any) -> tuple[Decimal, int] | None:
    """(rate, exponent) from the CLOB's compact market info (``fd: {r, e, to}``), or None."""
    fd = market_info.get("fd") if isinstance(market_info, dict) else None
    if not isinstance(fd, dict) or fd.get("r") is None:
        return None
    try:
        return _dec(fd["r"], "fd.r"), int(fd.get("e", 1))
    except (FrameError, TypeError, ValueError):
        return None


class GammaClient:
    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        timeout_s: float = 10.0,
        *,
        clob_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clob_url = clob_url.rstrip("/") if clob_url else None
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def _get(self, path: str, params: dict | None = None, *, base: str | None = None) -> Any:
        async with self.session.get(
            f"{base or self.base_url}{path}",
            params=params,
            timeout=self.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        ) as resp:
            if resp.status == 404:
                return None
            resp.raise_for_status()
            return await resp.json(content_type=None)

    async def event_by_slug(self, slug: str) -> dict | None:
        body = await self._get("/events", {"slug": slug})
        if isinstance(body, list):
            return body[0] if body else None
        return body if isinstance(body, dict) else None

    async def fetch_round(self, slug: str) -> MarketInfo | None:
        """The round's market info; None when Gamma does not list it; ``MarketNotReady`` while hydrating."""
        event = await self.event_by_slug(slug)
        if event is None:
            return None
        markets = event.get("markets")
        if not isinstance(markets, list) or not markets:
            raise FrameError(f"event {slug} has no markets")
        return parse_gamma_market(markets[0], event, clob_fee=await self._clob_fee(markets[0]))

    async def _clob_fee(self, m: Any) -> tuple[Decimal, int] | None:
        """The CLOB's fee for a fee-enabled market Gamma gives no schedule for (None otherwise, or
        when the CLOB cannot say: the category default applies then)."""
        if (
            self.clob_url is None
            or not isinstance(m, dict)
            or not m.get("feesEnabled")
            or isinstance(m.get("feeSchedule"), dict)
            or not m.get("conditionId")
        ):
            return None
        try:
            info = await self._get(f"/clob-markets/{m['conditionId']}", base=self.clob_url)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("clob_fee_lookup_failed", condition_id=m["conditionId"], error=str(exc))
            return None
        return clob_fee_of(info)


async def discover_rounds(
    gamma: GammaClient,
    asset: str,
    interval: str,
    now_ms: int,
    count: int = 2,
    *,
    retries: int = 12,
    retry_delay_s: float = 5.0,
) -> list[MarketInfo]:
    """The current round and the next ``count - 1``, skipping unlisted ones; a round whose token
    ids are not published yet is retried up to ``retries`` times ``retry_delay_s`` apart."""
    start = round_start_ms(now_ms, interval)
    step = interval_ms(interval)
    found: list[MarketInfo] = []
    for k in range(count):
        slug = round_slug(asset, interval, start + k * step)
        for attempt in range(retries + 1):
            try:
                info = await gamma.fetch_round(slug)
            except MarketNotReady:
                if attempt == retries:
                    log.warning("round_not_ready", slug=slug, attempts=attempt + 1)
                    break
                await asyncio.sleep(retry_delay_s)
                continue
            if info is not None:
                found.append(info)
            break
    return found
