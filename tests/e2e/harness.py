"""Starting the real platform processes for end-to-end tests, and polling them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dqp(*args: str) -> list[str]:
    return [sys.executable, "-m", "dqplatform.cli.main", *args]


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


@dataclass
class Platform:
    """A data dir, an environment and the processes started on it."""

    data_dir: Path
    broker_url: str | None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DQP_")}
        env.update(
            {
                "DQP_DATA_DIR": str(self.data_dir),
                "DQP_PORT": str(self.port),
                "DQP_SPARK_MASTER": "local[2]",
                "DQP_SPARK_DRIVER_MEMORY": "512m",
                "DQP_THREAD_POOL_PARALLELISM": "3",
                "DQP_SHUTDOWN_GRACE_SECONDS": "20",
                "DQP_STATUS_CACHE_SECONDS": "0.2",
                "DQP_AUTH_CACHE_SECONDS": "1",
                # File datastores in the suites are in temporary folders (tmp_path, /tmp/...).
                "DQP_FILES_ROOTS": tempfile.gettempdir(),
            }
        )
        if self.broker_url:
            env["DQP_BROKER_URL"] = self.broker_url
        env.update(self.extra_env)
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run_cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            dqp(*args),
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir.parent / f"{name}.log", "ab")  # noqa: SIM115 - kept with the process
        process = subprocess.Popen(
            dqp(*args), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.data_dir.parent / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def create_admin(self, username: str = "root-admin") -> str:
        result = self.run_cli(
            "user",
            "add",
            username,
            "--role",
            "admin",
            "--password-stdin",
            stdin="a long enough password\n",
        )
        assert result.returncode == 0, result.stderr
        return self.issue_token(username)

    def issue_token(self, username: str) -> str:
        result = self.run_cli("token", "issue", username)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    @property
    def http(self) -> httpx.Client:
        """One client for the whole test: building one per call costs an SSL context each."""
        client = self.__dict__.get("_http")
        if client is None:
            client = self.__dict__["_http"] = httpx.Client()
        return client

    def request(
        self, method: str, path: str, token: str | None = None, timeout: float = 10.0, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return self.http.request(
            method, self.url + path, headers=headers, timeout=timeout, **kwargs
        )

    def get(self, path: str, token: str | None = None, timeout: float = 10.0) -> httpx.Response:
        return self.request("GET", path, token, timeout)

    def put(self, path: str, token: str | None = None, timeout: float = 10.0) -> httpx.Response:
        return self.request("PUT", path, token, timeout)

    def wait_api(self, timeout: float = START_TIMEOUT) -> None:
        def answers() -> bool:
            try:
                return self.http.get(self.url + "/api/health", timeout=1).status_code == 204
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout)

    def status(self) -> dict[str, Any]:
        response = self.get("/api/status")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_dataplane_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        def healthy() -> dict[str, Any] | None:
            body = self.status()
            return body if isinstance(body["dataplane_healthcheck"], dict) else None

        result: dict[str, Any] = wait_until(healthy, timeout, interval=0.5)
        return result

    def dataplane_pid(self) -> int | None:
        response = self.get("/api/status/details")
        assert response.status_code == 200, response.text
        pid = response.json()["dataplane_pid"]
        return int(pid) if pid is not None else None

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"{name} did not stop within {timeout} s") from None

    def stop_all(self) -> None:
        for name in list(self.processes):
            with contextlib.suppress(AssertionError):
                self.stop(name)


@contextlib.contextmanager
def running_up(data_dir: Path, parallelism: int = 1) -> Iterator[Platform]:
    """`dqp up` on the embedded broker (a controlplane and its supervised dataplane), with an
    admin token, once the dataplane answers healthy; stopped afterwards."""
    instance = Platform(
        data_dir=data_dir,
        broker_url=None,
        extra_env={"DQP_THREAD_POOL_PARALLELISM": str(parallelism)},
    )
    try:
        instance.start("up", "up")
        instance.wait_api()
        instance.token = instance.issue_token("admin")
        instance.wait_dataplane_healthy()
        yield instance
    finally:
        instance.stop_all()
