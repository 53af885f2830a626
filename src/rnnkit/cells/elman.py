"""Elman RNN: one time step ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)`` (seed 002)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.base import CellBase

NONLINEARITIES = ("tanh", "relu")


def check_nonlinearity(nonlinearity: str) -> None:
    """Raise a ValueError unless ``nonlinearity`` is one of :data:`NONLINEARITIES`."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def elman_step(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """One Elman step. x: (B, F), h: (B, H), weight_ih: (H, F), weight_hh: (H, H) -> h_t (B, H).

    Seed symbols: ``W_xh`` = ``weight_ih``, ``W_hh`` = ``weight_hh``, ``b`` = ``bias_ih + bias_hh``.
    """
    a = F.linear(x, weight_ih, bias_ih) + F.linear(h, weight_hh, bias_hh)  # W_xh x_t + W_hh h_{t-1} + b  (B, H)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)  # h_t = tanh(a) or relu(a)  (B, H)


class RNNCell(CellBase):
    """Drop-in for ``torch.nn.RNNCell``: ``h_t = cell(x_t, h_{t-1})``.

    Args: input_size F, hidden_size H, bias, nonlinearity ``"tanh"`` or ``"relu"``.
    Call: ``input`` (B, F) or (F,), ``hx`` (B, H) or (H,) (zeros when None) -> h_t (B, H) or (H,).
    """

    num_gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else ", nonlinearity='relu'")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_input(input)
        h = self._check_state("hx", hx, input, self.hidden_size)
        return elman_step(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell protocol's step: x_t (B, F), (h,) -> h_t (B, H), (h_t,)."""
        h = elman_step(x_t, state[0], self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return h, (h,)
