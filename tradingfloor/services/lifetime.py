"""Child processes that cannot outlive the process that started them.

Linux's ``PR_SET_PDEATHSIG`` asks the kernel to signal a child when its parent dies — even by
SIGKILL, when no cleanup code runs. The setting belongs to the *thread* that forked the child, so it
is only requested from the main thread (a child started from a worker thread would be signalled when
that thread ends); such children are still stopped by the normal shutdown and by the next start's
leftover sweep (``tradingfloor.services.leftovers``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when this process dies (None off Linux
    or off the main thread)."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), sig)

    return arm


def stop_with_parent(sig: int) -> None:
    """Ask for ``sig`` when this process's parent dies (Linux; a no-op elsewhere). For a process a
    harness started in a session of its own, which no terminal hang-up or group signal reaches."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was made
        os.kill(os.getpid(), sig)


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rpartition(")")[2].split()[0] != "Z"


def command_line(pid: int) -> str:
    """The process's command line with spaces between arguments ('' when unknown)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
