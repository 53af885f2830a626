"""The ``gradients`` task: measure vanishing and exploding gradients, write plots and CSVs.

It runs the two experiments of ``rnnkit.diagnostics``:

(a) the scalar recurrence of seed 003, h_t = tanh(w h_{t-1}), over a grid of w;
(b) the gradient norm against the distance T - t in real layers at initialisation, for each cell
    asked for, plus the LSTM with each chosen forget-gate bias;
(c) with ``train_steps``: each of those layers trained on the adding problem of length T
    (:mod:`rnnkit.tasks.longrange`), its gradient flow measured every ``track_every`` steps on
    test sequences, and its test MSE beside the memoryless baseline: whether a remedy that passes
    a gradient at initialisation keeps it, and whether the layer learns.

and writes into a run folder (assembled aside and moved into place when complete):

- ``scalar_sweep.csv`` (w, final_state, grad_h0) and ``scalar_sweep.png``;
- ``gradient_flow.csv`` (label, cell, forget_bias, distance, grad_norm; forget_bias empty for the
  default initialisation) and ``gradient_flow.png``;
- with ``train_steps``: ``training_flow.csv`` (label, step, distance, norm), ``training.csv``
  (label, test MSE, baseline, ratio) and ``training_flow.png`` (g(T-1) / g(1) against the step).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rnnkit.diagnostics.gradient_flow import (
    GradientFlowConfig,
    GradientFlowCurve,
    explain_gradient_flow,
    measure_gradient_flow,
)
from rnnkit.diagnostics.plotting import plot_gradient_flow, plot_scalar_sweep
from rnnkit.diagnostics.scalar import ScalarSweep, ScalarSweepConfig, explain_scalar_sweep, scalar_sweep
from rnnkit.io import atomic_write_with, check_run_folder, run_folder
from rnnkit.layers import LAYER_BUILDERS
from rnnkit.models.validation import check_int, check_optional_int

if TYPE_CHECKING:
    from rnnkit.tasks.longrange import LongRangeConfig

logger = logging.getLogger(__name__)

# Distances reported in the summary (those <= T, plus T itself).
REPORT_DISTANCES: tuple[int, ...] = (1, 10, 50, 100, 200)
# Forget-gate biases measured when the LSTM is among the cells and none are given.
DEFAULT_FORGET_BIASES: tuple[float, ...] = (0.0, 1.0, 3.0)
RNN_REMEDIES: dict[str, dict[str, str]] = {
    "irnn": {"nonlinearity": "relu", "init": "identity"},   # Le et al. 2015
    "orthogonal": {"init": "orthogonal"},
    "xavier": {"init": "xavier"},
}
"""Seed 004's remedies for a plain RNN, each an extra ``rnn`` curve (``rnn_remedies``)."""


def available_cells() -> tuple[str, ...]:
    """The cells ``rnnkit.build_layer`` can build right now (its registry)."""
    return tuple(LAYER_BUILDERS)


@dataclass(frozen=True)
class GradientsConfig:
    """Settings of ``run_gradients``.

    Attributes:
        cells: cells to measure, each once at its default initialisation.
        steps: T, the largest distance T - t measured in the layers.
        hidden_size: H of every layer.
        input_size: F of every layer (inputs are standard normal).
        batch_size: sequences averaged over.
        seed: seeds the inputs and the initial weights (same inputs for every cell).
        forget_biases: extra LSTM runs with these forget-gate biases (needs "lstm" in cells).
            None means ``DEFAULT_FORGET_BIASES`` when "lstm" is in cells, none otherwise.
        scalar: settings of the scalar experiment.
        rnn_remedies: extra plain-RNN curves with seed 004's remedies (:data:`RNN_REMEDIES`:
            "irnn" = ReLU + identity recurrent matrix, "orthogonal", "xavier").
        train_steps: also train each curve's layer for this many Adam steps (batch 50, lr 1e-3,
            clipping 1) on the adding problem of length ``steps`` (0: measure at initialisation only).
        track_every: steps between the measurements during training (None: 10 per run).
        max_seconds: time budget of each curve's training (None: all ``train_steps``).
    """

    cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    steps: int = 200
    hidden_size: int = 64
    input_size: int = 16
    batch_size: int = 8
    seed: int = 0
    forget_biases: tuple[float, ...] | None = None
    scalar: ScalarSweepConfig = field(default_factory=ScalarSweepConfig)
    rnn_remedies: tuple[str, ...] = ()
    train_steps: int = 0
    track_every: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        cells = tuple(self.cells)
        known = ", ".join(available_cells())
        if not cells:
            raise ValueError(f"cells must name at least one of {known}, got none")
        for cell in cells:
            if cell not in LAYER_BUILDERS:
                raise ValueError(f"unknown cell {cell!r}; choose from {known}")
        if len(set(cells)) != len(cells):
            raise ValueError(f"cells must not repeat, got {', '.join(cells)}")
        object.__setattr__(self, "cells", cells)
        biases = self.forget_biases
        if biases is None:
            biases = DEFAULT_FORGET_BIASES if "lstm" in cells else ()
        biases = tuple(float(b) for b in biases)
        if biases and "lstm" not in cells:
            raise ValueError(
                "forget biases apply to the LSTM, but 'lstm' is not among the cells "
                f"({', '.join(cells)}); add lstm to the cells or give no forget biases"
            )
        for bias in biases:
            if not math.isfinite(bias):
                raise ValueError(f"forget biases must be finite numbers, got {bias!r}")
        if len(set(biases)) != len(biases):
            raise ValueError(f"forget biases must not repeat, got {biases}")
        object.__setattr__(self, "forget_biases", biases)
        object.__setattr__(self, "rnn_remedies", tuple(self.rnn_remedies))
        for remedy in self.rnn_remedies:
            if remedy not in RNN_REMEDIES:
                raise ValueError(f"unknown RNN remedy {remedy!r}; choose from {', '.join(RNN_REMEDIES)}")
        if len(set(self.rnn_remedies)) != len(self.rnn_remedies):
            raise ValueError(f"rnn_remedies must not repeat, got {', '.join(self.rnn_remedies)}")
        # The per-layer settings are validated by GradientFlowConfig; build one to fail early.
        self.flow_configs()
        check_int("train_steps", self.train_steps, 0)
        check_optional_int("track_every", self.track_every, 1)
        for name in ("track_every", "max_seconds"):
            if getattr(self, name) is not None and not self.train_steps:
                raise ValueError(f"{name}={getattr(self, name)} has no effect without training; give train_steps too")
        if self.train_steps:
            self.training_configs()  # validates them

    def training_configs(self) -> list[tuple[str, LongRangeConfig]]:
        """(label, adding-problem run) of each curve when ``train_steps`` > 0."""
        from rnnkit.tasks.longrange import LongRangeConfig  # imports the engine (Lightning): only to train

        return [(flow.label, LongRangeConfig(task="adding", T=self.steps, cell=flow.cell, hidden_size=self.hidden_size,
                                             steps=self.train_steps, seed=self.seed, forget_bias=flow.forget_bias,
                                             cell_kwargs=dict(flow.cell_kwargs), max_seconds=self.max_seconds,
                                             progress_bar="auto"))
                for flow in self.flow_configs()]

    @property
    def every(self) -> int:
        """Steps between the measurements during training."""
        return self.track_every or max(1, self.train_steps // 10)

    def flow_configs(self) -> list[GradientFlowConfig]:
        """One GradientFlowConfig per curve: each cell at default init; the LSTM then once per forget bias."""
        shared = dict(
            hidden_size=self.hidden_size,
            input_size=self.input_size,
            steps=self.steps,
            batch_size=self.batch_size,
            seed=self.seed,
        )
        configs = []
        for cell in self.cells:
            configs.append(GradientFlowConfig(cell=cell, **shared))
            if cell == "lstm":
                configs += [
                    GradientFlowConfig(cell="lstm", forget_bias=bias, **shared)
                    for bias in self.forget_biases or ()
                ]
        configs += [GradientFlowConfig(cell="rnn", cell_kwargs=dict(RNN_REMEDIES[name]), **shared)
                    for name in self.rnn_remedies]
        return configs

    @property
    def report_distances(self) -> tuple[int, ...]:
        """The distances of the summary: REPORT_DISTANCES up to T, and T."""
        distances = [d for d in REPORT_DISTANCES if d <= self.steps]
        if self.steps not in distances:
            distances.append(self.steps)
        return tuple(distances)


@dataclass(frozen=True)
class CurveSummary:
    """The summary of one gradient-flow curve.

    Attributes:
        label: the curve's name (e.g. "lstm b_f=3").
        norms: gradient norm at each of the config's report distances, {distance: norm}.
        explanation: one line, computed from the curve, saying what the figure shows.
    """

    label: str
    norms: dict[int, float]
    explanation: str


@dataclass(frozen=True)
class TrainedCurve:
    """Part (c) for one curve: the test MSE after training, the memoryless baseline's, and
    g(T-1) / g(1) at each measured step."""

    label: str
    test_mse: float
    baseline: float
    ratios: dict[int, float]


@dataclass(frozen=True)
class GradientsReport:
    """What ``run_gradients`` returns: the data, the per-curve summary and the files written."""

    config: GradientsConfig
    scalar: ScalarSweep
    scalar_explanation: str
    curves: tuple[GradientFlowCurve, ...]
    summaries: tuple[CurveSummary, ...]
    files: dict[str, Path]
    training: tuple[TrainedCurve, ...] = ()


RUN_KIND = "gradients"


def run_gradients(config: GradientsConfig, out_dir: str | Path, *, overwrite: bool = False) -> GradientsReport:
    """Run both experiments, write their CSVs and PNGs into the run folder ``out_dir``, return the
    report. ``out_dir`` must be new or empty, or an earlier gradients run with ``overwrite``; it
    appears only when complete."""
    out = check_run_folder(out_dir, RUN_KIND, overwrite=overwrite)
    names = {"scalar_csv": "scalar_sweep.csv", "scalar_png": "scalar_sweep.png", "flow_csv": "gradient_flow.csv",
             "flow_png": "gradient_flow.png"}
    with run_folder(out, RUN_KIND, overwrite=overwrite) as tmp:
        sweep = scalar_sweep(config.scalar)
        scalar_table = pd.DataFrame({"w": sweep.w, "final_state": sweep.final_state, "grad_h0": sweep.grad_h0})
        atomic_write_with(tmp / names["scalar_csv"], lambda path: scalar_table.to_csv(path, index=False))
        plot_scalar_sweep(sweep, tmp / names["scalar_png"])
        curves = []
        for flow_config in config.flow_configs():
            logger.info("measuring gradient flow: %s", flow_config.label)
            curves.append(measure_gradient_flow(flow_config))
        flow_table = pd.concat(
            [
                pd.DataFrame({"label": curve.label, "cell": curve.config.cell,
                              "forget_bias": np.nan if curve.config.forget_bias is None else curve.config.forget_bias,
                              "distance": curve.distance, "grad_norm": curve.grad_norm})
                for curve in curves
            ],
            ignore_index=True,
        )
        atomic_write_with(tmp / names["flow_csv"], lambda path: flow_table.to_csv(path, index=False))
        plot_gradient_flow(curves, tmp / names["flow_png"])
        training = _train_each(config, tmp, names) if config.train_steps else ()
    files = {key: out / name for key, name in names.items()}

    summaries = tuple(
        CurveSummary(
            label=curve.label,
            norms={d: curve.norm_at(d) for d in config.report_distances},
            explanation=explain_gradient_flow(curve),
        )
        for curve in curves
    )
    return GradientsReport(
        config=config,
        scalar=sweep,
        scalar_explanation=explain_scalar_sweep(sweep),
        curves=tuple(curves),
        summaries=summaries,
        files=files,
        training=training,
    )


def _train_each(config: GradientsConfig, tmp: Path, names: dict[str, str]) -> tuple[TrainedCurve, ...]:
    """Part (c): train each curve's layer on the adding problem, tracking its gradient flow."""
    from rnnkit.diagnostics.plotting import plot_training_flow
    from rnnkit.tasks.longrange import run_longrange

    trained, rows = [], []
    last = config.steps - 1  # the longest distance inside a length-T sequence
    for label, run_config in config.training_configs():
        logger.info("training %s on the adding problem, T=%d, %d steps", label, config.steps, config.train_steps)
        result = run_longrange(run_config, track_every=config.every)
        flow = pd.DataFrame(result.gradient_flow or [])
        norms = flow.pivot(index="step", columns="distance", values="norm")  # (steps measured, T - 1)
        ratio = {int(step): float(row[last] / row[1]) for step, row in norms.iterrows()}
        trained.append(TrainedCurve(label, result.test_loss, result.baseline, ratio))
        rows.append(flow.assign(label=label)[["label", "step", "distance", "norm"]])
    names.update({"training_flow_csv": "training_flow.csv", "training_csv": "training.csv",
                  "training_flow_png": "training_flow.png"})
    table = pd.concat(rows, ignore_index=True)
    atomic_write_with(tmp / names["training_flow_csv"], lambda path: table.to_csv(path, index=False))
    scores = pd.DataFrame([{"label": t.label, "test_mse": t.test_mse, "baseline_mse": t.baseline,
                            "ratio_to_baseline": t.test_mse / t.baseline} for t in trained])
    atomic_write_with(tmp / names["training_csv"], lambda path: scores.to_csv(path, index=False))
    plot_training_flow({t.label: t.ratios for t in trained}, last, tmp / names["training_flow_png"],
                       f"adding problem, T={config.steps}, H={config.hidden_size}")
    return tuple(trained)
