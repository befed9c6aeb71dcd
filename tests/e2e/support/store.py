"""The emulated cluster's state: objects by (resource, namespace, name), one growing resourceVersion,
a bounded history of changes and the watchers that receive them. Everything runs on one event loop and
no method awaits, so a watcher's snapshot and its stream never miss or repeat a change."""

from __future__ import annotations

import asyncio
import copy
import itertools
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

HISTORY = 100_000  # changes kept for watches that resume from a resourceVersion

Key = tuple[str, str, str]  # (resource key, namespace or "", name)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Watcher:
    resource: str
    namespace: str | None
    accepts: Callable[[dict[str, Any]], bool]
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = field(default_factory=asyncio.Queue)


class Gone(Exception):
    """The requested resourceVersion is older than the kept history (HTTP 410)."""


class Store:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self.rv = 0
        self.history: deque[tuple[int, str, str, dict[str, Any]]] = deque(maxlen=HISTORY)
        self.watchers: list[Watcher] = []
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []  # in-process controllers

    def next_rv(self) -> str:
        self.rv = next(self._rv)
        return str(self.rv)

    @staticmethod
    def new_uid() -> str:
        return str(uuid.uuid4())

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource, namespace, name))

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            obj
            for (res, ns, _), obj in self.objects.items()
            if res == resource and (namespace is None or ns == namespace)
        ]

    def put(self, resource: str, obj: dict[str, Any], event: str) -> dict[str, Any]:
        """Store ``obj`` (ADDED or MODIFIED) with a fresh resourceVersion and tell the watchers."""
        meta = obj["metadata"]
        meta["resourceVersion"] = self.next_rv()
        self.objects[(resource, meta.get("namespace", ""), meta["name"])] = obj
        self._publish(resource, event, obj)
        return obj

    def remove(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.objects.pop((resource, namespace, name), None)
        if obj is not None:
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = self.next_rv()
            self._publish(resource, "DELETED", obj)
        return obj

    def _publish(self, resource: str, event: str, obj: dict[str, Any]) -> None:
        snapshot = copy.deepcopy(obj)
        self.history.append((self.rv, resource, event, snapshot))
        namespace = snapshot["metadata"].get("namespace", "")
        for watcher in self.watchers:
            in_scope = watcher.resource == resource and watcher.namespace in (None, namespace)
            if in_scope and watcher.accepts(snapshot):
                watcher.queue.put_nowait((event, snapshot))
        for listener in self.listeners:
            listener(resource, event, snapshot)

    def watch(
        self,
        resource: str,
        namespace: str | None,
        since: int | None,
        accepts: Callable[[dict[str, Any]], bool],
    ) -> Watcher:
        """A watcher primed with the current objects (``since`` None) or the changes after ``since``."""
        watcher = Watcher(resource, namespace, accepts)
        if since is None:
            for obj in self.list(resource, namespace):
                if accepts(obj):
                    watcher.queue.put_nowait(("ADDED", copy.deepcopy(obj)))
        else:
            if since < self.rv and self.history and self.history[0][0] > since + 1:
                raise Gone(f"too old resource version: {since} ({self.history[0][0] - 1})")
            for rv, res, event, obj in self.history:
                ns = obj["metadata"].get("namespace", "")
                if rv > since and res == resource and namespace in (None, ns) and accepts(obj):
                    watcher.queue.put_nowait((event, obj))
        self.watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        if watcher in self.watchers:
            self.watchers.remove(watcher)
