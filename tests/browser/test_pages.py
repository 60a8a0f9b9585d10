"""The pages and the cookie session over HTTP: redirects by role, the sign-in form, cookie
attributes, CSRF on cookie-authenticated changes, security headers (no browser needed)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from dqplatform.controlplane.auth.dependencies import SESSION_COOKIE, csrf_token
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import LoginThrottle
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.ui.headers import CONTENT_SECURITY_POLICY
from tests.browser.helpers import Site, csrf_from, form_token, sign_in
from tests.helpers import PASSWORD, bearer


def _session_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return str(cookies[0])


# ---- redirects and who sees what -------------------------------------------------------


def test_root_and_pages_send_a_stranger_to_the_sign_in_page(site: Site) -> None:
    browser = site.browser()
    assert browser.get("/").headers["location"] == "/ui/status"
    for path in ("/ui/status", "/ui/forbidden"):
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/ui/login"
    page = browser.get("/ui/login")
    assert page.status_code == 200
    assert '<form method="post" action="/ui/login"' in page.text
    assert 'for="username"' in page.text and 'for="password"' in page.text


@pytest.mark.usefixtures("throttle")
def test_a_member_is_sent_to_the_forbidden_page(site: Site) -> None:
    username = site.user(Role.MEMBER)
    browser = sign_in(site.browser(), username)
    response = browser.get("/ui/status")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/forbidden"
    page = browser.get("/ui/forbidden")
    assert page.status_code == 403
    assert "You don't have access to this page" in page.text
    assert username in page.text and "Member" in page.text
    # The API refuses the details to a Member too, cookie or not.
    assert browser.get("/api/status/details").status_code == 403


@pytest.mark.usefixtures("throttle")
def test_a_manager_sees_the_page_without_restart_and_an_admin_with_it(site: Site) -> None:
    manager = sign_in(site.browser(), site.user(Role.MANAGER)).get("/ui/status")
    admin = sign_in(site.browser(), site.user(Role.ADMIN)).get("/ui/status")
    for page in (manager, admin):
        assert page.status_code == 200
        assert "Copy Status Summary" in page.text and 'id="refresh-button"' in page.text
        assert ">Local</dd>" in page.text  # the platform (cloud) by name
    # Not merely hidden: the Manager's page has no restart control or dialog at all.
    assert "Restart Dataplane" not in manager.text and "restart-dialog" not in manager.text
    assert 'id="restart-button"' in admin.text and '<dialog id="restart-dialog"' in admin.text


@pytest.mark.usefixtures("throttle")
def test_the_sign_in_page_of_a_signed_in_browser_goes_to_the_status_page(site: Site) -> None:
    browser = sign_in(site.browser(), site.user(Role.ADMIN))
    assert browser.get("/ui/login").headers["location"] == "/ui/status"


# ---- the sign-in form ----------------------------------------------------------------------


@pytest.mark.usefixtures("throttle")
def test_sign_in_sets_an_httponly_strict_cookie_with_a_session_token(site: Site) -> None:
    username = site.user(Role.ADMIN)
    browser = site.browser()
    token = form_token(browser.get("/ui/login").text)
    response = browser.post(
        "/ui/login", data={"username": username, "password": PASSWORD, "form_token": token}
    )
    assert response.status_code == 303
    cookie = _session_cookie_header(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert f"max-age={site.settings.jwt_ttl_seconds}" in attributes
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    assert browser.get("/api/status/details").status_code == 200  # the API takes the cookie


@pytest.mark.usefixtures("throttle")
def test_over_https_the_cookie_is_secure(site: Site) -> None:
    browser = site.browser(base_url="https://testserver")
    token = form_token(browser.get("/ui/login").text)
    response = browser.post(
        "/ui/login",
        data={"username": site.user(Role.MANAGER), "password": PASSWORD, "form_token": token},
    )
    assert "secure" in [p.strip().lower() for p in _session_cookie_header(response).split(";")]


@pytest.mark.usefixtures("throttle")
def test_a_wrong_password_shows_the_form_again_without_a_cookie(site: Site) -> None:
    username = site.user(Role.ADMIN)
    browser = site.browser()
    token = form_token(browser.get("/ui/login").text)
    response = browser.post(
        "/ui/login",
        data={"username": username, "password": "not the password", "form_token": token},
    )
    assert response.status_code == 401
    assert 'role="alert">invalid username or password</p>' in response.text
    assert f'value="{username}"' in response.text  # kept, so only the password is retyped
    assert "not the password" not in response.text
    assert not any(c.startswith(SESSION_COOKIE) for c in response.headers.get_list("set-cookie"))
    assert browser.get("/ui/status").headers["location"] == "/ui/login"


@pytest.mark.usefixtures("throttle")
def test_a_post_without_the_forms_token_signs_nobody_in(site: Site) -> None:
    """Login CSRF: another site's form cannot sign this browser in to an account it chose."""
    username = site.user(Role.ADMIN)
    browser = site.browser()
    browser.get("/ui/login")  # the nonce cookie alone is not enough
    for token in ("", "123.abc", f"{int(time.time())}.{'0' * 64}"):
        response = browser.post(
            "/ui/login", data={"username": username, "password": PASSWORD, "form_token": token}
        )
        assert response.status_code == 400, token
        assert "expired or was opened elsewhere" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    # A token from one browser is no good in another (it is bound to that browser's cookie).
    other = site.browser()
    stolen = form_token(other.get("/ui/login").text)
    fresh = site.browser()
    response = fresh.post(
        "/ui/login", data={"username": username, "password": PASSWORD, "form_token": stolen}
    )
    assert response.status_code == 400


def test_failed_sign_ins_share_the_api_logins_throttle(site: Site, throttle: LoginThrottle) -> None:
    username = site.user(Role.ADMIN)
    for _ in range(throttle.per_user):
        failed = site.app_client.post(
            "/api/auth/login", json={"username": username, "password": "wrong password!"}
        )
        assert failed.status_code == 401
    browser = site.browser()
    token = form_token(browser.get("/ui/login").text)
    response = browser.post(
        "/ui/login", data={"username": username, "password": PASSWORD, "form_token": token}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


# ---- CSRF on cookie-authenticated changes ---------------------------------------------------


@pytest.mark.usefixtures("throttle")
def test_a_cookie_put_needs_the_sessions_csrf_token(site: Site) -> None:
    browser = sign_in(site.browser(), site.user(Role.ADMIN))
    csrf = csrf_from(browser.get("/ui/status").text)
    other = csrf_from(sign_in(site.browser(), site.user(Role.ADMIN)).get("/ui/status").text)
    assert other != csrf  # each session has its own token
    for headers in (
        {},
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "nonsense"},
        {"X-CSRF-Token": other},
    ):
        response = browser.put("/api/admin/restart", headers=headers)
        assert response.status_code == 403, headers
        assert response.json() == {
            "status": 403,
            "code": "csrf_rejected",
            "detail": "missing or invalid X-CSRF-Token header",
        }
    assert browser.put("/api/admin/restart", headers={"X-CSRF-Token": csrf}).status_code == 200
    # POST and DELETE are guarded the same way; GET needs no token.
    assert browser.post("/api/user-tokens", json={"name": "t"}).status_code == 403
    created = browser.post("/api/user-tokens", json={"name": "t"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    path = f"/api/user-tokens/{created.json()['id']}"
    assert browser.delete(path).status_code == 403
    assert browser.delete(path, headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/user-tokens").status_code == 200


def test_bearer_requests_need_no_csrf_token_and_win_over_the_cookie(site: Site) -> None:
    admin = site.session_token(Role.ADMIN)
    member = site.session_token(Role.MEMBER)
    client = site.browser()
    assert client.put("/api/admin/restart", headers=bearer(admin)).status_code == 200
    client.cookies.set(SESSION_COOKIE, admin)
    # The Authorization header decides, whatever cookie comes along.
    refused = client.put("/api/admin/restart", headers=bearer(member))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_the_cookie_takes_session_tokens_only_and_refuses_bad_ones(site: Site) -> None:
    _, user_id = site.account(Role.ADMIN)
    secret = site.settings.signing_secret
    session = issue_session_token(secret, user_id, Role.ADMIN, 600)
    personal = site.app_client.post(
        "/api/user-tokens", json={"name": "p"}, headers=bearer(session)
    ).json()["token"]
    expired = issue_session_token(secret, user_id, Role.ADMIN, 60, now=time.time() - 120)
    for token, detail in (
        (personal, "the session cookie holds no session token"),
        (expired, "token has expired"),
        (session[:-4] + "AAAA", "token signature is invalid"),
    ):
        client = site.browser()
        client.cookies.set(SESSION_COOKIE, token)
        response = client.get("/api/status/details")
        assert response.status_code == 401
        assert response.json()["detail"] == detail
        assert token not in response.text
        assert client.get("/ui/status").headers["location"] == "/ui/login"
    client = site.browser()
    client.cookies.set(SESSION_COOKIE, session)
    assert client.get("/api/status/details").status_code == 200


@pytest.mark.usefixtures("throttle")
def test_sign_out_needs_the_csrf_token_then_forgets_the_cookie(site: Site) -> None:
    browser = sign_in(site.browser(), site.user(Role.MANAGER))
    csrf = csrf_from(browser.get("/ui/status").text)
    refused = browser.post("/ui/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert browser.get("/ui/status").status_code == 200  # still signed in
    response = browser.post("/ui/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login"
    cleared = _session_cookie_header(response).lower()
    assert "max-age=0" in cleared
    assert browser.get("/ui/status").headers["location"] == "/ui/login"


def test_the_pages_csrf_token_is_the_hmac_of_the_sessions_jti(site: Site) -> None:
    token = site.session_token(Role.ADMIN)
    client = site.browser()
    client.cookies.set(SESSION_COOKIE, token)
    jti = site.state.authenticator.authenticate(token).token_id
    page_token = csrf_from(client.get("/ui/status").text)
    assert page_token == csrf_token(site.settings.signing_secret, jti)
    assert len(page_token) == 64 and jti not in page_token


# ---- headers and assets --------------------------------------------------------------------


@pytest.mark.usefixtures("throttle")
def test_every_page_response_has_the_security_headers(site: Site) -> None:
    browser = sign_in(site.browser(), site.user(Role.ADMIN))
    responses = [
        browser.get("/"),
        browser.get("/ui/login"),
        browser.get("/ui/status"),
        browser.get("/ui/static/status.js"),
        browser.get("/ui/static/ui.css"),
        browser.get("/ui/static/missing.js"),
        site.browser().get("/ui/status"),
    ]
    for response in responses:
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, response.url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
    policy = CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert browser.get("/ui/status").headers["cache-control"] == "no-store"
    # The API keeps its own headers.
    assert "content-security-policy" not in browser.get("/api/status").headers


@pytest.mark.usefixtures("throttle")
def test_pages_load_only_local_scripts_and_styles(site: Site) -> None:
    browser = sign_in(site.browser(), site.user(Role.ADMIN))
    for path in ("/ui/login", "/ui/status"):
        html = browser.get(path).text
        scripts = re.findall(r"<script\b[^>]*>", html)
        for tag in scripts:
            assert re.search(r'src="/ui/static/[a-z]+\.js\?v=\w+"', tag), tag
        assert "<style" not in html and "style=" not in html
        assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from elsewhere
    for asset, kind in (
        ("/ui/static/status.js", "javascript"),
        ("/ui/static/ui.css", "text/css"),
        ("/ui/static/favicon.svg", "image/svg+xml"),
    ):
        response = browser.get(asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert "http" not in browser.get("/ui/static/ui.css").text.replace("http-equiv", "")


def test_sign_in_while_the_database_is_down_says_so_on_the_page(
    site: Site, throttle: LoginThrottle, tmp_path: Path
) -> None:
    username = site.user(Role.ADMIN)
    browser = site.browser()
    token = form_token(browser.get("/ui/login").text)
    unreachable = create_engine(f"sqlite:///{tmp_path / 'missing' / 'dqp.db'}")
    working = site.state.session_factory
    site.state.session_factory = sessionmaker(unreachable)
    try:
        response = browser.post(
            "/ui/login", data={"username": username, "password": PASSWORD, "form_token": token}
        )
    finally:
        site.state.session_factory = working
        unreachable.dispose()
    assert response.status_code == 503
    assert "database is unavailable" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
