"""Atomic file writes: a user's files are either the old version or the new one, never half."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    Write the file to the yielded path (with any library: ``df.to_csv``, ``fig.savefig``,
    ``safetensors.torch.save_file``...). If the block raises, the temporary file is removed and
    ``path`` is left untouched. The rename is atomic on POSIX file systems.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Path], object]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


RUN_MARKER = "run.json"
"""The file that marks a folder as an rnnkit run (command, version, time); only such a folder of
the same command is ever replaced."""


def _run_kind(folder: Path) -> str | None:
    """The command whose run ``folder`` holds, or None when it is not an rnnkit run folder."""
    try:
        data = json.loads((folder / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("command") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def check_run_folder(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> Path:
    """Refuse an output folder that a ``kind`` run may not take: a file, a folder with other content,
    or (with ``overwrite``) a folder that is not an earlier ``kind`` run. Returns ``path``."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"out_dir {str(path)!r} is a file; give a folder path")
    blocking = next((parent for parent in target.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise NotADirectoryError(f"out_dir {str(path)!r} lies under {str(blocking)!r}, which is a file; give a folder path")
    if not target.is_dir() or not any(target.iterdir()):
        return target
    found = _run_kind(target)
    if not overwrite:
        what = f"holds a {found} run" if found else "is not empty"
        raise FileExistsError(f"out_dir {str(path)!r} {what}; choose a new folder"
                              + (", or overwrite=True to replace it" if found == kind else ""))
    if found is None:
        raise FileExistsError(f"out_dir {str(path)!r} is not an rnnkit run folder (no {RUN_MARKER}); "
                              "rnnkit replaces only its own runs: choose a new folder")
    if found != kind:
        raise FileExistsError(f"out_dir {str(path)!r} holds a {found} run, which a {kind} run never "
                              "replaces; choose a new folder")
    return target


@contextmanager
def _writable(path: str | os.PathLike[str]) -> Iterator[None]:
    """An OSError while creating the run's folder, as one line naming ``out_dir`` (not a temporary name)."""
    try:
        yield
    except OSError as err:
        raise PermissionError(f"cannot create the run folder out_dir {str(path)!r} ({err.strerror or err}); choose a "
                              "folder you can write to") from err


def _marker(kind: str, **extra: object) -> str:
    from rnnkit import __version__

    data = {"command": kind, "rnnkit": __version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
    return json.dumps(data, indent=1) + "\n"


def _move_into_place(staging: Path, target: Path, kind: str, overwrite: bool) -> None:
    check_run_folder(target, kind, overwrite=overwrite)  # nothing else took the folder meanwhile
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        os.replace(target, old / "run")
        os.replace(staging, target)
        shutil.rmtree(old)
    else:
        os.replace(staging, target)


@contextmanager
def run_folder(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False) -> Iterator[Path]:
    """Assemble a ``kind`` run (e.g. "lm") in a temporary sibling folder; move it onto ``path`` only
    when complete.

    ``path`` must be new or an empty folder; with ``overwrite`` an earlier run of the same kind is
    replaced, but only once the new one is complete (see :func:`check_run_folder`). The run gets a
    :data:`RUN_MARKER` file. If the block raises, nothing is left behind and ``path`` is untouched.
    """
    target = check_run_folder(path, kind, overwrite=overwrite)
    with _writable(path):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        (tmp / RUN_MARKER).write_text(_marker(kind), encoding="utf-8")
        yield tmp
        _move_into_place(tmp, target, kind, overwrite)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


CHECKPOINTS = "checkpoints"
"""The folder of a resumable run's training checkpoints, inside its partial folder."""


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where a resumable run to ``path`` is assembled (``.<name>.partial`` beside it): what a killed
    run leaves behind, and what ``resume`` continues."""
    target = Path(path)
    return target.parent / f".{target.name}.partial"


def interrupted_settings(path: str | os.PathLike[str], kind: str) -> dict:
    """The settings an interrupted ``kind`` run to ``path`` was started with (to resume it)."""
    staging = partial_path(path)
    try:
        data = json.loads((staging / RUN_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise FileNotFoundError(f"there is no interrupted run to resume at out_dir {str(path)!r} (no readable "
                                f"{staging.name}/{RUN_MARKER}); start a new run") from None
    if data.get("command") != kind:
        raise FileExistsError(f"the interrupted run at out_dir {str(path)!r} is a {data.get('command')} run, "
                              f"not a {kind} run")
    return dict(data.get("settings") or {})


def check_resumable_run_folder(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                               resume: bool = False) -> Path:
    """:func:`check_run_folder`, and: with ``resume`` an interrupted ``kind`` run to ``path`` must
    exist; without it, none may (a new run never discards one). Returns ``path``."""
    target = check_run_folder(path, kind, overwrite=overwrite)
    staging = partial_path(target)
    if resume:
        interrupted_settings(target, kind)
    elif staging.exists():
        raise FileExistsError(f"out_dir {str(path)!r} has an interrupted {kind} run in {str(staging)!r}; continue it "
                              "(resume=True) or delete that folder")
    return target


@contextmanager
def resumable_run_folder(path: str | os.PathLike[str], kind: str, settings: dict, *, overwrite: bool = False,
                         resume: bool = False) -> Iterator[Path]:
    """:func:`run_folder` for a run that can be continued after it was killed.

    The run is assembled in :func:`partial_path` ``(path)`` with ``settings`` (JSON) in its
    :data:`RUN_MARKER`. A run stopped by Ctrl-C or killed leaves that folder; ``resume=True``
    yields it again to continue from the training checkpoints the caller keeps in its
    :data:`CHECKPOINTS` folder (removed when the run is complete), and a new run refuses to start
    while it exists. A run that fails with an error leaves nothing.
    """
    target = check_resumable_run_folder(path, kind, overwrite=overwrite, resume=resume)
    staging = partial_path(target)
    if not resume:
        with _writable(path):
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.mkdir()
    try:
        if not resume:
            (staging / RUN_MARKER).write_text(_marker(kind, settings=settings), encoding="utf-8")
        yield staging
        shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)  # only an unfinished run needs them
        _move_into_place(staging, target, kind, overwrite)
    except (KeyboardInterrupt, SystemExit):
        raise  # stopped, not failed: the run can be resumed
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
