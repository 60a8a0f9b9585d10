"""Password guessing against the live server's POST /api/auth/login: 429 once the limits are
reached, per username from any address and per address over all usernames.

Each attacker connects from an address of its own on the loopback network (127.0.0.x), as
distinct clients would, so the limits of one never touch another test's sign-ins.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dqplatform.controlplane.auth.throttle import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_USER
from tests.faults.live import LivePlatform, secret_value


class Client:
    """An HTTP client connecting from one loopback address; every answer is recorded."""

    def __init__(self, server: LivePlatform, address: str):
        self.server = server
        self.http = httpx.Client(
            base_url=server.url,
            timeout=30,
            transport=httpx.HTTPTransport(local_address=address),
        )

    def login(self, username: str, password: str) -> httpx.Response:
        response = self.http.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        token = response.json().get("access_token") if response.status_code == 200 else None
        if token:
            self.server.ledger.add_secret(f"login token {secrets.token_hex(4)}", token)
        return self.server.ledger.record(response, allow=(token,) if token else ())


ClientFrom = Callable[[str], Client]


@pytest.fixture
def client_from(attack_server: LivePlatform) -> Iterator[ClientFrom]:
    """Clients by source address: 127.0.0.1 is left to the other tests."""
    clients: dict[str, Client] = {}

    def make(address: str) -> Client:
        clients[address] = Client(attack_server, address)
        return clients[address]

    yield make
    for client in clients.values():
        client.http.close()


def _user(server: LivePlatform, name: str) -> str:
    """A user with a known password (returned)."""
    server.add_user(name, "member")
    return server.ledger.secrets[f"password of {name}"]


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "too_many_attempts"
    assert 1 <= int(response.headers["retry-after"]) <= 300


def test_guessing_one_users_password_is_stopped(
    attack_server: LivePlatform, client_from: ClientFrom
) -> None:
    password = _user(attack_server, "guess-target")
    attacker = client_from("127.0.0.2")
    for index in range(MAX_FAILURES_PER_USER):
        guess = secret_value(attack_server.ledger, f"wrong password {index}")
        assert attacker.login("guess-target", guess).status_code == 401
    _assert_limited(attacker.login("guess-target", "another guess, still wrong"))
    # Even the right password is refused now, from this address and from any other...
    _assert_limited(attacker.login("guess-target", password))
    _assert_limited(client_from("127.0.0.3").login("GUESS-TARGET", password))
    # ...while other users sign in as usual.
    other = _user(attack_server, "not-targeted")
    assert client_from("127.0.0.3").login("not-targeted", other).status_code == 200


def test_guessing_many_users_from_one_address_is_stopped(
    attack_server: LivePlatform, client_from: ClientFrom
) -> None:
    password = _user(attack_server, "sprayed")
    attacker = client_from("127.0.0.4")
    spray = secret_value(attack_server.ledger, "sprayed password")
    for index in range(MAX_FAILURES_PER_ADDRESS):
        response = attacker.login(f"spray-{index}", spray)
        assert response.status_code == 401, response.text
    _assert_limited(attacker.login("spray-x", spray))
    _assert_limited(attacker.login("sprayed", password))  # the address is limited, for anyone
    assert client_from("127.0.0.5").login("sprayed", password).status_code == 200


def test_parallel_guesses_cannot_overshoot_the_limit(
    attack_server: LivePlatform, client_from: ClientFrom
) -> None:
    _user(attack_server, "raced")
    attacker = client_from("127.0.0.6")
    with ThreadPoolExecutor(30) as pool:
        codes = sorted(
            pool.map(lambda i: attacker.login("raced", f"guess {i}").status_code, range(30))
        )
    assert codes == [401] * MAX_FAILURES_PER_USER + [429] * (30 - MAX_FAILURES_PER_USER)
