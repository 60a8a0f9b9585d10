"""The web pages' cookies and CSRF protection, against the live controlplane over HTTP."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.live import LivePlatform

SESSION_COOKIE = "dqp_session"


def _set_cookies(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """Each Set-Cookie by name: its value and attributes, names lower-cased (flags True)."""
    found: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        first, *rest = header.split(";")
        name, _, value = first.strip().partition("=")
        attributes: dict[str, str | bool] = {"value": value}
        for part in rest:
            key, equals, setting = part.strip().partition("=")
            attributes[key.lower()] = setting if equals else True
        found[name] = attributes
    return found


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


@dataclass
class Browser:
    client: httpx.Client
    session_cookie: dict[str, str | bool]  # as the sign-in response set it


@pytest.fixture(scope="module")
def signed_in(attack_server: LivePlatform) -> Iterator[Browser]:
    """A signed-in Admin's browser: cookies kept, redirects not followed."""
    attack_server.add_user("page-admin", "admin")
    client = httpx.Client(base_url=attack_server.url, timeout=30, follow_redirects=False)
    form = client.get("/ui/login")
    assert form.status_code == 200
    form_cookie = _set_cookies(form)["dqp_login_form"]
    assert form_cookie["httponly"] is True and str(form_cookie["samesite"]).lower() == "strict"
    password = attack_server.ledger.secrets["password of page-admin"]
    response = client.post(
        "/ui/login",
        data={
            "username": "page-admin",
            "password": password,
            "form_token": _hidden(form.text, "form_token"),
        },
    )
    assert response.status_code == 303, response.text
    cookie = _set_cookies(response)[SESSION_COOKIE]
    attack_server.ledger.add_secret("session cookie of page-admin", str(cookie["value"]))
    attack_server.ledger.record(response, allow=(str(cookie["value"]),))
    yield Browser(client, cookie)
    client.close()


@pytest.fixture
def browser(signed_in: Browser) -> httpx.Client:
    return signed_in.client


def _csrf(attack_server: LivePlatform, browser: httpx.Client) -> str:
    page = browser.get("/ui/status")
    assert page.status_code == 200, page.text
    attack_server.ledger.record(page)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match
    return match.group(1)


def test_the_session_cookie_is_httponly_strict_and_site_wide(signed_in: Browser) -> None:
    cookie = signed_in.session_cookie
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() == "strict"
    assert cookie["path"] == "/"
    assert int(str(cookie["max-age"])) > 0
    assert "secure" not in cookie  # plain http here; the page tests cover https


def test_the_cli_sign_in_form_cookie_is_httponly_and_strict(attack_server: LivePlatform) -> None:
    page = httpx.get(
        attack_server.url + "/api/cli/authorize",
        params={"redirect_uri": "http://127.0.0.1:1/cb", "state": "s"},
        timeout=30,
    )
    cookie = _set_cookies(page)["dqp_cli_form"]
    assert cookie["httponly"] is True
    assert str(cookie["samesite"]).lower() == "strict"
    assert cookie["path"] == "/api/cli/authorize"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/admin/restart", None),
        ("POST", "/api/user-tokens", {"name": "csrf"}),
        ("POST", "/api/users", {"username": "csrf-made", "password": "long enough pw"}),
        ("DELETE", "/api/user-tokens/1", None),
    ],
)
def test_a_cookie_change_without_the_csrf_header_is_refused(
    attack_server: LivePlatform, browser: httpx.Client, method: str, path: str, body: object
) -> None:
    token = _csrf(attack_server, browser)
    for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": token[:-1] + "0"}):
        refused = attack_server.ledger.record(
            browser.request(method, path, json=body, headers=headers)
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "csrf_rejected"
    # The same request from another site carries the cookie but can never read the token;
    # with it (only the page itself has it) the change goes through.
    if method == "PUT":
        allowed = browser.request(method, path, headers={"X-CSRF-Token": token})
        assert allowed.status_code == 200, allowed.text


def test_reads_with_the_cookie_need_no_token(browser: httpx.Client) -> None:
    assert browser.get("/api/status/details").status_code == 200
    assert browser.get("/api/users/me").json()["username"] == "page-admin"


def test_sign_out_without_the_csrf_field_is_refused(browser: httpx.Client) -> None:
    refused = browser.post("/ui/logout", data={})
    assert refused.status_code == 403
    assert browser.get("/api/users/me").status_code == 200  # still signed in
