"""Judging a path against the file roots (`..`, links, prefixes) and reading DQP_FILES_ROOTS."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dqplatform.file_roots import listed, root_containing
from dqplatform.settings import Settings, SettingsError, load_settings


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """base/files (the root), its neighbours, and links in and out of it."""
    base = tmp_path.resolve()
    (base / "files" / "sales").mkdir(parents=True)
    (base / "files-evil").mkdir()
    (base / "outside").mkdir()
    (base / "files" / "escape").symlink_to(base / "outside")  # inside -> outside
    (base / "door").symlink_to(base / "files" / "sales")  # outside -> inside
    (base / "files" / "loop").symlink_to(base / "files" / "loop")
    return base


def test_a_path_is_judged_after_dots_and_links_are_resolved(tree: Path) -> None:
    roots = (tree / "files",)
    inside: list[str | Path] = [
        tree / "files",
        tree / "files" / "sales",
        tree / "files" / "not-yet-there" / "deeper",
        f"{tree}/files/sales/../sales/",
        f"{tree}/outside/../files/sales",
        tree / "door",  # a link from outside whose target is inside
    ]
    for path in inside:
        assert root_containing(path, roots) == tree / "files", path
    outside: list[str | Path] = [
        tree / "files-evil",  # shares the root's name as a prefix, not as a folder
        tree / "outside",
        f"{tree}/files/../outside",
        f"{tree}/files/sales/../../outside",
        tree / "files" / "escape",  # a link inside whose target is outside
        tree / "files" / "escape" / "x.csv",
        tree / "files" / "loop",  # a link loop cannot be resolved: refused
        "/etc",
        "/",
    ]
    for path in outside:
        assert root_containing(path, roots) is None, path


def test_any_of_several_roots_will_do(tree: Path) -> None:
    roots = (tree / "files", tree / "outside")
    assert root_containing(tree / "files" / "escape", roots) == tree / "outside"
    assert root_containing(tree / "files-evil", roots) is None
    assert listed(roots) == f"{tree / 'files'}, {tree / 'outside'}"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("DQP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_root_is_a_folder_in_the_data_dir(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.files_roots == ()
    assert settings.resolved_files_roots == (clean_env.resolve() / ".dqp" / "files",)


def test_roots_come_comma_separated_and_are_resolved(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, tree: Path
) -> None:
    # A trailing slash, spaces, a repeat, and a root given through a link.
    monkeypatch.setenv("DQP_FILES_ROOTS", f" {tree}/files/ ,{tree}/door,{tree}/files")
    settings = load_settings()
    assert settings.resolved_files_roots == (tree / "files", tree / "files" / "sales")
    assert root_containing(f"{tree}/files/sales/a", settings.resolved_files_roots) == (
        tree / "files"
    )


def test_a_relative_root_is_refused_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DQP_FILES_ROOTS", "/srv/data,landing")
    with pytest.raises(SettingsError, match=r"DQP_FILES_ROOTS: .*landing"):
        load_settings()


def test_roots_given_in_code_take_paths_or_text(tree: Path) -> None:
    assert Settings(files_roots=f"{tree}/files/").resolved_files_roots == (tree / "files",)  # type: ignore[arg-type]
    assert Settings(files_roots=[tree / "files"]).resolved_files_roots == (tree / "files",)  # type: ignore[arg-type]
