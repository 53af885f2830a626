"""sLSTM: one time step with exponential gating and a normalizer state (seed 003, eqs. 8-14).

The seed's equations, with the stabilizer of the xLSTM paper (DESIGN §4)::

    z~, i~, f~, o~ = W x_t + R h_{t-1} + b     R block-diagonal: memory mixes within a head
    m_t = max(i~_t, m_{t-1} + log f_t)          log f_t = logsigmoid(f~) (or f~ for exp(f~))
    i_t = exp(i~_t - m_t)                       (12), stabilized
    f_t = exp(m_{t-1} + log f_t - m_t)          (13), stabilized
    z_t = tanh(z~_t)                            (11)
    o_t = sigmoid(o~_t)                         (14)
    c_t = f_t c_{t-1} + i_t z_t                 (8)
    n_t = f_t n_{t-1} + i_t                     (9)
    h_t = o_t c_t / n_t                         (10)

The stabilizer rescales ``c`` and ``n`` together by ``exp(-m)`` and so changes no ``h``; autograd
treats it as a constant (it is detached), which keeps the gradients of any function of ``h``
exact. A fresh state is ``h = c = n = 0, m = -inf`` (:func:`slstm_zero_state`): then ``m_1 = i~_1``
and ``n_t >= 1`` at every step, so ``c / n`` never divides by zero.

Parameters (gate order i, f, z, o; each gate block is H rows, heads contiguous inside it):
``weight_ih`` (4H, F), ``weight_hh`` (4H, DH) — row ``g*H + h*DH + j`` holds the weights from the
DH units of head ``h`` to unit ``j`` of that head, i.e. the non-zero blocks of a block-diagonal
(4H, H) matrix — and ``bias`` (4H,).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.base import check_positive_int

FORGET_GATES = ("sigmoid", "exp")


class sLSTMState(NamedTuple):  # noqa: N801  (the paper's name)
    """State of an sLSTM, each tensor (B, H) for a cell, (L*D, B, H) for a layer.

    ``c`` and ``n`` are in stabilized units (the true states are ``c e^m``, ``n e^m``); ``m`` is
    ``-inf`` in a fresh state.
    """

    h: Tensor
    c: Tensor
    n: Tensor
    m: Tensor


def resolve_num_heads(hidden_size: int, num_heads: int | None) -> int:
    """Number of heads for an xLSTM cell: ``num_heads`` checked, or 4 if it divides H, else 1."""
    if num_heads is None:
        return 4 if hidden_size % 4 == 0 else 1
    check_positive_int("num_heads", num_heads)
    if hidden_size % num_heads:
        raise ValueError(
            f"num_heads must divide hidden_size={hidden_size}, got num_heads={num_heads}; "
            f"choose a divisor of {hidden_size} (or leave num_heads=None for 4 or 1)"
        )
    return num_heads


def check_forget_gate(forget_gate: str) -> None:
    """Raise a ValueError unless ``forget_gate`` is ``"sigmoid"`` or ``"exp"``."""
    if forget_gate not in FORGET_GATES:
        raise ValueError(f"forget_gate must be 'sigmoid' or 'exp' (eq. 13), got {forget_gate!r}")


def log_forget(f_tilde: Tensor, forget_gate: str) -> Tensor:
    """log f_t from the pre-activation: ``logsigmoid(f~)`` (sigmoid gate) or ``f~`` (exp gate)."""
    return F.logsigmoid(f_tilde) if forget_gate == "sigmoid" else f_tilde


def slstm_zero_state(batch: int, hidden_size: int, *, dtype: torch.dtype, device: torch.device) -> sLSTMState:
    """A fresh state: ``h = c = n = 0`` and ``m = -inf``, each (B, H)."""
    zeros = torch.zeros(batch, hidden_size, dtype=dtype, device=device)
    return sLSTMState(zeros, zeros, zeros, torch.full_like(zeros, -math.inf))


def recurrent_preactivation(h: Tensor, weight_hh: Tensor, num_heads: int) -> Tensor:
    """``R h`` with the block-diagonal R stored compactly. h (B, H), weight_hh (4H, DH) -> (B, 4H)."""
    B, H = h.shape
    DH = H // num_heads
    R = weight_hh.view(4, num_heads, DH, DH)  # [gate, head, unit j, unit k]
    return torch.einsum("bhk,ghjk->bghj", h.view(B, num_heads, DH), R).reshape(B, 4 * H)  # (B, 4H)


def slstm_step(
    x: Tensor,
    state: sLSTMState,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias: Tensor | None,
    num_heads: int,
    forget_gate: str = "sigmoid",
) -> sLSTMState:
    """One sLSTM step. x (B, F), state of (B, H) tensors -> the new state (``h_t`` is its ``.h``)."""
    h, c, n, m = state
    pre = F.linear(x, weight_ih, bias) + recurrent_preactivation(h, weight_hh, num_heads)  # (B, 4H)
    i_tilde, f_tilde, z_tilde, o_tilde = pre.chunk(4, dim=-1)  # (B, H) each
    log_f = log_forget(f_tilde, forget_gate)  # log f_t  (B, H)
    m_t = torch.maximum(i_tilde, m + log_f).detach()  # stabilizer m_t  (B, H)
    i = torch.exp(i_tilde - m_t)  # i_t = exp(i~_t), stabilized  (12)  (B, H)
    f = torch.exp(m + log_f - m_t)  # f_t = sigma(f~_t) or exp(f~_t), stabilized  (13)  (B, H)
    z = torch.tanh(z_tilde)  # z_t = phi(z~_t)  (11)  (B, H)
    o = torch.sigmoid(o_tilde)  # o_t = sigma(o~_t)  (14)  (B, H)
    c = f * c + i * z  # c_t = f_t c_{t-1} + i_t z_t  (8)  (B, H)
    n = f * n + i  # n_t = f_t n_{t-1} + i_t  (9)  (B, H)
    h = o * (c / n)  # h_t = o_t h~_t, h~_t = c_t / n_t  (10)  (B, H)
    return sLSTMState(h, c, n, m_t)


def init_slstm_parameters(weight_ih: Tensor, weight_hh: Tensor, bias: Tensor | None) -> None:
    """Init in place: weights U(-1/sqrt(H), 1/sqrt(H)) (torch's), forget bias open, other biases 0.

    The forget-gate bias is spread evenly over [3, 6] across the H units (sigmoid(3..6) =
    0.95..0.998): the xLSTM paper's "forget gate biased open", with a range of time scales.
    """
    H = weight_ih.shape[0] // 4
    bound = 1.0 / math.sqrt(H)
    with torch.no_grad():
        nn.init.uniform_(weight_ih, -bound, bound)
        nn.init.uniform_(weight_hh, -bound, bound)
        if bias is not None:
            bias.zero_()
            bias[H : 2 * H] = torch.linspace(3.0, 6.0, H, dtype=bias.dtype)


class HeadedCellBase(nn.Module):
    """What the sLSTM and mLSTM cells share: checked sizes, heads, forget-gate kind, repr.

    Subclasses create their parameters (``self.bias`` None without a bias) after calling
    ``super().__init__(input_size, hidden_size, num_heads, bias, forget_gate)``.
    """

    bias: nn.Parameter | None

    def __init__(
        self, input_size: int, hidden_size: int, num_heads: int | None, bias: bool, forget_gate: str
    ) -> None:
        super().__init__()
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_forget_gate(forget_gate)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_heads = resolve_num_heads(hidden_size, num_heads)
        self.head_size = hidden_size // self.num_heads
        self.forget_gate = forget_gate

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_heads={self.num_heads}"
            + ("" if self.bias is not None else ", bias=False")
            + ("" if self.forget_gate == "sigmoid" else ", forget_gate='exp'")
        )


class sLSTMCell(HeadedCellBase):  # noqa: N801
    """One sLSTM step as a module: ``state_t = cell(x_t, state_{t-1})``; ``h_t = state_t.h``.

    Args:
        input_size: F.
        hidden_size: H (= num_heads * DH).
        num_heads: heads of the block-diagonal recurrent matrix; None: 4 if it divides H, else 1.
        bias: learn a bias (4H,).
        forget_gate: ``"sigmoid"`` (default) or ``"exp"`` (eq. 13).

    Call: ``input`` (B, F), ``state`` an :class:`sLSTMState` of (B, H) tensors or None (fresh)
    -> the new :class:`sLSTMState`.
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
        head_size = self.head_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, head_size, **factory))
        self.bias: nn.Parameter | None = (
            nn.Parameter(torch.empty(4 * hidden_size, **factory)) if bias else None
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_slstm_parameters(self.weight_ih, self.weight_hh, self.bias)

    def forward(self, input: Tensor, state: sLSTMState | None = None) -> sLSTMState:
        check_step_input(input, self.input_size, self.weight_ih.dtype)
        batch = input.shape[0]
        if state is None:
            state = slstm_zero_state(batch, self.hidden_size, dtype=input.dtype, device=input.device)
        else:
            check_step_state(state, sLSTMState._fields, [(batch, self.hidden_size)] * 4, input.dtype)
            state = sLSTMState(*state)
        return slstm_step(
            input, state, self.weight_ih, self.weight_hh, self.bias, self.num_heads, self.forget_gate
        )

    # ----------------------------------------------------------------- the cell protocol
    @property
    def output_size(self) -> int:
        return self.hidden_size

    def state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return tuple((name, (self.hidden_size,)) for name in sLSTMState._fields)

    def initial_state(self, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        """Zeros, with the stabilizer m at -inf."""
        return tuple(slstm_zero_state(batch, self.hidden_size, dtype=dtype, device=device))

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The cell protocol's step: x_t (B, F), (h, c, n, m) -> h_t (B, H), the new state."""
        new = slstm_step(x_t, sLSTMState(*state), self.weight_ih, self.weight_hh, self.bias, self.num_heads,
                         self.forget_gate)
        return new.h, tuple(new)


def check_step_input(input: Tensor, input_size: int, dtype: torch.dtype) -> None:
    """Check one step's input (B, F) of an xLSTM cell, naming the problem and the fix."""
    if not isinstance(input, Tensor):
        raise TypeError(f"input must be a torch.Tensor of shape (batch, {input_size}), got {type(input).__name__}")
    if input.dim() != 2 or input.shape[-1] != input_size:
        raise ValueError(
            f"input must have shape (batch, input_size={input_size}), got {tuple(input.shape)}; "
            "a cell takes one time step, use the layer for sequences"
        )
    if input.dtype != dtype:
        raise TypeError(
            f"input dtype {input.dtype} does not match the cell's parameters ({dtype}); convert the "
            f"input with .to({dtype}) or the cell with .to({input.dtype})"
        )


def check_step_state(
    state: object, names: tuple[str, ...], shapes: list[tuple[int, ...]], dtype: torch.dtype
) -> None:
    """Check a cell state: a tuple of tensors with the given names, shapes and dtype."""
    if not isinstance(state, (tuple, list)) or len(state) != len(names):
        raise TypeError(
            f"state must be a tuple ({', '.join(names)}) of tensors or None, got {type(state).__name__}"
        )
    for name, shape, tensor in zip(names, shapes, state, strict=True):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"state {name} must be a tensor, got {type(tensor).__name__}")
        if tuple(tensor.shape) != shape:
            raise ValueError(f"state {name} must have shape {shape}, got {tuple(tensor.shape)}")
        if tensor.dtype != dtype:
            raise TypeError(f"state {name} dtype {tensor.dtype} does not match the input dtype {dtype}")
