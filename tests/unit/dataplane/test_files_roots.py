"""The dataplane's own check of file datastores against DQP_FILES_ROOTS, when it lists the
files and again right before it reads one (no Spark needed: a refusal comes first)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.dataplane.operations.files import find_files, prepare_roots, read_file
from dqplatform.messaging.operations import DatastoreSpec
from dqplatform.settings import Settings


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """base/files/sales holds data; base/secret is outside the root."""
    base = tmp_path.resolve()
    sales = base / "files" / "sales"
    sales.mkdir(parents=True)
    (sales / "orders.csv").write_text("id\n1\n")
    (base / "secret").mkdir()
    (base / "secret" / "passwords.csv").write_text("user,password\nroot,hunter2\n")
    (base / "secret" / "part-0.parquet").write_bytes(b"PAR1")
    return base


def roots(base: Path) -> tuple[Path, ...]:
    return (base / "files",)


def spec(path: Path | str) -> DatastoreSpec:
    return DatastoreSpec(kind="files", path=str(path), file_format=None)


def names(base: Path, path: Path | str) -> list[str]:
    return [found.name for found in find_files(spec(path), roots(base))]


def test_files_inside_the_roots_are_found(base: Path) -> None:
    assert names(base, base / "files" / "sales") == ["orders.csv"]
    # Through a link from outside whose target is inside: the data is inside.
    (base / "door").symlink_to(base / "files" / "sales")
    assert names(base, base / "door") == ["orders.csv"]


@pytest.mark.parametrize(
    "path",
    ["{base}/secret", "{base}/files/../secret", "{base}/files-evil", "{base}/files/link", "/etc"],
)
def test_a_datastore_path_that_leads_outside_fails_without_saying_where(
    base: Path, path: str
) -> None:
    (base / "files-evil").mkdir()
    (base / "files" / "link").symlink_to(base / "secret")  # swapped in after creation, say
    given = path.format(base=base)
    with pytest.raises(OperationFailed) as failed:
        find_files(spec(given), roots(base))
    # The path as given and the roots; not where it leads.
    assert str(failed.value) == (
        f"the datastore path {given} leads outside the folders file datastores may use "
        f"(DQP_FILES_ROOTS): {base / 'files'}"
    )


def test_entries_that_lead_outside_are_left_out(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sales = base / "files" / "sales"
    (sales / "leak.csv").symlink_to(base / "secret" / "passwords.csv")
    (sales / "leak.parquet").symlink_to(base / "secret")
    # A Parquet folder inside, one of whose parts is a link to a file outside.
    dataset = sales / "mixed.parquet"
    dataset.mkdir()
    (dataset / "part-0.parquet").write_bytes(b"PAR1")
    (dataset / "part-1.parquet").symlink_to(base / "secret" / "part-0.parquet")
    # And one whose parts are all inside, reached through a link that stays inside.
    (base / "files" / "kept.parquet").mkdir()
    (base / "files" / "kept.parquet" / "part-0.parquet").write_bytes(b"PAR1")
    (sales / "alias.parquet").symlink_to(base / "files" / "kept.parquet")
    caplog.set_level(logging.WARNING)
    assert names(base, sales) == ["alias.parquet", "orders.csv"]
    for name in ("leak.csv", "leak.parquet", "mixed.parquet"):
        assert name in caplog.text
    assert str(base / "secret") not in caplog.text


def test_a_link_loop_under_the_path_ends(base: Path) -> None:
    dataset = base / "files" / "sales" / "looped.parquet"
    dataset.mkdir()
    (dataset / "part-0.parquet").write_bytes(b"PAR1")
    (dataset / "again").symlink_to(dataset)
    assert names(base, base / "files" / "sales") == ["looped.parquet", "orders.csv"]


def test_a_file_swapped_for_a_link_after_listing_is_not_read(base: Path) -> None:
    (found,) = find_files(spec(base / "files" / "sales"), roots(base))
    found.path.unlink()
    found.path.symlink_to(base / "secret" / "passwords.csv")
    with pytest.raises(OperationFailed, match=r"orders\.csv leads outside"):
        read_file(None, found, roots(base))  # type: ignore[arg-type]  # refused before Spark


def test_the_default_root_is_created_at_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert prepare_roots(settings) == ((tmp_path / "data" / "files").resolve(),)
    assert (tmp_path / "data" / "files").is_dir()
    given = Settings(data_dir=tmp_path / "other", files_roots=(tmp_path / "given",))
    assert prepare_roots(given) == ((tmp_path / "given").resolve(),)
    assert not (tmp_path / "given").exists()  # an Admin's folder is theirs to make
