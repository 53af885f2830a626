"""PNG figures of the gradient diagnostics, written atomically.

Figures are drawn on matplotlib's object-oriented API with the Agg canvas, so nothing here
touches pyplot's global state or needs a display.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rnnkit.diagnostics.gradient_flow import GradientFlowCurve
from rnnkit.diagnostics.scalar import ScalarSweep
from rnnkit.io import atomic_write_with


def _save_png(figure: Figure, path: str | os.PathLike[str]) -> None:
    FigureCanvasAgg(figure)
    atomic_write_with(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))


def plot_scalar_sweep(sweep: ScalarSweep, path: str | os.PathLike[str]) -> None:
    """Plot h_T and d h_T / d h_0 against w (the seed's figure), and |d h_T / d h_0| in log scale."""
    config = sweep.config
    figure = Figure(figsize=(10, 4), layout="constrained")
    linear, logarithmic = figure.subplots(1, 2)
    linear.plot(sweep.w, sweep.final_state, label="RNN state $h_T$")
    linear.plot(sweep.w, sweep.grad_h0, label=r"gradient $\partial h_T / \partial h_0$")
    linear.axhline(0.0, color="grey", linewidth=0.5)
    linear.set_xlabel("recurrent weight $w$")
    linear.set_title(rf"$h_t = \tanh(w\,h_{{t-1}})$, T={config.steps}, $h_0$={config.h0:g}")
    linear.legend()
    magnitude = np.abs(sweep.grad_h0)
    logarithmic.semilogy(sweep.w, np.where(magnitude > 0, magnitude, np.nan))
    logarithmic.axhline(1.0, color="grey", linewidth=0.5, linestyle="--")
    logarithmic.set_xlabel("recurrent weight $w$")
    logarithmic.set_title(r"$|\partial h_T / \partial h_0|$ (log scale)")
    _save_png(figure, path)


def plot_gradient_flow(curves: Sequence[GradientFlowCurve], path: str | os.PathLike[str]) -> None:
    """Plot each curve's gradient norm against the distance T - t on a log scale."""
    if not curves:
        raise ValueError("plot_gradient_flow needs at least one curve, got an empty sequence")
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    for curve in curves:
        norms = np.where(curve.grad_norm > 0, curve.grad_norm, np.nan)
        axes.semilogy(curve.distance, norms, label=curve.label)
    first = curves[0].config
    axes.set_xlabel("distance T - t (steps)")
    axes.set_ylabel(r"$\|\partial L / \partial s_t\|$ (RMS over batch)")
    axes.set_title(
        f"Gradient flow at initialisation (H={first.hidden_size}, batch={first.batch_size}, "
        f"seed={first.seed})"
    )
    axes.grid(True, which="major", alpha=0.3)
    axes.legend()
    _save_png(figure, path)


def plot_training_flow(ratios: Mapping[str, Mapping[int, float]], distance: int, path: str | os.PathLike[str],
                       title: str) -> None:
    """Plot g(distance) / g(1) against the training step, one line per curve, on a log scale."""
    if not ratios:
        raise ValueError("plot_training_flow needs at least one curve, got none")
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    for label, by_step in ratios.items():
        steps = sorted(by_step)
        values = np.array([by_step[s] for s in steps], dtype=float)
        axes.semilogy(steps, np.where(values > 0, values, np.nan), marker="o", label=label)
    axes.set_xlabel("training step")
    axes.set_ylabel(f"g({distance}) / g(1)")
    axes.set_title(f"{title}: gradient {distance} steps back")
    axes.grid(True, which="major", alpha=0.3)
    figure.legend(loc="outside right upper", fontsize="small")
    _save_png(figure, path)
