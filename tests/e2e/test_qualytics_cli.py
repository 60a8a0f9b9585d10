"""The public client, qualytics-cli from PyPI, pointed at a live dqplatform controlplane."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.harness import Platform
from tests.e2e.test_cli_client import (
    NO_DATAPLANE,
    PASSWORD,
    browser_events,
    write_fake_browser,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # the first run installs the client

QUALYTICS_CLI = "qualytics-cli==1.2.2"
ADMIN = "qualytics-admin"
CHECK_LINE = re.compile(r"^\s*([✓⚠✗])\s+(.*)$")


def _installed_version(venv: Path) -> str:
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; "
         "print(m.version('qualytics-cli'))"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return probe.stdout.strip() if probe.returncode == 0 else ""


@pytest.fixture(scope="session")
def qualytics_venv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """qualytics-cli in a virtualenv of its own, kept in pytest's cache between runs."""
    cache = getattr(request.config, "cache", None)
    name = QUALYTICS_CLI.replace("==", "-")
    root = cache.mkdir(name) if cache is not None else tmp_path_factory.mktemp(name)
    venv, marker = root / "venv", root / "installed"
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test session may be installing it
        version = QUALYTICS_CLI.split("==")[1]
        if not (marker.exists() and _installed_version(venv) == version):
            marker.unlink(missing_ok=True)
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            install = subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", QUALYTICS_CLI],
                capture_output=True,
                text=True,
                timeout=800,
                check=False,
            )
            assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-4000:]
            assert _installed_version(venv) == version
            marker.write_text(QUALYTICS_CLI)
    return venv


@pytest.fixture(scope="module")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    instance = Platform(
        data_dir=tmp_path_factory.mktemp("qualytics") / "data",
        broker_url=None,
        extra_env=NO_DATAPLANE,
    )
    try:
        instance.start("controlplane", "controlplane")
        instance.wait_api()
        instance.token = instance.create_admin(ADMIN)
        yield instance
    finally:
        instance.stop_all()


class Qualytics:
    """Runs `qualytics` with its config in a temporary folder and nothing from the outside."""

    def __init__(self, venv: Path, home: Path):
        self.executable = venv / "bin" / "qualytics"
        self.config_home = home / "qualytics"
        self.browser_log = home / "browser.log"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("QUALYTICS_", "DQP_", "VIRTUAL_ENV"))
        }
        self.env.update(
            {
                "QUALYTICS_CONFIG_HOME": str(self.config_home),
                "CI": "1",  # no banner
                "COLUMNS": "200",  # no wrapped lines
                "BROWSER": str(write_fake_browser(home)),
                "FAKE_BROWSER_LOG": str(self.browser_log),
                "FAKE_BROWSER_USER": ADMIN,
                "FAKE_BROWSER_PASSWORD": PASSWORD,
            }
        )

    @property
    def config(self) -> dict[str, object]:
        loaded: dict[str, object] = yaml.safe_load((self.config_home / "config.yaml").read_text())
        return loaded

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.executable), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def qualytics(qualytics_venv: Path, tmp_path: Path) -> Qualytics:
    return Qualytics(qualytics_venv, tmp_path)


def _normalized(path: str) -> str:
    # How qualytics-cli compares paths: no /api prefix, parameter names ignored.
    path = "/" + path.split("?", 1)[0].strip("/")
    path = "/" if path == "/api" else path.removeprefix("/api")
    return re.sub(r"\{[^}/]+\}", "{}", path)


def missing_operations(venv: Path, platform: Platform) -> set[tuple[str, str]]:
    """The operations qualytics-cli requires that this platform's OpenAPI does not have."""
    required = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import json; from qualytics.api.compatibility "
         "import REQUIRED_API_OPERATIONS as r; print(json.dumps(sorted(r)))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    schema = httpx.get(platform.url + "/api/openapi.json", timeout=10).json()
    offered = {
        (method.upper(), _normalized(path))
        for path, item in schema["paths"].items()
        for method in item
    }
    return {
        (method, path)
        for method, path in json.loads(required.stdout)
        if (method, _normalized(path)) not in offered
    }


def assert_doctor_passes(
    result: subprocess.CompletedProcess[str], missing: set[tuple[str, str]]
) -> None:
    """Exit 0, no failed check, and a warning only for operations this platform lacks."""
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [m.groups() for line in result.stdout.splitlines() if (m := CHECK_LINE.match(line))]
    assert not [text for mark, text in checks if mark == "✗"], result.stdout
    passed = {text.split("  ")[0].strip() for mark, text in checks if mark == "✓"}
    for name in ("Configuration", "Authentication", "Token validity", "API connection"):
        assert name in passed, result.stdout
    assert any(text.startswith("SSL certificate") for mark, text in checks if mark == "✓")
    warnings = [text for mark, text in checks if mark == "⚠"]
    if not missing:
        assert warnings == [] and "All checks passed!" in result.stdout
        return
    assert warnings == [
        f"API compatibility {len(missing)} required method/path operation(s) are incompatible"
    ], result.stdout
    listed = re.findall(r"^\s+- ([A-Z]+) (\S+) — ", result.stdout, flags=re.MULTILINE)
    assert listed and set(listed) <= missing


def test_auth_init_status_and_doctor(
    qualytics: Qualytics, qualytics_venv: Path, controlplane: Platform
) -> None:
    created = httpx.post(
        controlplane.url + "/api/user-tokens",
        json={"name": "qualytics-cli", "expires_in_days": 30},
        headers={"Authorization": f"Bearer {controlplane.token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]

    init = qualytics.run("auth", "init", "--url", controlplane.url, "--token", token)
    assert init.returncode == 0
    assert (qualytics.config_home / "config.yaml").exists(), init.stdout  # 0 even on failure
    assert qualytics.config == {
        "url": controlplane.url + "/api/",
        "token": token,
        "ssl_verify": True,
    }

    status = qualytics.run("auth", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(rf"URL:\s+{re.escape(controlplane.url)}/api/", status.stdout)
    assert "Logged in" in status.stdout
    assert re.search(r"Token expires in (29|30) day\(s\)", status.stdout), status.stdout
    assert token not in status.stdout

    doctor = qualytics.run("doctor")
    assert_doctor_passes(doctor, missing_operations(qualytics_venv, controlplane))
    assert "Valid (expires in 29 days)" in doctor.stdout
    # The API really takes the token the way the client sends it (doctor accepts a 401 too).
    answer = httpx.get(
        controlplane.url + "/api/status",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_auth_login_through_the_browser(
    qualytics: Qualytics, qualytics_venv: Path, controlplane: Platform
) -> None:
    login = qualytics.run("auth", "login", "--url", controlplane.url, "--timeout", "60")
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Authentication successful! Configuration saved." in login.stdout
    signin = [
        event for event in browser_events(qualytics.browser_log) if event["event"] == "signin"
    ]
    assert len(signin) == 1
    assert signin[0]["redirects"] == [303] and signin[0]["status"] == 200
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", signin[0]["at"])

    config = qualytics.config
    assert config["url"] == controlplane.url + "/api/"
    token = str(config["token"])
    me = controlplane.get("/api/users/me", token=token)
    assert me.status_code == 200 and me.json()["username"] == ADMIN

    status = qualytics.run("auth", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"Token expires in (89|90) day\(s\)", status.stdout), status.stdout
    doctor = qualytics.run("doctor")
    assert_doctor_passes(doctor, missing_operations(qualytics_venv, controlplane))
