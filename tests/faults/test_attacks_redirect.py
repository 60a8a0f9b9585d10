"""An open redirect through the live /api/cli/authorize: whatever the encoding trick, the
token never goes anywhere but the person's own machine (http to a loopback host)."""

from __future__ import annotations

import html
import ipaddress
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.faults.live import LivePlatform

GOOD = "http://127.0.0.1:53682/callback"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TRICKS = [
    # user info and fragments that move the real host
    "http://127.0.0.1@evil.com/",
    "http://127.0.0.1:80@evil.com:80/",
    "http://127.0.0.1:53682@evil.com/callback",
    "http://evil.com#@127.0.0.1:53682/",
    "http://evil.com?@127.0.0.1:53682/",
    "http://evil.com\\@127.0.0.1:53682/",
    "http://127.0.0.1:53682\\@evil.com/",
    "http://127.0.0.1:53682%40evil.com/",
    "http://127.0.0.1%2f@evil.com:80/",
    "http://127.0.0.1%2F%2F@evil.com:80/",
    "http://evil.com%23@127.0.0.1:53682/",
    "http://127.0.0.1:53682#@evil.com/",
    # backslashes, which browsers read as slashes
    "http:\\\\evil.com\\@127.0.0.1:53682/",
    "http:/\\evil.com:80/",
    "http:\\/evil.com:80/",
    # hosts that merely look like loopback
    "http://127.0.0.1.evil.com:53682/",
    "http://localhost.evil.com:53682/",
    "http://127.0.0.1.nip.io:53682/",
    "http://localhost.:53682/",
    "http://127.1:53682/",
    "http://0x7f.0.0.1:53682/",
    "http://0177.0.0.1:53682/",
    "http://2130706433:53682/",
    "http://127.000.000.001:53682/",
    "http://0.0.0.0:53682/",
    # unicode dots and lookalikes (IDNA maps some to ASCII dots)
    "http://127\u30020\u30020\u30021:53682/",  # ideographic full stops
    "http://127\uff0e0\uff0e0\uff0e1:53682/",  # fullwidth full stops
    "http://127\uff610\uff610\uff611:53682/",  # halfwidth ideographic full stops
    "http://127.0.0.1\uff0eevil.com:53682/",
    "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:53682/",  # circled
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:53682/",  # fullwidth
    "http://loca\u0131host:53682/",
    "http://127.0.0.1\u200b.evil.com:53682/",
    # ports
    "http://127.0.0.1/callback",
    "http://127.0.0.1:/callback",
    "http://127.0.0.1:0/callback",
    "http://127.0.0.1:65536/callback",
    "http://127.0.0.1:99999999999999999999/callback",
    "http://127.0.0.1:-1/callback",
    "http://127.0.0.1:+80/callback",
    "http://127.0.0.1:80:81/callback",
    "http://127.0.0.1:8O/callback",
    "http://127.0.0.1:८०/callback",
    # IPv6
    "http://[::1]/callback",
    "http://[::ffff:127.0.0.1]:53682/",
    "http://[::ffff:7f00:1]:53682/",
    "http://[0:0:0:0:0:0:0:1]:53682/",
    "http://[::1]@evil.com:53682/",
    "http://[::1%25eth0]:53682/",
    "http://[::1]:53682@evil.com/",
    "http://[evil.com]:53682/",
    # other schemes and shapes
    "https://127.0.0.1:53682/callback",
    "HTTP://evil.com:80/",
    "javascript:alert(1)//127.0.0.1:53682",
    "data:text/html,<script>alert(1)</script>//127.0.0.1:1",
    "//evil.com:80/callback",
    "///evil.com:80/",
    "http:evil.com:80/",
    "http:///127.0.0.1:53682/",
    "evil.com",
    # control characters and spaces that browsers strip
    "http://127.0.0.1:53682/\tcallback",
    "http://127.0.0.1:53682\t@evil.com/",
    "http://127.0.0.1:53682\n@evil.com/",
    "\thttp://127.0.0.1:53682/",
    " http://127.0.0.1:53682/",
    "http://127.0.0.1:53682/ ",
    "http://127.0.0.1:53682/\r\nLocation: http://evil.com/",
    "http://127.0.0.1:53682/\x00@evil.com",
]

# Loopback targets whose path or query names another site: accepted, and the redirect still
# goes to exactly the loopback host and port given.
ODD_BUT_LOOPBACK = [
    "http://127.0.0.1:53682/%2F%2Fevil.com",
    "http://127.0.0.1:53682//evil.com/",
    "http://127.0.0.1:53682/callback?next=http://evil.com/",
    "http://localhost:53682/@evil.com",
    "http://[::1]:53682/..%2F..%2Fevil.com",
]


def _hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


def _is_loopback_http(location: str) -> bool:
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.username or parts.password or parts.fragment:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(scope="module")
def browser(attack_server: LivePlatform) -> httpx.Client:
    """A browser of its own (cookies), never following redirects."""
    return httpx.Client(base_url=attack_server.url, timeout=30, follow_redirects=False)


@pytest.fixture(scope="module")
def account(attack_server: LivePlatform) -> tuple[str, str]:
    attack_server.add_user("cli-person", "member")
    return "cli-person", attack_server.ledger.secrets["password of cli-person"]


def _open(server: LivePlatform, browser: httpx.Client, redirect_uri: str) -> httpx.Response:
    params = {"redirect_uri": redirect_uri, "state": "s-1", "hostname": "laptop"}
    return server.ledger.record(browser.get("/api/cli/authorize", params=params))


@pytest.mark.parametrize("uri", [GOOD, *ODD_BUT_LOOPBACK])
def test_a_loopback_callback_gets_the_token_there_and_nowhere_else(
    attack_server: LivePlatform, browser: httpx.Client, account: tuple[str, str], uri: str
) -> None:
    page = _open(attack_server, browser, uri)
    assert page.status_code == 200, page.text
    fields = _hidden_fields(page.text)
    username, password = account
    response = browser.post(
        "/api/cli/authorize", data={**fields, "username": username, "password": password}
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    token = parse_qs(urlsplit(location).query)["token"][0]
    attack_server.ledger.add_secret(f"browser sign-in token for {uri}", token)
    attack_server.ledger.record(response, allow=(token,))
    assert _is_loopback_http(location)
    assert urlsplit(location).netloc == urlsplit(uri).netloc
    assert httpx.URL(location).host == httpx.URL(uri).host
    assert attack_server.api("GET", "/api/users/me", token=token).json()["username"] == username


@pytest.mark.parametrize("uri", TRICKS)
def test_no_trick_gets_a_redirect_off_the_machine(
    attack_server: LivePlatform, browser: httpx.Client, account: tuple[str, str], uri: str
) -> None:
    page = _open(attack_server, browser, uri)
    assert page.status_code == 400, f"{uri!r} was accepted: {page.status_code}"
    assert "location" not in page.headers
    assert page.json()["code"] == "invalid_redirect_uri"

    # Posting the trick with the right password: with a valid form of a good URI (its
    # signature no longer matches) and with no form at all. Never a redirect.
    fields = _hidden_fields(_open(attack_server, browser, GOOD).text)
    username, password = account
    for form in (
        {**fields, "redirect_uri": uri},
        {"redirect_uri": uri, "state": "s-1", "hostname": "laptop"},
    ):
        answer = browser.post(
            "/api/cli/authorize", data={**form, "username": username, "password": password}
        )
        attack_server.ledger.record(answer)
        assert answer.status_code == 400, f"{uri!r}: {answer.status_code}"
        assert "location" not in answer.headers
