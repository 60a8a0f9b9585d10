"""No secret in any answer or log line of the whole faults run.

Every platform the suite starts has secrets of its own that the ledger knows (the JWT secret,
the secrets key, passwords of users, connections, RabbitMQ and PostgreSQL, tokens), and every
answer the suite receives and every log its processes write is kept. This test runs last: it
adds a round of the calls most likely to echo a secret, then searches everything.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_value


def _traffic(server: LivePlatform) -> None:
    """The calls that handle secrets: each one's answer goes to the ledger."""
    ledger = server.ledger
    # A connection with a password: created, read, changed, listed, tested, deleted.
    password = secret_value(ledger, "connection password")
    created = server.api(
        "POST",
        "/api/connections",
        json={
            "type": "postgresql",
            "name": "sweep-db",
            "host": "127.0.0.1",
            "port": 9,
            "username": "reader",
            "password": password,
            "private": True,
        },
    )
    assert created.status_code == 201, created.text
    connection = created.json()["id"]
    assert server.api("GET", f"/api/connections/{connection}").status_code == 200
    changed = secret_value(ledger, "changed connection password")
    put = server.api("PUT", f"/api/connections/{connection}", json={"password": changed})
    assert put.status_code == 200, put.text
    assert server.api("GET", "/api/connections").status_code == 200
    server.api("POST", f"/api/connections/{connection}/test")  # no dataplane here: any answer
    server.api("GET", "/api/status/details")
    # A user whose password is refused for its username, then made; a password typed into the
    # username field; a wrong password; a right one (its token is the answer's to carry).
    user_password = secret_value(ledger, "password of sweep-user")
    refused = server.api(
        "POST", "/api/users", json={"username": "no spaces allowed", "password": user_password}
    )
    assert refused.status_code == 422
    made = server.api(
        "POST", "/api/users", json={"username": "sweep-user", "password": user_password}
    )
    assert made.status_code == 201, made.text
    with httpx.Client(
        base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.9")
    ) as client:
        for username, attempt in (
            (user_password, "x"),
            ("sweep-user", secret_value(ledger, "wrong password of sweep-user")),
        ):
            wrong = client.post("/api/auth/login", json={"username": username, "password": attempt})
            assert ledger.record(wrong).status_code == 401
        right = client.post(
            "/api/auth/login", json={"username": "sweep-user", "password": user_password}
        )
        token = right.json()["access_token"]
        ledger.add_secret("session token of sweep-user", token)
        ledger.record(right, allow=(token,))
    personal = server.api(
        "POST", "/api/user-tokens", token=token, json={"name": "sweep"}, record=False
    )
    value = personal.json()["token"]
    ledger.add_secret("personal token of sweep-user", value)
    ledger.record(personal, allow=(value,))
    server.api("GET", "/api/user-tokens", token=token)
    server.api("GET", "/api/users/me", token=value)
    assert server.api("DELETE", f"/api/connections/{connection}").status_code == 204


def test_the_search_finds_a_planted_secret(tmp_path: Path) -> None:
    """The control: the same search over a log line and an answer that do hold a secret."""
    ledger = SecretLedger()
    secret = ledger.add_secret("canary", "canary-" + "x" * 20)
    log = tmp_path / "process.log"
    log.write_text(f"INFO something: connecting with {secret}\n")
    ledger.add_log(log)
    response = httpx.Response(
        200, text=f'{{"echo": "{secret}"}}', request=httpx.Request("GET", "http://x/")
    )
    ledger.record(response)
    assert {leak.where for leak in ledger.leaks()} == {"log process.log", "response GET / -> 200"}


def test_no_secret_in_any_answer_or_log_of_the_run(
    attack_server: LivePlatform, ledger: SecretLedger
) -> None:
    _traffic(attack_server)
    # What was looked for and where, so an empty search cannot pass for a clean one.
    names = set(ledger.secrets)
    for needed in (
        "DQP_JWT_SECRET",
        "DQP_SECRETS_KEY",
        "connection password",
        "password of sweep-user",
    ):
        assert needed in names
    assert any(name.startswith("PostgreSQL password") for name in names)
    assert any("token" in name for name in names)
    assert len(ledger.responses) >= 10
    assert ledger.logs and all(path.stat().st_size > 0 for path in ledger.logs)
    leaks = ledger.leaks()
    assert not leaks, "\n".join(str(leak) for leak in leaks[:20])
