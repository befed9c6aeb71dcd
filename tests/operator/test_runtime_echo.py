"""An event that only brings back the status the Floor Boss wrote needs no pass; anything else does
(a spec or label change, the agent's own status fields, a deletion, a status it did not write)."""

from __future__ import annotations

from typing import Any

from floor_boss.runtime import FloorBoss
from floor_boss.settings import BossSettings

WRITTEN = {
    "phase": "Pending",
    "podName": "t1-0",
    "message": None,
    "restarts": {"total": 0, "lastRestartTime": None},
}


def body(status: dict[str, Any], spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tradingfloor.dev/v1alpha1",
        "kind": "TraderAgent",
        "metadata": {"name": "t1", "namespace": "floor", "generation": 1, **meta},
        "spec": spec or {"strategy": "momentum"},
        "status": status,
    }


def boss_after_write() -> FloorBoss:
    boss = FloorBoss(BossSettings(), kube=None)  # type: ignore[arg-type]  # no API call is made here
    boss.remember(body({}))
    boss.reconciler.written[("TraderAgent", "floor", "t1")] = WRITTEN
    return boss


def test_the_echo_of_its_own_write_is_recognised() -> None:
    boss = boss_after_write()
    boss.remember(
        body({"phase": "Pending", "podName": "t1-0", "restarts": {"total": 0}})
    )  # nulls patched away
    assert boss.echo


def test_anything_new_is_not_an_echo() -> None:
    echoed = {"phase": "Pending", "podName": "t1-0", "restarts": {"total": 0}}
    cases = [
        body({**echoed, "performance": {"trades": 3}}),  # the agent reported
        body(echoed, spec={"strategy": "momentum", "lifecycle": "Paused"}),  # the user changed the spec
        body(echoed, labels={"team": "a"}),
        body(echoed, deletionTimestamp="2026-12-02T00:00:00Z"),
        body({**echoed, "phase": "Running"}),  # someone else wrote an owned field
    ]
    for case in cases:
        boss = boss_after_write()
        boss.remember(case)
        assert not boss.echo, case
    fresh = FloorBoss(BossSettings(), kube=None)  # type: ignore[arg-type]
    fresh.remember(body({}))
    fresh.remember(body(echoed))
    assert not fresh.echo  # nothing written yet: a pass decides
