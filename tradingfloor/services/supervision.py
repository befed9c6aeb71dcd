"""Keep the floor's embedded PostgreSQL and Redis running: notice an exit, restart with backoff.

A small state machine polled from the floor's loop (on the main thread, so a restarted server still
dies with the floor — see ``tradingfloor.services.lifetime``). It returns what happened as events
for the dashboard and the event log; it never raises, so a lost service never stops the floor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from tradingfloor.services.embedded import ServiceError

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0


class Server(Protocol):
    def spawn(self) -> None: ...
    def ready(self) -> bool: ...
    def exit_code(self) -> int | None: ...


@dataclass(frozen=True)
class ServiceEvent:
    service: str
    reason: str  # ServiceDown | ServiceRestarting | ServiceRecovered | ServiceRestartFailed
    message: str
    warning: bool


@dataclass
class WatchedService:
    name: str
    server: Server
    failures: int = 0  # restarts tried since it was last up
    down_since: float | None = None
    restart_at: float | None = None
    starting: bool = False

    @property
    def up(self) -> bool:
        return self.down_since is None

    def describe(self, now: float) -> str:
        if self.up:
            return f"{self.name} up"
        if self.starting:
            return f"{self.name} restarting"
        wait = max(0.0, (self.restart_at or now) - now)
        return f"{self.name} down {now - (self.down_since or now):.0f}s (retry in {wait:.0f}s)"


def backoff(failures: int) -> float:
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, failures))


@dataclass
class ServiceSupervisor:
    services: list[WatchedService] = field(default_factory=list)

    def watch(self, name: str, server: Server | None) -> None:
        if server is not None:  # a service given by URL is not ours to restart
            self.services.append(WatchedService(name, server))

    def is_up(self, name: str) -> bool:
        return all(s.up for s in self.services if s.name == name)

    def describe(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        return " · ".join(s.describe(now) for s in self.services)

    def check(self, now: float | None = None) -> list[ServiceEvent]:
        now = time.monotonic() if now is None else now
        events: list[ServiceEvent] = []
        for s in self.services:
            try:
                events.extend(self._step(s, now))
            except ServiceError as exc:  # it could not start: try again later
                s.starting = False
                s.failures += 1
                s.restart_at = now + backoff(s.failures)
                events.append(
                    ServiceEvent(
                        s.name,
                        "ServiceRestartFailed",
                        f"{exc}; next try in {backoff(s.failures):.0f}s",
                        True,
                    )
                )
        return events

    def _step(self, s: WatchedService, now: float) -> list[ServiceEvent]:
        if s.starting:
            if not s.server.ready():
                return []
            down = now - (s.down_since or now)
            s.starting, s.down_since, s.restart_at, s.failures = False, None, None, 0
            return [ServiceEvent(s.name, "ServiceRecovered", f"{s.name} is back after {down:.0f}s", False)]
        if s.up:
            code = s.server.exit_code()
            if code is None:
                return []
            s.down_since, s.restart_at = now, now + backoff(0)
            return [
                ServiceEvent(
                    s.name,
                    "ServiceDown",
                    f"{s.name} exited (code {code}); restarting in {backoff(0):.0f}s",
                    True,
                )
            ]
        if s.restart_at is not None and now >= s.restart_at:
            s.starting = True
            s.server.spawn()
            return [ServiceEvent(s.name, "ServiceRestarting", f"starting {s.name} again", False)]
        return []
