"""Builders for decision-core observations (plain data, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradingfloor.decisions import Instance, Observation
from tradingfloor.models.trader_agent import TraderAgentSpec, TraderAgentStatus
from tradingfloor.structs import parse

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def trader_spec(**overrides) -> TraderAgentSpec:
    raw = {
        "strategy": "momentum",
        "market": {"asset": "BTC"},
        "params": {"thresholdBps": 50},
        "restartPolicy": {
            "maxRestartsPerHour": 10,
            "backoffBaseSeconds": 1,
            "backoffCapSeconds": 300,
            "healthyResetSeconds": 600,
            "heartbeatTimeoutSeconds": 30,
        },
    }
    raw.update(overrides)
    return parse(TraderAgentSpec, raw)


def observe(spec=None, status=None, **kw) -> Observation:
    if status is None or isinstance(status, dict):
        status = parse(TraderAgentStatus, status or {})
    kw.setdefault("name", "btc-momo")
    return Observation(kind=kw.pop("kind", "TraderAgent"), spec=spec or trader_spec(), status=status, **kw)


def running(name: str, started: datetime) -> Instance:
    return Instance(name=name, state="running", started_at=started)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
