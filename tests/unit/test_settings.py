"""Settings: defaults, one clear line per invalid value, and the generated JWT secret."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dqplatform.settings import (
    Settings,
    SettingsError,
    _read_or_create_secret,
    load_settings,
    size_for_cores,
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No DQP_* variable from the caller's environment, and a fresh working directory."""
    for name in list(os.environ):
        if name.startswith("DQP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def test_defaults(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == Path(".dqp")
    assert settings.database_url is None
    assert settings.resolved_database_url == f"sqlite:///{clean_env / '.dqp' / 'dqp.db'}"
    assert settings.broker_url is None
    assert settings.jwt_secret is None
    assert settings.jwt_ttl_seconds == 3600
    assert settings.platform == "local"
    assert settings.engine == "local"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.size is None
    assert settings.driver_cores == (os.cpu_count() or 1)
    assert settings.deployment_size == size_for_cores(settings.driver_cores)
    assert settings.auth_cache_seconds == 5.0
    # Reading settings creates nothing: the data dir appears on first use only.
    assert not (clean_env / ".dqp").exists()


def test_environment_variables_are_read(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DQP_DATA_DIR": str(clean_env / "elsewhere"),
        "DQP_DATABASE_URL": "postgresql+psycopg://dqp@db.internal:5432/dqp",
        "DQP_JWT_TTL_SECONDS": "900",
        "DQP_PLATFORM": "azure",
        "DQP_ENGINE": "databricks",
        "DQP_HOST": "0.0.0.0",
        "DQP_PORT": "9000",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.data_dir == clean_env / "elsewhere"
    assert settings.resolved_database_url == "postgresql+psycopg://dqp@db.internal:5432/dqp"
    assert (settings.jwt_ttl_seconds, settings.platform, settings.engine) == (
        900,
        "azure",
        "databricks",
    )
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)


# ---- invalid values stop `dqp` with one line naming the variable --------------------------

INVALID: dict[str, str] = {
    "DQP_PORT": "abc",
    "DQP_PLATFORM": "moon",
    "DQP_ENGINE": "x",
    "DQP_JWT_TTL_SECONDS": "0",
    "DQP_BROKER_URL": "http://x",
    "DQP_DATABASE_URL": "mysql://admin:hunter2-secret@x/db",
}


def _dqp() -> list[str]:
    script = Path(sys.executable).with_name("dqp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dqplatform.cli.main"]


@pytest.fixture(scope="module")
def cli_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """`dqp user list` once per invalid variable, all at the same time, since each start of
    the CLI costs about a second. (tests/integration runs it with valid settings.)"""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DQP_")}
    started: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    for name in INVALID:
        data_dir = tmp_path_factory.mktemp("settings") / "data"
        env = {**base, "DQP_DATA_DIR": str(data_dir), name: INVALID[name]}
        process = subprocess.Popen(
            [*_dqp(), "user", "list"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[name] = (process, data_dir)
    runs = {}
    for name, (process, data_dir) in started.items():
        stdout, stderr = process.communicate(timeout=60)
        runs[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        # Stopped before touching anything: no database, no secret.
        assert not data_dir.exists(), name
    return runs


@pytest.mark.parametrize("variable", list(INVALID))
def test_an_invalid_value_exits_2_with_one_line_naming_it(
    cli_runs: dict[str, subprocess.CompletedProcess[str]], variable: str
) -> None:
    run = cli_runs[variable]
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"dqp: invalid setting {variable}: ")
    assert "hunter2-secret" not in run.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DQP_WORKERS", "0"),
        ("DQP_AUTH_CACHE_SECONDS", "0"),
        ("DQP_SIZE", "huge"),
        ("DQP_DRIVER_CORES", "0"),
        ("DQP_SPARK_DRIVER_MEMORY", "lots"),
        ("DQP_LOG_LEVEL", "LOUD"),
        ("DQP_PORT", "70000"),
    ],
)
def test_load_settings_names_the_invalid_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"invalid setting {variable}: ")
    assert "\n" not in message


def test_blank_urls_mean_the_defaults(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DQP_DATABASE_URL", "  ")
    monkeypatch.setenv("DQP_BROKER_URL", "")
    settings = load_settings()
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_broker_url == "filesystem://"


# ---- the JWT secret -------------------------------------------------------------------


def test_the_generated_secret_is_private_and_stable(clean_env: Path) -> None:
    data_dir = clean_env / "data"
    secret = Settings(data_dir=data_dir).signing_secret  # type: ignore[call-arg]
    path = data_dir / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert path.read_text().strip() == secret
    # A later load (another process, a restart) finds the same secret.
    assert Settings(data_dir=data_dir).signing_secret == secret  # type: ignore[call-arg]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Another data dir gets a secret of its own.
    assert Settings(data_dir=clean_env / "other").signing_secret != secret  # type: ignore[call-arg]


def test_dqp_jwt_secret_overrides_the_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = clean_env / "data"
    generated = Settings(data_dir=data_dir).signing_secret  # type: ignore[call-arg]
    monkeypatch.setenv("DQP_JWT_SECRET", "a secret from the environment, long enough")
    settings = Settings(data_dir=data_dir)  # type: ignore[call-arg]
    assert settings.signing_secret == "a secret from the environment, long enough"
    assert settings.signing_secret != generated
    # The secret never shows in the settings' text.
    assert "from the environment" not in repr(settings)
    # With the variable set, no file is created in a fresh data dir.
    fresh = clean_env / "fresh"
    assert Settings(data_dir=fresh).signing_secret.startswith("a secret")  # type: ignore[call-arg]
    assert not (fresh / "jwt_secret").exists()


def test_a_secret_being_written_is_never_read_empty(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = clean_env / "data" / "jwt_secret"
    writer_paused, release = threading.Event(), threading.Event()
    real_fdopen = os.fdopen

    def slow_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        # The writer stops right after creating its file, as a busy machine may make it.
        if threading.current_thread().name == "writer":
            writer_paused.set()
            release.wait(1.0)
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", slow_fdopen)
    secrets_seen: dict[str, str] = {}
    writer = threading.Thread(
        target=lambda: secrets_seen.update(writer=_read_or_create_secret(path)), name="writer"
    )
    writer.start()
    assert writer_paused.wait(5)
    secrets_seen["reader"] = _read_or_create_secret(path)
    release.set()
    writer.join(5)
    assert secrets_seen["reader"]
    assert secrets_seen["reader"] == secrets_seen["writer"]
