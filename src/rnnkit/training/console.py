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
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

log = logging.getLogger(__name__)

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")

# Advice that does not concern an rnnkit user (the engine builds the loaders and folders).
ADVICE_WARNINGS = (
    r".*does not have many workers.*",
    r".*smaller than the logging interval.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*Experiment logs directory .* exists and is not empty.*",
    r".*litlogger.*|.*litmodels.*",
    r".*GPU available but not used.*",
    # rnnkit checkpoints after the update on purpose: a resumed run goes on with the next batch
    r".*Using ModelCheckpoint with manual optimization and every_n_train_steps.*",
    # a time budget can end a run before its first validation: fit() then keeps the last weights
    r".*could not find the monitored key in the returned metrics.*",
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


class ProgressLines(L.Callback):
    """Progress where no bar can be drawn (output piped to a file or a log): one ``logging`` line
    every ``every`` seconds of training with the epoch, the step, the latest training loss and the
    time so far. The CLI shows it on stderr."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._start = self._last = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = self._last = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        now = time.perf_counter()
        if now - self._last < self.every or trainer.global_rank != 0:
            return
        self._last = now
        loss = getattr(pl_module, "last_loss", None)
        shown = f", training loss {float(loss):.4f}" if isinstance(loss, torch.Tensor) else ""
        log.info("epoch %d, step %d%s, %.0f s", trainer.current_epoch + 1, trainer.global_step, shown, now - self._start)


def progress_bar(choice: str) -> L.Callback | None:
    """The progress callback for ``TrainConfig.progress_bar``: a bar, :class:`ProgressLines`
    ("auto" when stdout is not a terminal), or ``None`` ("off")."""
    if choice == "off":
        return None
    if choice == "auto" and not sys.stdout.isatty():
        return ProgressLines()
    if choice == "rich":
        return RichProgressBar()
    return TQDMProgressBar()
