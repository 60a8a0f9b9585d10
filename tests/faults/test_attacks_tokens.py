"""Forged, stale and revoked tokens against the live controlplane: every one is refused.

The hand-made tokens are the unit suite's (tests/unit/controlplane/test_tokens.py), sent here
to a real server over HTTP; the cases that need the server's own state (personal tokens
revoked, restored, deleted or expired, users deleted or demoted) are added here.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import jwt
import pytest

from tests.faults.live import LivePlatform
from tests.unit.controlplane.test_tokens import (
    BAD_AUTHORIZATION,
    World,
    assert_unauthenticated,
    replace_payload,
)

ADMIN_ONLY = "/api/users"


@pytest.fixture(scope="module")
def member(attack_server: LivePlatform) -> SimpleNamespace:
    """A Member of the live server, shaped like the unit suite's World for its token cases."""
    token = attack_server.add_user("token-target", "member")
    me = attack_server.api("GET", "/api/users/me", token=token).json()
    secret = attack_server.extra_env["DQP_JWT_SECRET"]
    return SimpleNamespace(
        settings=SimpleNamespace(signing_secret=secret), member_id=me["id"], member_token=token
    )


def _personal_token(server: LivePlatform, owner: str, name: str) -> tuple[int, str]:
    created = server.api("POST", "/api/user-tokens", token=owner, json={"name": name}, record=False)
    assert created.status_code == 201, created.text
    body = created.json()
    server.ledger.add_secret(f"personal token {name}", body["token"])
    server.ledger.record(created, allow=(body["token"],))
    return int(body["id"]), str(body["token"])


def test_the_control_token_is_accepted(attack_server: LivePlatform, member: Any) -> None:
    assert attack_server.api("GET", "/api", token=member.member_token).status_code == 200
    refused = attack_server.api("GET", ADMIN_ONLY, token=member.member_token)
    assert refused.status_code == 403  # valid, only not an Admin


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
def test_bad_tokens_are_refused_by_the_live_server(
    attack_server: LivePlatform, member: Any, case: str
) -> None:
    value = BAD_AUTHORIZATION[case](cast(World, member))
    # Over HTTP a header value ends at its last non-blank (h11 refuses to send the blanks).
    headers = {} if value is None else {"Authorization": value.rstrip()}
    for path in ("/api", ADMIN_ONLY, "/api/status/details"):
        response = attack_server.api("GET", path, token="", headers=headers)
        assert_unauthenticated(response, (value or "").removeprefix("Bearer").strip())


def test_a_revoked_restored_and_deleted_personal_token(
    attack_server: LivePlatform, member: Any
) -> None:
    token_id, token = _personal_token(attack_server, member.member_token, "revocable")
    assert attack_server.api("GET", "/api", token=token).status_code == 200

    revoke = {"revoke": True}
    path = f"/api/user-tokens/{token_id}"
    assert attack_server.api("PUT", path, token=member.member_token, json=revoke).is_success
    assert_unauthenticated(attack_server.api("GET", "/api", token=token), token)
    restore = {"revoke": False}
    assert attack_server.api("PUT", path, token=member.member_token, json=restore).is_success
    assert attack_server.api("GET", "/api", token=token).status_code == 200
    assert attack_server.api("DELETE", path, token=member.member_token).status_code == 204
    assert_unauthenticated(attack_server.api("GET", "/api", token=token), token)
    # A revoked or deleted token cannot manage tokens either (it cannot restore itself).
    refused = attack_server.api("PUT", path, token=token, json=restore)
    assert_unauthenticated(refused, token)


def test_a_personal_token_altered_or_expired_is_refused(
    attack_server: LivePlatform, member: Any
) -> None:
    _, token = _personal_token(attack_server, member.member_token, "to-tamper")
    secret = member.settings.signing_secret
    claims = jwt.decode(token, secret, algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(time.time()) - 3600}, secret, "HS256")
    response = attack_server.api("GET", "/api", token=expired)
    assert_unauthenticated(response, expired)
    assert response.json()["detail"] == "token has expired"
    promoted = replace_payload(token, lambda payload: payload.update(role="admin"))
    assert_unauthenticated(attack_server.api("GET", ADMIN_ONLY, token=promoted), promoted)
    another_key = jwt.encode({**claims, "role": "admin"}, "not the platform's secret " * 2)
    assert_unauthenticated(attack_server.api("GET", ADMIN_ONLY, token=another_key), another_key)


def test_the_tokens_of_a_deleted_user_stop_at_once(attack_server: LivePlatform) -> None:
    session = attack_server.add_user("doomed", "manager")
    _, personal = _personal_token(attack_server, session, "doomed-ci")
    me = attack_server.api("GET", "/api/users/me", token=session).json()
    for token in (session, personal):
        assert attack_server.api("GET", "/api/status/details", token=token).status_code == 200
    deleted = attack_server.api("DELETE", f"/api/users/{me['id']}")
    assert deleted.status_code == 204, deleted.text
    for token in (session, personal):
        for path in ("/api", "/api/status/details", "/api/user-tokens"):
            assert_unauthenticated(attack_server.api("GET", path, token=token), token)


def test_a_demoted_admin_loses_the_admin_endpoints_at_once(attack_server: LivePlatform) -> None:
    token = attack_server.add_user("soon-member", "admin")
    me = attack_server.api("GET", "/api/users/me", token=token).json()
    assert attack_server.api("GET", ADMIN_ONLY, token=token).status_code == 200
    demoted = attack_server.api("PUT", f"/api/users/{me['id']}", json={"role": "member"})
    assert demoted.status_code == 200, demoted.text
    refused = attack_server.api("GET", ADMIN_ONLY, token=token)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "requires the admin role"
    # The token's own claim still says admin: the server's record is what counts.
    assert jwt.decode(token, options={"verify_signature": False})["role"] == "admin"
