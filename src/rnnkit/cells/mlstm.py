"""mLSTM: one time step of the matrix-memory LSTM (seed 003, eqs. 19-27).

Projections of the input (eqs. 22-27), per head of size d = H / num_heads::

    q_t = W_q x_t + b_q                         (22)  (B, NH, d)
    k_t = W_k x_t / sqrt(d) + b_k               (23)  (B, NH, d)
    v_t = W_v x_t + b_v                         (24)  (B, NH, d)
    i~_t = w_i^T x_t + b_i                      (25)  (B, NH)   one scalar gate per head
    f~_t = w_f^T x_t + b_f                      (26)  (B, NH)
    o_t = sigmoid(W_o x_t + b_o)                (27)  (B, H)

then the memory update (eqs. 19-21, :mod:`rnnkit.functional.mlstm`) gives ``h~_t`` per head and
``h_t = o_t * h~_t``. There is no recurrent weight: the gates see only ``x_t``, which is what makes
the parallel and chunkwise forms possible.

Parameters: ``weight`` (4H + 2NH, F) and ``bias`` (4H + 2NH,), rows in the order q (H), k (H),
v (H), i (NH), f (NH), o (H).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.slstm import HeadedCellBase, check_step_input, check_step_state, log_forget
from rnnkit.functional.mlstm import mLSTMState, mlstm_recurrent_step, mlstm_zero_state


class mLSTMProjections(NamedTuple):  # noqa: N801
    """The mLSTM's inputs to its memory, for a sequence of T steps (T = 1 for one step).

    q, k, v: (B, NH, T, d); i_tilde, log_f: (B, NH, T); o: (B, T, H) output gate.
    """

    q: Tensor
    k: Tensor
    v: Tensor
    i_tilde: Tensor
    log_f: Tensor
    o: Tensor


def projection_size(hidden_size: int, num_heads: int) -> int:
    """Rows of the fused projection: q, k, v, o (H each) and the i, f gates (NH each)."""
    return 4 * hidden_size + 2 * num_heads


def mlstm_project(
    x: Tensor, weight: Tensor, bias: Tensor | None, num_heads: int, forget_gate: str = "sigmoid"
) -> mLSTMProjections:
    """Eqs. 22-27 for all steps in one matmul. x (B, T, F) -> :class:`mLSTMProjections`."""
    B, T, _ = x.shape
    H = (weight.shape[0] - 2 * num_heads) // 4
    d = H // num_heads
    scale = torch.ones(weight.shape[0], dtype=x.dtype, device=x.device)  # (4H + 2NH,)
    scale[H : 2 * H] = 1.0 / math.sqrt(d)  # keys: W_k x / sqrt(d)  (23)
    pre = F.linear(x, weight) * scale  # (B, T, 4H + 2NH)
    if bias is not None:
        pre = pre + bias
    q, k, v, i_tilde, f_tilde, o_tilde = pre.split([H, H, H, num_heads, num_heads, H], dim=-1)

    def heads(z: Tensor) -> Tensor:  # (B, T, H) -> (B, NH, T, d)
        return z.view(B, T, num_heads, d).transpose(1, 2)

    return mLSTMProjections(
        q=heads(q),  # q_t  (22)  (B, NH, T, d)
        k=heads(k),  # k_t  (23)  (B, NH, T, d)
        v=heads(v),  # v_t  (24)  (B, NH, T, d)
        i_tilde=i_tilde.transpose(1, 2),  # i~_t, log i_t  (25)  (B, NH, T)
        log_f=log_forget(f_tilde, forget_gate).transpose(1, 2),  # log f_t  (26)  (B, NH, T)
        o=torch.sigmoid(o_tilde),  # o_t  (27)  (B, T, H)
    )


def merge_heads(h_tilde: Tensor) -> Tensor:
    """(B, NH, T, d) -> (B, T, NH * d): the heads' h~ side by side."""
    B, NH, T, d = h_tilde.shape
    return h_tilde.transpose(1, 2).reshape(B, T, NH * d)


def mlstm_step(
    x: Tensor,
    state: mLSTMState,
    weight: Tensor,
    bias: Tensor | None,
    num_heads: int,
    forget_gate: str = "sigmoid",
) -> tuple[Tensor, mLSTMState]:
    """One mLSTM step. x (B, F), state (C (B, NH, d, d), n (B, NH, d), m (B, NH)) -> h_t (B, H), state."""
    p = mlstm_project(x.unsqueeze(1), weight, bias, num_heads, forget_gate)  # T = 1
    h_tilde, state = mlstm_recurrent_step(
        p.q[:, :, 0], p.k[:, :, 0], p.v[:, :, 0], p.i_tilde[..., 0], p.log_f[..., 0], state
    )  # (19)-(21)  (B, NH, d)
    h = p.o[:, 0] * h_tilde.flatten(1)  # h_t = o_t * h~_t  (21)  (B, H)
    return h, state


def init_mlstm_parameters(weight: Tensor, bias: Tensor | None, num_heads: int) -> None:
    """Init in place: weights U(-1/sqrt(H), 1/sqrt(H)); biases as the xLSTM paper.

    Forget-gate bias linspace(3, 6) over the heads (open, each head its own time scale), input
    gate bias N(0, 0.1^2), every other bias 0.
    """
    H = (weight.shape[0] - 2 * num_heads) // 4
    bound = 1.0 / math.sqrt(H)
    with torch.no_grad():
        nn.init.uniform_(weight, -bound, bound)
        if bias is not None:
            bias.zero_()
            gates = 3 * H
            nn.init.normal_(bias[gates : gates + num_heads], mean=0.0, std=0.1)
            bias[gates + num_heads : gates + 2 * num_heads] = torch.linspace(
                3.0, 6.0, num_heads, dtype=bias.dtype
            )


class mLSTMCell(HeadedCellBase):  # noqa: N801
    """One mLSTM step as a module: ``h_t, state_t = cell(x_t, state_{t-1})``.

    Args:
        input_size: F.
        hidden_size: H (= num_heads * d).
        num_heads: heads, each with a (d, d) memory; None: 4 if it divides H, else 1.
        bias: learn a bias.
        forget_gate: ``"sigmoid"`` (default) or ``"exp"`` (eq. 26).

    Call: ``input`` (B, F), ``state`` an :class:`mLSTMState` (C (B, NH, d, d), n (B, NH, d),
    m (B, NH)) or None (fresh) -> ``h_t`` (B, H) and the new :class:`mLSTMState`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_heads: int | None = None,
        bias: bool = True,
        forget_gate: str = "sigmoid",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_heads, bias, forget_gate)
        factory = {"device": device, "dtype": dtype}
        rows = projection_size(hidden_size, self.num_heads)
        self.weight = nn.Parameter(torch.empty(rows, input_size, **factory))
        self.bias: nn.Parameter | None = nn.Parameter(torch.empty(rows, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_mlstm_parameters(self.weight, self.bias, self.num_heads)

    def forward(self, input: Tensor, state: mLSTMState | None = None) -> tuple[Tensor, mLSTMState]:
        check_step_input(input, self.input_size, self.weight.dtype)
        batch, NH, d = input.shape[0], self.num_heads, self.head_size
        if state is None:
            state = mlstm_zero_state((batch, NH), d, d, dtype=input.dtype, device=input.device)
        else:
            shapes = [(batch, NH, d, d), (batch, NH, d), (batch, NH)]
            check_step_state(state, mLSTMState._fields, shapes, input.dtype)
            state = mLSTMState(*state)
        return mlstm_step(input, state, self.weight, self.bias, self.num_heads, self.forget_gate)

    # ----------------------------------------------------------------- the cell protocol
    @property
    def output_size(self) -> int:
        return self.hidden_size

    def state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        NH, d = self.num_heads, self.head_size
        return (("C", (NH, d, d)), ("n", (NH, d)), ("m", (NH,)))

    def initial_state(self, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        """Zeros, with the stabilizer m at its fresh value."""
        return tuple(mlstm_zero_state((batch, self.num_heads), self.head_size, self.head_size, dtype=dtype,
                                      device=device))

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell protocol's step: x_t (B, F), (C, n, m) -> h_t (B, H), the new state."""
        h, new = mlstm_step(x_t, mLSTMState(*state), self.weight, self.bias, self.num_heads, self.forget_gate)
        return h, tuple(new)
