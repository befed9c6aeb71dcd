"""Floor-wide deployed capital, shared by every agent: a Redis hash ``tf:exposure`` with one field
per agent, in integer micro-dollars (exact; 1 USDC = 1 000 000).

``reserve(agent, amount, cap)`` adds ``amount`` to the agent's share only if the floor's total
stays within ``cap`` — one Lua script, so two agents can never both pass the check and together
exceed the cap. ``release`` gives capital back (never below zero). A restarted agent calls
``reset(agent, open_exposure)`` with what its reconciled open positions actually hold, which
replaces whatever its previous life left behind without touching the other agents' shares.
Amounts are rounded up to the micro-dollar (so a reserve is never understated) and the same
rounding on release returns exactly what was reserved.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import redis.asyncio as aioredis

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
