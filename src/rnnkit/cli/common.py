"""Helpers shared by the CLI sub-commands (output folders, tables)."""

from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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


def add_output_options(parser: argparse.ArgumentParser, command: str, what: str = "output folder", *,
                       resumable: bool = False) -> None:
    """``--out`` and ``--overwrite`` (and ``--resume``), the same for every command that writes a run folder."""
    parser.add_argument("--out", help=f"{what} (default: a new rnnkit-runs/{command}-<time>); it must be new or empty")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace --out when it holds an earlier {command} run (never another folder)")
    if resumable:
        parser.add_argument("--resume", metavar="RUN_DIR",
                            help="continue the interrupted (killed) run whose --out was RUN_DIR, with its own settings")


def config_and_out(args: argparse.Namespace, command: str, config_type: Callable[..., T],
                   build: Callable[[argparse.Namespace], T]) -> tuple[T, Path, bool]:
    """The run's config, its folder and whether it resumes: with ``--resume RUN_DIR`` the settings
    the interrupted run was started with (the other options are not used), else ``build(args)``."""
    if getattr(args, "resume", None) is None:
        return build(args), run_dir_path(command, args.out), False
    from rnnkit.io import interrupted_settings

    config = config_type(**interrupted_settings(args.resume, command))
    print(f"resuming the interrupted {command} run in {args.resume} with its own settings", file=sys.stderr)
    return config, Path(args.resume), True


COMMON_FLAGS: dict[str, str] = {
    "overwrite": "--overwrite", "out_dir": "--out", "hidden_size": "--hidden", "num_layers": "--layers",
    "batch_size": "--batch-size", "max_seconds": "--max-seconds", "max_steps": "--max-steps", "epochs": "--epochs",
    "max_epochs": "--epochs",
    "lr": "--lr", "clip_norm": "--clip", "min_freq": "--min-freq", "max_vocab": "--max-vocab",
    "max_len": "--max-len", "val_fraction": "--val-fraction", "test_fraction": "--test-fraction",
    "embedding_dim": "--embedding-dim", "min_count": "--min-count", "vector_size": "--dim", "seed": "--seed",
    "encoding": "--encoding", "limit": "--limit", "text_col": "--text-col", "label_col": "--label-col",
    "attention": "--attention", "fill": "--fill", "bptt": "--bptt",
}
"""Library parameters every command sets with the same flag (a command adds its own in its
module's ``PARAMETER_FLAGS``)."""


def in_flags(message: str, flags: dict[str, str]) -> str:
    """``message`` with library parameter names written as the CLI flags that set them:
    ``short_series='skip'`` -> ``--short-series skip``, ``overwrite=True`` -> ``--overwrite``."""
    for parameter, flag in {**COMMON_FLAGS, **flags}.items():
        name = rf"\b(?:[A-Z]\w*Config\.)?{parameter}"  # "TrainConfig.max_seconds" is --max-seconds too
        message = re.sub(rf"{name}=True\b", flag, message)
        message = re.sub(rf"{name}=('?)([^',; )]*)\1", rf"{flag} \2", message)
        if "_" in parameter:  # a bare name only when it cannot be an ordinary word
            message = re.sub(rf"(?<![\w-])(?:[A-Z]\w*Config\.)?{parameter}\b(?!-)", flag, message)
        else:  # a short name when it is qualified, or the subject of the message ("lr must be ...")
            message = re.sub(rf"\b[A-Z]\w*Config\.{parameter}\b|^{parameter}(?= must\b)|(?<=/ ){parameter}\b", flag,
                             message)
    return message
