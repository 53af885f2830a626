"""Long-range dependency experiments: train a cell on the adding or copy-memory task.

The seeds' central claim (002, 003): a tanh RNN's gradient vanishes over long lags, LSTM/GRU's
additive cell path carries it. The adding problem measures it with one number, the test MSE
against the baseline 0.167 of predicting 1; copy memory with the cross-entropy against the
memoryless ``10 ln 8 / (T + 20)``. See :mod:`rnnkit.data.longrange` for the data.

Training runs one epoch over ``steps * batch_size`` sequences, each drawn on demand
(``LongRangeDataset``), so every step sees fresh data; the test set (1000 sequences, also the
engine's validation data) is drawn from another seed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data.longrange import (
    COPY_LENGTH,
    COPY_NUM_SYMBOLS,
    LongRangeDataset,
    adding_baseline_mse,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
)
from rnnkit.diagnostics import set_forget_bias
from rnnkit.io import (
    CHECKPOINTS,
    atomic_write_text,
    atomic_write_with,
    check_resumable_run_folder,
    resumable_run_folder,
)
from rnnkit.models.classifier import SequenceClassifier, SequenceClassifierConfig
from rnnkit.models.tagger import SequenceTagger, SequenceTaggerConfig
from rnnkit.models.validation import check_cell, check_cell_kwargs, check_choice, check_int, check_positive
from rnnkit.training.config import TrainConfig
from rnnkit.training import fit
from rnnkit.training.objectives import RegressionObjective, SequenceCrossEntropyObjective

log = logging.getLogger(__name__)

TASKS: tuple[str, ...] = ("adding", "copy")
TEST_SEQUENCES = 1000


@dataclass
class LongRangeConfig:
    """One long-range experiment.

    Attributes:
        task: "adding" or "copy".
        T: sequence length (adding) or number of blanks to bridge (copy: sequences have T + 20 steps).
        cell: "rnn" (tanh), "lstm", "gru", "slstm" or "mlstm".
        hidden_size: H of the single recurrent layer.
        steps: optimizer steps; each sees ``batch_size`` fresh sequences.
        batch_size: sequences per step.
        lr: Adam learning rate.
        clip_norm: gradient-norm clipping (None = off).
        seed: seeds the initialization and the training sequences.
        forget_bias: LSTM only: initial forget-gate bias b_f (Gers et al. 2000; Jozefowicz et al.
            2015 recommend 1), so the cell starts by remembering; None (default) keeps torch's
            init. Refused for the other cells.
        cell_kwargs: extra cell arguments (e.g. {"nonlinearity": "relu"}).
        max_seconds: stop training after this much time (None: all ``steps``).
        progress_bar: the engine's progress ("auto": a bar on a terminal, a log line every few
            seconds otherwise; "off"...).
    """

    task: str = "adding"
    T: int = 100
    cell: str = "lstm"
    hidden_size: int = 128
    steps: int = 2000
    batch_size: int = 50
    lr: float = 1e-3
    clip_norm: float | None = 1.0
    seed: int = 0
    forget_bias: float | None = None
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    max_seconds: float | None = None
    progress_bar: str = "off"

    def __post_init__(self) -> None:
        check_choice("task", self.task, TASKS)
        check_int("T", self.T, 2)
        check_cell("cell", self.cell)
        check_int("hidden_size", self.hidden_size, 1)
        check_int("steps", self.steps, 1)
        check_int("batch_size", self.batch_size, 1)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0 or None (no clipping), got {self.clip_norm}")
        check_int("seed", self.seed, 0)
        if self.forget_bias is not None and not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be a finite number or None, got {self.forget_bias}")
        if self.forget_bias is not None and self.cell != "lstm":
            raise ValueError(f"forget_bias={self.forget_bias:g} has no effect with cell={self.cell!r}: it sets the "
                             "LSTM's forget-gate bias; use cell='lstm' or drop it")
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)
        check_positive("max_seconds", self.max_seconds, optional=True)


@dataclass
class LongRangeResult:
    """What an experiment measured.

    ``test_loss`` is the test MSE (adding) or mean cross-entropy per step in nats (copy);
    ``baseline`` the memoryless score on the same scale; ``test_accuracy`` (copy only) the
    fraction of the 10 recalled symbols that are right; ``sequences`` the training sequences
    seen; ``cpu_seconds`` the process CPU time of training; ``initial_loss`` the test loss before
    training.
    """

    config: LongRangeConfig
    initial_loss: float
    test_loss: float
    baseline: float
    sequences: int
    cpu_seconds: float
    wall_seconds: float
    test_accuracy: float | None = None
    gradient_flow: list[dict[str, float]] | None = None
    """With ``track_every``: {"step", "distance", "norm"} rows recorded during training."""

    @property
    def ratio_to_baseline(self) -> float:
        """test_loss / baseline: near 1 = nothing learned, near 0 = solved."""
        return self.test_loss / self.baseline

    def to_dict(self) -> dict[str, Any]:
        """The result without the gradient-flow rows (written to their own CSV by the CLI)."""
        out = asdict(self)
        out.pop("gradient_flow")
        out["ratio_to_baseline"] = self.ratio_to_baseline
        return out


def build_model(config: LongRangeConfig) -> nn.Module:
    """A regression classifier on (value, marker) inputs (adding) or a tagger over 10 symbols (copy)."""
    model: SequenceClassifier | SequenceTagger
    if config.task == "adding":
        model = SequenceClassifier(SequenceClassifierConfig(
            num_outputs=1, task="regression", cell=config.cell, input_size=2,
            hidden_size=config.hidden_size, pooling="last", cell_kwargs=config.cell_kwargs,
        ))
    else:
        model = SequenceTagger(SequenceTaggerConfig(
            num_outputs=COPY_NUM_SYMBOLS, cell=config.cell, vocab_size=COPY_NUM_SYMBOLS,
            embedding_dim=COPY_NUM_SYMBOLS, hidden_size=config.hidden_size, padding_idx=None,
            cell_kwargs=config.cell_kwargs,
        ))
    if config.cell == "lstm" and config.forget_bias is not None:
        set_forget_bias(model.encoder.rnn, config.forget_bias)
    return model


@torch.no_grad()
def evaluate(model: nn.Module, config: LongRangeConfig, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float | None]:
    """Test loss (MSE or mean CE per step) and, for copy, accuracy on the recalled symbols."""
    was_training = model.training
    model.eval()
    try:
        if config.task == "adding":
            return F.mse_loss(model(x), y).item(), None
        logits, _ = model(x)  # (N, T + 20, 10)
        loss = F.cross_entropy(logits.transpose(1, 2), y).item()
        recalled = logits[:, -COPY_LENGTH:].argmax(-1) == y[:, -COPY_LENGTH:]  # (N, 10)
        return loss, recalled.float().mean().item()
    finally:
        model.train(was_training)


def run_longrange(
    config: LongRangeConfig, train_config: TrainConfig | None = None, log_dir: str | None = None,
    track_every: int | None = None, checkpoint_dir: str | None = None, resume: bool = False,
) -> LongRangeResult:
    """Train ``config.cell`` on the task with the rnnkit engine and measure it on fresh test data.

    ``log_dir`` receives the engine's ``metrics.csv`` (training loss every 50 steps) and
    ``history.json``. ``train_config`` overrides the engine settings (default: Adam at
    ``config.lr``, one epoch of ``config.steps`` steps, clipping ``config.clip_norm``).
    ``track_every``: record the gradient norm against distance every that many steps
    (:class:`~rnnkit.diagnostics.training_flow.GradientFlowTracker`, 16 test sequences) into
    ``result.gradient_flow``. ``checkpoint_dir``: keep ``last.ckpt`` there every
    :data:`CHECKPOINT_EVERY` steps; ``resume``: continue from it (the gradient-flow records too).
    """
    torch.manual_seed(config.seed)
    model = build_model(config)
    draw = adding_problem if config.task == "adding" else copy_memory
    test_x, test_y = draw(TEST_SEQUENCES, config.T, generator=torch.Generator().manual_seed(config.seed + 10_000))
    initial_loss, _ = evaluate(model, config, test_x, test_y)
    if config.task == "adding":
        objective: Any = RegressionObjective()
        baseline = adding_baseline_mse()
    else:
        objective = SequenceCrossEntropyObjective()
        baseline = copy_memory_baseline(config.T)
    train = LongRangeDataset(config.task, config.T, config.steps * config.batch_size, seed=config.seed)
    if train_config is None:
        train_config = TrainConfig(
            optimizer="adam", lr=config.lr, max_epochs=1, batch_size=config.batch_size,
            clip_norm=config.clip_norm, seed=config.seed, progress_bar=config.progress_bar, restore_best=False,
            max_seconds=config.max_seconds,
            log_dir=log_dir, loggers=("csv",), log_every_n_steps=50, checkpoint_dir=checkpoint_dir,
            checkpoint_every_n_steps=CHECKPOINT_EVERY if checkpoint_dir else None,
        )
    log.info("training %s on %s, T=%d: %d steps of %d sequences", config.cell, config.task, config.T,
             config.steps, config.batch_size)
    callbacks = []
    if track_every is not None:
        from rnnkit.diagnostics.training_flow import GradientFlowTracker

        callbacks.append(GradientFlowTracker(test_x[:16], every=track_every, seed=config.seed))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    trained = fit(model, objective, train, (test_x, test_y), config=train_config, callbacks=callbacks,
                  resume_from="last" if resume else None)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    test_loss, accuracy = evaluate(model, config, test_x, test_y)
    return LongRangeResult(
        config=config, initial_loss=initial_loss, test_loss=test_loss, baseline=baseline,
        sequences=trained.global_step * config.batch_size, cpu_seconds=cpu, wall_seconds=wall,
        test_accuracy=accuracy, gradient_flow=callbacks[0].rows() if callbacks else None,
    )


RUN_KIND = "longrange"
CHECKPOINT_EVERY = 100
"""Steps between the checkpoints a killed run resumes from."""


def train_longrange(config: LongRangeConfig, out_dir: str | Path, *, track_every: int | None = None,
                    overwrite: bool = False, resume: bool = False) -> LongRangeResult:
    """:func:`run_longrange`, written into the run folder ``out_dir``: ``result.json``, the engine's
    ``metrics.csv`` and, with ``track_every``, ``gradient_flow.csv`` and ``gradient_flow.png``.
    ``out_dir`` must be new or empty, or an earlier longrange run with ``overwrite``; it appears
    only when complete. ``resume=True`` continues a killed run from its last checkpoint (the
    run's settings, ``track_every`` included, are kept in its partial folder)."""
    out = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    settings = {**asdict(config), "track_every": track_every}
    with resumable_run_folder(out, RUN_KIND, settings, overwrite=overwrite, resume=resume) as tmp:
        result = run_longrange(config, log_dir=str(tmp), track_every=track_every,
                               checkpoint_dir=str(tmp / CHECKPOINTS), resume=resume)
        atomic_write_text(tmp / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
        if result.gradient_flow:
            remedies = "".join(f", {k}={v}" for k, v in config.cell_kwargs.items())
            write_gradient_flow(result.gradient_flow, tmp, f"{config.task}, T={config.T}, {config.cell}{remedies}")
    return result


def write_gradient_flow(rows: list[dict[str, float]], folder: Path, title: str) -> None:
    """``gradient_flow.csv`` (step, distance, norm) and ``gradient_flow.png`` (one curve of g(d) per
    recorded step, log scale) into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["step", "distance", "norm"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(folder / "gradient_flow.csv", buffer.getvalue())
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = sorted({row["step"] for row in rows})
    colors = plt.cm.viridis([i / max(1, len(steps) - 1) for i in range(len(steps))])
    for step, color in zip(steps, colors):
        points = sorted((row["distance"], row["norm"]) for row in rows if row["step"] == step)
        ax.plot([d for d, _ in points], [max(n, 1e-300) for _, n in points], color=color, lw=1.2, label=f"step {step}")
    ax.set_yscale("log")
    ax.set_xlabel("distance d (steps back from the last)")
    ax.set_ylabel("gradient norm g(d)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    atomic_write_with(folder / "gradient_flow.png", lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
