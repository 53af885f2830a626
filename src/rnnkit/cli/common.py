"""Helpers shared by the CLI sub-commands (output folders, tables)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path


def run_dir_path(command: str, out: str | None) -> Path:
    """The folder a run will be moved into: ``out``, else a new ``rnnkit-runs/<command>-<time>``
    (not created: the task assembles the run elsewhere and moves it here when complete)."""
    if out is not None:
        return Path(out)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("rnnkit-runs") / f"{command}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def new_run_dir(command: str, out: str | None) -> Path:
    """Return the output folder, created: ``out`` if given, else a new ``rnnkit-runs/<command>-<time>``."""
    path = run_dir_path(command, out)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"--out {out!r} is a file; give a folder path instead")
    path.mkdir(parents=True, exist_ok=True)
    return path
