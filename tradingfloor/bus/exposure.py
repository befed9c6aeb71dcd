"""Floor-wide deployed capital, shared by every agent: a Redis hash ``tf:exposure`` with one field
per agent, in integer micro-dollars (exact; 1 USDC = 1 000 000).

``reserve(agent, amount, cap)`` adds ``amount`` to the agent's share only if the floor's total
stays within ``cap`` — one Lua script, so two agents can never both pass the check and together
exceed the cap. ``release`` gives capital back (never below zero). A restarted agent calls
``reset(agent, open_exposure)`` with what its reconciled open positions actually hold, which
replaces whatever its previous life left behind without touching the other agents' shares.
Amounts are rounded up to the micro-dollar (so a reserve is never understated) and the same
rounding on release returns exactly what was reserved.

:class:`RedisFloorCapital` is the trading engine's synchronous floor-capital port on this ledger.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import redis as sync_redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tradingfloor.observability.logging import get_logger

log = get_logger("tradingfloor.bus.exposure")

KEY = "tf:exposure"
MICRO = Decimal("0.000001")
_SCALE = 1_000_000

_RESERVE = """
local amount = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    total = total + tonumber(v)
end
if total + amount > cap then
    return {0, total}
end
redis.call('HINCRBY', KEYS[1], ARGV[1], amount)
return {1, total + amount}
"""

_RELEASE = """
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local amount = tonumber(ARGV[2])
local left = held - amount
if left <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[1])
    return {held, 0}
end
redis.call('HSET', KEYS[1], ARGV[1], left)
return {amount, left}
"""


def to_micro(amount: Decimal) -> int:
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"exposure amounts must be finite and non-negative, got {amount}")
    return int((amount / MICRO).to_integral_value(rounding=ROUND_CEILING))


def from_micro(value: int | str | bytes | None) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bytes):
        value = value.decode()
    return Decimal(int(value)) / _SCALE  # exact, without trailing zeros: 1500000 -> 1.5


class ExposureLedger:
    def __init__(self, redis: aioredis.Redis, key: str = KEY) -> None:
        self.redis = redis
        self.key = key
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)

    async def reserve(self, agent: str, amount: Decimal, cap: Decimal) -> bool:
        """Add ``amount`` to ``agent``'s share if the floor total stays within ``cap``."""
        ok, _total = await self._reserve(keys=[self.key], args=[agent, to_micro(amount), int(cap / MICRO)])
        return bool(int(ok))

    async def release(self, agent: str, amount: Decimal) -> Decimal:
        """Give back up to ``amount`` of ``agent``'s share; returns what was released."""
        released, _left = await self._release(keys=[self.key], args=[agent, to_micro(amount)])
        return from_micro(int(released))

    async def reset(self, agent: str, amount: Decimal = Decimal(0)) -> None:
        """Set ``agent``'s share to exactly ``amount`` (a restarted agent's reconciled exposure)."""
        micro = to_micro(amount)
        if micro:
            await self.redis.hset(self.key, agent, micro)
        else:
            await self.redis.hdel(self.key, agent)

    async def of(self, agent: str) -> Decimal:
        return from_micro(await self.redis.hget(self.key, agent))

    async def total(self) -> Decimal:
        values = await self.redis.hvals(self.key)
        return from_micro(sum(int(v) for v in values))

    async def shares(self) -> dict[str, Decimal]:
        raw = await self.redis.hgetall(self.key)
        return {(k.decode() if isinstance(k, bytes) else k): from_micro(v) for k, v in raw.items()}


class RedisFloorCapital:
    """The trading engine's :class:`~tradingfloor.trading.risk.FloorCapital` port on this shared
    ledger, for one agent, with the floor-wide ``cap``.

    Design: the port is synchronous (the engine is pure and synchronous; a live trader runs it in a
    worker thread), so the adapter keeps a synchronous Redis client of its own. A reservation is
    the same atomic Lua script as :meth:`ExposureLedger.reserve`. A local view of the floor's total
    refreshed in the background would be unsound: two agents could each pass against a stale total
    and together exceed the cap, which is a hard risk limit.

    Credit: so that the order path needs no Redis round trip, the agent reserves its next order's
    worth ahead (``top_up`` to ``credit_target``, called after an order's step and on start); an
    order that fits in that credit is reserved locally, one that does not reserves the shortfall in
    Redis there and then. The credit is part of the agent's share in Redis, so the floor's total
    never understates what agents may deploy; the price is that an idle agent holds up to one
    order's worth of the cap. Releases go to the credit first and anything above the target goes
    back to Redis at once; ``close`` gives the credit back. With ``credit_target`` 0 every
    reservation is a round trip.

    Failures never understate the floor's deployed capital: ``reserve`` refuses (no order without
    a reservation) when Redis cannot be asked and the credit does not cover it; a ``release`` that
    fails is remembered and retried before the next call; ``reset`` (on start) raises, as a trader
    cannot work without Redis.
    """

    def __init__(
        self, redis_url: str, agent: str, cap: Decimal, *, key: str = KEY, socket_timeout: float = 2.0
    ) -> None:
        if not isinstance(cap, Decimal) or not cap.is_finite() or cap < 0:
            raise ValueError(f"floor capital cap must be a finite, non-negative Decimal, got {cap!r}")
        self.agent = agent
        self.cap = cap
        self.key = key
        self.redis = sync_redis.Redis.from_url(
            redis_url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._reserve = self.redis.register_script(_RESERVE)
        self._release = self.redis.register_script(_RELEASE)
        self.unreleased = 0  # micro-dollars released by the engine that Redis has not taken yet
        self.credit = 0  # micro-dollars of this agent's share reserved ahead of its orders
        self.credit_target = 0

    def _flush_releases(self) -> None:
        if not self.unreleased:
            return
        try:
            self._release(keys=[self.key], args=[self.agent, self.unreleased])
            self.unreleased = 0
        except (RedisError, OSError) as exc:
            log.warning(
                "floor_capital.release_failed",
                agent=self.agent,
                pending=str(from_micro(self.unreleased)),
                error=f"{type(exc).__name__}: {exc}",
            )

    def _reserve_micro(self, micro: int) -> bool:
        """The atomic check-and-add in Redis; False when refused or Redis cannot be asked."""
        self._flush_releases()
        try:
            ok, _total = self._reserve(keys=[self.key], args=[self.agent, micro, int(self.cap / MICRO)])
        except (RedisError, OSError) as exc:
            log.warning(
                "floor_capital.reserve_refused",
                agent=self.agent,
                amount=str(from_micro(micro)),
                error=f"Redis unavailable: {type(exc).__name__}: {exc}",
            )
            return False
        return bool(int(ok))

    def reserve(self, amount: Decimal) -> bool:
        micro = to_micro(amount)
        if micro <= self.credit:  # reserved ahead: no round trip
            self.credit -= micro
            return True
        if not self._reserve_micro(micro - self.credit):
            return False
        self.credit = 0
        return True

    def release(self, amount: Decimal) -> None:
        self.credit += to_micro(amount)
        self._return_surplus()

    def _return_surplus(self) -> None:
        surplus = self.credit - self.credit_target
        if surplus > 0:
            self.credit -= surplus
            self.unreleased += surplus
            self._flush_releases()

    def set_credit_target(self, amount: Decimal) -> None:
        """How much to hold ahead: the largest order the agent may place next (0: none)."""
        self.credit_target = to_micro(amount)
        self._return_surplus()

    def top_up(self) -> None:
        """Reserve the credit back up to its target, off the order path. Refused near the cap or
        with Redis away: the next order then reserves in Redis itself."""
        self._flush_releases()
        missing = self.credit_target - self.credit
        if missing > 0 and self._reserve_micro(missing):
            self.credit += missing

    def reset(self, amount: Decimal) -> None:
        """Set this agent's share to exactly ``amount``: what its restored engine holds."""
        self.unreleased = 0
        self.credit = 0
        micro = to_micro(amount)
        if micro:
            self.redis.hset(self.key, self.agent, micro)
        else:
            self.redis.hdel(self.key, self.agent)

    def share(self) -> Decimal:
        return from_micro(self.redis.hget(self.key, self.agent))

    def close(self) -> None:
        """Give the credit back (a crash leaves it until the agent's next ``reset``) and close."""
        self.unreleased += self.credit
        self.credit = 0
        self._flush_releases()
        self.redis.close()
