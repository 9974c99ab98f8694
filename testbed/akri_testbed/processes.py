"""Starting and stopping the testbed's long-running processes.

Each component runs in its own session (so it outlives ``akri_testbed up`` and a signal reaches
the whole group), with stdout and stderr in one log file. A started process is remembered by pid
*and* kernel start time, so ``down`` never signals an unrelated process that reused the pid.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_TIMEOUT_S = 10.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Started:
    """One running component: its name, identity, command line and log."""

    name: str
    pid: int
    start_time: int
    command: tuple[str, ...]
    log: Path


def process_start_time(pid: int) -> int | None:
    """The kernel start time (clock ticks since boot) of ``pid``, or None if it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may contain spaces; fields after the last ')' are space separated.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def is_running(proc: Started) -> bool:
    """True while the very process that was started is alive (and not a zombie)."""
    if process_start_time(proc.pid) != proc.start_time:
        return False
    try:
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


SETPRIV = shutil.which("setpriv")  # util-linux: sets PR_SET_PDEATHSIG, then execs


def _die_with_parent() -> None:
    """In the child before exec: ask the kernel for SIGKILL when the parent thread exits.

    SIGKILL, not SIGTERM: all components would get it at once, and an API server whose etcd is
    already gone can hang in its graceful shutdown."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def _on_main_thread() -> bool:
    """PR_SET_PDEATHSIG fires when the *thread* that started the child exits, so a child started
    from a worker thread (``asyncio.to_thread``) would be killed when that worker ends. Such a
    child does without it; ``stop_cluster`` still stops it with the rest."""
    return threading.current_thread() is threading.main_thread()


def spawn(
    name: str,
    command: Sequence[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    die_with_parent: bool = False,
) -> Started:
    """Starts ``command`` in a new session with its output appended to ``log``.

    With ``die_with_parent`` the process gets SIGKILL if this process dies first (for test
    sessions); without it, it outlives this process (for ``akri_testbed up``).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    argv, preexec = list(command), None
    if die_with_parent and _on_main_thread():
        # setpriv asks for the signal and execs the command: no Python runs between fork and
        # exec, which a process holding gRPC's threads (a test session) must not do.
        if SETPRIV is not None:
            argv = [SETPRIV, "--pdeathsig", "KILL", "--", *argv]
        else:
            preexec = _die_with_parent
    with log.open("ab") as out:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            preexec_fn=preexec,  # noqa: PLW1509 (only without setpriv)
        )
    start_time = process_start_time(popen.pid)
    if start_time is None:
        raise RuntimeError(f"{name} exited at once; see {log}")
    # The Popen object is dropped on purpose: the process must outlive this one. Reap it if it
    # dies while we are still around, so that it does not linger as a zombie.
    _children[popen.pid] = popen
    return Started(name=name, pid=popen.pid, start_time=start_time, command=tuple(command), log=log)


_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    popen = _children.get(pid)
    if popen is not None and popen.poll() is not None:
        del _children[pid]


def stop(proc: Started, *, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout`` seconds."""
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        _reap(proc.pid)
        if not is_running(proc):
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            _reap(proc.pid)
            if not is_running(proc):
                return
            time.sleep(0.05)
    raise RuntimeError(f"{proc.name} (pid {proc.pid}) did not stop")
