"""The Platform Status page in Chromium against the real platform: `dqp up` on RabbitMQ
(behind a proxy the tests can cut), one platform for the whole module."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from dqplatform.controlplane.auth.dependencies import SESSION_COOKIE
from tests.e2e.harness import Platform
from tests.e2e.tcp_proxy import TcpProxy
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# The README's screenshots are refreshed with DQP_UPDATE_SCREENSHOTS=1; an ordinary run
# writes them to a scratch folder so that `make test` leaves the tree as it found it.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("DQP_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "dqp-screenshots"
)
PASSWORD = "a long enough password"
VIEWPORT = {"width": 1280, "height": 900}
DATAPLANE_BACK_TIMEOUT_MS = 150_000


@dataclass
class Stack:
    platform: Platform
    proxy: TcpProxy
    passwords: dict[str, str]

    @property
    def url(self) -> str:
        return self.platform.url

    def details(self) -> dict[str, Any]:
        response = self.platform.get("/api/status/details")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    upstream = httpx.URL(RABBITMQ_URL.replace("amqp://", "http://"))
    proxy = TcpProxy(upstream.host, upstream.port or 5672)
    proxy.start()
    root = tmp_path_factory.mktemp("platform")
    platform = Platform(
        data_dir=root / "data",
        broker_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}{upstream.path}",
    )
    try:
        platform.start("up", "up")  # creates the user `admin` on its first start
        platform.wait_api()
        platform.token = platform.issue_token("admin")

        def add_user(role: str) -> None:
            result = platform.run_cli(
                "user", "add", f"a-{role}", "--role", role, "--password-stdin", stdin=PASSWORD
            )
            assert result.returncode == 0, result.stderr

        # While the dataplane's Spark starts.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(add_user, ["manager", "member"]))
        platform.wait_dataplane_healthy()
        admin_password = (platform.data_dir / "initial_admin_password").read_text().strip()
        yield Stack(
            platform,
            proxy,
            {"admin": admin_password, "a-manager": PASSWORD, "a-member": PASSWORD},
        )
    finally:
        platform.stop_all()
        proxy.stop()


@pytest.fixture
def open_context(chromium: Browser) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def factory(**options: Any) -> BrowserContext:
        context = chromium.new_context(viewport=VIEWPORT, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


def sign_in(page: Page, stack: Stack, username: str, password: str | None = None) -> None:
    page.goto(stack.url + "/")
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(
        password if password is not None else stack.passwords[username]
    )
    page.get_by_role("button", name="Sign in").click()


def status_page(
    open_context: Callable[..., BrowserContext], stack: Stack, username: str, **options: Any
) -> Page:
    page = open_context(**options).new_page()
    sign_in(page, stack, username)
    expect(page).to_have_url(re.compile(r"/ui/status$"))
    expect_service(page, "dataplane", "ok")
    return page


def service(page: Page, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#service-{key}")


def expect_service(page: Page, key: str, state: str, timeout: float = 15_000) -> None:
    row = service(page, key)
    expect(row).to_have_attribute("data-state", state, timeout=timeout)
    expect(row.locator(".badge-text")).to_have_text("OK" if state == "ok" else "UNHEALTHY")
    # Colour is not the only signal: a text and an icon say it too.
    expect(row.locator(".badge-icon")).to_have_text("✓" if state == "ok" else "✕")


def menu_action(page: Page, name: str) -> None:
    page.get_by_role("button", name="Actions").click()
    page.get_by_role("menuitem", name=name).click()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def field(page: Page, name: str) -> str:
    return page.locator(f'[data-field="{name}"]').inner_text()


# ---- signing in and who sees what -------------------------------------------------------------


def test_sign_in_with_a_wrong_then_the_right_password(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    context = open_context()
    page = context.new_page()
    sign_in(page, stack, "admin", "not the password")
    expect(page).to_have_url(re.compile(r"/ui/login$"))
    expect(page.get_by_role("alert")).to_have_text("invalid username or password")
    expect(page.get_by_label("Username")).to_have_value("admin")
    assert not [c for c in context.cookies() if c["name"] == SESSION_COOKIE]

    page.get_by_label("Password").fill(stack.passwords["admin"])
    page.get_by_label("Password").press("Enter")  # the keyboard alone signs in
    expect(page).to_have_url(re.compile(r"/ui/status$"))
    expect(page.locator("#account-name")).to_have_text("admin")
    (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    # HttpOnly: the page's scripts cannot read the session token.
    assert SESSION_COOKIE not in page.evaluate("document.cookie")


def test_admin_sees_the_healthy_page_with_every_field(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = open_context().new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, stack, "admin")
    expect(page).to_have_url(re.compile(r"/ui/status$"))
    for key in ("database", "rabbitmq", "dataplane"):
        expect_service(page, key, "ok")
    info = stack.platform.get("/api").json()
    status = stack.platform.status()
    readings = status["dataplane_healthcheck"]

    expect(page.locator("#info-version")).to_have_text(info["version"])
    expect(page.locator("#info-platform")).to_have_text("Local")
    expect(page.locator("#info-engine")).to_have_text("Local")
    expect(page.locator("#info-size")).to_have_text(info["size"].capitalize())
    expect(page.locator("#info-token-lifetime")).to_have_text("1 hour")

    assert field(page, "build_date") == readings["build_date"]
    assert field(page, "implementation_version") == readings["implementation_version"]
    assert field(page, "spark_version") == readings["spark_version"]
    assert field(page, "max_executors") == str(readings["max_executors"])
    assert (
        field(page, "max_memory_per_executor_mb") == f"{readings['max_memory_per_executor_mb']} MB"
    )
    assert field(page, "cores_per_executor") == "2 cores"  # DQP_SPARK_MASTER=local[2]
    assert field(page, "max_dataframe_size_mb") == "2 GB"  # 2048 MB
    assert field(page, "thread_pool_parallelism") == "3 threads"
    assert re.fullmatch(
        r"\d+ running operations \[.*\] with \d+ queued requests and \d+ provisioned channels",
        field(page, "thread_pool_state"),
    )
    # The fields the page shows, in order; git_hash and driver_free_memory_mb are API-only.
    expect(page.locator("#dataplane-fields dt")).to_have_text(
        [
            "Build date",
            "Implementation version",
            "Spark version",
            "Max executors",
            "Memory per executor",
            "Cores per executor",
            "Max dataframe size",
            "Thread pool parallelism",
            "Thread pool state",
        ]
    )
    expect(page.locator("#private-routes")).to_be_hidden()  # no private connection exists
    expect(page.locator("#restart-button")).to_have_count(1)  # in the (closed) menu
    expect(page.locator("#services")).to_have_attribute("aria-busy", "false")
    screenshot(page, "status-healthy.png")
    assert not problems, problems  # no CSP violation, no script error


def test_manager_sees_the_page_without_restart(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "a-manager")
    page.get_by_role("button", name="Actions").click()
    items = page.get_by_role("menuitem")
    expect(items).to_have_text(["Copy Status Summary", "Refresh"])
    expect(page.locator("#restart-button")).to_have_count(0)
    # And the API refuses a Manager's restart, even with the right CSRF token.
    answer = page.evaluate(
        """async () => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch("/api/admin/restart",
                                  {method: "PUT", headers: {"X-CSRF-Token": token}});
            return {status: r.status, body: await r.json()};
        }"""
    )
    assert answer["status"] == 403 and answer["body"]["code"] == "forbidden"


def test_member_is_sent_to_the_forbidden_page(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = open_context().new_page()
    sign_in(page, stack, "a-member")
    expect(page).to_have_url(re.compile(r"/ui/forbidden$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this page")
    expect(page.locator("main")).to_contain_text("Member")
    page.goto(stack.url + "/ui/status")
    expect(page).to_have_url(re.compile(r"/ui/forbidden$"))
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/login$"))


# ---- the menu -----------------------------------------------------------------------------------


def test_copy_status_summary_puts_the_status_on_the_clipboard(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(
        open_context, stack, "a-manager", permissions=["clipboard-read", "clipboard-write"]
    )
    menu_action(page, "Copy Status Summary")
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    text = page.evaluate("navigator.clipboard.readText()")
    info = stack.platform.get("/api").json()
    readings = stack.platform.status()["dataplane_healthcheck"]
    lines = text.splitlines()
    for line in (
        "Platform Status",
        f"Version: {info['version']}",
        "Platform: Local",
        "  Database: OK",
        "  RabbitMQ: OK",
        "  Dataplane: OK",
        f"  Spark version: {readings['spark_version']}",
        "  Cores per executor: 2 cores",
        "  Max dataframe size: 2 GB",
    ):
        assert line in lines, (line, text)


def test_refresh_by_keyboard_fetches_the_status_again(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "a-manager")
    checked = page.locator("#checked-at").inner_text()
    time.sleep(1.1)  # the time shown has a resolution of one second
    menu_button = page.get_by_role("button", name="Actions")
    menu_button.focus()
    menu_button.press("ArrowDown")  # opens the menu on its first item
    expect(page.get_by_role("menuitem", name="Copy Status Summary")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name="Refresh")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/api/status") and r.ok):
        page.keyboard.press("Enter")
    expect(page.locator("#actions-menu")).to_be_hidden()
    expect(menu_button).to_be_focused()
    expect(page.locator("#checked-at")).not_to_have_text(checked)
    expect_service(page, "dataplane", "ok")
    # Escape closes the menu without doing anything.
    menu_button.press("Enter")
    expect(page.locator("#actions-menu")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#actions-menu")).to_be_hidden()


def test_private_routes_are_listed_with_the_reason_of_a_failed_one(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    # This platform has no private connections, so the section stays hidden (checked above);
    # here the real answer gains the documented example's routes on its way to the page.
    failure = 'Attempt to reach "hr-db.internal:3306" failed with message: "Connection refused"'

    def with_routes(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["private_routes"] = {
            "healthcare-db.internal:5432": "OK",
            "hr-db.internal:3306": failure,
        }
        route.fulfill(response=response, json=body)

    page = open_context().new_page()
    page.route("**/api/status", with_routes)
    sign_in(page, stack, "a-manager")
    section = page.locator("#private-routes")
    expect(section).to_be_visible()
    ok = section.locator('[data-route="healthcare-db.internal:5432"]')
    bad = section.locator('[data-route="hr-db.internal:3306"]')
    expect(ok.locator(".badge-text")).to_have_text("OK")
    expect(bad.locator(".badge-text")).to_have_text("UNHEALTHY")
    expect(bad.locator(".reason")).to_have_text(f"Reason: {failure}")


def test_a_failed_refresh_shows_an_error_and_no_endless_spinner(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "a-manager")
    error = page.locator("#error")
    refresh = page.locator("#refresh-button")

    page.route("**/api/status", lambda route: route.abort("connectionrefused"))
    menu_action(page, "Refresh")
    expect(error).to_contain_text(
        "Could not refresh the status: the controlplane cannot be reached"
    )
    expect(error).to_have_attribute("role", "alert")
    expect(refresh).to_be_enabled()
    expect(refresh).to_have_text("Refresh")
    expect(page.locator("#services")).to_have_attribute("aria-busy", "false")
    expect_service(page, "dataplane", "ok")  # the last known figures stay, with the error

    # A controlplane that never answers: the fetch gives up at its timeout.
    page.unroute("**/api/status")
    page.route("**/api/status", lambda route: None)  # never answered
    page.evaluate("document.body.dataset.fetchTimeoutMs = '1000'")
    started = time.monotonic()
    menu_action(page, "Refresh")
    expect(error).to_contain_text("no answer within 1 s")
    assert time.monotonic() - started < 10
    expect(refresh).to_be_enabled()

    page.unroute("**/api/status")
    menu_action(page, "Refresh")
    expect(error).to_be_hidden()


def test_a_cookie_put_without_the_csrf_header_is_refused(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "admin")
    boot = stack.details()["dataplane_boot_id"]
    answer = page.evaluate(
        """async () => {
            const r = await fetch("/api/admin/restart", {method: "PUT"});
            return {status: r.status, body: await r.json()};
        }"""
    )
    assert answer["status"] == 403
    assert answer["body"]["code"] == "csrf_rejected"
    forged = page.context.request.put(
        stack.url + "/api/admin/restart", headers={"X-CSRF-Token": "0" * 64}
    )
    assert forged.status == 403 and forged.json()["code"] == "csrf_rejected"
    # The cookie does authenticate (a GET needs no token); the PUT changed nothing.
    assert page.context.request.get(stack.url + "/api/status/details").ok
    assert stack.details()["dataplane_boot_id"] == boot


# ---- restart and outage (they change the platform: last) ------------------------------


def test_restart_from_the_menu_follows_the_dataplane_back(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "admin")
    old_boot = page.locator("#dataplane").get_attribute("data-boot-id")
    assert old_boot == stack.details()["dataplane_boot_id"]
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    dialog = page.get_by_role("dialog", name="Restart the dataplane?")

    # Escape in the confirmation dialog restarts nothing.
    menu_action(page, "Restart Dataplane")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    menu_action(page, "Restart Dataplane")
    with page.expect_response(lambda r: r.url.endswith("/api/admin/restart")) as restart:
        dialog.get_by_role("button", name="Restart Dataplane").click()
    assert restart.value.status == 200
    expect(page.locator("#notice")).to_contain_text("Restart requested")
    indicator = page.locator("#restart-indicator")
    expect(indicator).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-restart", "down", timeout=60_000)
    expect(indicator).to_contain_text("Dataplane down")
    expect_service(page, "dataplane", "unhealthy")
    expect(service(page, "dataplane").locator(".reason")).to_contain_text("Reason:")
    screenshot(page, "status-restarting.png")

    expect(page.locator("body")).to_have_attribute(
        "data-restart", "done", timeout=DATAPLANE_BACK_TIMEOUT_MS
    )
    expect(page.locator("#notice")).to_contain_text("back and healthy")
    expect(indicator).to_be_hidden()
    expect_service(page, "dataplane", "ok")
    new_boot = page.locator("#dataplane").get_attribute("data-boot-id")
    assert new_boot not in (None, "", old_boot)
    assert new_boot == stack.details()["dataplane_boot_id"]
    assert page.evaluate("window.sameDocument") is True  # followed without a reload
    expect(page.locator("#last-restart")).to_contain_text("by admin")


def test_a_broker_outage_is_shown_unhealthy_with_its_reason(
    stack: Stack, open_context: Callable[..., BrowserContext]
) -> None:
    page = status_page(open_context, stack, "admin")
    expect_service(page, "rabbitmq", "ok")
    stack.proxy.stop()
    try:
        deadline = time.monotonic() + 30
        while service(page, "rabbitmq").get_attribute("data-state") != "unhealthy":
            assert time.monotonic() < deadline, "the outage never showed"
            time.sleep(0.5)
            with page.expect_response(lambda r: r.url.endswith("/api/status/details")) as seen:
                menu_action(page, "Refresh")
            expect(page.locator("#refresh-button")).to_have_text("Refresh", timeout=15_000)
        expect_service(page, "rabbitmq", "unhealthy")
        expect_service(page, "dataplane", "unhealthy")
        expect_service(page, "database", "ok")
        reason = service(page, "rabbitmq").locator(".reason")
        expect(reason).to_be_visible()
        # The reason is the one /api/status/details gave the page.
        broker_reason = seen.value.json()["broker"]["reason"]
        assert broker_reason
        expect(reason).to_have_text(f"Reason: {broker_reason}")
        assert "guest:guest" not in page.content()  # the broker URL is shown redacted
        expect(page.locator("#dataplane-unavailable")).to_be_visible()
        screenshot(page, "status-degraded.png")
        # A restart cannot be sent without the broker: the page says so and stops waiting.
        menu_action(page, "Restart Dataplane")
        page.get_by_role("dialog").get_by_role("button", name="Restart Dataplane").click()
        expect(page.locator("#error")).to_contain_text("Restart Dataplane failed: restart not sent")
        expect(page.locator("#restart-indicator")).to_be_hidden()
        assert "guest:guest" not in page.locator("#error").inner_text()
    finally:
        stack.proxy.start()
    # And the page shows the broker back.
    deadline = time.monotonic() + 60
    while service(page, "rabbitmq").get_attribute("data-state") != "ok":
        assert time.monotonic() < deadline, "the broker never showed as back"
        time.sleep(1)
        menu_action(page, "Refresh")
        expect(page.locator("#refresh-button")).to_have_text("Refresh", timeout=15_000)
