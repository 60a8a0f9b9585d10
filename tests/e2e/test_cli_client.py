"""`dqp info/status/restart/login/logout` and the Python client, against live platforms."""

from __future__ import annotations

import json
import os
import platform as host
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dqplatform.client import ApiError, PlatformClient
from tests.e2e.harness import Platform, dqp, free_port

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"  # what Platform.create_admin sets
ADMIN = "root-admin"
MEMBER = "plain-member"
# With no dataplane every status call waits out the probe deadline: keep it short.
NO_DATAPLANE = {"DQP_PROBE_TIMEOUT_SECONDS": "0.5"}

# A stand-in for a person's browser: it opens the sign-in page, fills in the form (hidden
# fields and all, CSRF form token included) and follows the redirect to the loopback
# callback. FAKE_BROWSER_MODE=probe-first first sends the client's port a favicon request
# and a callback with a wrong state; wrong-state sends only those. It never logs a token.
FAKE_BROWSER = """#!{python}
import html, json, os, re, sys
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

url = sys.argv[-1]
mode = os.environ.get("FAKE_BROWSER_MODE", "signin")


def record(**event):
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as log:
        log.write(json.dumps(event) + "\\n")


record(event="open", url=url)
callback = parse_qs(urlsplit(url).query)["redirect_uri"][0]
with httpx.Client(timeout=10, follow_redirects=True) as browser:
    if mode in ("probe-first", "wrong-state"):
        answer = browser.get(urljoin(callback, "/favicon.ico"))
        record(event="favicon", status=answer.status_code)
        answer = browser.get(callback, params={{"state": "not-the-state", "token": "forged"}})
        record(event="wrong-state", status=answer.status_code)
        if mode == "wrong-state":
            sys.exit(0)
    page = browser.get(url)
    hidden = re.findall(r'<input type="hidden" name="(\\w+)" value="([^"]*)"', page.text)
    fields = {{name: html.unescape(value) for name, value in hidden}}
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page.text).group(1))
    fields["username"] = os.environ["FAKE_BROWSER_USER"]
    fields["password"] = os.environ["FAKE_BROWSER_PASSWORD"]
    answer = browser.post(urljoin(url, action), data=fields)
    record(
        event="signin",
        page=page.status_code,
        status=answer.status_code,
        at=str(answer.url).split("?")[0],
        redirects=[step.status_code for step in answer.history],
    )
"""


def write_fake_browser(directory: Path) -> Path:
    """The fake browser as an executable script, usable as $BROWSER."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "fake-browser"
    script.write_text(FAKE_BROWSER.format(python=sys.executable))
    script.chmod(0o755)
    return script


def browser_events(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


class Cli:
    """Runs `dqp` as a user would: its own config dir, no DQP_* settings, a fake browser."""

    def __init__(self, home: Path, username: str = ADMIN):
        self.home = home
        self.browser_log = home / "browser.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DQP_")}
        self.env.update(
            {
                "XDG_CONFIG_HOME": str(home / "config"),
                "COLUMNS": "200",
                "BROWSER": str(write_fake_browser(home)),
                "FAKE_BROWSER_LOG": str(self.browser_log),
                "FAKE_BROWSER_USER": username,
                "FAKE_BROWSER_PASSWORD": PASSWORD,
            }
        )

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "dqplatform" / "config.json"

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            dqp(*args),
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A controlplane with no dataplane, an Admin (platform.token) and a Member."""
    instance = Platform(
        data_dir=tmp_path_factory.mktemp("controlplane") / "data",
        broker_url=None,
        extra_env=NO_DATAPLANE,
    )
    try:
        instance.start("controlplane", "controlplane")
        instance.wait_api()
        instance.token = instance.create_admin(ADMIN)
        added = instance.run_cli(
            "user", "add", MEMBER, "--role", "member", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert added.returncode == 0, added.stderr
        yield instance
    finally:
        instance.stop_all()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def test_info_shows_what_the_platform_says(controlplane: Platform, cli: Cli) -> None:
    expected = controlplane.get("/api").json()
    table = cli.run("info", "--url", controlplane.url, "--token", controlplane.token)
    assert table.returncode == 0, table.stderr
    for key, value in expected.items():
        assert re.search(rf"{key}\s.*\s{re.escape(str(value))}\s", table.stdout), key
    raw = cli.run("info", "--json", "--url", controlplane.url, "--token", controlplane.token)
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout) == expected


def test_status_exits_1_while_the_dataplane_is_down(controlplane: Platform, cli: Cli) -> None:
    flags = ("--url", controlplane.url, "--token", controlplane.token)
    table = cli.run("status", *flags)
    assert table.returncode == 1, table.stderr
    assert re.search(r"Database\s.*\sOK", table.stdout)
    assert re.search(r"RabbitMQ\s.*\sOK", table.stdout)  # the filesystem broker answers
    assert re.search(r"Dataplane\s.*\sUNHEALTHY", table.stdout)
    raw = cli.run("status", "--json", *flags)
    assert raw.returncode == 1
    body = json.loads(raw.stdout)
    assert body["dataplane_healthcheck"] == "UNHEALTHY"
    assert body["database_connection"] == "OK"


def test_restart_is_for_admins_only(controlplane: Platform, cli: Cli) -> None:
    member = controlplane.issue_token(MEMBER)
    refused = cli.run("restart", "--url", controlplane.url, "--token", member)
    assert refused.returncode != 0
    assert "403" in refused.stderr and "requires the admin role" in refused.stderr
    details = controlplane.get("/api/status/details").json()
    assert (details.get("last_restart") or {}).get("requested_by") != MEMBER

    done = cli.run("restart", "--url", controlplane.url, "--token", controlplane.token)
    assert done.returncode == 0, done.stderr
    assert "restart requested" in done.stdout
    last = controlplane.get("/api/status/details").json()["last_restart"]
    assert last["requested_by"] == ADMIN
    assert last["delivered"] is True


def test_restart_wait_gives_up_after_its_timeout(controlplane: Platform, cli: Cli) -> None:
    # No dataplane will ever come back here: the wait must end at the timeout, non-zero.
    started = time.monotonic()
    result = cli.run(
        "restart", "--wait", "--timeout", "1", "--url", controlplane.url, "--token",
        controlplane.token,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "not healthy again within 1 s" in result.stderr
    assert elapsed < 30
    assert "downtime" not in result.stdout


def test_status_and_restart_wait_on_a_full_platform(tmp_path: Path, cli: Cli) -> None:
    platform = Platform(data_dir=tmp_path / "data", broker_url=None)
    try:
        platform.start("up", "up")
        platform.wait_api()
        platform.token = platform.issue_token("admin")  # made by `dqp up` on first start
        platform.wait_dataplane_healthy()
        first_pid = platform.dataplane_pid()
        flags = ("--url", platform.url, "--token", platform.token)

        table = cli.run("status", *flags)
        assert table.returncode == 0, table.stdout + table.stderr
        assert re.search(r"Dataplane\s.*\sOK", table.stdout)
        assert re.search(r"thread_pool_state\s.*running operations", table.stdout)
        raw = cli.run("status", "--json", *flags)
        assert raw.returncode == 0
        dataplane = json.loads(raw.stdout)["dataplane_healthcheck"]
        assert isinstance(dataplane, dict) and dataplane["thread_pool_parallelism"] == 3

        started = time.monotonic()
        waited = cli.run("restart", "--wait", "--timeout", "240", *flags, timeout=270)
        elapsed = time.monotonic() - started
        assert waited.returncode == 0, waited.stderr
        match = re.search(r"dataplane healthy again; downtime (\d+\.\d) s", waited.stdout)
        assert match, waited.stdout
        assert 0 < float(match.group(1)) < elapsed
        # It waited for a new dataplane, not for the old one to answer once more.
        assert platform.dataplane_pid() not in (None, first_pid)
        assert isinstance(platform.status()["dataplane_healthcheck"], dict)
    finally:
        platform.stop_all()


def test_login_through_the_browser_saves_a_working_token(controlplane: Platform, cli: Cli) -> None:
    cli.config_file.parent.mkdir(parents=True)
    cli.config_file.write_text(json.dumps({"url": "http://127.0.0.1:1", "token": "stale"}))
    cli.config_file.chmod(0o644)

    result = cli.run("login", "--url", controlplane.url + "/api/", FAKE_BROWSER_MODE="probe-first")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"as {ADMIN} (admin)" in result.stdout
    assert "ignored a sign-in callback that does not carry our state" in result.stderr

    # What reached the client's port: the favicon and the wrong state were turned away
    # without ending the wait, then the real sign-in came through the form and a 303.
    events = {event["event"]: event for event in browser_events(cli.browser_log)}
    assert events["favicon"]["status"] == 404
    assert events["wrong-state"]["status"] == 400
    signin = events["signin"]
    assert signin["page"] == 200 and signin["redirects"] == [303] and signin["status"] == 200
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", signin["at"])
    opened = parse_qs(urlsplit(events["open"]["url"]).query)
    assert opened["hostname"] == [host.node().removesuffix(".local") or "unknown"]
    assert len(opened["state"][0]) >= 40

    assert stat.S_IMODE(cli.config_file.stat().st_mode) == 0o600
    saved = json.loads(cli.config_file.read_text())
    assert saved["url"] == controlplane.url
    assert saved["token"] not in ("forged", "stale")
    assert saved["token"] not in result.stdout + result.stderr
    me = controlplane.get("/api/users/me", token=saved["token"])
    assert me.status_code == 200 and me.json()["username"] == ADMIN
    names = [row["name"] for row in controlplane.get("/api/user-tokens").json()]
    assert any(name.startswith("cli-") for name in names)

    info = cli.run("info", "--json")  # no flags, no environment: the saved login
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["application"]

    out = cli.run("logout")
    assert out.returncode == 0
    assert json.loads(cli.config_file.read_text()) == {"url": controlplane.url}
    again = cli.run("info")
    assert again.returncode == 1
    assert "no token" in again.stderr


def test_login_ignores_a_wrong_state_and_times_out(controlplane: Platform, cli: Cli) -> None:
    started = time.monotonic()
    result = cli.run(
        "login", "--url", controlplane.url, "--timeout", "3", FAKE_BROWSER_MODE="wrong-state"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "sign-in timed out: no answer from the browser within 3 s" in result.stderr
    assert 3 <= elapsed < 30
    assert [event["event"] for event in browser_events(cli.browser_log)] == [
        "open",
        "favicon",
        "wrong-state",
    ]
    assert browser_events(cli.browser_log)[2]["status"] == 400
    assert not cli.config_file.exists()


def test_login_without_a_browser_prints_the_address(controlplane: Platform, cli: Cli) -> None:
    process = subprocess.Popen(
        dqp("login", "--no-browser", "--timeout", "60", "--url", controlplane.url),
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = ""
        while not line.startswith("http"):
            line = process.stdout.readline()
            assert line, "dqp login ended without printing the address"
        address = line.strip()
        parts = urlsplit(address)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
            controlplane.url + "/api/cli/authorize"
        )
        query = parse_qs(parts.query, strict_parsing=True)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", query["redirect_uri"][0])
        # The person opens the address themselves: here, the fake browser run by hand.
        assert not cli.browser_log.exists()  # --no-browser opened nothing
        subprocess.run([cli.env["BROWSER"], address], env=cli.env, check=True, timeout=60)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert f"as {ADMIN} (admin)" in stdout
    assert [event["event"] for event in browser_events(cli.browser_log)] == ["open", "signin"]
    assert json.loads(cli.config_file.read_text())["url"] == controlplane.url


def test_url_and_token_come_from_flag_then_environment_then_file(
    controlplane: Platform, cli: Cli
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    cli.config_file.parent.mkdir(parents=True)
    cli.config_file.write_text(json.dumps({"url": controlplane.url, "token": "file-token"}))

    from_file = cli.run("info", "--json")
    assert from_file.returncode == 1 and "401" in from_file.stderr  # the file's token was used
    from_flag = cli.run("info", "--json", "--token", "flag-token", DQP_TOKEN=controlplane.token)
    assert from_flag.returncode == 1 and "401" in from_flag.stderr

    env = {"DQP_URL": dead, "DQP_TOKEN": controlplane.token}
    env_url = cli.run("info", "--json", **env)
    assert env_url.returncode == 1 and "cannot reach the platform" in env_url.stderr
    # The flag's URL over the environment's, and the environment's token over the file's.
    flag_url = cli.run("info", "--json", "--url", controlplane.url, **env)
    assert flag_url.returncode == 0, flag_url.stderr
    assert controlplane.token not in env_url.stderr + flag_url.stderr + flag_url.stdout


def test_python_client_tokens_and_users(controlplane: Platform) -> None:
    with PlatformClient(controlplane.url + "/api/") as anonymous:
        with pytest.raises(ApiError) as refused:
            anonymous.me()
        assert refused.value.status_code == 401
        session = anonymous.login(ADMIN, PASSWORD)
        assert anonymous.me().username == ADMIN  # login() switched the client to the token
    assert session.count(".") == 2

    with PlatformClient(controlplane.url, session) as admin:
        created = admin.create_token("from-the-client", expires_in_days=7)
        assert created.expires_at is not None
        assert created.id in [row.id for row in admin.list_tokens()]
        with pytest.raises(ApiError) as duplicate:
            admin.create_token("from-the-client")
        assert duplicate.value.status_code == 409

        with PlatformClient(controlplane.url, created.token) as personal:
            assert personal.me().username == ADMIN
            assert admin.revoke_token(created.id).revoked is True
            with pytest.raises(ApiError) as revoked:
                personal.info()
            assert revoked.value.status_code == 401
            assert admin.restore_token(created.id).revoked is False
            assert personal.info().application
            admin.delete_token(created.id)
            with pytest.raises(ApiError):
                personal.me()
        assert created.id not in [row.id for row in admin.list_tokens()]

        user = admin.create_user("client-made", PASSWORD, "manager")
        assert user.role == "manager"
        assert admin.get_user(user.id).username == "client-made"
        page = admin.list_users(page=1, size=1)
        assert page.total >= 3 and len(page.items) == 1 and page.size == 1
        assert admin.set_user_role(user.id, "member").role == "member"
        with PlatformClient(controlplane.url, controlplane.issue_token("client-made")) as member:
            with pytest.raises(ApiError) as forbidden:
                member.list_users()
            assert forbidden.value.status_code == 403 and forbidden.value.code == "forbidden"
        admin.delete_user(user.id)
        with pytest.raises(ApiError) as gone:
            admin.get_user(user.id)
        assert gone.value.status_code == 404


def test_python_client_reports_an_unreachable_platform() -> None:
    with (
        PlatformClient(f"http://127.0.0.1:{free_port()}", "t", timeout=2) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.info()
