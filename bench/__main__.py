"""Run every bench_*.py module's main() in turn (`python -m bench [NAME ...]` runs some)."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def _modules(selected: list[str]) -> list[str]:
    names = sorted(path.stem for path in Path(__file__).resolve().parent.glob("bench_*.py"))
    if not selected:
        return names
    wanted = {name if name.startswith("bench_") else f"bench_{name}" for name in selected}
    unknown = wanted - set(names)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {names}")
    return [name for name in names if name in wanted]


def main() -> None:
    selected = sys.argv[1:]
    for name in _modules(selected):
        print(f"\n=== bench.{name}", flush=True)
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        # Each benchmark parses its own options; run them all with their defaults.
        sys.argv = [f"bench.{name}"]
        module.main()
        print(f"(bench.{name} took {time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
