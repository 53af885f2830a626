"""What Lightning shows on the terminal: progress bars on or off, and its chatter silenced.

By default (``TrainConfig(quiet=True, progress_bar="auto", model_summary=False)``) a run prints
nothing but a progress bar, and the bar only when stdout is a terminal, so the CLI's output and
piped output stay clean. ``quiet`` raises Lightning's loggers (``lightning.pytorch``,
``lightning.fabric``) to WARNING for the duration of the run, which removes "GPU available: ...",
"LOCAL_RANK ...", "`Trainer.fit` stopped: ..." and the like, and filters the warnings that are
advice rather than problems (few dataloader workers, logging interval longer than an epoch,
checkpoint folder not empty, tips, deprecations inside Lightning). To see everything, use ``quiet=False`` (and ``rnnkit -v`` in
the CLI).
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")

# Advice that does not concern an rnnkit user (the engine builds the loaders and folders).
ADVICE_WARNINGS = (
    r".*does not have many workers.*",
    r".*smaller than the logging interval.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*Experiment logs directory .* exists and is not empty.*",
    r".*litlogger.*|.*litmodels.*",
    r".*GPU available but not used.*",
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
)


def silence_lightning() -> None:
    """Raise Lightning's loggers to WARNING and ignore its advice warnings (in this process)."""
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in ADVICE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


@contextmanager
def lightning_output(quiet: bool) -> Iterator[None]:
    """Within the block, silence Lightning if ``quiet``; restore logger levels and warning filters after."""
    if not quiet:
        yield
        return
    levels = {name: logging.getLogger(name).level for name in LIGHTNING_LOGGERS}
    with warnings.catch_warnings():
        silence_lightning()
        try:
            yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def progress_bar(choice: str) -> ProgressBar | None:
    """The progress bar callback for ``TrainConfig.progress_bar``, or ``None`` for no bar."""
    if choice == "off" or (choice == "auto" and not sys.stdout.isatty()):
        return None
    if choice == "rich":
        return RichProgressBar()
    return TQDMProgressBar()
