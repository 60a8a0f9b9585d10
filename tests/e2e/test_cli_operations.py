"""`dqp operation ...` against a live controlplane (no dataplane: operations stay queued)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = Path(tmp_path_factory.mktemp("cli-ops"))
    instance = Platform(
        data_dir=root / "data", broker_url=None, extra_env={"DQP_PROBE_TIMEOUT_SECONDS": "0.5"}
    )
    instance.start("controlplane", "controlplane")
    instance.wait_api()
    instance.token = instance.create_admin()
    try:
        yield instance
    finally:
        instance.stop_all()


def _cli(platform: Platform, *args: str) -> tuple[int, str, str]:
    result = platform.run_cli("operation", *args, "--url", platform.url, "--token", platform.token)
    return result.returncode, result.stdout, result.stderr


def test_run_get_list_abort(platform: Platform) -> None:
    created = platform.request(
        "POST",
        "/api/datastores",
        json={
            "name": "cli-files",
            "kind": "files",
            "path": "/tmp/nowhere",
            "file_format": "csv",
        },
    )
    assert created.status_code == 201, created.text
    datastore_id = created.json()["id"]

    code, out, err = _cli(platform, "run", "sync", "--datastore-id", str(datastore_id), "--json")
    assert code == 0, err
    operation = json.loads(out)
    assert (operation["type"], operation["result"]) == ("catalog", "queued")

    code, out, _ = _cli(platform, "get", str(operation["id"]))
    assert code == 0 and f"operation {operation['id']}: catalog" in out and "queued" in out

    code, out, _ = _cli(platform, "list", "--datastore-id", str(datastore_id), "--json")
    assert code == 0 and json.loads(out)["total"] == 1

    # Nothing runs it (no dataplane): an abort ends it at once.
    code, out, _ = _cli(platform, "abort", str(operation["id"]), "--json")
    assert code == 0 and json.loads(out)["result"] == "aborted"

    code, _, err = _cli(
        platform, "run", "profile", "--datastore-id", str(datastore_id), "--wait", "--timeout", "2"
    )
    assert code != 0 and "did not end within 2 s" in err

    code, _, err = _cli(platform, "get", "999999")
    assert code != 0 and "404" in err
