"""Every Prometheus metric the floor exports, in one place, so dashboards and alerts can be checked
against what the code really exports (a test does).

Names follow Prometheus conventions: base units (seconds, USD as ``_usd``), ``_total`` for
counters, ratios as ``_ratio``. Labels are bounded: agent names, kinds, small enums — never ids.
Agent processes use the ``tradingfloor_`` metrics; the Floor Boss the ``floorboss_`` ones.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# --- agents (trader, auditor, monitor) ---------------------------------------------------------
ORDERS = Counter("tradingfloor_orders_total", "Orders placed, by result.", ["agent", "side", "result"])
FILLS = Counter("tradingfloor_fills_total", "Fills received.", ["agent"])
FEES = Counter("tradingfloor_fees_usd_total", "Taker fees and redemption costs paid, in USD.", ["agent"])
TRADES = Counter("tradingfloor_trades_total", "Settled trades, by result.", ["agent", "result"])
PNL = Gauge("tradingfloor_pnl_usd", "Profit and loss in USD, net of costs.", ["agent", "kind"])
EQUITY = Gauge("tradingfloor_equity_usd", "Cash plus marked position value, in USD.", ["agent"])
EXPOSURE = Gauge("tradingfloor_exposure_usd", "Capital at risk in open positions, in USD.", ["agent"])
WIN_RATE = Gauge("tradingfloor_win_rate_ratio", "Share of settled trades that won.", ["agent"])
DRAWDOWN = Gauge("tradingfloor_drawdown_ratio", "Current drawdown from the equity peak.", ["agent"])
AGENT_PAUSE_REQUESTED = Gauge(
    "tradingfloor_agent_pause_requested", "1 while the agent asks to be paused.", ["agent"]
)
HEARTBEAT = Gauge(
    "tradingfloor_heartbeat_timestamp_seconds", "Unix time of the agent's last heartbeat.", ["agent"]
)
FEED_LAG = Gauge(
    "tradingfloor_feed_lag_seconds", "Age of the newest market event the agent has seen.", ["agent"]
)
ERRORS = Counter("tradingfloor_errors_total", "Errors, by kind.", ["agent", "kind"])
DECISION_LATENCY = Histogram(
    "tradingfloor_decision_latency_seconds",
    "From a market event's arrival to the broker call.",
    ["agent"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
AUDIT_CHECKED = Counter(
    "tradingfloor_audit_trades_checked_total", "Trades the auditor re-checked.", ["agent"]
)
AUDIT_VIOLATIONS = Counter(
    "tradingfloor_audit_violations_total", "Audit violations found.", ["agent", "rule"]
)
PERFORMANCE_ALERTS = Counter(
    "tradingfloor_performance_alerts_total", "Performance alerts raised.", ["agent", "alert"]
)

# --- market data (collector, adapters) ----------------------------------------------------------
MARKET_FRAMES = Counter("tradingfloor_market_frames_total", "Market WebSocket frames received.", ["source"])
MARKET_MALFORMED = Counter(
    "tradingfloor_market_malformed_frames_total", "Frames rejected as malformed.", ["source", "reason"]
)
MARKET_ROUNDS_FOUND = Counter(
    "tradingfloor_market_rounds_found_total",
    "Rounds of a series found, by path (new_market from the feed, discovery through Gamma).",
    ["series", "path"],
)
MARKET_DEAD_LETTERED = Counter(
    "tradingfloor_market_dead_lettered_total", "Market-data rows the archive refused and set aside.", ["kind"]
)
MARKET_RECONNECTS = Counter(
    "tradingfloor_market_reconnects_total", "Market WebSocket reconnects.", ["source"]
)
MARKET_LAST_EVENT = Gauge(
    "tradingfloor_market_last_event_timestamp_seconds", "Unix time of the newest market event.", ["source"]
)

# --- the collector process (``floor collector``; one per market series) ---------------------------
COLLECTOR_UP = Gauge("tradingfloor_collector_up", "1 while the series' collector runs.", ["series"])
COLLECTOR_PUBLISHED = Counter(
    "tradingfloor_collector_events_published_total", "Normalized events published to Redis.", ["series"]
)
COLLECTOR_ARCHIVED = Counter(
    "tradingfloor_collector_events_archived_total", "Events archived to PostgreSQL.", ["series"]
)
COLLECTOR_ARCHIVE_FAILURES = Counter(
    "tradingfloor_collector_archive_failures_total",
    "Archive batches that failed (kept for retry).",
    ["series"],
)
COLLECTOR_BACKLOG = Gauge(
    "tradingfloor_collector_archive_backlog_events", "Events waiting to be archived.", ["series"]
)

# --- Floor Boss (operator and local supervisor) --------------------------------------------------
RECONCILES = Counter(
    "floorboss_reconciles_total", "Reconcile passes, by kind and result.", ["kind", "result"]
)
RECONCILE_DURATION = Histogram(
    "floorboss_reconcile_duration_seconds", "Time spent in one reconcile pass.", ["kind"]
)
RESTARTS = Counter(
    "floorboss_restarts_total", "Agent restarts performed, by kind and cause.", ["kind", "cause"]
)
MANAGED = Gauge("floorboss_managed_agents", "Agents under management, by kind and phase.", ["kind", "phase"])
DECISIONS = Counter(
    "floorboss_decisions_total", "Lifecycle decisions taken (pause, clone, retire …).", ["action"]
)
BUDGET_EXHAUSTED = Gauge(
    "floorboss_restart_budget_exhausted",
    "1 while an agent is left down after using its restart budget.",
    ["kind", "agent"],
)
CIRCUIT_BREAKER_OPEN = Gauge(
    "floorboss_circuit_breaker_open", "1 while a floor-wide circuit breaker pauses trading.", ["breaker"]
)
