"""LSTM: one time step with input, forget, cell-candidate and output gates (seeds 000, 002, 003)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.base import CellBase
from rnnkit.cells.protocol import StateSpec


def lstm_step(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step. x: (B, F), state (h (B, P), c (B, H)) -> (h_t (B, P), c_t (B, H)).

    ``weight_ih`` (4H, F) and ``weight_hh`` (4H, P) stack the seed's ``W_xi, W_xf, W_xc, W_xo``
    (and ``W_hi, W_hf, W_hc, W_ho``) in torch's gate order i, f, g, o; ``g`` is the seed's
    candidate cell ``C~_t``. ``weight_hr`` (P, H) is torch's optional projection of h
    (``proj_size``); without it P = H.
    """
    h_prev, c_prev = state
    gates = F.linear(x, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # pre-activations, (B, H) each
    i = torch.sigmoid(i)  # I_t = sigma(X_t W_xi + H_{t-1} W_hi + b_i)  (B, H)
    f = torch.sigmoid(f)  # F_t = sigma(X_t W_xf + H_{t-1} W_hf + b_f)  (B, H)
    g = torch.tanh(g)  # C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)  (B, H)
    o = torch.sigmoid(o)  # O_t = sigma(X_t W_xo + H_{t-1} W_ho + b_o)  (B, H)
    c = f * c_prev + i * g  # C_t = F_t * C_{t-1} + I_t * C~_t  (B, H)
    h = o * torch.tanh(c)  # H_t = O_t * tanh(C_t)  (B, H)
    if weight_hr is not None:
        h = F.linear(h, weight_hr)  # projected H_t = W_hr H_t  (B, P)
    return h, c


class LSTMCell(CellBase):
    """Drop-in for ``torch.nn.LSTMCell``: ``(h_t, c_t) = cell(x_t, (h_{t-1}, c_{t-1}))``.

    Args: input_size F, hidden_size H, bias.
    Call: ``input`` (B, F) or (F,), ``hx`` a tuple (h (B, H), c (B, H)) or None for zeros
    -> (h_t (B, H), c_t (B, H)) (unbatched: without the B dimension).
    """

    num_gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        self._check_input(input)
        if hx is None:
            hx_pair: tuple[Tensor | None, Tensor | None] = (None, None)
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            hx_pair = (hx[0], hx[1])
        else:
            raise TypeError(f"hx must be a tuple (h_0, c_0) of two tensors or None, got {type(hx).__name__}")
        h = self._check_state("h_0", hx_pair[0], input, self.hidden_size)
        c = self._check_state("c_0", hx_pair[1], input, self.hidden_size)
        return lstm_step(input, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def state_spec(self) -> StateSpec:
        return (("h", (self.hidden_size,)), ("c", (self.hidden_size,)))

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell protocol's step: x_t (B, F), (h, c) -> h_t (B, H), (h_t, c_t)."""
        h, c = lstm_step(x_t, (state[0], state[1]), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h, (h, c)
