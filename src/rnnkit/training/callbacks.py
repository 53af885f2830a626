"""Lightning callbacks of the engine: the per-epoch history (kept in memory and as JSON)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import lightning as L

from rnnkit.io import atomic_write_text
from rnnkit.training.module import TaskModule

log = logging.getLogger(__name__)


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in metrics.items()}


class HistoryCallback(L.Callback):
    """Record one row per training epoch: ``epoch``, ``step``, ``lr``, ``train_*`` and ``val_*`` means
    (from :meth:`TaskModule.epoch_metrics`).

    Args:
        path: where rank 0 rewrites the whole history as JSON after each epoch (atomically);
            ``None`` = memory only. A resumed run keeps the rows of the epochs before it.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.history: list[dict[str, float]] = []
        self._val: dict[str, float] = {}
        self._lr: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._remember_lr(trainer)                      # a run resumed mid-epoch skips on_train_epoch_start
        if trainer.ckpt_path and self.path is not None and self.path.is_file():
            previous = read_history(self.path)
            self.history = [row for row in previous if row["epoch"] < trainer.current_epoch]

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._remember_lr(trainer)

    def _remember_lr(self, trainer: L.Trainer) -> None:
        """The learning rate used in this epoch (schedules step at its end)."""
        self._lr = float(trainer.optimizers[0].param_groups[0]["lr"]) if trainer.optimizers else None

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: TaskModule) -> None:
        if not trainer.sanity_checking:
            self._val = _floats(pl_module.epoch_metrics("val"))

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: TaskModule) -> None:
        row: dict[str, float] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        if self._lr is not None:
            row["lr"] = self._lr
        row.update(_floats(pl_module.epoch_metrics("train")))
        row.update(self._val)
        self._val = {}
        self.history.append(row)
        if self.path is not None and trainer.is_global_zero:
            atomic_write_text(self.path, json.dumps(self.history, indent=1) + "\n")


def read_history(path: str | Path) -> list[dict[str, float]]:
    """The rows written by :class:`HistoryCallback`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
