"""Gradient flow through real recurrent layers: how much of the last step's gradient reaches step t.

Seed 003 writes backpropagation through time as a product of one Jacobian per step,

    d h_T / d h_t = prod_{t < i <= T} d h_i / d h_{i-1},

which for the tanh RNN is prod W_hh^T diag(1 - h_i^2): its norm shrinks or grows geometrically
with the distance T - t unless the cell adds an additive path (the LSTM cell state, the GRU's
interpolation). This module measures that norm on any layer built by ``rnnkit.build_layer``.

What is measured. The layer runs step by step (T=1 calls passing the state back), so every
intermediate state s_t is a tensor of the autograd graph. With a fixed random unit vector u_b per
sequence b, the loss L = sum_b <u_b, h_T^b> sends its gradient back and we read

    g(T - t) = sqrt( mean_b || dL / d s_t^b ||^2 ),   || dL / d s_t^b || = || u_b^T d h_T^b / d s_t^b ||,

the root mean square over the batch. s_t is the layer's whole recurrent state (every floating
tensor of its state pytree that is part of the autograd graph: h_t for RNN and GRU, (h_t, c_t) for
LSTM, (h, c, n) for sLSTM and (C, n) for mLSTM, whose stabilizers m are kept out of the graph), so the
LSTM's additive cell path is part of what reaches step t. The first input only
produces s_0, hence ``steps`` distances need ``steps + 1`` inputs. Everything runs in float64, so
norms as small as 1e-300 are still resolved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.layers import build_layer

# Cells whose ``forget_bias`` can be set: the torch layout, gates (i, f, g, o) along dim 0.
_FORGET_GATE_CELLS = ("lstm",)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class GradientFlowConfig:
    """One gradient-flow measurement: a freshly initialised layer, random inputs, a fixed seed.

    Attributes:
        cell: any cell ``rnnkit.build_layer`` knows ("rnn", "lstm", "gru", "slstm", "mlstm").
        hidden_size: H, the layer's hidden size.
        input_size: F, the number of input features; inputs are standard normal.
        steps: T, the largest distance measured (the layer sees T + 1 inputs).
        batch_size: B, sequences averaged over (root mean square).
        seed: seeds the inputs, the directions u_b and the layer's initial weights.
        forget_bias: if set (LSTM only), the forget-gate bias b_f after initialisation:
            ``bias_ih`` forget slice = b_f and ``bias_hh`` forget slice = 0. None keeps the
            default initialisation.
        cell_kwargs: extra keyword arguments for ``build_layer`` (e.g. nonlinearity="relu").
    """

    cell: str = "rnn"
    hidden_size: int = 64
    input_size: int = 16
    steps: int = 200
    batch_size: int = 8
    seed: int = 0
    forget_bias: float | None = None
    cell_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.cell, str) or not self.cell:
            raise ValueError(f"cell must be a cell name such as 'lstm', got {self.cell!r}")
        _check_int("hidden_size", self.hidden_size, 1)
        _check_int("input_size", self.input_size, 1)
        _check_int("steps", self.steps, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("seed", self.seed, 0)
        if self.forget_bias is not None:
            if self.cell not in _FORGET_GATE_CELLS:
                raise ValueError(
                    f"forget_bias can be set for cell 'lstm' only, got cell={self.cell!r}; "
                    "pass forget_bias=None for this cell"
                )
            if not math.isfinite(self.forget_bias):
                raise ValueError(f"forget_bias must be a finite number, got {self.forget_bias!r}")

    @property
    def label(self) -> str:
        """Short name for plots and tables, e.g. ``"lstm"``, ``"lstm b_f=3"`` or ``"rnn identity+relu"``
        (the values of ``cell_kwargs``, by key)."""
        label = self.cell if self.forget_bias is None else f"{self.cell} b_f={self.forget_bias:g}"
        if self.cell_kwargs:
            label += " " + "+".join(str(value) for _, value in sorted(self.cell_kwargs.items()))
        return label


@dataclass(frozen=True)
class GradientFlowCurve:
    """The measured gradient norm against the distance T - t.

    Attributes:
        config: the settings used.
        distance: (T,) int64, the distances 1..T.
        grad_norm: (T,) float64, g(distance) as defined in the module docstring.
    """

    config: GradientFlowConfig
    distance: np.ndarray
    grad_norm: np.ndarray

    @property
    def label(self) -> str:
        return self.config.label

    def norm_at(self, distance: int) -> float:
        """g(distance) for 1 <= distance <= T."""
        if not 1 <= distance <= len(self.distance):
            raise ValueError(
                f"distance must be in [1, {len(self.distance)}] (the measured range), "
                f"got {distance!r}"
            )
        return float(self.grad_norm[distance - 1])


def state_tensors(state: Any) -> list[Tensor]:
    """The floating tensors of a layer state pytree (tensor, tuple, list or NamedTuple), in order."""
    if isinstance(state, Tensor):
        return [state] if state.is_floating_point() else []
    if isinstance(state, (tuple, list)):
        return [t for part in state for t in state_tensors(part)]
    raise TypeError(
        f"a layer state must be a tensor or a (named) tuple of tensors, got {type(state).__name__}"
    )


def gradient_norms_by_distance(layer: nn.Module, inputs: Tensor, direction: Tensor) -> np.ndarray:
    """Measure g(d) for d = 1..T on ``layer`` (see the module docstring).

    Args:
        layer: a batch-first recurrent layer following the rnnkit layer contract
            (``output, state = layer(x, state=...)``, ``layer.output_size``).
        inputs: (B, T + 1, F) floating inputs; input 0 produces s_0.
        direction: (B, H) the vectors u_b with H = ``layer.output_size``; L = sum_b <u_b, h_T^b>.

    Returns:
        (T,) float64 array; entry d - 1 is g(d).
    """
    if inputs.dim() != 3 or not inputs.is_floating_point() or inputs.shape[1] < 2:
        raise ValueError(
            "inputs must be a floating tensor of shape (batch, T + 1, features) with T >= 1, "
            f"got dtype {inputs.dtype} and shape {tuple(inputs.shape)}"
        )
    batch, length = inputs.shape[0], inputs.shape[1]
    expected = (batch, layer.output_size)
    if tuple(direction.shape) != expected:
        raise ValueError(
            f"direction must have shape (batch, output_size) = {expected}, "
            f"got {tuple(direction.shape)}"
        )
    state = None
    per_step: list[list[Tensor]] = []  # per_step[t] = tensors of s_t
    for t in range(length):
        output, state = layer(inputs[:, t : t + 1], state=state)  # (B, 1, H), s_t
        # A tensor the layer keeps out of the graph (e.g. a detached stabilizer) gets no gradient.
        per_step.append([tensor for tensor in state_tensors(state) if tensor.requires_grad])
    h_last = output[:, -1]  # h_T, (B, H)
    loss = (direction.to(h_last.dtype) * h_last).sum()  # L = sum_b <u_b, h_T^b>
    wrt = [tensor for tensors in per_step[:-1] for tensor in tensors]  # s_0 .. s_{T-1}
    grads = torch.autograd.grad(loss, wrt, allow_unused=True)
    squared = torch.zeros(length - 1, dtype=torch.float64)  # index t
    position = 0
    for t, tensors in enumerate(per_step[:-1]):
        for grad in grads[position : position + len(tensors)]:
            if grad is not None:
                squared[t] += grad.double().pow(2).sum()
        position += len(tensors)
    by_step = torch.sqrt(squared / batch)  # g(T - t) for t = 0..T-1
    return by_step.flip(0).numpy()  # entry d - 1 is g(d)


def set_forget_bias(layer: nn.Module, value: float) -> None:
    """Set an LSTM layer's forget-gate bias b_f = ``value`` (torch layout, gates i, f, g, o).

    Every ``bias_ih*`` parameter gets ``value`` in its forget slice and every ``bias_hh*``
    parameter gets 0 there, so the pre-activation of f carries exactly b_f.
    """
    if getattr(layer, "cell", None) not in _FORGET_GATE_CELLS:
        raise ValueError(
            f"set_forget_bias needs an LSTM layer (layer.cell == 'lstm'), "
            f"got layer.cell={getattr(layer, 'cell', None)!r}"
        )
    touched = 0
    with torch.no_grad():
        for name, param in layer.named_parameters():
            if name.startswith(("bias_ih", "bias_hh")):
                hidden = param.shape[0] // 4
                param[hidden : 2 * hidden] = value if name.startswith("bias_ih") else 0.0
                touched += 1
    if touched == 0:
        raise ValueError("set_forget_bias found no bias_ih*/bias_hh* parameters; build with bias=True")


def measure_gradient_flow(config: GradientFlowConfig) -> GradientFlowCurve:
    """Build a fresh float64 layer for ``config`` and measure g(d) for d = 1..T.

    The global random state is left untouched: inputs and directions come from a generator
    seeded with ``config.seed`` (so every cell sees the same inputs), and the layer is
    initialised inside a forked RNG seeded with ``config.seed``.
    """
    generator = torch.Generator().manual_seed(config.seed)
    shape = (config.batch_size, config.steps + 1, config.input_size)
    inputs = torch.randn(shape, generator=generator, dtype=torch.float64)  # (B, T + 1, F)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        layer = build_layer(config.cell, config.input_size, config.hidden_size, **config.cell_kwargs)
    layer = layer.double().eval()
    if config.forget_bias is not None:
        set_forget_bias(layer, config.forget_bias)
    direction = torch.randn(
        (config.batch_size, layer.output_size), generator=generator, dtype=torch.float64
    )
    direction = direction / direction.norm(dim=1, keepdim=True)  # unit u_b, (B, H)
    norms = gradient_norms_by_distance(layer, inputs, direction)
    return GradientFlowCurve(
        config=config,
        distance=np.arange(1, config.steps + 1, dtype=np.int64),
        grad_norm=norms,
    )


def explain_gradient_flow(curve: GradientFlowCurve, horizon: int = 100) -> str:
    """One line saying how g(d) changes from distance 1 to ``min(horizon, T)``, from the data.

    The change is reported in orders of magnitude and as an e-folding distance (the number of
    steps over which the norm changes by a factor e), and classified as vanishing (falls more
    than 10x), exploding (grows more than 10x) or preserved (within 10x).
    """
    far = min(horizon, len(curve.distance))
    name = _cell_name(curve.config)
    near_norm, far_norm = curve.norm_at(1), curve.norm_at(far)
    if far == 1:
        return f"{name}: gradient norm {near_norm:.2e} at distance 1 (use T >= 2 to see a trend)"
    if near_norm == 0.0:
        return f"{name}: no gradient reaches even distance 1 (the state does not feed back)"
    if far_norm == 0.0:
        return (
            f"{name}: gradient norm falls from {near_norm:.2e} at distance 1 below the float64 "
            f"range before distance {far} (vanishing)"
        )
    decades = math.log10(far_norm / near_norm)
    efold = (far - 1) / abs(math.log(far_norm / near_norm)) if decades != 0 else math.inf
    span = f"from distance 1 to {far}"
    if decades < -1:
        return (
            f"{name}: gradient norm falls {-decades:.1f} orders of magnitude {span}, "
            f"by a factor e every {efold:.1f} steps (vanishing)"
        )
    if decades > 1:
        return (
            f"{name}: gradient norm grows {decades:.1f} orders of magnitude {span}, "
            f"by a factor e every {efold:.1f} steps (exploding)"
        )
    return (
        f"{name}: gradient norm changes by a factor {10**decades:.2f} {span} "
        "(preserved, within 10x)"
    )


def _cell_name(config: GradientFlowConfig) -> str:
    names = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "slstm": "sLSTM", "mlstm": "mLSTM"}
    name = names.get(config.cell, config.cell)
    if config.cell == "rnn":
        name = f"{config.cell_kwargs.get('nonlinearity', 'tanh')} RNN"
    if config.forget_bias is not None:
        return f"{name} (forget bias {config.forget_bias:g})"
    init = config.cell_kwargs.get("init")
    return f"{name} ({init} init)" if init else f"{name} (default init)"
