"""One audit pass: every fill and every closed trade not yet in this auditor's log is re-checked
and logged, exactly once.

Exactly once, across crashes: an item counts as audited when the audit log holds an entry with
its subject (``fill:<fill_id>`` / ``trade:<id>``) written by this auditor. The check, the
violation events and that entry are committed in one transaction, under the chain's advisory
lock, after re-checking the subject is still absent — so a crash before commit re-audits the
item and a crash after commit never does, and nothing is skipped however ids commit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from floor_agents.auditor import log as audit_log
from tradingfloor.audit.checks import (
    AccountState,
    BookLevels,
    ClosedTrade,
    Execution,
    FeeSchedule,
    RiskLimits,
    Thresholds,
    Violation,
    account_state,
    audit_execution,
    check_pnl,
)
from tradingfloor.models.trader_agent import Risk
from tradingfloor.observability.logging import get_logger
from tradingfloor.observability.metrics import AUDIT_CHECKED, AUDIT_VIOLATIONS
from tradingfloor.persistence.repositories import record_event
from tradingfloor.structs import parse

log = get_logger("floor_agents.auditor")

_FILL_COLUMNS = """f.id, f.fill_id, f.price, f.size, f.fee, f.liquidity, f.ts,
                   o.agent, o.market_id, o.token_id, o.side"""


def _execution(row: Any) -> Execution:
    return Execution(
        row["fill_id"],
        row["agent"],
        row["market_id"],
        row["token_id"],
        row["side"],
        row["price"],
        row["size"],
        row["fee"],
        row["liquidity"],
        int(row["ts"].timestamp() * 1000),
    )


def parse_book(data: Any) -> BookLevels | None:
    """A book from a message or archive payload: ``{"bids": [...], "asks": [...]}`` with levels as
    ``[price, size]`` or ``{"price", "size"}``; sorted best first. None when absent or malformed."""
    if not isinstance(data, dict) or "bids" not in data or "asks" not in data:
        return None
    try:

        def levels(raw: Any) -> list[tuple[Decimal, Decimal]]:
            return [
                (Decimal(str(lv["price"])), Decimal(str(lv["size"])))
                if isinstance(lv, dict)
                else (Decimal(str(lv[0])), Decimal(str(lv[1])))
                for lv in raw
            ]

        bids = sorted(levels(data["bids"]), key=lambda lv: -lv[0])
        asks = sorted(levels(data["asks"]), key=lambda lv: lv[0])
    except (KeyError, IndexError, TypeError, ArithmeticError, ValueError):
        return None
    return BookLevels(tuple(bids), tuple(asks))


class BookCache:
    """Books seen on ``trade_executed`` messages, by fill id (bounded, oldest dropped first)."""

    def __init__(self, size: int = 10000) -> None:
        self._books: OrderedDict[str, BookLevels] = OrderedDict()
        self._size = size

    def remember(self, fill_ids: list[str], book: BookLevels) -> None:
        for fid in fill_ids:
            self._books[fid] = book
            self._books.move_to_end(fid)
        while len(self._books) > self._size:
            self._books.popitem(last=False)

    def pop(self, fill_id: str) -> BookLevels | None:
        return self._books.pop(fill_id, None)

    def consume_message(self, message: dict[str, Any]) -> bool:
        """Take the book out of a ``trade_executed`` bus message; True when one was found."""
        payload = message.get("payload") or {}
        book = parse_book(payload.get("book"))
        fills = payload.get("fills") or []
        ids = [str(f["fill_id"]) for f in fills if isinstance(f, dict) and "fill_id" in f]
        if payload.get("fill_id"):
            ids.append(str(payload["fill_id"]))
        if book is None or not ids:
            return False
        self.remember(ids, book)
        return True


@dataclass
class PassStats:
    checked: int = 0
    violations: list[Violation] = field(default_factory=list)


class Auditor:
    def __init__(
        self,
        name: str,
        thresholds: Thresholds,
        agents: list[str] | None = None,
        books: BookCache | None = None,
        key: bytes | None = None,
    ) -> None:
        self.name = name
        self.key = key  # the audit key (tradingfloor.audit.keys); None only in unit tests
        self.thresholds = thresholds
        self.agents = agents  # None: every trader
        self.books = books or BookCache()

    async def _book(self, conn: Any, ex: Execution, ts: datetime) -> BookLevels | None:
        cached = self.books.pop(ex.trade_id)
        if cached is not None:
            return cached
        row = await conn.fetchrow(
            """SELECT payload FROM market_data WHERE market_id = $1 AND token_id = $2 AND kind = 'book'
               AND ts <= $3 AND payload IS NOT NULL ORDER BY ts DESC, id DESC LIMIT 1""",
            ex.market_id,
            ex.token_id,
            ts,
        )
        return parse_book(row["payload"]) if row else None

    async def _limits(self, conn: Any, agent: str) -> RiskLimits | None:
        spec = await conn.fetchval("SELECT spec FROM agents WHERE name = $1 AND kind = 'TraderAgent'", agent)
        return RiskLimits.from_spec(parse(Risk, (spec or {}).get("risk", {}))) if spec is not None else None

    async def _state_before(self, conn: Any, fill_row: Any) -> AccountState:
        prior = await conn.fetch(
            f"""SELECT {_FILL_COLUMNS} FROM fills f JOIN orders o USING (client_order_id)
                WHERE o.agent = $1 AND (f.ts, f.id) < ($2, $3) ORDER BY f.ts, f.id""",
            fill_row["agent"],
            fill_row["ts"],
            fill_row["id"],
        )
        closed = await conn.fetch(
            "SELECT id, agent, token_id, gross_pnl, fees, net_pnl, closed_at FROM trades WHERE agent = $1 AND closed_at <= $2",
            fill_row["agent"],
            fill_row["ts"],
        )
        day_start = fill_row["ts"].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return account_state(
            [_execution(r) for r in prior], [_closed(r) for r in closed], int(day_start.timestamp() * 1000)
        )

    async def audit_fill(self, conn: Any, row: Any) -> list[Violation]:
        ex = _execution(row)
        market = await conn.fetchrow(
            "SELECT fee_rate, fee_exponent FROM markets WHERE condition_id = $1", ex.market_id
        )
        schedule = FeeSchedule(market["fee_rate"], market["fee_exponent"]) if market else None
        limits = await self._limits(conn, ex.agent)
        book = await self._book(conn, ex, row["ts"])
        violations = audit_execution(
            ex,
            limits=limits,
            before=await self._state_before(conn, row),
            book=book,
            schedule=schedule,
            thresholds=self.thresholds,
        )
        skipped = [
            name for name, known in (("risk", limits), ("book", book), ("fee", schedule)) if known is None
        ]
        await self._commit(
            conn,
            f"fill:{ex.trade_id}",
            "fill_checked",
            ex.agent,
            violations,
            {
                "fill_id": ex.trade_id,
                "agent": ex.agent,
                "market_id": ex.market_id,
                "token_id": ex.token_id,
                "side": ex.side,
                "price": ex.price,
                "size": ex.size,
                "fee": ex.fee,
                "liquidity": ex.liquidity,
                "ts_ms": ex.ts_ms,
                "skipped": skipped,
            },
        )
        return violations

    async def audit_trade(self, conn: Any, row: Any) -> list[Violation]:
        trade = _closed(row)
        fills = await conn.fetch(
            f"""SELECT {_FILL_COLUMNS} FROM fills f JOIN orders o USING (client_order_id)
                WHERE o.agent = $1 AND o.token_id = $2 AND f.ts <= $3 ORDER BY f.ts, f.id""",
            row["agent"],
            row["token_id"],
            row["closed_at"],
        )
        violations = check_pnl(trade, [_execution(f) for f in fills], self.thresholds)
        await self._commit(
            conn,
            f"trade:{row['id']}",
            "trade_checked",
            trade.agent,
            violations,
            {
                "trade_id": str(row["id"]),
                "agent": trade.agent,
                "token_id": trade.token_id,
                "gross_pnl": trade.gross_pnl,
                "fees": trade.fees,
                "net_pnl": trade.net_pnl,
                "fills": len(fills),
            },
        )
        return violations

    async def _commit(
        self,
        conn: Any,
        subject: str,
        kind: str,
        agent: str,
        violations: list[Violation],
        payload: dict[str, Any],
    ) -> None:
        now = datetime.now(UTC)
        await audit_log.append(
            conn,
            self.name,
            subject,
            kind,
            {**payload, "violations": [v.to_json() for v in violations]},
            now,
            self.key,
        )
        for v in violations:
            await record_event(
                conn,
                "audit_violation",
                v.message,
                agent=agent,
                reason=v.rule,
                payload={"auditor": self.name, **v.to_json()},
                ts=now,
                event_key=f"{self.name}:{subject}:{v.rule}:{v.message}"[:500],
            )

    async def _pending(self, conn: Any, batch: int) -> tuple[list[Any], list[Any]]:
        fills = await conn.fetch(
            f"""SELECT {_FILL_COLUMNS} FROM fills f JOIN orders o USING (client_order_id)
                WHERE ($1::text[] IS NULL OR o.agent = ANY($1))
                  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = 'fill:' || f.fill_id AND a.agent = $2)
                ORDER BY f.id LIMIT $3""",
            self.agents,
            self.name,
            batch,
        )
        trades = await conn.fetch(
            """SELECT t.id, t.agent, t.token_id, t.gross_pnl, t.fees, t.net_pnl, t.closed_at, t.exit_kind, t.exit_price
               FROM trades t WHERE ($1::text[] IS NULL OR t.agent = ANY($1))
                 AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = 'trade:' || t.id AND a.agent = $2)
               ORDER BY t.id LIMIT $3""",
            self.agents,
            self.name,
            batch,
        )
        return list(fills), list(trades)

    async def run_pass(self, pool: Any, batch: int = 500) -> PassStats:
        """Audit everything pending (fills first: a trade's P&L check reads its fills)."""
        stats = PassStats()
        async with pool.acquire() as conn:
            fills, trades = await self._pending(conn, batch)
            for kind, rows, audit in (("fill", fills, self.audit_fill), ("trade", trades, self.audit_trade)):
                for row in rows:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", audit_log.APPEND_LOCK)
                        subject = f"fill:{row['fill_id']}" if kind == "fill" else f"trade:{row['id']}"
                        if await conn.fetchval(
                            "SELECT 1 FROM audit_log WHERE subject = $1 AND agent = $2", subject, self.name
                        ):
                            continue  # another instance of this auditor got there first
                        found = await audit(conn, row)
                    AUDIT_CHECKED.labels(agent=row["agent"]).inc()
                    for v in found:
                        AUDIT_VIOLATIONS.labels(agent=v.agent, rule=v.rule).inc()
                        log.warning(
                            "audit.violation", rule=v.rule, agent=v.agent, trade=v.trade_id, message=v.message
                        )
                    stats.checked += 1
                    stats.violations += found
        return stats

    async def summary(self, pool: Any) -> dict[str, Any]:
        """``status.audit``, counted from the log itself (right after any restart)."""
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS checked,
                          coalesce(sum(jsonb_array_length(payload->'violations')), 0) AS violations
                   FROM audit_log WHERE agent = $1""",
                self.name,
            )
            last = await conn.fetchrow(
                """SELECT payload->'violations'->0->>'message' AS message FROM audit_log
                   WHERE agent = $1 AND jsonb_array_length(payload->'violations') > 0 ORDER BY seq DESC LIMIT 1""",
                self.name,
            )
            head = await audit_log.head(conn)
        return {
            "reportedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "tradesChecked": row["checked"],
            "violations": row["violations"],
            "lastViolation": last["message"] if last else None,
            "chainHead": f"{head.seq}:{head.hash}" if head else None,
        }


def _closed(row: Any) -> ClosedTrade:
    payout = row.get("exit_price") if row.get("exit_kind") == "settled" else None
    return ClosedTrade(
        str(row["id"]),
        row["agent"],
        row["token_id"],
        row["gross_pnl"],
        row["fees"],
        row["net_pnl"],
        int(row["closed_at"].timestamp() * 1000),
        payout,
    )
