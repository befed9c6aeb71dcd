"""Instance supervision: start, stop, restart after exponential backoff within an hourly budget,
restart when heartbeats are missed, and start again on a changed spec. Works for every agent kind."""

from __future__ import annotations

from datetime import datetime, timedelta

from tradingfloor.decisions import status as conds
from tradingfloor.decisions.backoff import recent_restarts, restart_allowed, restart_delay
from tradingfloor.decisions.draft import Draft
from tradingfloor.decisions.observation import Instance, StartInstance, StopInstance
from tradingfloor.decisions.policy import FloorPolicy

CRASHED = "Crashed"
HEARTBEAT_MISSED = "HeartbeatMissed"
# A pending instance stuck for one of these reasons will not start by itself: say so in status/Events.
STUCK_REASONS = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError")
TEMPLATE_CHANGED = "TemplateChanged"
NAME_TAKEN_RETRY = 1.0  # seconds before trying again a name still held by a terminating instance


def instance_name(agent: str, attempt: int) -> str:
    """Deterministic per attempt: a retried create finds the same name (no duplicates)."""
    return f"{agent}-{attempt}"


def heartbeat_misses(
    last_beat: datetime | None, started: datetime | None, timeout: float, now: datetime
) -> int:
    """Whole heartbeat windows elapsed since the newest sign of life (beat or instance start)."""
    marks = [t for t in (last_beat, started) if t is not None]
    if not marks:
        return 0
    return int((now - max(marks)).total_seconds() // timeout)


def prepare(d: Draft) -> None:
    """Forget restarts older than the budget window; a spec change lifts an exhausted budget."""
    restarts = d.status.restarts
    restarts.recent = recent_restarts(restarts.recent, d.now)
    exhausted = conds.find(d.status.conditions, conds.EXHAUSTED)
    if (
        exhausted is not None
        and exhausted.status == "True"
        and (exhausted.observedGeneration or 0) < d.obs.generation
    ):
        restarts.consecutiveFailures = 0
        restarts.recent = []
        d.condition(conds.EXHAUSTED, False, "SpecChanged", "the spec changed; restart budget reset")
        d.event("Normal", "RestartBudgetReset", "spec changed; restarting with a fresh budget")


def stop_all(d: Draft, reason: str, message: str, keep_ended: bool = False) -> None:
    """Stop every instance; ``keep_ended`` leaves the last ended one in place so its logs stay readable."""
    for inst in d.obs.instances:
        last_ended = inst.state in ("succeeded", "failed") and inst.name == d.status.podName
        if not inst.deleting and not (keep_ended and last_ended):
            d.act(StopInstance(inst.name, reason))
    d.status.restarts.nextRestartAfter = None
    d.condition(conds.BACKOFF, False, "NotRunning", message)
    d.condition(conds.READY, False, reason, message)
    d.condition(conds.DEGRADED, False, "NotRunning", message)


def supervise(d: Draft, policy: FloorPolicy) -> None:
    """Keep exactly one healthy instance of an agent that should be running."""
    restarts = d.status.restarts
    live = [i for i in d.obs.instances if not i.deleting and i.state in ("pending", "running")]
    ended = [i for i in d.obs.instances if not i.deleting and i.state in ("succeeded", "failed")]

    if restarts.nextRestartAfter is not None:  # backing off after a failure
        for inst in live:  # the failed instance stays until its successor runs (kubectl logs)
            d.act(StopInstance(inst.name, "restart pending"))
        for inst in ended:
            if inst.name != d.status.podName:
                d.act(StopInstance(inst.name, "ended instance of an earlier attempt"))
        if d.now >= restarts.nextRestartAfter:
            name = instance_name(d.obs.name, restarts.total + 1)
            if _name_taken(d, name):
                return
            _start(d, name, restart=True)
        else:
            d.requeue((restarts.nextRestartAfter - d.now).total_seconds())
        return

    current = d.status.podName
    failure: tuple[str, str] | None = None
    keep = next((i for i in live if i.name == current), live[0] if live else None)
    # An earlier attempt's ended instance goes once its successor runs or has ended too: the
    # newest ended instance is always kept for its logs.
    superseded = (keep is not None and keep.state == "running") or any(i.name == current for i in ended)
    for inst in ended:
        if inst.name == current:
            failure = (CRASHED, f"{inst.name} {inst.state}" + (f" ({inst.detail})" if inst.detail else ""))
        elif superseded:
            d.act(StopInstance(inst.name, "ended instance of an earlier attempt"))

    if failure is None and keep is not None and keep.state == "running" and d.obs.heartbeats_enabled:
        failure = _check_heartbeat(d, keep, policy)
    if failure is not None:
        _record_failure(d, failure, live)
        return
    if keep is None:
        # Nothing runs: first start, or the current instance vanished (recreated under its name,
        # once the name is free: a Terminating Pod still holds it).
        first = current is None
        name = current or instance_name(d.obs.name, restarts.total)
        if _name_taken(d, name):
            return
        _start(d, name, restart=False)
        if first:
            d.decide("start", "agent is Active and has no instance")
        return

    outdated = _outdated(d, keep)
    if outdated is not None:
        reason, message = outdated
        if reason != TEMPLATE_CHANGED or d.obs.template_roll_allowed:
            _start_again(d, keep, reason, message)
            return
        d.requeue(policy.template_roll_interval_seconds)  # another agent moved just now: wait for a turn
    for inst in live:
        if inst is not keep:
            d.act(StopInstance(inst.name, "duplicate instance"))
    d.status.podName = keep.name
    d.condition(conds.BACKOFF, False, "Running", "")
    if keep.state == "running":
        d.condition(conds.READY, True, "Running", f"{keep.name} is running")
        started = d.status.startedAt or keep.started_at
        healthy = (
            started is not None
            and (d.now - started).total_seconds() >= d.obs.spec.restartPolicy.healthyResetSeconds
        )
        if healthy and restarts.consecutiveFailures:
            restarts.consecutiveFailures = 0  # a healthy stretch resets the backoff
    elif keep.waiting in STUCK_REASONS:
        message = f"{keep.name} cannot start: {keep.waiting}"
        old = conds.find(d.status.conditions, conds.DEGRADED)
        if old is None or old.status != "True" or old.reason != keep.waiting:
            d.event("Warning", keep.waiting, message)
        d.condition(conds.READY, False, keep.waiting, message)
        d.condition(conds.DEGRADED, True, keep.waiting, message)
    else:
        d.condition(conds.READY, False, "Starting", f"{keep.name} is {keep.state}")


def _outdated(d: Draft, inst: Instance) -> tuple[str, str] | None:
    """(reason, message) when ``inst`` was started for an older spec, or built from another
    template (a Floor Boss upgraded or configured since: another agent image, environment …)."""
    if inst.generation is not None and inst.generation < d.obs.generation:
        return "SpecChanged", (
            f"spec changed: {inst.name} runs generation {inst.generation}, the spec is at {d.obs.generation}"
        )
    if inst.template is not None and d.obs.template is not None and inst.template != d.obs.template:
        return TEMPLATE_CHANGED, (
            f"{inst.name} was built from template {inst.template}, the Floor Boss now builds {d.obs.template}"
        )
    return None


def _start_again(d: Draft, inst: Instance, reason: str, message: str) -> None:
    """An agent reads its spec when it starts and cannot change its image or environment, so a new
    spec or template takes effect by stopping the instance: the next pass starts it again under its
    name once it is gone. Not a failure: no backoff, nothing counted against the restart budget."""
    d.act(StopInstance(inst.name, message))
    d.condition(conds.READY, False, reason, f"{message}; starting it again")
    d.event("Normal", reason, f"{message}; starting it again")
    d.requeue(NAME_TAKEN_RETRY)


def _name_taken(d: Draft, name: str) -> bool:
    """A terminating instance still holds ``name``: wait for it rather than collide with it."""
    if any(i.name == name and i.deleting for i in d.obs.instances):
        d.condition(conds.READY, False, "Starting", f"waiting for terminating {name} to go")
        d.requeue(NAME_TAKEN_RETRY)
        return True
    return False


def _check_heartbeat(d: Draft, inst: Instance, policy: FloorPolicy) -> tuple[str, str] | None:
    timeout = d.obs.spec.restartPolicy.heartbeatTimeoutSeconds
    started = max((t for t in (d.status.startedAt, inst.started_at) if t is not None), default=None)
    misses = heartbeat_misses(d.obs.heartbeat_at, started, timeout, d.now)
    if misses >= policy.heartbeat_misses:
        return HEARTBEAT_MISSED, f"{misses} heartbeats of {timeout}s missed by {inst.name}"
    if misses:
        d.condition(
            conds.DEGRADED, True, HEARTBEAT_MISSED, f"{misses} of {policy.heartbeat_misses} heartbeats missed"
        )
    else:
        d.condition(conds.DEGRADED, False, "HeartbeatOK", "")
    return None


def _record_failure(d: Draft, failure: tuple[str, str], instances: list[Instance]) -> None:
    cause, message = failure
    if "OOMKilled" in message:
        d.event("Warning", "OOMKilled", f"{message}: the container ran out of memory (raise its limit)")
    policy = d.obs.spec.restartPolicy
    restarts = d.status.restarts
    for inst in instances:
        d.act(StopInstance(inst.name, cause))
    ran = (d.now - d.status.startedAt).total_seconds() if d.status.startedAt else 0.0
    if ran >= policy.healthyResetSeconds:
        restarts.consecutiveFailures = 0
    restarts.consecutiveFailures += 1
    d.condition(conds.READY, False, cause, message)
    d.condition(conds.DEGRADED, cause == HEARTBEAT_MISSED, cause, message)
    if not restart_allowed(restarts.recent, d.now, policy.maxRestartsPerHour):
        text = (
            f"{message}; {len(restarts.recent)} restarts in the last hour reached the budget of "
            f"{policy.maxRestartsPerHour}: left down until its spec changes"
        )
        d.condition(conds.EXHAUSTED, True, "RestartBudgetExhausted", text)
        d.condition(conds.BACKOFF, False, "RestartBudgetExhausted", text)
        d.event("Warning", "RestartBudgetExhausted", text)
        d.decide("budget-exhausted", text)
        return
    delay = restart_delay(restarts.consecutiveFailures, policy.backoffBaseSeconds, policy.backoffCapSeconds)
    restarts.nextRestartAfter = d.now + timedelta(seconds=delay)
    d.condition(conds.BACKOFF, True, cause, f"{message}; restart in {delay:g}s")
    d.event(
        "Warning",
        "BackOff",
        f"{message}; restarting in {delay:g}s (failure {restarts.consecutiveFailures} in a row)",
    )
    d.decide("backoff", message)
    d.requeue(delay)


def _start(d: Draft, name: str, restart: bool) -> None:
    restarts = d.status.restarts
    d.act(StartInstance(name))
    d.status.podName = name
    d.status.startedAt = d.now
    # Worded as the next pass will find it (a pending instance), so that pass rewrites nothing:
    # one status write per start.
    d.condition(conds.READY, False, "Starting", f"{name} is pending")
    d.condition(conds.DEGRADED, False, "Starting", "")
    if restart:
        backoff = conds.find(d.status.conditions, conds.BACKOFF)
        cause = backoff.reason if backoff is not None and backoff.status == "True" else CRASHED
        restarts.total += 1
        restarts.recent = [*restarts.recent, d.now]
        restarts.lastRestartTime = d.now
        restarts.nextRestartAfter = None
        d.event("Normal", "Restarted", f"started {name} (restart {restarts.total}, cause {cause})")
        d.decide("restart", cause)
    else:
        d.event("Normal", "Started", f"started {name}")
    d.condition(conds.BACKOFF, False, "Running", "")
