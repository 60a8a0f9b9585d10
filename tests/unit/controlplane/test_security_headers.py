"""One set of security headers for the platform's pages: the web pages and the CLI page."""

from __future__ import annotations

from urllib.parse import urlsplit

from dqplatform.controlplane.auth.cli_authorize import _security_headers
from dqplatform.controlplane.ui.headers import CONTENT_SECURITY_POLICY, SECURITY_HEADERS


def _policy(header: str) -> dict[str, str]:
    return dict(part.split(" ", 1) for part in header.split("; "))


def test_the_web_pages_policy_allows_only_their_own_files() -> None:
    policy = _policy(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "'none'"
    assert {policy[d] for d in ("script-src", "style-src", "connect-src")} == {"'self'"}
    assert SECURITY_HEADERS["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_cli_page_has_every_header_of_the_web_pages_with_its_own_policy() -> None:
    headers = _security_headers(urlsplit("http://127.0.0.1:53682/callback"))
    assert set(headers) == set(SECURITY_HEADERS)
    for name in set(SECURITY_HEADERS) - {"Content-Security-Policy", "Referrer-Policy"}:
        assert headers[name] == SECURITY_HEADERS[name], name
    # Its URL carries the client's state: no referrer at all.
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = _policy(headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'"
    assert "script-src" not in policy  # no script at all
    assert policy["form-action"] == "'self' http://127.0.0.1:53682"
    assert policy["frame-ancestors"] == "'none'"
