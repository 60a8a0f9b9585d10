"""Helpers of the page tests: a controlplane under TestClient, and signing in through the
sign-in form the way a browser does."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.state import AppState, app_state
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings
from tests.helpers import PASSWORD

# Cheaper argon2 parameters keep the suite fast; hashing and verifying work the same way.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


@dataclass
class Site:
    app_client: TestClient
    settings: Settings

    @property
    def state(self) -> AppState:
        return app_state(self.app_client.app)  # type: ignore[arg-type]

    def user(self, role: Role) -> str:
        """A new user with PASSWORD; its name."""
        return self.account(role)[0]

    def account(self, role: Role) -> tuple[str, int]:
        username = f"{role.value}-{uuid.uuid4().hex[:8]}"
        with self.state.session_factory.begin() as session:
            user_id = service.create_user(session, username, PASSWORD, role).id
        self.state.users.reload()
        return username, user_id

    def session_token(self, role: Role, **kwargs: float) -> str:
        """A session token (as the sign-in would issue) for a new user."""
        _, user_id = self.account(role)
        return issue_session_token(self.settings.signing_secret, user_id, role, 600, **kwargs)

    def browser(self, base_url: str = "http://testserver") -> TestClient:
        """A fresh cookie jar on the same running app, like a second browser."""
        return TestClient(self.app_client.app, base_url=base_url, follow_redirects=False)


def form_token(html: str) -> str:
    match = FORM_TOKEN.search(html)
    assert match, "the sign-in page has no form token"
    return match.group(1)


def csrf_from(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(browser: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = browser.get("/ui/login")
    response = browser.post(
        "/ui/login",
        data={"username": username, "password": password, "form_token": form_token(page.text)},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/ui/status"
    return browser
