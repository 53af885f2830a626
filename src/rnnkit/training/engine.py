"""``fit``, ``evaluate``, ``predict``: train and use any model through one Lightning engine.

Example (many-to-one regression with an LSTM; any ``nn.Module`` works the same way)::

    import torch
    from rnnkit.training import RegressionObjective, TrainConfig, evaluate, fit, predict

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(1, 16, batch_first=True)
            self.head = torch.nn.Linear(16, 1)
        def forward(self, x):                      # x: (B, T, 1) -> (B, 1)
            return self.head(self.rnn(x)[0][:, -1])

    x = torch.randn(256, 20, 1); y = x.sum(dim=1)
    model = Net()
    result = fit(model, RegressionObjective(), (x[:200], y[:200]), (x[200:], y[200:]),
                 config=TrainConfig(max_epochs=5, lr=1e-2, early_stopping_patience=2))
    result.history[-1]["val_loss"]; result.seconds
    evaluate(model, RegressionObjective(), (x[200:], y[200:]))      # {"loss": ..., "mse": ..., "mae": ...}
    predict(model, x[200:])                                          # (56, 1)

Data: a ``Dataset``, a tuple of tensors (first dimension = examples) or a ``DataLoader``; see
:mod:`rnnkit.training.loaders`. The model is trained in place (after ``fit`` it holds the best
weights when ``restore_best`` and validation data are given, else the last ones).

Several devices / machines: set ``accelerator``, ``devices``, ``num_nodes`` and
``strategy="ddp"`` in the config and launch the script as usual on every machine (Lightning's
environment variables ``MASTER_ADDR``, ``MASTER_PORT``, ``NODE_RANK``, or SLURM / torchrun); see
``docs/guides/training.md``. ``batch_size`` is per process; the global batch is
``batch_size * devices * num_nodes``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, ProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.profilers import PassThroughProfiler
from torch import Tensor, nn
from torch.utils.data import DataLoader

from rnnkit.training.callbacks import HistoryCallback, read_history
from rnnkit.training.checkpoint import (
    BEST_NAME,
    LAST_NAME,
    AtomicCheckpointIO,
    check_checkpoint_matches,
    read_training_checkpoint,
)
from rnnkit.training.config import TrainConfig
from rnnkit.training.console import lightning_output, progress_bar, silence_lightning
from rnnkit.training.loaders import TaskData, as_dataset
from rnnkit.training.module import TaskModule
from rnnkit.training.objectives import Objective, RegressionObjective
from rnnkit.training.seeding import deterministic_algorithms, seed_everything

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    history: one dict per epoch: ``epoch``, ``step`` (optimizer steps so far), ``lr``,
        ``train_loss``, ``train_<metric>``, and ``val_loss``, ``val_<metric>`` on epochs with
        validation.
    monitor: the metric watched for early stopping and the best checkpoint.
    best_score: its best value (``None`` if it was never computed).
    best_checkpoint: ``checkpoint_dir/best.ckpt`` (``None`` without ``checkpoint_dir``).
    last_checkpoint: ``checkpoint_dir/last.ckpt``, for ``resume_from`` (``None`` without one).
    epochs: epochs completed; global_step: optimizer steps done (in total, with a resume).
    stopped_early: early stopping ended the run.
    seconds: wall-clock time of the training loop.
    """

    history: list[dict[str, float]]
    monitor: str
    best_score: float | None
    best_checkpoint: str | None
    last_checkpoint: str | None
    epochs: int
    global_step: int
    stopped_early: bool
    seconds: float


class _FlushLogsWithCheckpoints(L.Callback):
    """Write the loggers' buffered rows whenever a checkpoint is taken, so that a run killed after
    it has on disk every row a resumed run starts from (the CSV logger otherwise buffers 100 steps)."""

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        for logger in trainer.loggers:
            logger.save()


class _QuietInEveryProcess(L.Callback):
    """Silence Lightning in DDP processes started by spawning (they do not inherit the filters).

    A spawned process unpickles the trainer with its callbacks before it joins the process
    group, so silencing on unpickling also hides the "distributed_backend=..." banner.
    """

    def __init__(self) -> None:
        self.silence = True  # a non-empty state, so unpickling calls __setstate__

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        silence_lightning()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        silence_lightning()


class _NoProfiler(PassThroughProfiler):
    """Lightning's default profiler (which records nothing), without its cost: it wraps each of
    the about 60 hook calls of a training step in a fresh generator context manager; this one
    hands back one shared do-nothing context."""

    _nothing = contextlib.nullcontext()

    def profile(self, action_name: str) -> contextlib.nullcontext:  # type: ignore[override]
        return self._nothing


class _StableStateKey:
    """For Lightning callbacks whose ``state_key`` is built from their settings (ModelCheckpoint,
    EarlyStopping): Lightning reads it at every hook call of every step (to name a profiler
    action), and building it formats a dict each time; the settings never change, so neither
    does the key: compute it once. The key starts with ``key_name``, the class name it had before
    this helper existed, so that the callbacks' state in earlier runs' checkpoints is found."""

    key_name: str

    @functools.cached_property
    def state_key(self) -> str:
        return self.key_name + super().state_key.removeprefix(type(self).__qualname__)  # type: ignore[misc]


class _Checkpoint(_StableStateKey, ModelCheckpoint):
    """ModelCheckpoint with its state key computed once."""

    key_name = "ModelCheckpoint"


class _EarlyStopping(_StableStateKey, EarlyStopping):
    """EarlyStopping with its state key computed once."""

    key_name = "EarlyStopping"


def _trainer(config: TrainConfig, callbacks: list[L.Callback], *, root_dir: str, loggers: Any = False,
             checkpointing: bool = False, single_device: bool = False, validate: bool = True) -> L.Trainer:
    bar = progress_bar(config.progress_bar)
    callbacks = list(callbacks) + ([bar] if bar is not None else [])
    if config.quiet:
        callbacks.append(_QuietInEveryProcess())
    distributed: dict[str, Any] = {"devices": 1, "num_nodes": 1, "strategy": "auto"} if single_device else {
        "devices": config.devices, "num_nodes": config.num_nodes, "strategy": config.strategy}
    max_epochs = config.max_epochs if config.max_epochs is not None else -1
    return L.Trainer(
        accelerator=config.accelerator,
        precision=config.precision,
        max_epochs=max_epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        max_time=dt.timedelta(seconds=config.max_seconds) if config.max_seconds is not None else None,
        accumulate_grad_batches=config.accumulate_grad_batches,
        check_val_every_n_epoch=config.check_val_every_n_epoch,
        limit_val_batches=1.0 if validate else 0,
        log_every_n_steps=config.log_every_n_steps,
        deterministic=config.deterministic,
        callbacks=callbacks,
        logger=loggers,
        enable_checkpointing=checkpointing,
        enable_progress_bar=isinstance(bar, ProgressBar),
        enable_model_summary=config.model_summary,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        default_root_dir=root_dir,
        plugins=[AtomicCheckpointIO()],
        profiler=_NoProfiler(),
        **distributed,
    )


def _loggers(config: TrainConfig) -> list[Any] | bool:
    if config.log_dir is None or not config.loggers:
        return False
    loggers: list[Any] = []
    if "csv" in config.loggers:
        loggers.append(CSVLogger(save_dir=config.log_dir, name="", version=""))
    if "tensorboard" in config.loggers:
        loggers.append(TensorBoardLogger(save_dir=config.log_dir, name="tensorboard", version="",
                                         default_hp_metric=False))
    return loggers


def _keep_logged_rows(loggers: list[Any], step: int) -> None:
    """A resumed run's CSV logger starts a fresh ``metrics.csv``: write back the rows the run had
    logged up to its checkpoint's ``step``, so the file keeps the whole history."""
    for logger in loggers:
        if not isinstance(logger, CSVLogger):
            continue
        path = Path(logger.log_dir) / "metrics.csv"
        rows = []
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as fh:
                rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]
        writer = logger.experiment  # (creating it removes the old file)
        for row in rows:
            if row.get("step", 0) <= step:
                writer.log_metrics({k: v for k, v in row.items() if k != "step"}, int(row["step"]))
        logger.save()


class _LastCheckpointEveryEpoch(_Checkpoint):
    """``last.ckpt`` at the end of every training epoch, what a killed run resumes from.

    Lightning (2.6) writes "last" only in a step that also saved a top-k checkpoint, so with
    ``save_top_k=0`` it came only when training ended and a run killed in its third epoch lost the
    first two. As a ModelCheckpoint it runs after the other callbacks, so their state (early
    stopping, the best checkpoint) is saved as of the end of the epoch.
    """

    key_name = "_LastCheckpointEveryEpoch"

    def __init__(self, dirpath: str) -> None:
        super().__init__(dirpath=dirpath, save_top_k=0, save_last=True, save_on_train_epoch_end=True,
                         enable_version_counter=False)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def _resume_path(resume_from: str | None, config: TrainConfig) -> str | None:
    if resume_from is None:
        return None
    if resume_from == "last":
        if config.checkpoint_dir is None:
            raise ValueError("resume_from='last' needs TrainConfig.checkpoint_dir (where last.ckpt is written)")
        path = Path(config.checkpoint_dir) / LAST_NAME
        if not path.is_file():
            log.info("no %s yet: training from the start", path)
            return None
        return str(path)
    return str(resume_from)


def fit(
    model: nn.Module,
    objective: Objective,
    train_data: Any,
    val_data: Any = None,
    config: TrainConfig | None = None,
    *,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    resume_from: str | None = None,
    callbacks: Sequence[L.Callback] = (),
) -> FitResult:
    """Train ``model`` in place on ``objective`` with Lightning; return the history and checkpoints.

    Args:
        model: any ``nn.Module``; see :class:`~rnnkit.training.objectives.Objective` for how the
            ready objectives call it, :mod:`rnnkit.training.tbptt` for stateful models.
        objective: turns a batch into a loss and metrics.
        train_data, val_data: ``Dataset``, tuple of tensors, or ``DataLoader`` (one process).
        config: the run's settings (default ``TrainConfig()``).
        collate_fn: builds a batch from a list of examples (e.g. padding + lengths).
        resume_from: ``"last"`` (``checkpoint_dir/last.ckpt`` if it exists, else start fresh) or
            the path of a ``.ckpt``: continue that run exactly where it stopped.
        callbacks: extra Lightning callbacks.
    """
    config = config if config is not None else TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig (got {type(config).__name__})")
    monitor = config.monitor or ("val_loss" if val_data is not None else "train_loss")
    if monitor.startswith("val_") and val_data is None:
        raise ValueError(f"TrainConfig.monitor={monitor!r} needs val_data; pass validation data or monitor a "
                         "train_ metric")
    streaming = bool(getattr(objective, "streaming", False))
    module = TaskModule(model, objective, config, monitor)
    data = TaskData(config, train=as_dataset(train_data, "train_data"),
                    val=as_dataset(val_data, "val_data") if val_data is not None else None,
                    collate_fn=collate_fn, streaming=streaming)
    ckpt_path = _resume_path(resume_from, config)
    resumed_step = None
    if ckpt_path is not None:
        saved = read_training_checkpoint(ckpt_path)
        check_checkpoint_matches(saved, module, ckpt_path)
        resumed_step = int(saved.get("global_step", 0))

    with lightning_output(config.quiet), deterministic_algorithms(config.deterministic), \
            tempfile.TemporaryDirectory(prefix="rnnkit-fit-") as scratch, warnings.catch_warnings():
        if not isinstance(data.train, DataLoader):
            # TaskData restores the position in the epoch itself (Lightning cannot see that).
            warnings.filterwarnings("ignore", message=r".*your dataloader is not resumable.*")
        checkpoint_dir = config.checkpoint_dir or str(Path(scratch) / "checkpoints")
        run_dir = config.log_dir or scratch
        history = HistoryCallback(Path(run_dir) / "history.json")
        all_callbacks: list[L.Callback] = [history]
        best = last = None
        if config.checkpoint_dir is not None or (val_data is not None and config.restore_best):
            best = _Checkpoint(dirpath=checkpoint_dir, filename=BEST_NAME.removesuffix(".ckpt"),
                               monitor=monitor, mode=config.monitor_mode, save_top_k=1,
                               auto_insert_metric_name=False, enable_version_counter=False)
            all_callbacks.append(best)
        if config.checkpoint_dir is not None:
            all_callbacks.append(_FlushLogsWithCheckpoints())
            # last.ckpt at every epoch end, and every n steps when asked (both write the same file).
            last = _LastCheckpointEveryEpoch(dirpath=checkpoint_dir)
            all_callbacks.append(last)
            if config.checkpoint_every_n_steps is not None:
                all_callbacks.append(_Checkpoint(dirpath=checkpoint_dir, save_top_k=0, save_last=True,
                                                 every_n_train_steps=config.checkpoint_every_n_steps,
                                                 enable_version_counter=False))
        if config.early_stopping_patience is not None:
            all_callbacks.append(_EarlyStopping(monitor=monitor, mode=config.monitor_mode,
                                                patience=config.early_stopping_patience,
                                                min_delta=config.early_stopping_min_delta))
        loggers = _loggers(config)
        if resumed_step is not None and loggers:
            _keep_logged_rows(loggers, resumed_step)
        if loggers and config.lr_schedule != "constant":
            all_callbacks.append(LearningRateMonitor(logging_interval="epoch"))
        all_callbacks.extend(callbacks)

        seed_everything(config.seed)
        trainer = _trainer(config, all_callbacks, root_dir=run_dir, loggers=loggers,
                           checkpointing=best is not None or last is not None, validate=val_data is not None)
        start = time.perf_counter()
        try:
            trainer.fit(module, datamodule=data, ckpt_path=ckpt_path, weights_only=True)
        except SystemExit as stop:  # Lightning turns Ctrl-C into sys.exit(1) after its teardown
            raise KeyboardInterrupt from stop
        seconds = time.perf_counter() - start

        rows = history.history or (read_history(history.path) if history.path.is_file() else [])
        best_path = best.best_model_path if best is not None else ""
        if config.restore_best and val_data is not None:
            if best_path:
                module.load_state_dict(read_training_checkpoint(best_path)["state_dict"])
            else:
                log.info("the run stopped before its first validation: keeping the weights it ended with")
        best_score = best.best_model_score if best is not None else None
        early = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
        return FitResult(
            history=rows,
            monitor=monitor,
            best_score=float(best_score) if best_score is not None else None,
            best_checkpoint=(best_path or None) if config.checkpoint_dir is not None else None,
            last_checkpoint=(last.last_model_path or None) if last is not None else None,
            epochs=trainer.current_epoch,
            global_step=trainer.global_step,
            stopped_early=early is not None and early.stopped_epoch > 0,
            seconds=seconds,
        )


def evaluate(model: nn.Module, objective: Objective, data: Any, config: TrainConfig | None = None, *,
             collate_fn: Callable[[list[Any]], Any] | None = None) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``data`` (count-weighted means), e.g. ``{"loss": .., "accuracy": ..}``.

    Runs on one device (``config.accelerator``) with ``config.batch_size``; streaming objectives
    carry the state across the batches in order, as in training.
    """
    config = config if config is not None else TrainConfig()
    module = TaskModule(model, objective, replace(config, tbptt_steps=None))
    data_module = TaskData(config, val=as_dataset(data, "data"), collate_fn=collate_fn,
                           streaming=bool(getattr(objective, "streaming", False)))
    with lightning_output(config.quiet), tempfile.TemporaryDirectory(prefix="rnnkit-eval-") as scratch:
        trainer = _trainer(config, [], root_dir=scratch, single_device=True)
        results = trainer.validate(module, datamodule=data_module, verbose=False)
    return {name.removeprefix("val_"): float(value) for name, value in results[0].items()}


def predict(model: nn.Module, data: Any, objective: Objective | None = None, config: TrainConfig | None = None,
            *, collate_fn: Callable[[list[Any]], Any] | None = None, concat: bool = True) -> Tensor | list[Any]:
    """Run ``objective.predict`` (default: the model's output) over ``data`` in order, on one device.

    The predictions come back on the CPU (like the model after the run).

    Args:
        data: inputs (a tensor (N, ...) or a Dataset/tuple whose batches the objective accepts).
        objective: decides what a prediction is (default :class:`RegressionObjective`: the model's
            output, first element if it returns a tuple).
        concat: concatenate the batch predictions along dimension 0 (they must agree in the other
            dimensions); ``False`` returns the list of per-batch predictions.
    """
    config = config if config is not None else TrainConfig()
    objective = objective if objective is not None else RegressionObjective()
    module = TaskModule(model, objective, replace(config, tbptt_steps=None))
    data_module = TaskData(config, predict=as_dataset(data, "data"), collate_fn=collate_fn)
    with lightning_output(config.quiet), tempfile.TemporaryDirectory(prefix="rnnkit-predict-") as scratch:
        trainer = _trainer(config, [], root_dir=scratch, single_device=True)
        outputs = move_data_to_device(trainer.predict(module, datamodule=data_module), "cpu")
    if not concat:
        return outputs
    if not all(isinstance(o, Tensor) for o in outputs):
        raise ValueError("predict(concat=True) needs tensor predictions; pass concat=False to get the list")
    shapes = {tuple(o.shape[1:]) for o in outputs}
    if len(shapes) > 1:
        raise ValueError(f"the batch predictions have different shapes {sorted(shapes)} and cannot be "
                         "concatenated; pass concat=False to get the list of batch predictions")
    return torch.cat(outputs, dim=0)
