"""Agent OS processes: start one per agent, observe how it is doing, stop it.

Each agent runs ``python -m floor_agents <kind> -f <manifest>`` (:mod:`floor_agents.entry`, what a
Pod runs as ``floor-agent``) in its own process
group, with stdout/stderr appended to ``<state>/logs/<name>.log`` so a crash leaves its trace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tradingfloor.decisions.kinds import COMMANDS
from tradingfloor.models.names import child_path
from tradingfloor.services.lifetime import die_with_parent


@dataclass
class ProcessState:
    """What the supervisor knows about one agent's process (the local counterpart of a Pod)."""

    name: str
    pid: int | None = None
    started_at: float | None = None  # wall-clock seconds
    exited_at: float | None = None
    exit_code: int | None = None
    generation: int | None = None  # the spec generation the process was started for

    @property
    def running(self) -> bool:
        return self.pid is not None and self.exit_code is None


@dataclass
class AgentProcesses:
    state_dir: Path
    env: dict[str, str]
    python: str = sys.executable
    _popen: dict[str, subprocess.Popen] = field(default_factory=dict)
    states: dict[str, ProcessState] = field(default_factory=dict)

    def start(
        self,
        name: str,
        agent: str,
        kind: str,
        manifest: Path,
        metrics_port: int,
        own_env: dict[str, str] | None = None,
        generation: int | None = None,
    ) -> ProcessState:
        """Start instance ``name`` of ``agent`` (instances are named per attempt, like Pods);
        ``own_env`` is this agent's alone (its database login); ``generation`` is the spec's, as the
        manifest was written for it."""
        if name in self._popen and self._popen[name].poll() is None:
            raise RuntimeError(f"instance {name} is already running (pid {self._popen[name].pid})")
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(child_path(logs, agent, ".log"), "ab")  # the name is checked: no "../"
        try:
            proc = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "floor_agents",
                    COMMANDS[kind],
                    "--manifest",
                    str(manifest),
                    "--metrics-port",
                    str(metrics_port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env, **(own_env or {}), "FLOOR_AGENT_NAME": agent},
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),  # a SIGKILLed floor takes its agents along
            )
        finally:
            log.close()
        self._popen[name] = proc
        self.states[name] = ProcessState(name, proc.pid, time.time(), generation=generation)
        return self.states[name]

    def poll(self) -> dict[str, ProcessState]:
        """Refresh exit codes of every process started; returns all states."""
        for name, proc in self._popen.items():
            state = self.states[name]
            if state.exit_code is None:
                code = proc.poll()
                if code is not None:
                    state.exit_code, state.exited_at = code, time.time()
        return self.states

    def stop(self, name: str, grace: float = 10.0) -> None:
        """SIGTERM the agent's process group, SIGKILL it after ``grace`` seconds."""
        proc = self._popen.get(name)
        if proc is None or proc.poll() is not None:
            self.poll()
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.poll()

    def forget(self, name: str) -> None:
        self._popen.pop(name, None)
        self.states.pop(name, None)

    def stop_all(self, grace: float = 10.0) -> None:
        for name in list(self._popen):
            proc = self._popen[name]
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for name in list(self._popen):
            proc = self._popen[name]
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.poll()
