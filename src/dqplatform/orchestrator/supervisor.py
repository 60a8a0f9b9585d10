"""Supervising the controlplane and dataplane processes of a single-machine deployment."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger(__name__)

# A child that ran at least this long is considered healthy: its next restart is immediate.
_STABLE_AFTER_SECONDS = 30.0
_BACKOFF_START = 0.5
_BACKOFF_MAX = 30.0
_POLL_SECONDS = 0.2


@dataclass
class Child:
    """One supervised process and its restart history."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = _BACKOFF_START
    next_start: float = 0.0
    history: list[tuple[float, int]] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.argv, env=env)
        self.started_at = time.monotonic()
        logger.info("%s started (pid %d)", self.name, self.process.pid)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def schedule_restart(self, code: int) -> None:
        ran_for = time.monotonic() - self.started_at
        self.history.append((time.time(), code))
        self.backoff = (
            _BACKOFF_START
            if ran_for >= _STABLE_AFTER_SECONDS
            else min(self.backoff * 2, _BACKOFF_MAX)
        )
        # A graceful exit (a restart command) comes back at once; a crash loop backs off.
        delay = 0.0 if code == 0 and ran_for >= 1.0 else self.backoff
        self.next_start = time.monotonic() + delay
        self.restarts += 1
        self.process = None
        logger.warning(
            "%s exited with code %d after %.1f s; restart #%d in %.1f s",
            self.name,
            code,
            ran_for,
            self.restarts,
            delay,
        )

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", self.name)
            self.process.kill()
            self.process.wait()


class Supervisor:
    def __init__(self, children: list[Child], stop_grace: float, env: dict[str, str] | None = None):
        self.children = children
        self.stop_grace = stop_grace
        self.env = dict(env if env is not None else os.environ)
        self._stop = threading.Event()

    def request_stop(self, signum: int, _frame: FrameType | None = None) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)
        for child in self.children:
            child.start(self.env)
        while not self._stop.wait(_POLL_SECONDS):
            now = time.monotonic()
            for child in self.children:
                if child.process is None:
                    if now >= child.next_start:
                        child.start(self.env)
                    continue
                code = child.exited()
                if code is not None:
                    child.schedule_restart(code)
        for child in self.children:
            child.terminate()
        deadline = time.monotonic() + self.stop_grace
        for child in self.children:
            child.wait_or_kill(deadline)
        logger.info("all processes stopped")
        return 0


def dqp_command(*args: str) -> list[str]:
    """argv that runs `dqp ARGS` with this interpreter, independent of PATH."""
    return [sys.executable, "-m", "dqplatform.cli.main", *args]
