"""Which redirect URIs the browser sign-in accepts, the redirect it builds, the form token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dqplatform.controlplane.auth.cli_authorize import (
    FORM_TTL_SECONDS,
    InvalidRedirect,
    authorize_params,
    form_is_valid,
    loopback_redirect,
    redirect_with_token,
    sign_form,
    token_name_prefix,
)
from dqplatform.controlplane.errors import PlatformError


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5555/callback",
        "http://localhost:1/",
        "http://LOCALHOST:65535/cb",
        "http://[::1]:8080/callback",
        "http://127.0.0.1:5555",
        "http://127.0.0.1:5555/callback?client=qualytics",
    ],
)
def test_loopback_uris_with_a_port_are_accepted(uri: str) -> None:
    assert loopback_redirect(uri).scheme == "http"


@pytest.mark.parametrize(
    "uri",
    [
        None,
        "",
        "http://evil.com:80/callback",
        "https://127.0.0.1:5555/callback",
        "http://127.0.0.1.evil.com:5555/callback",
        "http://127.0.0.1:5555.evil.com/callback",
        "http://user@127.0.0.1:1/cb",
        "http://127.0.0.1:1@evil.com:80/cb",
        "http://evil.com#@127.0.0.1:1/",
        "http://127.0.0.1:5555/callback#fragment",
        "javascript:alert(1)//127.0.0.1:1",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1:+80/callback",
        "http://[::1]/callback",
        "http://[::2]:80/callback",
        "http://0.0.0.0:80/callback",
        "http://127.0.0.2:80/callback",
        "http://2130706433:80/callback",
        "http:127.0.0.1:80/callback",
        "http:///127.0.0.1:80/callback",
        "//127.0.0.1:80/callback",
        "http://127.0.0.1:80\\@evil.com/",
        "http://127.0.0.1:80 /callback",
        "http://127.0.0.1:80/\tcallback",
        "http://127.0.0.1:८०/callback",
        "ftp://127.0.0.1:21/",
        "http://127.0.0.1:80/" + "a" * 2100,
    ],
)
def test_everything_else_is_refused(uri: str | None) -> None:
    with pytest.raises(InvalidRedirect) as refused:
        loopback_redirect(uri)
    assert refused.value.status_code == 400


def test_state_is_required() -> None:
    with pytest.raises(PlatformError) as missing:
        authorize_params("http://127.0.0.1:1/cb", "", "host")
    assert missing.value.status_code == 400
    with pytest.raises(PlatformError):
        authorize_params("http://127.0.0.1:1/cb", "s" * 1025, "host")


@pytest.mark.parametrize(
    "state", ["abc", "a b&c=d/e+f%20", "ünïcødé-☃", "x" * 1024, "token=forged&state=other"]
)
def test_the_redirect_carries_the_token_and_exactly_the_state(state: str) -> None:
    target = loopback_redirect("http://127.0.0.1:5555/callback?keep=1")
    location = redirect_with_token(target, "the.token.value", state)
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "http",
        "127.0.0.1:5555",
        "/callback",
        "",
    )
    assert parse_qs(parts.query) == {"keep": ["1"], "token": ["the.token.value"], "state": [state]}


def test_token_names_are_derived_from_a_cleaned_hostname() -> None:
    assert token_name_prefix("build-box.example.com") == "cli-build-box.example.com"
    assert token_name_prefix("<script>x</script>") == "cli-script-x-script"
    assert token_name_prefix("   ") == "cli-unknown"
    assert len(token_name_prefix("h" * 500)) == len("cli-") + 60


def test_the_form_token_is_bound_to_the_cookie_the_parameters_and_time() -> None:
    params = authorize_params("http://127.0.0.1:5555/cb", "state-1", "laptop")
    form = sign_form("secret", "nonce-1", params, issued=10_000)
    assert form_is_valid("secret", form, "nonce-1", params, now=10_001)
    assert not form_is_valid("secret", form, None, params, now=10_001)
    assert not form_is_valid("secret", form, "nonce-2", params, now=10_001)
    assert not form_is_valid("other secret", form, "nonce-1", params, now=10_001)
    assert not form_is_valid("secret", form, "nonce-1", params, now=10_000 + FORM_TTL_SECONDS + 1)
    assert not form_is_valid("secret", form, "nonce-1", params, now=9_000)  # from the future
    for changed in (
        authorize_params("http://127.0.0.1:5556/cb", "state-1", "laptop"),
        authorize_params("http://127.0.0.1:5555/cb", "state-2", "laptop"),
        authorize_params("http://127.0.0.1:5555/cb", "state-1", "desktop"),
    ):
        assert not form_is_valid("secret", form, "nonce-1", changed, now=10_001)
    assert not form_is_valid("secret", "10000.forged", "nonce-1", params, now=10_001)
    assert not form_is_valid("secret", "", "nonce-1", params, now=10_001)
