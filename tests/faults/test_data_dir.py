"""Faults of the embedded default (`dqp up` with SQLite and the filesystem broker in its data
dir): the data dir's disk full, then read-only, then twenty restarts in a second.

The data dir is a small tmpfs of its own (mounted as root), so filling it touches nothing
else on the machine; it is read-only through a read-only bind mount laid over it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Figures as FigureSink
from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_env
from tests.faults.scenarios import restart_burst
from tests.faults.verdict import judge, wait_all_ok, watch_healthy
from tests.faults.watch import StatusWatcher

MOUNT_SIZE = "64m"
FULL_SECONDS = 15.0
READ_ONLY_SECONDS = 15.0


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


def _umount(path: Path, every: bool = False) -> None:
    """Take the topmost mount off `path` (all of them with `every`)."""
    for _ in range(3 if every else 1):
        if not os.path.ismount(path):
            return
        result = subprocess.run(["umount", str(path)], capture_output=True, timeout=30)
        if result.returncode != 0:  # still busy: detach it now, the kernel frees it later
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, ledger: SecretLedger
) -> Iterator[LivePlatform]:
    root: Path = tmp_path_factory.mktemp("datadir")
    data = root / "data"
    data.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={MOUNT_SIZE},mode=0700", "tmpfs", str(data))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the data dir (needs root): {mounted.stderr.strip()}")
    instance = LivePlatform(
        data_dir=data, broker_url=None, extra_env=secret_env(ledger), ledger=ledger
    )
    try:
        instance.start_up()
        instance.wait_dataplane_healthy()
        yield instance
    finally:
        instance.close()
        _umount(data, every=True)


class DiskHog:
    """Fills the file system and keeps it full: space the platform frees (a consumed message
    deleted, say) is taken again within about a millisecond, as on a disk that filled up."""

    PAGE = 4096

    def __init__(self, path: Path):
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-hog", daemon=True)
        self._full = threading.Event()

    def start(self) -> None:
        self._thread.start()
        assert self._full.wait(60), "the file system never filled up"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        with self.path.open("wb", buffering=0) as handle:
            for size in (1 << 20, self.PAGE):
                with contextlib.suppress(OSError):
                    while handle.write(b"\0" * size):
                        pass
            self._full.set()
            while not self._stop.is_set():
                try:
                    handle.write(b"\0" * self.PAGE)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    time.sleep(0.001)


def test_data_dir_full_then_freed(platform: LivePlatform, figures: FigureSink) -> None:
    before = {role: platform.pid_of(role) for role in ("controlplane", "dataplane")}
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        full_at = watcher.mark("full")
        hog = DiskHog(platform.data_dir / "filler")
        try:
            hog.start()
            assert os.statvfs(platform.data_dir).f_bavail == 0
            time.sleep(5)
            # A write to the database is refused clearly; reads and the API go on.
            refused = platform.api("POST", "/api/user-tokens", json={"name": "disk-full"})
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "service_unavailable"
            assert platform.api("GET", "/api/users/me").status_code == 200
            not_sent = platform.api("PUT", "/api/admin/restart")
            assert not_sent.status_code == 503, not_sent.text
            time.sleep(max(0.0, full_at + FULL_SECONDS - time.monotonic()))
        finally:
            freed_at = watcher.mark("freed")
            hog.stop()
        wait_all_ok(watcher, 90)
        watch_healthy(watcher)
    verdict = judge(
        watcher,
        cut={"broker", "dataplane"},  # the embedded broker writes its messages there
        fault_at=full_at,
        restored_at=freed_at,
        recover_within=60,
    )
    assert {role: platform.pid_of(role) for role in before} == before
    assert platform.api("POST", "/api/user-tokens", json={"name": "disk-free"}).status_code == 201
    for measure, value in verdict.describe().items():
        figures(f"data dir full ({MOUNT_SIZE} tmpfs) for 15 s", measure, value)


def test_data_dir_read_only_then_writable(platform: LivePlatform, figures: FigureSink) -> None:
    data = str(platform.data_dir)
    before = {role: platform.pid_of(role) for role in ("controlplane", "dataplane")}
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        assert _mount("--bind", data, data).returncode == 0
        try:
            read_only_at = watcher.mark("read-only")
            remounted = _mount("-o", "remount,bind,ro", data)
            assert remounted.returncode == 0, remounted.stderr
            with pytest.raises(OSError) as refused:
                (platform.data_dir / "probe").write_text("x")
            assert refused.value.errno == errno.EROFS
            time.sleep(5)
            not_sent = platform.api("PUT", "/api/admin/restart")
            assert not_sent.status_code == 503, not_sent.text
            assert platform.api("GET", "/api/users/me").status_code == 200
            time.sleep(max(0.0, read_only_at + READ_ONLY_SECONDS - time.monotonic()))
        finally:
            writable_at = watcher.mark("writable")
            _umount(platform.data_dir)
        wait_all_ok(watcher, 90)
        watch_healthy(watcher)
    verdict = judge(
        watcher,
        cut={"broker", "dataplane"},
        fault_at=read_only_at,
        restored_at=writable_at,
        recover_within=60,
    )
    assert {role: platform.pid_of(role) for role in before} == before
    for measure, value in verdict.describe().items():
        figures("data dir read-only for 15 s", measure, value)


def test_twenty_restart_calls_in_one_second(platform: LivePlatform, figures: FigureSink) -> None:
    verdict = restart_burst(platform)
    for measure, value in verdict.describe().items():
        figures("20 restart calls in 1 s (embedded broker)", measure, value)
