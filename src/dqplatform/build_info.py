"""What build of dqplatform is running: version, commit and build date, read from the build."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class BuildInfo:
    implementation_version: str
    git_hash: str
    build_date: str  # ISO date, YYYY-MM-DD

    @property
    def platform_version(self) -> str:
        """The date-based controlplane version, `YYYYMMDD-<short git hash>`."""
        return f"{self.build_date.replace('-', '')}-{self.git_hash}"


def _from_git() -> tuple[str, str] | None:
    """(short hash, commit date) of the checkout the package runs from, if it is one."""
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%h %cs"],
            cwd=_PACKAGE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return (out[0], out[1]) if len(out) == 2 else None


def _from_version_file() -> tuple[str, str] | None:
    """(short hash, build date) that setuptools-scm wrote into `_version.py` at build time."""
    try:
        from dqplatform import _version  # type: ignore[attr-defined]
    except ImportError:
        return None
    commit = getattr(_version, "__commit_id__", None) or getattr(_version, "commit_id", None)
    if not commit:
        return None
    built = datetime.fromtimestamp(Path(_version.__file__).stat().st_mtime, UTC)
    return str(commit).removeprefix("g")[:7], built.date().isoformat()


@lru_cache(maxsize=1)
def build_info() -> BuildInfo:
    """The running build; git is asked once, when the package runs from a checkout."""
    try:
        version = metadata.version("dqplatform")
    except metadata.PackageNotFoundError:
        version = "0.0.0"
    found = _from_git() or _from_version_file()
    if found is None:
        # Neither a checkout nor a built wheel: say so rather than invent a commit.
        return BuildInfo(version, "unknown", datetime.now(UTC).date().isoformat())
    git_hash, date = found
    return BuildInfo(version, git_hash, date)
