"""Layer-normalized LSTM and GRU cells (Ba, Kiros & Hinton 2016), seed 004's "normalization" remedy.

Layer normalization rescales a vector of pre-activations to mean 0 and variance 1 over its units,
then applies a learned gain and shift: ``LN(a) = gamma * (a - mean(a)) / sqrt(var(a) + 1e-5) + beta``.
Applied to the input and recurrent projections separately, it keeps every step's gates in the
range where sigmoid and tanh have gradient, whatever the scale of x or h, which steadies training
of recurrent networks. The equations (Ba et al. 2016, eq. 20-22), with torch's gate orders:

LSTM (gates i, f, g, o)::

    a_t = LN_x(W_ih x_t) + LN_h(W_hh h_{t-1}) + b          (B, 4H)
    c_t = sigma(f) * c_{t-1} + sigma(i) * tanh(g)           (B, H)
    h_t = sigma(o) * tanh(LN_c(c_t))                        (B, H)

GRU (gates r, z, n; torch's ``reset_after`` form)::

    gx = LN_x(W_ih x_t) + b_ih,  gh = LN_h(W_hh h_{t-1}) + b_hh     (B, 3H) each
    r = sigma(gx_r + gh_r),  z = sigma(gx_z + gh_z)
    n = tanh(gx_n + r * gh_n)
    h_t = (1 - z) * n + z * h_{t-1}

The cells follow the cell protocol (:mod:`rnnkit.cells.protocol`) and are registered as the cells
``"lnlstm"`` and ``"lngru"``, so every layer factory and model takes them. Their ``sequence``
method runs the whole time loop compiled by TorchScript (the same ops in the same order, tested
equal forward and backward to ``step``); :class:`rnnkit.layers.CellLayer` uses it for sequences
without ``lengths``.
"""

from __future__ import annotations

import functools
import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.base import check_positive_int
from rnnkit.cells.protocol import StateSpec, zero_state

def layer_norm(a: Tensor, gain: Tensor, shift: Tensor) -> Tensor:
    """LN over the last dimension: gain * (a - mean) / sqrt(var + 1e-5) + shift (biased variance,
    as ``torch.nn.LayerNorm``; written out so the compiled loop exports at any size)."""
    centered = a - a.mean(dim=-1, keepdim=True)
    return centered * torch.rsqrt(centered.pow(2).mean(dim=-1, keepdim=True) + 1e-5) * gain + shift


def ln_lstm_step(
    x: Tensor, h: Tensor, c: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias: Tensor,
    ln_x: Tensor, ln_h: Tensor, ln_c: Tensor,
) -> tuple[Tensor, Tensor]:
    """One layer-normalized LSTM step. x (B, F), h, c (B, H); ``ln_*`` (2, n): gain and shift rows."""
    a_x = layer_norm(F.linear(x, weight_ih), ln_x[0], ln_x[1])  # LN_x(W_ih x_t)  (B, 4H)
    a_h = layer_norm(F.linear(h, weight_hh), ln_h[0], ln_h[1])  # LN_h(W_hh h_{t-1})  (B, 4H)
    a = a_x + a_h + bias  # (B, 4H)
    i, f, g, o = a.chunk(4, dim=1)  # (B, H) each
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # c_t  (B, H)
    h = torch.sigmoid(o) * torch.tanh(layer_norm(c, ln_c[0], ln_c[1]))  # h_t = sigma(o) tanh(LN_c(c_t))  (B, H)
    return h, c


def ln_gru_step(
    x: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor,
    ln_x: Tensor, ln_h: Tensor,
) -> Tensor:
    """One layer-normalized GRU step. x (B, F), h (B, H) -> h_t (B, H)."""
    H = h.size(1)
    gx = layer_norm(F.linear(x, weight_ih), ln_x[0], ln_x[1]) + bias_ih  # LN_x(W_ih x_t) + b_ih  (B, 3H)
    gh = layer_norm(F.linear(h, weight_hh), ln_h[0], ln_h[1]) + bias_hh  # LN_h(W_hh h_{t-1}) + b_hh  (B, 3H)
    r = torch.sigmoid(gx[:, :H] + gh[:, :H])  # reset gate  (B, H)
    z = torch.sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])  # update gate  (B, H)
    n = torch.tanh(gx[:, 2 * H :] + r * gh[:, 2 * H :])  # candidate  (B, H)
    return (1 - z) * n + z * h  # h_t  (B, H)


def ln_lstm_sequence(
    xs: Tensor, h: Tensor, c: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias: Tensor,
    ln_x: Tensor, ln_h: Tensor, ln_c: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`ln_lstm_step` over xs (T, B, F): hs (T, B, H) and the final h, c."""
    outputs: list[Tensor] = []
    for t in range(xs.size(0)):
        h, c = ln_lstm_step(xs[t], h, c, weight_ih, weight_hh, bias, ln_x, ln_h, ln_c)
        outputs.append(h)
    return torch.stack(outputs), h, c


def ln_gru_sequence(
    xs: Tensor, h: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor,
    ln_x: Tensor, ln_h: Tensor,
) -> Tensor:
    """:func:`ln_gru_step` over xs (T, B, F): hs (T, B, H)."""
    outputs: list[Tensor] = []
    for t in range(xs.size(0)):
        h = ln_gru_step(xs[t], h, weight_ih, weight_hh, bias_ih, bias_hh, ln_x, ln_h)
        outputs.append(h)
    return torch.stack(outputs)


@functools.cache
def _scripted(name: str):  # noqa: ANN202
    with warnings.catch_warnings():  # torch 2.13 marks torch.jit.script deprecated
        warnings.simplefilter("ignore")
        return torch.jit.script({"lstm": ln_lstm_sequence, "gru": ln_gru_sequence}[name])


class _LayerNormCell(nn.Module):
    """Parameters shared by both cells: W_ih (G*H, F), W_hh (G*H, H), LN gains 1 and shifts 0."""

    num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        factory = {"device": device, "dtype": dtype}
        G = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size, **factory))
        self.ln_x = nn.Parameter(torch.empty(2, G, **factory))  # rows: gain, shift
        self.ln_h = nn.Parameter(torch.empty(2, G, **factory))

    def _reset(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            nn.init.uniform_(self.weight_ih, -bound, bound)
            nn.init.uniform_(self.weight_hh, -bound, bound)
            for ln in (p for name, p in self.named_parameters() if name.startswith("ln_")):
                ln[0].fill_(1.0)
                ln[1].zero_()

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def initial_state(self, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        return zero_state(self.state_spec(), batch, dtype, device)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class LayerNormLSTMCell(_LayerNormCell):
    """Layer-normalized LSTM cell (module docstring): ``y_t, (h_t, c_t) = cell.step(x_t, (h, c))``.

    Parameters: ``weight_ih`` (4H, F), ``weight_hh`` (4H, H), ``bias`` (4H,) (forget gate 1),
    ``ln_x``, ``ln_h`` (2, 4H) and ``ln_c`` (2, H): gains (1) and shifts (0).
    """

    num_gates = 4

    def __init__(self, input_size: int, hidden_size: int, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, device, dtype)
        self.bias = nn.Parameter(torch.empty(4 * hidden_size, device=device, dtype=dtype))
        self.ln_c = nn.Parameter(torch.empty(2, hidden_size, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self._reset()
        with torch.no_grad():
            self.bias.zero_()
            self.bias[self.hidden_size : 2 * self.hidden_size] = 1.0  # forget gate open

    def state_spec(self) -> StateSpec:
        return (("h", (self.hidden_size,)), ("c", (self.hidden_size,)))

    def _params(self) -> tuple[Tensor, ...]:
        return self.weight_ih, self.weight_hh, self.bias, self.ln_x, self.ln_h, self.ln_c

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        h, c = ln_lstm_step(x_t, state[0], state[1], *self._params())
        return h, (h, c)

    def sequence(self, xs: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The whole time loop, compiled: xs (T, B, F) -> hs (T, B, H), (h_T, c_T)."""
        hs, h, c = _scripted("lstm")(xs, state[0], state[1], *self._params())
        return hs, (h, c)


class LayerNormGRUCell(_LayerNormCell):
    """Layer-normalized GRU cell (module docstring): ``y_t, (h_t,) = cell.step(x_t, (h,))``.

    Parameters: ``weight_ih``, ``weight_hh`` (3H, .), ``bias_ih``, ``bias_hh`` (3H,), ``ln_x``,
    ``ln_h`` (2, 3H).
    """

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__(input_size, hidden_size, device, dtype)
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size, device=device, dtype=dtype))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self._reset()
        with torch.no_grad():
            self.bias_ih.zero_()
            self.bias_hh.zero_()

    def state_spec(self) -> StateSpec:
        return (("h", (self.hidden_size,)),)

    def _params(self) -> tuple[Tensor, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.ln_x, self.ln_h

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        h = ln_gru_step(x_t, state[0], *self._params())
        return h, (h,)

    def sequence(self, xs: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The whole time loop, compiled: xs (T, B, F) -> hs (T, B, H), (h_T,)."""
        hs = _scripted("gru")(xs, state[0], *self._params())
        return hs, (hs[-1],)

