"""The scalar recurrence of seed 003: how one weight decides between vanishing and exploding.

The seed's one-unit RNN without input is

    h_t = tanh(w h_{t-1}),   t = 1..T,   h_0 given,

and backpropagation through it multiplies one factor per step,

    d h_T / d h_0 = prod_{t=1..T} w (1 - h_t^2).

``scalar_sweep`` evaluates the final state h_T and d h_T / d h_0 for every w of a grid at once,
in float64, with autograd (the closed-form product is what the tests check it against).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ScalarSweepConfig:
    """Settings of the scalar experiment (defaults are the seed's).

    Attributes:
        steps: sequence length T (>= 1).
        h0: initial state h_0 (finite).
        w_min, w_max: ends of the grid of recurrent weights w (w_min < w_max).
        num_points: number of evenly spaced w values (>= 2).
    """

    steps: int = 10
    h0: float = 0.5
    w_min: float = -4.0
    w_max: float = 4.0
    num_points: int = 1000

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(
                f"steps must be an integer >= 1 (the sequence length T), got {self.steps!r}; "
                "pass e.g. steps=10"
            )
        if not math.isfinite(self.h0):
            raise ValueError(f"h0 must be a finite number, got {self.h0!r}; pass e.g. h0=0.5")
        if not (math.isfinite(self.w_min) and math.isfinite(self.w_max) and self.w_min < self.w_max):
            raise ValueError(
                f"the w grid needs finite w_min < w_max, got w_min={self.w_min!r}, "
                f"w_max={self.w_max!r}; pass e.g. w_min=-4, w_max=4"
            )
        if (
            isinstance(self.num_points, bool)
            or not isinstance(self.num_points, int)
            or self.num_points < 2
        ):
            raise ValueError(
                f"num_points must be an integer >= 2, got {self.num_points!r}; pass e.g. 1000"
            )


@dataclass(frozen=True)
class ScalarSweep:
    """Result of the scalar experiment; arrays have shape (num_points,), dtype float64.

    Attributes:
        config: the settings used.
        w: the recurrent weights.
        final_state: h_T for each w.
        grad_h0: d h_T / d h_0 for each w.
    """

    config: ScalarSweepConfig
    w: np.ndarray
    final_state: np.ndarray
    grad_h0: np.ndarray


def scalar_sweep(config: ScalarSweepConfig | None = None) -> ScalarSweep:
    """Run h_t = tanh(w h_{t-1}) for T steps for every w of the grid and differentiate h_T by h_0.

    All weights run as one batch: element n has its own weight w[n] and its own copy of h_0, so
    the gradient of sum_n h_T[n] with respect to the copies is d h_T / d h_0 for each w.
    """
    config = config or ScalarSweepConfig()
    w = torch.linspace(config.w_min, config.w_max, config.num_points, dtype=torch.float64)  # (N,)
    h0 = torch.full_like(w, config.h0, requires_grad=True)  # (N,)
    h = h0
    for _ in range(config.steps):
        h = torch.tanh(w * h)  # h_t = tanh(w h_{t-1}), (N,)
    (grad_h0,) = torch.autograd.grad(h.sum(), h0)  # d h_T / d h_0, (N,)
    return ScalarSweep(
        config=config,
        w=w.numpy(),
        final_state=h.detach().numpy(),
        grad_h0=grad_h0.numpy(),
    )


def explain_scalar_sweep(sweep: ScalarSweep, vanishing_below: float = 1e-3) -> str:
    """One line summarising the sweep from its data: the largest |d h_T / d h_0| and where it is,
    and the share of the grid where the gradient vanishes (< ``vanishing_below``) or explodes (> 1).
    """
    config = sweep.config
    magnitude = np.abs(sweep.grad_h0)  # (N,)
    peak = int(np.argmax(magnitude))
    vanishing = float(np.mean(magnitude < vanishing_below))
    exploding = float(np.mean(magnitude > 1.0))
    return (
        f"scalar tanh RNN (T={config.steps}, h_0={config.h0:g}): |dh_T/dh_0| peaks at "
        f"{magnitude[peak]:.3g} for w={sweep.w[peak]:.3g}; it is below {vanishing_below:g} "
        f"(vanishing) for {vanishing:.0%} of w in [{config.w_min:g}, {config.w_max:g}] and "
        f"above 1 (exploding) for {exploding:.0%}"
    )
