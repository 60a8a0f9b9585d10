"""Users missing from the in-memory snapshot: new ones get in, deleted ones do not."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from tests.conftest import SettingsFactory
from tests.helpers import bearer, create_user, token_for


def test_a_user_created_after_the_snapshot_is_let_in_at_once(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(auth_cache_seconds=300)  # no reload during the test
    token_for(settings, "first", Role.ADMIN)
    with TestClient(create_app(settings)) as client:
        time.sleep(1.1)  # the new user's token is issued a whole second after the snapshot
        # Created behind this process's back, as another worker would.
        user_id = create_user(settings, "newcomer", Role.MEMBER)
        token = issue_session_token(settings.signing_secret, user_id, Role.MEMBER, 600)
        assert client.get("/api", headers=bearer(token)).status_code == 200


def test_a_token_older_than_the_snapshot_of_a_missing_user_is_refused(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(auth_cache_seconds=300)
    token_for(settings, "first", Role.ADMIN)
    # A user id that the snapshot does not have, in a token issued before it was read.
    stale = issue_session_token(
        settings.signing_secret, 4242, Role.ADMIN, 600, now=time.time() - 60
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/api", headers=bearer(stale))
        assert response.status_code == 401
        assert response.json()["detail"] == "the token's user no longer exists"
