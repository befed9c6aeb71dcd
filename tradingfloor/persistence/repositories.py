"""A thin typed layer over the floor's SQL: one frozen dataclass per row, one function per query.

Every function takes an *executor*: an ``asyncpg.Connection``, an ``asyncpg.Pool`` or a
:class:`~tradingfloor.persistence.db.Database` (anything with ``execute``/``fetch``/``fetchrow``/
``fetchval``). Money, prices and sizes are ``Decimal`` (NUMERIC columns); timestamps are
timezone-aware ``datetime`` (``ts_from_ms`` converts the trading core's epoch milliseconds).

Writes that must not happen twice are keyed: ``record_order`` (client order id), ``record_fill``
(fill id), ``record_trade`` (idempotency key), ``save_checkpoint`` (agent + seq),
``insert_performance`` (agent + period + ts), ``record_event`` (optional event key) and
``append_audit`` (seq) insert with ``ON CONFLICT DO NOTHING`` and return whether a row was added,
so a retry or a replayed journal is a no-op.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from tradingfloor.audit.chain import AuditEntry

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ZERO = Decimal(0)

AgentKind = Literal["TraderAgent", "Auditor", "Monitor"]
OrderStatus = Literal[
    "new", "pending", "resting", "partial", "filled", "cancelled", "rejected", "expired", "duplicate"
]
OPEN_ORDER_STATUSES: tuple[str, ...] = ("new", "pending", "resting", "partial")


class Executor(Protocol):
    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str: ...
    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None) -> Any: ...
    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts_from_ms(ms: int) -> datetime:
    """Epoch milliseconds (the trading core's clock) as an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(milliseconds=ms)


def ms_from_ts(ts: datetime) -> int:
    """An aware datetime as epoch milliseconds (sub-millisecond part dropped)."""
    if ts.tzinfo is None:
        raise ValueError(f"ts must be timezone-aware, got naive {ts.isoformat()}")
    return (ts - _EPOCH) // timedelta(milliseconds=1)


def _aware(ts: datetime | None, what: str) -> datetime | None:
    if ts is not None and ts.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {ts.isoformat()}")
    return ts


T = TypeVar("T", bound="DataclassInstance")


def _from_record(cls: type[T], record: Any) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in dict(record).items() if k in names})


def _maybe(cls: type[T], record: Any) -> T | None:
    return None if record is None else _from_record(cls, record)


def _inserted(status: str) -> bool:
    """Whether an ``INSERT … ON CONFLICT DO NOTHING`` status string (``INSERT 0 n``) added a row."""
    return status.split()[-1] != "0"


# --- agents --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRow:
    name: str
    kind: AgentKind
    spec: dict[str, Any]
    status: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    spec_generation: int = 1
    generation: int = 0
    parent: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    retired_at: datetime | None = None


_AGENT_COLUMNS = "name, kind, spec, status, labels, spec_generation, generation, parent, created_at, updated_at, retired_at"


async def upsert_agent(
    ex: Executor,
    name: str,
    kind: AgentKind,
    spec: dict[str, Any],
    *,
    labels: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    generation: int = 0,
    parent: str | None = None,
) -> AgentRow:
    """Create the agent or update its spec, labels and lineage; ``spec_generation`` goes up by one
    when the spec actually changes. ``status`` is replaced only when given (the owner of status
    normally writes it with :func:`set_agent_status` / :func:`patch_agent_status`). The kind of an
    existing agent cannot change."""
    row = await ex.fetchrow(
        f"""
        INSERT INTO agents AS a (name, kind, spec, status, labels, generation, parent)
        VALUES ($1, $2, $3, coalesce($4, '{{}}'::jsonb), coalesce($5, '{{}}'::jsonb), $6, $7)
        ON CONFLICT (name) DO UPDATE SET
            spec = EXCLUDED.spec,
            status = CASE WHEN $4::jsonb IS NULL THEN a.status ELSE EXCLUDED.status END,
            labels = EXCLUDED.labels,
            generation = EXCLUDED.generation,
            parent = EXCLUDED.parent,
            spec_generation = a.spec_generation + CASE WHEN a.spec = EXCLUDED.spec THEN 0 ELSE 1 END,
            updated_at = now()
        WHERE a.kind = EXCLUDED.kind
        RETURNING {_AGENT_COLUMNS}
        """,
        name,
        kind,
        spec,
        status,
        labels,
        generation,
        parent,
    )
    if row is None:
        existing = await get_agent(ex, name)
        raise ValueError(f"agent {name!r} exists as a {existing.kind if existing else '?'}, not a {kind}")
    return _from_record(AgentRow, row)


async def get_agent(ex: Executor, name: str) -> AgentRow | None:
    return _maybe(AgentRow, await ex.fetchrow(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE name = $1", name))


async def list_agents(
    ex: Executor, *, kind: AgentKind | None = None, include_retired: bool = True
) -> list[AgentRow]:
    rows = await ex.fetch(
        f"""SELECT {_AGENT_COLUMNS} FROM agents
            WHERE ($1::text IS NULL OR kind = $1) AND ($2 OR retired_at IS NULL)
            ORDER BY name""",
        kind,
        include_retired,
    )
    return [_from_record(AgentRow, r) for r in rows]


async def set_agent_status(ex: Executor, name: str, status: dict[str, Any]) -> bool:
    """Replace the agent's status; False when there is no such agent."""
    return (
        await ex.execute("UPDATE agents SET status = $2, updated_at = now() WHERE name = $1", name, status)
    ) != "UPDATE 0"


async def patch_agent_status(ex: Executor, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
    """Merge ``patch`` into the status (top-level keys replaced, others kept); returns the new
    status, or None when there is no such agent. Atomic, so two writers of different keys (the
    supervisor's restarts, the agent's performance) never undo each other."""
    return await ex.fetchval(
        "UPDATE agents SET status = status || $2::jsonb, updated_at = now() WHERE name = $1 RETURNING status",
        name,
        patch,
    )


async def retire_agent(ex: Executor, name: str, at: datetime | None = None) -> bool:
    """Mark the agent retired (idempotent: the first retirement time is kept)."""
    return (
        await ex.execute(
            "UPDATE agents SET retired_at = coalesce(retired_at, $2), updated_at = now() WHERE name = $1",
            name,
            _aware(at, "at") or utcnow(),
        )
    ) != "UPDATE 0"


async def delete_agent(ex: Executor, name: str) -> bool:
    return (await ex.execute("DELETE FROM agents WHERE name = $1", name)) != "DELETE 0"


# --- markets -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketRow:
    condition_id: str
    slug: str
    asset: str
    interval: str
    up_token_id: str
    down_token_id: str
    start_ts: datetime
    end_ts: datetime
    tick_size: Decimal
    min_size: Decimal
    fee_rate: Decimal = ZERO
    fee_exponent: int = 0
    neg_risk: bool = False
    price_to_beat: Decimal | None = None
    resolution: Literal["Up", "Down"] | None = None
    winning_token_id: str | None = None
    final_price: Decimal | None = None
    resolved_at: datetime | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_info(cls, info: Any) -> MarketRow:
        """From a :class:`tradingfloor.market.events.MarketInfo`."""
        return cls(
            info.market_id,
            info.slug,
            info.asset,
            info.interval,
            info.up_token_id,
            info.down_token_id,
            ts_from_ms(info.start_ms),
            ts_from_ms(info.end_ms),
            info.tick_size,
            info.min_size,
            info.fee_rate,
            info.fee_exponent,
            info.neg_risk,
            info.price_to_beat,
            info={"version": info.version},
        )


_MARKET_COLUMNS = (
    "condition_id, slug, asset, interval, up_token_id, down_token_id, start_ts, end_ts, tick_size, "
    "min_size, fee_rate, fee_exponent, neg_risk, price_to_beat, resolution, winning_token_id, "
    "final_price, resolved_at, info"
)


async def upsert_market(ex: Executor, m: MarketRow) -> None:
    """Insert or refresh a market's terms (tick size, fees, …). A resolution already stored is kept
    unless ``m`` carries one."""
    await ex.execute(
        f"""
        INSERT INTO markets AS t ({_MARKET_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
        ON CONFLICT (condition_id) DO UPDATE SET
            slug = EXCLUDED.slug, asset = EXCLUDED.asset, interval = EXCLUDED.interval,
            up_token_id = EXCLUDED.up_token_id, down_token_id = EXCLUDED.down_token_id,
            start_ts = EXCLUDED.start_ts, end_ts = EXCLUDED.end_ts, tick_size = EXCLUDED.tick_size,
            min_size = EXCLUDED.min_size, fee_rate = EXCLUDED.fee_rate, fee_exponent = EXCLUDED.fee_exponent,
            neg_risk = EXCLUDED.neg_risk, price_to_beat = coalesce(EXCLUDED.price_to_beat, t.price_to_beat),
            resolution = coalesce(EXCLUDED.resolution, t.resolution),
            winning_token_id = coalesce(EXCLUDED.winning_token_id, t.winning_token_id),
            final_price = coalesce(EXCLUDED.final_price, t.final_price),
            resolved_at = coalesce(EXCLUDED.resolved_at, t.resolved_at),
            info = t.info || EXCLUDED.info,
            updated_at = now()
        """,
        m.condition_id,
        m.slug,
        m.asset,
        m.interval,
        m.up_token_id,
        m.down_token_id,
        _aware(m.start_ts, "start_ts"),
        _aware(m.end_ts, "end_ts"),
        m.tick_size,
        m.min_size,
        m.fee_rate,
        m.fee_exponent,
        m.neg_risk,
        m.price_to_beat,
        m.resolution,
        m.winning_token_id,
        m.final_price,
        _aware(m.resolved_at, "resolved_at"),
        m.info,
    )


async def resolve_market(
    ex: Executor,
    condition_id: str,
    resolution: Literal["Up", "Down"],
    winning_token_id: str,
    resolved_at: datetime,
    final_price: Decimal | None = None,
) -> bool:
    """Record the outcome (first resolution wins; a second call is a no-op returning False)."""
    return (
        await ex.execute(
            """UPDATE markets SET resolution = $2, winning_token_id = $3, resolved_at = $4, final_price = $5,
               updated_at = now()
           WHERE condition_id = $1 AND resolution IS NULL""",
            condition_id,
            resolution,
            winning_token_id,
            _aware(resolved_at, "resolved_at"),
            final_price,
        )
    ) != "UPDATE 0"


async def get_market(ex: Executor, condition_id: str) -> MarketRow | None:
    return _maybe(
        MarketRow,
        await ex.fetchrow(f"SELECT {_MARKET_COLUMNS} FROM markets WHERE condition_id = $1", condition_id),
    )


async def get_market_by_slug(ex: Executor, slug: str) -> MarketRow | None:
    """The market listed under ``slug`` (the latest stored, should two share it)."""
    return _maybe(
        MarketRow,
        await ex.fetchrow(
            f"SELECT {_MARKET_COLUMNS} FROM markets WHERE slug = $1 ORDER BY updated_at DESC LIMIT 1", slug
        ),
    )


async def list_markets(
    ex: Executor,
    *,
    asset: str | None = None,
    interval: str | None = None,
    unresolved_only: bool = False,
    limit: int = 1000,
) -> list[MarketRow]:
    rows = await ex.fetch(
        f"""SELECT {_MARKET_COLUMNS} FROM markets
            WHERE ($1::text IS NULL OR asset = $1) AND ($2::text IS NULL OR interval = $2)
              AND (NOT $3 OR resolution IS NULL)
            ORDER BY start_ts DESC LIMIT $4""",
        asset,
        interval,
        unresolved_only,
        limit,
    )
    return [_from_record(MarketRow, r) for r in rows]


# --- orders and fills ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    client_order_id: str
    agent: str
    market_id: str
    token_id: str
    side: Literal["BUY", "SELL"]
    order_type: str
    limit_price: Decimal
    size: Decimal
    status: OrderStatus
    created_at: datetime
    updated_at: datetime | None = None
    filled_size: Decimal = ZERO
    reason: str = ""
    venue_order_id: str | None = None
    mode: Literal["paper", "live"] = "paper"

    @classmethod
    def from_order(
        cls, order: Any, *, status: OrderStatus = "new", mode: Literal["paper", "live"] = "paper"
    ) -> OrderRow:
        """From a :class:`tradingfloor.trading.orders.Order`."""
        return cls(
            order.client_id,
            order.agent,
            order.market_id,
            order.token_id,
            order.side,
            order.order_type,
            order.price,
            order.size,
            status,
            ts_from_ms(order.ts_ms),
            mode=mode,
        )


_ORDER_COLUMNS = (
    "client_order_id, agent, market_id, token_id, side, order_type, limit_price, size, status, "
    "created_at, updated_at, filled_size, reason, venue_order_id, mode"
)


async def record_order(ex: Executor, o: OrderRow) -> bool:
    """Insert the order; False (and nothing changed) when its client order id is already stored."""
    return _inserted(
        await ex.execute(
            f"""INSERT INTO orders ({_ORDER_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::timestamptz, $10::timestamptz), $12, $13, $14, $15)
            ON CONFLICT (client_order_id) DO NOTHING""",
            o.client_order_id,
            o.agent,
            o.market_id,
            o.token_id,
            o.side,
            o.order_type,
            o.limit_price,
            o.size,
            o.status,
            _aware(o.created_at, "created_at"),
            _aware(o.updated_at, "updated_at"),
            o.filled_size,
            o.reason,
            o.venue_order_id,
            o.mode,
        )
    )


async def update_order_status(
    ex: Executor,
    client_order_id: str,
    status: OrderStatus,
    *,
    filled_size: Decimal | None = None,
    reason: str | None = None,
    venue_order_id: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Set the order's status (and, when given, filled size, reason, venue id); False when unknown."""
    return (
        await ex.execute(
            """UPDATE orders SET status = $2, filled_size = coalesce($3, filled_size), reason = coalesce($4, reason),
               venue_order_id = coalesce($5, venue_order_id), updated_at = $6
           WHERE client_order_id = $1""",
            client_order_id,
            status,
            filled_size,
            reason,
            venue_order_id,
            _aware(at, "at") or utcnow(),
        )
    ) != "UPDATE 0"


async def get_order(ex: Executor, client_order_id: str) -> OrderRow | None:
    return _maybe(
        OrderRow,
        await ex.fetchrow(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = $1", client_order_id),
    )


async def list_orders(
    ex: Executor, *, agent: str | None = None, open_only: bool = False, limit: int = 1000
) -> list[OrderRow]:
    rows = await ex.fetch(
        f"""SELECT {_ORDER_COLUMNS} FROM orders
            WHERE ($1::text IS NULL OR agent = $1) AND (NOT $2 OR status = ANY($3::text[]))
            ORDER BY created_at, client_order_id LIMIT $4""",
        agent,
        open_only,
        list(OPEN_ORDER_STATUSES),
        limit,
    )
    return [_from_record(OrderRow, r) for r in rows]


@dataclass(frozen=True, slots=True)
class FillRow:
    fill_id: str
    client_order_id: str
    price: Decimal
    size: Decimal
    fee: Decimal
    ts: datetime
    liquidity: Literal["taker", "maker"] = "taker"
    id: int | None = None  # insertion order, set by the database


async def record_fill(ex: Executor, f: FillRow) -> bool:
    """Insert the fill; False when its fill id is already stored. Its order must exist."""
    return _inserted(
        await ex.execute(
            """INSERT INTO fills (fill_id, client_order_id, price, size, fee, ts, liquidity)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fill_id) DO NOTHING""",
            f.fill_id,
            f.client_order_id,
            f.price,
            f.size,
            f.fee,
            _aware(f.ts, "ts"),
            f.liquidity,
        )
    )


async def list_fills(
    ex: Executor, *, client_order_id: str | None = None, agent: str | None = None, limit: int = 10000
) -> list[FillRow]:
    rows = await ex.fetch(
        """SELECT f.fill_id, f.client_order_id, f.price, f.size, f.fee, f.ts, f.liquidity, f.id
           FROM fills f JOIN orders o USING (client_order_id)
           WHERE ($1::text IS NULL OR f.client_order_id = $1) AND ($2::text IS NULL OR o.agent = $2)
           ORDER BY f.id LIMIT $3""",
        client_order_id,
        agent,
        limit,
    )
    return [_from_record(FillRow, r) for r in rows]


# --- trades and positions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One closed bet. ``fees`` are all its costs (taker fees and redemption); ``net_pnl`` is
    ``gross_pnl - fees``. ``exit_price`` is the sale price, or the payout per share at settlement."""

    idempotency_key: str
    agent: str
    market_id: str
    token_id: str
    size: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    exit_kind: Literal["sold", "settled"]
    opened_at: datetime
    closed_at: datetime
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    outcome: Literal["Up", "Down"] | None = None
    side: Literal["BUY", "SELL"] = "BUY"
    mode: Literal["paper", "live"] = "paper"
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # the order trades were recorded in, set by the database
    recorded_at: datetime | None = None


_TRADE_COLUMNS = (
    "idempotency_key, agent, market_id, token_id, size, entry_price, exit_price, exit_kind, opened_at, "
    "closed_at, gross_pnl, fees, net_pnl, outcome, side, mode, details"
)


async def record_trade(ex: Executor, t: TradeRow) -> bool:
    """Insert the trade; False when its idempotency key is already stored."""
    return _inserted(
        await ex.execute(
            f"""INSERT INTO trades ({_TRADE_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            ON CONFLICT (idempotency_key) DO NOTHING""",
            t.idempotency_key,
            t.agent,
            t.market_id,
            t.token_id,
            t.size,
            t.entry_price,
            t.exit_price,
            t.exit_kind,
            _aware(t.opened_at, "opened_at"),
            _aware(t.closed_at, "closed_at"),
            t.gross_pnl,
            t.fees,
            t.net_pnl,
            t.outcome,
            t.side,
            t.mode,
            t.details,
        )
    )


async def list_trades(
    ex: Executor,
    *,
    agent: str | None = None,
    since: datetime | None = None,
    after_id: int = 0,
    limit: int = 100000,
) -> list[TradeRow]:
    """Trades in the order they were recorded (``id``), optionally one agent's, closed since ``since``."""
    rows = await ex.fetch(
        f"""SELECT id, recorded_at, {_TRADE_COLUMNS} FROM trades
            WHERE ($1::text IS NULL OR agent = $1) AND ($2::timestamptz IS NULL OR closed_at >= $2) AND id > $3
            ORDER BY id LIMIT $4""",
        agent,
        since,
        after_id,
        limit,
    )
    return [_from_record(TradeRow, r) for r in rows]


@dataclass(frozen=True, slots=True)
class PositionRow:
    agent: str
    token_id: str
    market_id: str
    size: Decimal
    avg_price: Decimal = ZERO
    cost: Decimal = ZERO
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    outcome: Literal["Up", "Down"] | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None


_POSITION_COLUMNS = (
    "agent, token_id, market_id, size, avg_price, cost, fees, realized_pnl, outcome, opened_at, updated_at"
)


async def upsert_position(ex: Executor, p: PositionRow) -> None:
    """Store the position as it now is (a full replacement: replaying it twice changes nothing)."""
    await ex.execute(
        f"""INSERT INTO positions ({_POSITION_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::timestamptz, now()))
            ON CONFLICT (agent, token_id) DO UPDATE SET
                market_id = EXCLUDED.market_id, size = EXCLUDED.size, avg_price = EXCLUDED.avg_price,
                cost = EXCLUDED.cost, fees = EXCLUDED.fees, realized_pnl = EXCLUDED.realized_pnl,
                outcome = EXCLUDED.outcome, opened_at = EXCLUDED.opened_at, updated_at = EXCLUDED.updated_at""",
        p.agent,
        p.token_id,
        p.market_id,
        p.size,
        p.avg_price,
        p.cost,
        p.fees,
        p.realized_pnl,
        p.outcome,
        _aware(p.opened_at, "opened_at"),
        _aware(p.updated_at, "updated_at"),
    )


async def list_positions(
    ex: Executor, agent: str | None = None, *, open_only: bool = False
) -> list[PositionRow]:
    rows = await ex.fetch(
        f"""SELECT {_POSITION_COLUMNS} FROM positions
            WHERE ($1::text IS NULL OR agent = $1) AND (NOT $2 OR size > 0)
            ORDER BY agent, market_id, token_id""",
        agent,
        open_only,
    )
    return [_from_record(PositionRow, r) for r in rows]


async def delete_position(ex: Executor, agent: str, token_id: str) -> bool:
    return (
        await ex.execute("DELETE FROM positions WHERE agent = $1 AND token_id = $2", agent, token_id)
    ) != "DELETE 0"


# --- performance metrics -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PerformanceRow:
    agent: str
    ts: datetime
    period: str  # the measurement window: '1h', '24h', '7d', 'all', …
    trades: int = 0
    wins: int = 0
    losses: int = 0
    win_rate: Decimal | None = None
    pnl: Decimal | None = None
    fees: Decimal | None = None
    equity: Decimal | None = None
    sharpe: Decimal | None = None
    sortino: Decimal | None = None
    max_drawdown: Decimal | None = None
    profit_factor: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_PERF_COLUMNS = (
    "agent, ts, period, trades, wins, losses, win_rate, pnl, fees, equity, sharpe, sortino, "
    "max_drawdown, profit_factor, extra"
)


async def insert_performance(ex: Executor, p: PerformanceRow) -> bool:
    """Insert one measurement; False when (agent, period, ts) is already stored."""
    return _inserted(
        await ex.execute(
            f"""INSERT INTO performance_metrics ({_PERF_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (agent, period, ts) DO NOTHING""",
            p.agent,
            _aware(p.ts, "ts"),
            p.period,
            p.trades,
            p.wins,
            p.losses,
            p.win_rate,
            p.pnl,
            p.fees,
            p.equity,
            p.sharpe,
            p.sortino,
            p.max_drawdown,
            p.profit_factor,
            p.extra,
        )
    )


async def latest_performance(ex: Executor, agent: str, period: str) -> PerformanceRow | None:
    return _maybe(
        PerformanceRow,
        await ex.fetchrow(
            f"SELECT {_PERF_COLUMNS} FROM performance_metrics WHERE agent = $1 AND period = $2 ORDER BY ts DESC LIMIT 1",
            agent,
            period,
        ),
    )


async def list_performance(
    ex: Executor,
    *,
    agent: str | None = None,
    period: str | None = None,
    since: datetime | None = None,
    limit: int = 10000,
) -> list[PerformanceRow]:
    rows = await ex.fetch(
        f"""SELECT {_PERF_COLUMNS} FROM performance_metrics
            WHERE ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR period = $2)
              AND ($3::timestamptz IS NULL OR ts >= $3)
            ORDER BY ts, agent LIMIT $4""",
        agent,
        period,
        since,
        limit,
    )
    return [_from_record(PerformanceRow, r) for r in rows]


# --- system events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRow:
    type: str
    message: str = ""
    agent: str | None = None
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    ts: datetime | None = None
    event_key: str | None = None
    id: int | None = None


async def record_event(
    ex: Executor,
    type: str,
    message: str = "",
    *,
    agent: str | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    ts: datetime | None = None,
    event_key: str | None = None,
) -> int | None:
    """Insert a system event; returns its id, or None when ``event_key`` is already stored."""
    return await ex.fetchval(
        """INSERT INTO system_events (ts, type, agent, reason, message, payload, event_key)
           VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7)
           ON CONFLICT (event_key) DO NOTHING RETURNING id""",
        _aware(ts, "ts"),
        type,
        agent,
        reason,
        message,
        payload or {},
        event_key,
    )


async def recent_events(
    ex: Executor,
    *,
    limit: int = 50,
    agent: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
) -> list[EventRow]:
    """The newest events first."""
    rows = await ex.fetch(
        """SELECT id, ts, type, agent, reason, message, payload, event_key FROM system_events
           WHERE ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR type = $2)
             AND ($3::timestamptz IS NULL OR ts >= $3)
           ORDER BY ts DESC, id DESC LIMIT $4""",
        agent,
        type,
        since,
        limit,
    )
    return [_from_record(EventRow, r) for r in rows]


# --- checkpoints ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    agent: str
    seq: int
    state: dict[str, Any]
    created_at: datetime
    id: int | None = None  # write order, set by the database


class CheckpointConflict(RuntimeError):
    """A different checkpoint with the same (agent, seq) is already stored."""


async def save_checkpoint(
    ex: Executor, agent: str, seq: int, state: dict[str, Any], created_at: datetime | None = None
) -> bool:
    """Store checkpoint ``seq`` of ``agent``. Storing the same checkpoint again (a retry, a
    replayed journal) is a no-op returning False; a *different* state under an existing
    (agent, seq) raises :class:`CheckpointConflict` rather than being silently dropped."""
    inserted = _inserted(
        await ex.execute(
            """INSERT INTO agent_checkpoints (agent, seq, state, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (agent, seq) DO NOTHING""",
            agent,
            seq,
            state,
            _aware(created_at, "created_at") or utcnow(),
        )
    )
    if not inserted:
        same = await ex.fetchval(
            "SELECT state = $3::jsonb FROM agent_checkpoints WHERE agent = $1 AND seq = $2", agent, seq, state
        )
        if not same:
            raise CheckpointConflict(
                f"checkpoint {seq} of agent {agent!r} is already stored with a different state"
            )
    return inserted


async def load_checkpoint(ex: Executor, agent: str) -> CheckpointRow | None:
    """The agent's latest checkpoint (highest seq)."""
    return _maybe(
        CheckpointRow,
        await ex.fetchrow(
            """SELECT agent, seq, state, created_at, id FROM agent_checkpoints
           WHERE agent = $1 ORDER BY seq DESC LIMIT 1""",
            agent,
        ),
    )


async def list_checkpoints(ex: Executor, agent: str, *, limit: int = 100000) -> list[CheckpointRow]:
    """The agent's checkpoints in write order."""
    rows = await ex.fetch(
        "SELECT agent, seq, state, created_at, id FROM agent_checkpoints WHERE agent = $1 ORDER BY id LIMIT $2",
        agent,
        limit,
    )
    return [_from_record(CheckpointRow, r) for r in rows]


async def prune_checkpoints(ex: Executor, agent: str, keep: int) -> int:
    """Delete all but the ``keep`` newest checkpoints of ``agent``; returns how many went."""
    status = await ex.execute(
        """DELETE FROM agent_checkpoints WHERE agent = $1 AND seq < (
               SELECT min(seq) FROM (SELECT seq FROM agent_checkpoints WHERE agent = $1
                                     ORDER BY seq DESC LIMIT $2) newest)""",
        agent,
        max(1, keep),
    )
    return int(status.split()[-1])


# --- market data ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketDataRow:
    market_id: str
    token_id: str | None
    ts: datetime
    kind: str  # 'book' | 'price_change' | 'last_trade' | 'bbo' | …
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    last_price: Decimal | None = None
    payload: dict[str, Any] | None = None


_MD_COLUMNS = ("market_id", "token_id", "ts", "kind", "best_bid", "best_ask", "last_price", "payload")


class CopyExecutor(Executor, Protocol):
    """An executor that can COPY (an asyncpg Connection or Pool, or a Database)."""

    async def copy_records_to_table(self, table_name: str, *, records: Any, columns: Any) -> str: ...


async def insert_market_data_batch(ex: CopyExecutor, rows: Iterable[MarketDataRow]) -> int:
    """Archive a batch with one COPY (``ex`` is a Connection, Pool or Database); returns the count."""
    records = [
        (r.market_id, r.token_id, _aware(r.ts, "ts"), r.kind, r.best_bid, r.best_ask, r.last_price, r.payload)
        for r in rows
    ]
    if not records:
        return 0
    status = await ex.copy_records_to_table("market_data", records=records, columns=_MD_COLUMNS)
    return int(status.split()[-1])


async def list_market_data(
    ex: Executor,
    market_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100000,
) -> list[MarketDataRow]:
    rows = await ex.fetch(
        f"""SELECT {", ".join(_MD_COLUMNS)} FROM market_data
            WHERE market_id = $1 AND ($2::timestamptz IS NULL OR ts >= $2) AND ($3::timestamptz IS NULL OR ts < $3)
            ORDER BY ts, id LIMIT $4""",
        market_id,
        since,
        until,
        limit,
    )
    return [_from_record(MarketDataRow, r) for r in rows]


# --- audit log -----------------------------------------------------------------------------------

# One entry of the hash chain; the chain's own pure model is the row type, so the two never drift.
AuditRow = AuditEntry


class AuditConflict(RuntimeError):
    """An audit entry with this seq is already stored with a different hash."""


_AUDIT_COLUMNS = "seq, ts, agent, subject, kind, payload, prev_hash, hash"


async def append_audit(ex: Executor, e: AuditRow) -> bool:
    """Store the entry as given (the hash chain is computed by the caller). Storing the same entry
    again is a no-op returning False; a different entry with the same seq raises AuditConflict."""
    added = await ex.fetchval(
        f"""INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (seq) DO NOTHING RETURNING seq""",
        e.seq,
        _aware(e.ts, "ts"),
        e.agent,
        e.subject,
        e.kind,
        e.payload,
        e.prev_hash,
        e.hash,
    )
    if added is not None:
        return True
    existing = await ex.fetchval("SELECT hash FROM audit_log WHERE seq = $1", e.seq)
    if existing != e.hash:
        raise AuditConflict(f"audit entry {e.seq} is already stored with hash {existing}, not {e.hash}")
    return False


async def read_audit(
    ex: Executor, *, after_seq: int = -1, limit: int | None = None, agent: str | None = None
) -> list[AuditRow]:
    """Entries with seq > ``after_seq``, in seq order."""
    rows = await ex.fetch(
        f"""SELECT {_AUDIT_COLUMNS} FROM audit_log
            WHERE seq > $1 AND ($2::text IS NULL OR agent = $2) ORDER BY seq LIMIT $3""",
        after_seq,
        agent,
        limit,
    )
    return [_from_record(AuditRow, r) for r in rows]


async def last_audit(ex: Executor) -> AuditRow | None:
    return _maybe(
        AuditRow, await ex.fetchrow(f"SELECT {_AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1")
    )


# --- strategy library ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrategyRow:
    name: str
    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    status: str = "candidate"
    parent: str | None = None
    generation: int = 0
    variation: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


_STRATEGY_COLUMNS = (
    "name, strategy, params, status, parent, generation, variation, summary, created_at, updated_at"
)


async def upsert_strategy(ex: Executor, s: StrategyRow) -> StrategyRow:
    row = await ex.fetchrow(
        f"""INSERT INTO strategy_library AS t (name, strategy, params, status, parent, generation, variation, summary)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (name) DO UPDATE SET
                strategy = EXCLUDED.strategy, params = EXCLUDED.params, status = EXCLUDED.status,
                parent = EXCLUDED.parent, generation = EXCLUDED.generation, variation = EXCLUDED.variation,
                summary = EXCLUDED.summary, updated_at = now()
            RETURNING {_STRATEGY_COLUMNS}""",
        s.name,
        s.strategy,
        s.params,
        s.status,
        s.parent,
        s.generation,
        s.variation,
        s.summary,
    )
    return _from_record(StrategyRow, row)


async def get_strategy(ex: Executor, name: str) -> StrategyRow | None:
    return _maybe(
        StrategyRow,
        await ex.fetchrow(f"SELECT {_STRATEGY_COLUMNS} FROM strategy_library WHERE name = $1", name),
    )


async def list_strategies(
    ex: Executor, *, status: str | None = None, strategy: str | None = None
) -> list[StrategyRow]:
    rows = await ex.fetch(
        f"""SELECT {_STRATEGY_COLUMNS} FROM strategy_library
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR strategy = $2)
            ORDER BY name""",
        status,
        strategy,
    )
    return [_from_record(StrategyRow, r) for r in rows]


ROW_TYPES: Sequence[type] = (
    AgentRow,
    MarketRow,
    OrderRow,
    FillRow,
    TradeRow,
    PositionRow,
    PerformanceRow,
    EventRow,
    CheckpointRow,
    MarketDataRow,
    AuditRow,
    StrategyRow,
)
