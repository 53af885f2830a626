"""``TrainConfig``: every knob of a training run, typed and validated when it is built.

Example::

    from rnnkit.training import TrainConfig

    config = TrainConfig(optimizer="adamw", lr=3e-3, max_epochs=20, batch_size=64,
                         clip_norm=1.0, early_stopping_patience=3, log_dir="runs/lm")

A bad value raises ``ValueError`` (or ``TypeError`` for a wrong type) at construction, with one
line that names the field, the value received, what is expected, and how to fix it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

OPTIMIZERS = ("sgd", "adam", "adamw")
LR_SCHEDULES = ("constant", "cosine", "step", "exponential", "plateau")
MONITOR_MODES = ("min", "max")
PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true")
STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true", "ddp_notebook")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")
PROGRESS_BARS = ("auto", "tqdm", "rich", "off")
LOGGERS = ("csv", "tensorboard")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(
            f"TrainConfig.{name} must be one of {', '.join(map(repr, choices))} (got {value!r})"
        )


def _check_int(name: str, value: Any, minimum: int, *, optional: bool = False, hint: str = "") -> None:
    if optional and value is None:
        return
    if not _is_int(value):
        raise TypeError(f"TrainConfig.{name} must be an integer (got {value!r} of type "
                        f"{type(value).__name__}){hint}")
    if value < minimum:
        raise ValueError(f"TrainConfig.{name} must be >= {minimum} (got {value}){hint}")


def _check_positive(name: str, value: Any, *, optional: bool = False, hint: str = "") -> None:
    """A finite number > 0 (``None`` allowed when ``optional``)."""
    if optional and value is None:
        return
    if not _is_number(value):
        raise TypeError(f"TrainConfig.{name} must be a number (got {value!r} of type "
                        f"{type(value).__name__}){hint}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"TrainConfig.{name} must be a finite number > 0 (got {value}){hint}")


def _check_range(name: str, value: Any, low: float, high: float, hint: str = "") -> None:
    """A number in the closed interval [low, high]."""
    if not _is_number(value):
        raise TypeError(f"TrainConfig.{name} must be a number (got {value!r} of type "
                        f"{type(value).__name__})")
    if not (low <= value <= high):
        raise ValueError(f"TrainConfig.{name} must be in [{low}, {high}] (got {value}){hint}")


@dataclass
class TrainConfig:
    """Configuration of one training run (optimizer, schedule, loop, hardware, logs, checkpoints).

    Optimization
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        lr: learning rate (> 0).
        weight_decay: L2 penalty (Adam, SGD) or decoupled decay (AdamW), >= 0.
        momentum, nesterov: SGD only.
        betas: Adam/AdamW moment decay rates, each in [0, 1).
        lr_schedule: ``"constant"``; ``"cosine"`` (from ``lr`` to ``lr_min`` over ``max_epochs``);
            ``"step"`` (times ``lr_gamma`` every ``lr_step_epochs``); ``"exponential"`` (times
            ``lr_gamma`` every epoch); ``"plateau"`` (times ``lr_gamma`` after ``lr_patience``
            epochs without improvement of ``monitor``). Schedules step once per epoch.
        clip_norm: rescale the gradient so its global L2 norm is at most this (seed 002: "acotar
            manualmente el gradiente"); ``None`` = off.
        clip_value: clamp every gradient element to [-clip_value, clip_value] (seed 004: "límites
            entre -1 y 1"); applied before ``clip_norm`` when both are set.
        accumulate_grad_batches: sum gradients over this many batches per optimizer step.

    Loop
        max_epochs, max_steps, max_seconds: stop at whichever comes first (at least one is set).
            A step is one optimizer update (with ``tbptt_steps``: one per chunk).
        batch_size: examples per batch on each process (ignored when you pass a ``DataLoader``).
        shuffle: reshuffle the training set each epoch; ``None`` = yes, except for streaming
            objectives, whose consecutive batches continue each other.
        drop_last, num_workers: as in ``torch.utils.data.DataLoader``.
        tbptt_steps: truncated BPTT: split each batch along time into chunks of this many steps,
            carry the recurrent state across chunks, detach it between them and update after
            each chunk. ``None`` = full BPTT over the whole batch.
        check_val_every_n_epoch: validate every this many epochs.

    Early stopping and best weights
        monitor: metric to watch; ``None`` = ``"val_loss"`` with validation data, else
            ``"train_loss"``. Metric names are ``<stage>_<name>`` (``val_accuracy``...).
        monitor_mode: ``"min"`` or ``"max"``.
        early_stopping_patience: stop after this many validations without improvement by more
            than ``early_stopping_min_delta``; ``None`` = never stop early.
        restore_best: after training with validation data, load the weights of the best epoch.

    Reproducibility
        seed: seeds python, numpy and torch (all processes) and the shuffling; ``None`` = no
            seeding (shuffling then uses seed 0).
        deterministic: force deterministic torch algorithms (slower on GPU).

    Hardware (passed to ``lightning.Trainer``)
        accelerator: ``"auto"``, ``"cpu"``, ``"gpu"``/``"cuda"`` or ``"mps"``.
        devices: devices per machine (int >= 1 or ``"auto"``).
        strategy: ``"auto"``, ``"ddp"`` (one process per device, re-launches the script),
            ``"ddp_spawn"``, ``"ddp_find_unused_parameters_true"`` or ``"ddp_notebook"``.
        num_nodes: machines.
        precision: ``"32-true"``, ``"64-true"``, ``"16-mixed"``, ``"bf16-mixed"``, ``"16-true"``,
            ``"bf16-true"``.

    Output
        log_dir: folder for ``metrics.csv``, ``tensorboard/`` and ``history.json``; ``None`` = no
            log files.
        loggers: which of ``"csv"``, ``"tensorboard"`` to write into ``log_dir``.
        log_every_n_steps: how often step-level metrics are written.
        checkpoint_dir: folder for ``last.ckpt`` (resume) and ``best.ckpt``; ``None`` = keep
            checkpoints only in a temporary folder for ``restore_best``.
        checkpoint_every_n_steps: also write ``last.ckpt`` every this many steps (mid-epoch);
            ``None`` = at the end of each epoch only.
        progress_bar: ``"auto"`` (a bar only when stdout is a terminal), ``"tqdm"``, ``"rich"``,
            ``"off"``.
        model_summary: print Lightning's model summary table at the start.
        quiet: silence Lightning's informational chatter ("GPU available...", tips, worker
            hints); warnings that matter still show.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    lr_schedule: str = "constant"
    lr_gamma: float = 0.1
    lr_step_epochs: int = 10
    lr_min: float = 0.0
    lr_patience: int = 5
    clip_norm: float | None = None
    clip_value: float | None = None
    accumulate_grad_batches: int = 1

    max_epochs: int | None = 10
    max_steps: int | None = None
    max_seconds: float | None = None
    batch_size: int = 32
    shuffle: bool | None = None
    drop_last: bool = False
    num_workers: int = 0
    tbptt_steps: int | None = None
    check_val_every_n_epoch: int = 1

    monitor: str | None = None
    monitor_mode: str = "min"
    early_stopping_patience: int | None = None
    early_stopping_min_delta: float = 0.0
    restore_best: bool = True

    seed: int | None = 0
    deterministic: bool = False

    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"

    log_dir: str | None = None
    loggers: tuple[str, ...] = ("csv", "tensorboard")
    log_every_n_steps: int = 50
    checkpoint_dir: str | None = None
    checkpoint_every_n_steps: int | None = None
    progress_bar: str = "auto"
    model_summary: bool = False
    quiet: bool = True

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # type: ignore[assignment]  (lists from JSON/CLI)
        self.loggers = tuple(self.loggers)
        self._validate_optimization()
        self._validate_loop()
        self._validate_monitoring()
        self._validate_hardware()
        self._validate_output()

    def _validate_optimization(self) -> None:
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_positive("lr", self.lr, hint="; use e.g. lr=1e-3")
        if not _is_number(self.weight_decay) or self.weight_decay < 0:
            raise ValueError(f"TrainConfig.weight_decay must be a number >= 0 (got {self.weight_decay!r})")
        _check_range("momentum", self.momentum, 0.0, 1.0)
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"TrainConfig.momentum only applies to optimizer='sgd' (got optimizer="
                             f"{self.optimizer!r}, momentum={self.momentum}); use betas for Adam/AdamW")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ValueError("TrainConfig.nesterov=True needs optimizer='sgd' and momentum > 0 "
                             f"(got optimizer={self.optimizer!r}, momentum={self.momentum})")
        if len(self.betas) != 2 or not all(_is_number(b) and 0 <= b < 1 for b in self.betas):
            raise ValueError(f"TrainConfig.betas must be two numbers in [0, 1) (got {self.betas!r}); "
                             "use e.g. betas=(0.9, 0.999)")
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_range("lr_gamma", self.lr_gamma, 0.0, 1.0, hint="; the factor that multiplies lr")
        if self.lr_gamma == 0:
            raise ValueError("TrainConfig.lr_gamma must be > 0 (got 0); use e.g. lr_gamma=0.5")
        _check_int("lr_step_epochs", self.lr_step_epochs, 1)
        _check_int("lr_patience", self.lr_patience, 0)
        if not _is_number(self.lr_min) or not (0 <= self.lr_min < self.lr):
            raise ValueError(f"TrainConfig.lr_min must be in [0, lr={self.lr}) (got {self.lr_min!r})")
        if self.lr_schedule == "cosine" and self.max_epochs is None:
            raise ValueError("TrainConfig.lr_schedule='cosine' anneals over max_epochs, but max_epochs "
                             "is None; set max_epochs or choose another lr_schedule")
        _check_positive("clip_norm", self.clip_norm, optional=True,
                        hint="; use e.g. clip_norm=1.0, or None for no clipping")
        _check_positive("clip_value", self.clip_value, optional=True,
                        hint="; use e.g. clip_value=1.0, or None for no clipping")
        _check_int("accumulate_grad_batches", self.accumulate_grad_batches, 1)

    def _validate_loop(self) -> None:
        _check_int("max_epochs", self.max_epochs, 1, optional=True)
        _check_int("max_steps", self.max_steps, 1, optional=True)
        _check_positive("max_seconds", self.max_seconds, optional=True)
        if self.max_epochs is None and self.max_steps is None and self.max_seconds is None:
            raise ValueError("TrainConfig needs a limit: set max_epochs, max_steps or max_seconds "
                             "(all three are None)")
        _check_int("batch_size", self.batch_size, 1, hint="; use e.g. batch_size=32")
        if self.shuffle is not None and not isinstance(self.shuffle, bool):
            raise TypeError(f"TrainConfig.shuffle must be True, False or None (got {self.shuffle!r})")
        _check_int("num_workers", self.num_workers, 0)
        _check_int("tbptt_steps", self.tbptt_steps, 1, optional=True,
                   hint="; the number of time steps per truncated-BPTT chunk, or None for full BPTT")
        if self.tbptt_steps is not None and self.accumulate_grad_batches != 1:
            raise ValueError("TrainConfig.tbptt_steps updates after every chunk and cannot be combined "
                             f"with accumulate_grad_batches={self.accumulate_grad_batches}; set one of them "
                             "to its default")
        _check_int("check_val_every_n_epoch", self.check_val_every_n_epoch, 1)

    def _validate_monitoring(self) -> None:
        if self.monitor is not None and (not isinstance(self.monitor, str) or not self.monitor):
            raise ValueError(f"TrainConfig.monitor must be a metric name like 'val_loss' or None "
                             f"(got {self.monitor!r})")
        _check_choice("monitor_mode", self.monitor_mode, MONITOR_MODES)
        _check_int("early_stopping_patience", self.early_stopping_patience, 1, optional=True,
                   hint="; the number of validations without improvement before stopping")
        if not _is_number(self.early_stopping_min_delta) or self.early_stopping_min_delta < 0:
            raise ValueError("TrainConfig.early_stopping_min_delta must be a number >= 0 "
                             f"(got {self.early_stopping_min_delta!r})")
        if self.seed is not None:
            _check_int("seed", self.seed, 0, hint="; use a non-negative integer or None")

    def _validate_hardware(self) -> None:
        _check_choice("accelerator", self.accelerator, ACCELERATORS)
        if self.devices != "auto":
            _check_int("devices", self.devices, 1, hint="; the number of devices per machine, or 'auto'")
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_int("num_nodes", self.num_nodes, 1)
        _check_choice("precision", self.precision, PRECISIONS)

    def _validate_output(self) -> None:
        for name in ("log_dir", "checkpoint_dir"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"TrainConfig.{name} must be a folder path string or None (got {value!r})")
        for logger in self.loggers:
            _check_choice("loggers", logger, LOGGERS)
        _check_int("log_every_n_steps", self.log_every_n_steps, 1)
        _check_int("checkpoint_every_n_steps", self.checkpoint_every_n_steps, 1, optional=True)
        _check_choice("progress_bar", self.progress_bar, PROGRESS_BARS)


MIN_TRAINING_SECONDS = 1.0
"""The least training time a run keeps when its budget is nearly spent before training starts."""


def budget_left(max_seconds: float | None, started: float, reserve: float = 0.0) -> float | None:
    """What is left of a whole run's budget ``max_seconds`` for its training: minus the time since
    ``started`` (``time.perf_counter()`` when the run began: data, baselines, a first evaluation)
    and a ``reserve`` for what follows training (the final evaluation); at least
    :data:`MIN_TRAINING_SECONDS`. ``None`` (no budget) stays ``None``."""
    if max_seconds is None:
        return None
    return max(MIN_TRAINING_SECONDS, max_seconds - (time.perf_counter() - started) - reserve)
