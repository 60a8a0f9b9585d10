"""Browser-suite fixtures: a controlplane under TestClient for the page tests, and Debian's
Chromium, headless, driven by Playwright for the tests that use a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth import passwords
from dqplatform.controlplane.auth.throttle import LoginThrottle
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings
from tests.browser.helpers import FAST_HASHER, Site
from tests.helpers import fresh_login_throttle

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root, where Chromium's sandbox refuses to start. The rest keeps a
# headless browser from calling home or doing work the tests do not need.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data_dir, broker_url="memory://")  # type: ignore[call-arg]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", FAST_HASHER)
        service._dummy_hash.cache_clear()
        with TestClient(create_app(settings)) as client:
            yield Site(client, settings)
    service._dummy_hash.cache_clear()


@pytest.fixture
def throttle(site: Site) -> LoginThrottle:
    """A fresh sign-in throttle for each test (the counts are kept in the site's database)."""
    return fresh_login_throttle(site.state)


# Package scope, not session: Playwright's sync API keeps an asyncio loop marked running on
# the main thread for as long as it is open, and every later test that calls asyncio.run()
# would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="package")
def chromium():  # type: ignore[no-untyped-def]
    """Debian's Chromium (apt package `chromium`), never a browser Playwright downloads."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
