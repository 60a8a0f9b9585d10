"""Starting what the benchmarks measure: a PostgreSQL database, the platform on it, plain apps."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.worker_counters import per_worker
from dqplatform.settings import Settings
from tests.e2e.harness import Platform, free_port, wait_until

POSTGRES_ADMIN_URL = os.environ.get(
    "DQP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ_HOST_URL = "amqp://guest:guest@127.0.0.1:5672"

# Two cores: one server process per core is how a 2-core machine is deployed. The load
# generator shares those cores, which the CPU columns of every table make visible.
DEFAULT_WORKERS = int(os.environ.get("DQP_BENCH_WORKERS", "2"))
# The platform's own defaults, not the short ones the end-to-end harness uses.
DEFAULT_CACHE_SECONDS = Settings.model_fields["status_cache_seconds"].default
DEFAULT_DEADLINE = Settings.model_fields["probe_timeout_seconds"].default
START_TIMEOUT = 300.0


def machine() -> str:
    """The machine a table was measured on, and how busy it was with other work."""
    one, five, _ = os.getloadavg()
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB; load average {one:.1f} (1 min), "
        f"{five:.1f} (5 min) when the table was printed"
    )


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark run, dropped afterwards."""
    name = f"dqp_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise SystemExit(f"cannot create a PostgreSQL database: {type(exc).__name__}") from None
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host for one benchmark run, deleted afterwards.

    The platform's queue names are fixed: in a vhost of its own, the benchmark's controlplane
    never talks to another platform's dataplane running on the same broker. DQP_BENCH_RABBITMQ_URL
    names a broker URL to use as it is.
    """
    given = os.environ.get("DQP_BENCH_RABBITMQ_URL")
    if given or shutil.which("rabbitmqctl") is None:
        yield given or f"{RABBITMQ_HOST_URL}//"
        return
    vhost = f"dqp-bench-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{RABBITMQ_HOST_URL}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def platform_up(
    database_url: str,
    broker_url: str,
    workers: int = DEFAULT_WORKERS,
    extra_env: dict[str, str] | None = None,
    wait_healthy: bool = True,
) -> Iterator[Platform]:
    """`dqp up` (controlplane and supervised dataplane) on PostgreSQL and RabbitMQ."""
    with tempfile.TemporaryDirectory(prefix="dqp-bench-") as tmp:
        env = {
            "DQP_DATABASE_URL": database_url,
            "DQP_WORKERS": str(workers),
            "DQP_STATUS_CACHE_SECONDS": str(DEFAULT_CACHE_SECONDS),
            "DQP_PROBE_TIMEOUT_SECONDS": str(DEFAULT_DEADLINE),
            "DQP_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        platform = Platform(data_dir=Path(tmp) / "data", broker_url=broker_url, extra_env=env)
        # On PostgreSQL nothing else creates the data dir before `dqp up` writes the first
        # admin's password file into it.
        platform.data_dir.mkdir(parents=True)
        try:
            platform.start("up", "up")
            # Generous: on a machine busy with other work, a cold start has taken 150 s.
            platform.wait_api(timeout=START_TIMEOUT)
            platform.token = platform.issue_token("admin")
            if wait_healthy:
                platform.wait_dataplane_healthy(timeout=START_TIMEOUT)
            wait_all_workers(platform, workers)
            yield platform
        except BaseException:
            sys.stderr.write(f"--- tail of the dqp up log ---\n{platform.log('up')[-3000:]}\n")
            raise
        finally:
            platform.stop_all()


def wait_all_workers(platform: Platform, count: int, timeout: float = 120) -> None:
    """Until each of the `count` uvicorn workers answers (they start one after another)."""

    def all_answer() -> bool:
        workers = uvicorn_workers(controlplane_processes(platform))
        if len(workers) < count:
            return False
        answers = per_worker(platform.url + "/api/status", f"Bearer {platform.token}", workers)
        return len(answers) == count

    wait_until(all_answer, timeout, interval=0.5)


def controlplane_processes(platform: Platform) -> list[psutil.Process]:
    """The controlplane server (uvicorn and its workers) under a running `dqp up`."""
    supervisor = psutil.Process(platform.processes["up"].pid)
    for child in supervisor.children():
        with contextlib.suppress(psutil.Error):
            if "controlplane" in child.cmdline():
                return [child, *child.children(recursive=True)]
    raise RuntimeError("no controlplane process under dqp up")


def uvicorn_workers(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes that serve requests: uvicorn's workers, or the lone process without any.

    `processes` is a server's process tree, its root first; multiprocessing's helper (the
    resource tracker) is in the tree too but serves nothing.
    """
    workers = [process for process in processes[1:] if _serves(process)]
    return workers or processes[:1]


def _serves(process: psutil.Process) -> bool:
    try:
        return "resource_tracker" not in " ".join(process.cmdline())
    except psutil.Error:
        return False


@dataclass
class App:
    """A plain ASGI app served by uvicorn with the platform's options."""

    name: str
    url: str
    process: subprocess.Popen[bytes]

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]


@contextlib.contextmanager
def uvicorn_app(
    target: str, path: str, workers: int = DEFAULT_WORKERS, env: dict[str, str] | None = None
) -> Iterator[App]:
    """Serve `module:app` the way `dqp controlplane` serves the platform."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(argv, env={**os.environ, **(env or {})}, start_new_session=True)
    app = App(target, f"http://127.0.0.1:{port}{path}", process)
    try:

        def answers() -> bool:
            try:
                httpx.get(app.url, timeout=5)
                return True
            except httpx.HTTPError:
                return process.poll() is not None  # stop waiting on a crash

        wait_until(answers, 60)
        if process.poll() is not None:
            raise RuntimeError(f"{target} exited with code {process.returncode}")
        # All workers up before measuring: uvicorn starts them one after another.
        time.sleep(1.0)
        yield app
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
