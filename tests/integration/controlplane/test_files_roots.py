"""POST and PUT /api/datastores keep file datastores inside DQP_FILES_ROOTS: 422 naming the
roots, and nothing else about the filesystem, for `..`, links, prefixes and absolute paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.users import service as users
from tests.helpers import PASSWORD
from tests.integration.controlplane.auth_fixtures import fast_passwords, settings_on
from tests.integration.controlplane.test_datastores_support import error_locs, unique

pytestmark = pytest.mark.integration
__all__ = ["fast_passwords"]  # fixture


@dataclass
class Site:
    client: TestClient
    base: Path  # base/files and base/more are the roots
    headers: dict[str, str]

    def create(self, path: str | Path, **body: Any) -> Response:
        body = {
            "name": unique("files"),
            "kind": "files",
            "path": str(path),
            "file_format": "csv",
            **body,
        }
        return self.client.post("/api/datastores", json=body, headers=self.headers)

    def put(self, datastore_id: int, **body: Any) -> Response:
        return self.client.put(f"/api/datastores/{datastore_id}", json=body, headers=self.headers)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("roots").resolve()
    (base / "files" / "sales").mkdir(parents=True)
    (base / "more").mkdir()
    (base / "files-evil").mkdir()
    (base / "outside" / "deep").mkdir(parents=True)
    (base / "files" / "escape").symlink_to(base / "outside" / "deep")  # inside -> outside
    (base / "door").symlink_to(base / "files" / "sales")  # outside -> inside
    (base / "files" / "loop").symlink_to(base / "files" / "loop")
    # As an Admin would write it: text, one root with a trailing slash.
    roots = f"{base / 'files'}/,{base / 'more'}"
    with (
        settings_on("sqlite", base / "data", files_roots=roots) as settings,
        TestClient(create_app(settings)) as client,
    ):
        with client.app.state.session_factory.begin() as session:  # type: ignore[attr-defined]
            manager = users.create_user(session, unique("manager"), PASSWORD, Role.MANAGER)
        client.app.state.users.reload()  # type: ignore[attr-defined]
        token = issue_session_token(settings.signing_secret, manager.id, Role.MANAGER, 600)
        yield Site(client, base, {"Authorization": f"Bearer {token}"})


def refusal(site: Site, response: Response) -> None:
    """The one error of a refused path: it names the roots."""
    assert error_locs(response) == [["body", "path"]]
    (error,) = response.json()["errors"]
    assert error["msg"] == (
        "must be inside one of the folders file datastores may use (DQP_FILES_ROOTS): "
        f"{site.base / 'files'}, {site.base / 'more'}"
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("{base}/files", "{base}/files"),
        ("{base}/files/sales", "{base}/files/sales"),
        ("{base}/files/sales/../sales/", "{base}/files/sales"),
        ("{base}/files/not-made-yet", "{base}/files/not-made-yet"),
        ("{base}/more", "{base}/more"),
        ("{base}/outside/../more", "{base}/more"),
        ("{base}/door", "{base}/door"),  # a link from outside to a folder inside
    ],
)
def test_paths_inside_a_root_are_stored_as_given(site: Site, given: str, stored: str) -> None:
    response = site.create(given.format(base=site.base))
    assert response.status_code == 201, response.text
    # Normalised (no '..', no trailing slash), links kept: the dataplane resolves them again
    # when it reads.
    assert response.json()["path"] == stored.format(base=site.base)


@pytest.mark.parametrize(
    "path",
    [
        "{base}/files-evil",  # the root's name as a prefix only
        "{base}/files-evil/sales",
        "{base}/outside",
        "{base}/files/../outside",
        "{base}/files/sales/../../outside/deep",
        "{base}/files/escape",  # a link inside to a folder outside
        "{base}/files/escape/x",
        "{base}/files/loop",
        "{base}",
        "/etc",
        "/",
    ],
)
def test_paths_outside_every_root_are_refused(site: Site, path: str) -> None:
    # The roots and nothing else: not where a link leads, nor whether the path exists.
    refusal(site, site.create(path.format(base=site.base)))


def test_an_update_cannot_move_a_datastore_out_of_the_roots(site: Site) -> None:
    created = site.create(site.base / "files" / "sales")
    assert created.status_code == 201, created.text
    datastore_id = created.json()["id"]
    refusal(site, site.put(datastore_id, path=str(site.base / "files" / "escape")))
    refusal(site, site.put(datastore_id, path=str(site.base / "files-evil")))
    moved = site.put(datastore_id, path=str(site.base / "more"))
    assert moved.status_code == 200, moved.text
    stored = site.client.get(f"/api/datastores/{datastore_id}", headers=site.headers).json()
    assert stored["path"] == str(site.base / "more")


def test_a_jdbc_datastore_turned_files_is_judged_too(site: Site) -> None:
    connection = site.client.post(
        "/api/connections",
        headers=site.headers,
        json={
            "type": "postgresql",
            "name": unique("conn"),
            "host": "127.0.0.1",
            "database": "sales",
            "username": "reader",
            "password": "pw-for-test-only",
        },
    )
    assert connection.status_code == 201, connection.text
    created = site.client.post(
        "/api/datastores",
        headers=site.headers,
        json={"name": unique("db"), "kind": "jdbc", "connection_id": connection.json()["id"]},
    )
    assert created.status_code == 201, created.text
    url = created.json()["id"]
    refusal(site, site.put(url, kind="files", path="/etc", file_format="csv"))
    turned = site.put(url, kind="files", path=str(site.base / "files"), file_format="csv")
    assert turned.status_code == 200, turned.text
