"""GRU: one time step with reset gate r, update gate z and candidate n, in two forms.

torch's gate order is r, z, n and its update convention is ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}``;
the seeds (003, 004) write ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t``, i.e. their ``z_t`` is
torch's ``1 - z_t`` (``sigma(-a) = 1 - sigma(a)``: the same model with the z weights negated).
rnnkit keeps torch's convention so the state_dict is torch's.

- ``reset_after=True`` (torch / cuDNN): ``n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))``.
- ``reset_after=False`` (the seeds and Cho et al. 2014): the reset gate multiplies ``h_{t-1}``
  before the recurrent matmul, ``n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.cells.base import CellBase


def gru_step(
    x: Tensor,
    h_prev: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    reset_after: bool = True,
) -> Tensor:
    """One GRU step. x: (B, F), h_prev: (B, H), weight_ih (3H, F), weight_hh (3H, H) -> h_t (B, H)."""
    gi = F.linear(x, weight_ih, bias_ih)  # [W_ir x; W_iz x; W_in x] + b_i  (B, 3H)
    gi_r, gi_z, gi_n = gi.chunk(3, dim=-1)  # (B, H) each
    w_hr, w_hz, w_hn = weight_hh.chunk(3, dim=0)  # (H, H) each
    b_hr, b_hz, b_hn = (None, None, None) if bias_hh is None else bias_hh.chunk(3)  # (H,) each
    r = torch.sigmoid(gi_r + F.linear(h_prev, w_hr, b_hr))  # r_t = sigma(W_r [h_{t-1}, x_t] + b_r)  (B, H)
    z = torch.sigmoid(gi_z + F.linear(h_prev, w_hz, b_hz))  # z_t = sigma(W_z [h_{t-1}, x_t] + b_z)  (B, H)
    if reset_after:
        n = torch.tanh(gi_n + r * F.linear(h_prev, w_hn, b_hn))  # n_t = tanh(W_in x + b_in + r_t * (W_hn h + b_hn))  (B, H)
    else:
        n = torch.tanh(gi_n + F.linear(r * h_prev, w_hn, b_hn))  # h~_t = tanh(W [r_t * h_{t-1}, x_t] + b)  (B, H)
    return (1 - z) * n + z * h_prev  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}  (B, H)


class GRUCell(CellBase):
    """Drop-in for ``torch.nn.GRUCell`` plus ``reset_after``: ``h_t = cell(x_t, h_{t-1})``.

    Args: input_size F, hidden_size H, bias, reset_after (True: torch's form, False: the seeds').
    Call: ``input`` (B, F) or (F,), ``hx`` (B, H) or (H,) (zeros when None) -> h_t (B, H) or (H,).
    """

    num_gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        reset_after: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not isinstance(reset_after, bool):
            raise TypeError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_input(input)
        h = self._check_state("hx", hx, input, self.hidden_size)
        return gru_step(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.reset_after)

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell protocol's step: x_t (B, F), (h,) -> h_t (B, H), (h_t,)."""
        h = gru_step(x_t, state[0], self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.reset_after)
        return h, (h,)
