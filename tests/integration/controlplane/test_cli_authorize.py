"""GET/POST /api/cli/authorize: the browser sign-in that hands a CLI a personal token."""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from dqplatform.controlplane.auth.cli_authorize import FORM_COOKIE
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import MAX_FAILURES_PER_USER
from tests.helpers import PASSWORD, bearer, fresh_login_throttle
from tests.integration.controlplane.auth_fixtures import Account, Api, api, backend, fast_passwords

pytestmark = pytest.mark.integration
__all__ = ["api", "backend", "fast_passwords"]  # fixtures

CALLBACK = "http://127.0.0.1:53682/callback"
BAD_REDIRECTS = [
    "http://evil.com:80/callback",
    "https://127.0.0.1:53682/callback",
    "http://127.0.0.1.evil.com:53682/callback",
    "http://user@127.0.0.1:1/cb",
    "javascript:alert(document.cookie)",
    "http://127.0.0.1/callback",
    "http://localhost/callback",
    "//evil.com:80/callback",
]


def hidden_fields(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in fields}


@pytest.fixture
def browser(api: Api) -> TestClient:
    """A client with its own cookie jar, not following redirects, on a fresh throttle."""
    fresh_login_throttle(api.state)
    return TestClient(api.client.app, follow_redirects=False)


def open_form(
    browser: TestClient, state: str = "s-123", hostname: str = "laptop", redirect: str = CALLBACK
) -> dict[str, str]:
    page = browser.get(
        "/api/cli/authorize",
        params={"redirect_uri": redirect, "state": state, "hostname": hostname},
    )
    assert page.status_code == 200, page.text
    return hidden_fields(page.text)


def submit(
    browser: TestClient, fields: dict[str, str], account: Account | None, password: str = PASSWORD
):  # type: ignore[no-untyped-def]
    data = {**fields, "username": account.username if account else "nobody", "password": password}
    return browser.post("/api/cli/authorize", data=data)


def test_signing_in_redirects_to_the_client_with_a_new_token(
    api: Api, browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    account = api.account(Role.MANAGER)
    state = "xK9-_ state/with?odd&chars=ü%20"
    page = browser.get(
        "/api/cli/authorize",
        params={"redirect_uri": CALLBACK, "state": state, "hostname": "build box.local"},
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "build box.local" in page.text
    assert "127.0.0.1:53682" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self' http://127.0.0.1:53682" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert FORM_COOKIE in page.headers["set-cookie"]
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    # Self-contained: no script, no resource from anywhere else.
    assert "<script" not in page.text
    assert not re.search(r"\b(src|href)=", page.text)

    fields = hidden_fields(page.text)
    redirect = submit(browser, fields, account)
    assert redirect.status_code == 303
    location = urlsplit(redirect.headers["location"])
    assert (location.scheme, location.netloc, location.path) == (
        "http",
        "127.0.0.1:53682",
        "/callback",
    )
    query = parse_qs(location.query)
    assert query["state"] == [state]
    token = query["token"][0]
    assert redirect.headers["cache-control"] == "no-store"

    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["typ"], claims["sub"], claims["role"]) == (
        "personal",
        str(account.id),
        "manager",
    )
    assert "exp" in claims
    assert api.client.get("/api", headers=bearer(token)).status_code == 200
    listed = api.client.get("/api/user-tokens", headers=bearer(token))
    [entry] = listed.json()
    assert re.fullmatch(r"cli-build-box\.local-[0-9a-f]{8}", entry["name"])
    assert token not in listed.text
    assert token not in caplog.text
    assert PASSWORD not in caplog.text

    # A second sign-in from the same host gets a second token of its own.
    second = submit(browser, open_form(browser, hostname="build box.local"), account)
    assert second.status_code == 303
    names = [t["name"] for t in api.client.get("/api/user-tokens", headers=bearer(token)).json()]
    assert len(set(names)) == 2


def test_the_redirect_keeps_the_clients_own_query(api: Api, browser: TestClient) -> None:
    account = api.account()
    fields = open_form(browser, redirect="http://localhost:9000/cb?session=7", state="abc")
    location = urlsplit(submit(browser, fields, account).headers["location"])
    assert location.netloc == "localhost:9000"
    query = parse_qs(location.query)
    assert query["session"] == ["7"] and query["state"] == ["abc"] and query["token"]


@pytest.mark.parametrize("redirect", BAD_REDIRECTS)
def test_non_loopback_redirects_are_refused_and_never_followed(
    api: Api, browser: TestClient, redirect: str
) -> None:
    page = browser.get(
        "/api/cli/authorize", params={"redirect_uri": redirect, "state": "s", "hostname": "h"}
    )
    assert page.status_code == 400
    assert page.json()["code"] == "invalid_redirect_uri"
    assert "location" not in page.headers
    # Posting credentials with such a target neither redirects nor creates a token.
    account = api.account()
    fields = {"redirect_uri": redirect, "state": "s", "hostname": "h", "form_token": "x"}
    posted = submit(browser, fields, account)
    assert posted.status_code == 400
    assert "location" not in posted.headers
    assert api.client.get("/api/user-tokens", headers=account.headers).json() == []


def test_missing_parameters_are_refused(browser: TestClient) -> None:
    assert browser.get("/api/cli/authorize").status_code == 400
    assert browser.get("/api/cli/authorize", params={"redirect_uri": CALLBACK}).status_code == 400
    no_host = browser.get("/api/cli/authorize", params={"redirect_uri": CALLBACK, "state": "s"})
    assert no_host.status_code == 200
    assert "unknown" in no_host.text


def test_the_hostname_and_state_cannot_inject_markup(browser: TestClient) -> None:
    page = browser.get(
        "/api/cli/authorize",
        params={
            "redirect_uri": CALLBACK,
            "state": '"><script>alert(1)</script>',
            "hostname": "<img src=x onerror=alert(1)>",
        },
    )
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "<img" not in page.text


def test_a_wrong_password_shows_the_form_again_and_counts(api: Api, browser: TestClient) -> None:
    account = api.account()
    fields = open_form(browser)
    for _ in range(MAX_FAILURES_PER_USER):
        again = submit(browser, fields, account, password="wrong password")
        assert again.status_code == 401
        assert "invalid username or password" in again.text
        assert f'value="{account.username}"' in again.text  # kept for the next try
        assert "wrong password" not in again.text
        assert "location" not in again.headers
        fields = hidden_fields(again.text)
    limited = submit(browser, fields, account)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in limited.text
    assert "location" not in limited.headers
    # The JSON sign-in shares the limit.
    login = api.client.post(
        "/api/auth/login", json={"username": account.username, "password": PASSWORD}
    )
    assert login.status_code == 429
    assert api.client.get("/api/user-tokens", headers=account.headers).json() == []


def test_a_form_not_opened_in_this_browser_is_refused(api: Api, browser: TestClient) -> None:
    account = api.account()
    fields = open_form(browser)
    # A cross-site POST carries no SameSite=Strict cookie.
    stranger = TestClient(api.client.app, follow_redirects=False)
    refused = submit(stranger, fields, account)
    assert refused.status_code == 400
    assert "expired" in refused.text
    # Parameters changed after the form was issued.
    for name, value in (
        ("state", "other"),
        ("hostname", "other"),
        ("redirect_uri", "http://127.0.0.1:1/cb"),
        ("form_token", "1.x"),
    ):
        tampered = submit(browser, {**fields, name: value}, account)
        assert tampered.status_code == 400, name
        assert "location" not in tampered.headers
    assert api.client.get("/api/user-tokens", headers=account.headers).json() == []
    # The form shown again is bound to the browser it was shown to, and works there.
    assert submit(stranger, hidden_fields(refused.text), account).status_code == 303
