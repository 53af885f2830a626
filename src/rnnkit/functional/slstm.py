"""Fast whole-sequence sLSTM: one autograd function for all T steps (the readable step is
:func:`rnnkit.cells.slstm.slstm_step`, tested equal forward and backward).

Forward: the caller projects the input for all steps in one matmul (``pre_x`` = W x + b); the
block-diagonal recurrent matrix is expanded once to a dense (H, 4H) matrix so each step is one
``addmm``, followed by in-place pointwise math into preallocated buffers. Backward: every local
derivative is formed for all steps at once from the saved gates before the loop; the loop carries
only ``dh, dc, dn`` with a handful of ops and one matmul per step; the recurrent weight gradient is
one matmul over all steps.

The two time loops (:func:`forward_steps`, :func:`backward_steps`) are plain functions written in
the TorchScript subset. By default they run compiled by ``torch.jit.script`` (compiled once per
process on first use, well under a second), which runs the same ops in the same order without the
Python interpreter between them (the per-op dispatch from Python dominated at small hidden sizes);
if scripting is unavailable they run as Python, with identical numbers either way.

Equations (gate order i, f, z, o; m is a constant for autograd, see :mod:`rnnkit.cells.slstm`)::

    a_t   = pre_x[t] + h_{t-1} R                (B, 4H)
    m_t   = max(i~, m_{t-1} + log f)            (B, H)
    i', f' = exp(i~ - m_t), exp(m_{t-1} + log f - m_t)
    c_t = f' c_{t-1} + i' tanh(z~);  n_t = f' n_{t-1} + i';  h_t = sigmoid(o~) c_t / n_t
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

logger = logging.getLogger(__name__)


def head_recurrent_matrices(weight_hh: Tensor, num_heads: int) -> Tensor:
    """The diagonal blocks of R as one matrix per head: (4H, DH) -> (NH, DH, 4 DH) with
    ``a[head] = h[head] @ R[head]``, columns ordered (gate, unit).

    ``R[h, k, g*DH + j] = weight_hh[g*H + h*DH + j, k]``; h[head] (B, DH) holds the units
    ``head*DH .. (head+1)*DH - 1`` of h. Blocks across heads are zero, so they are never formed.
    """
    four_h, DH = weight_hh.shape
    return weight_hh.view(4, num_heads, DH, DH).permute(1, 3, 0, 2).reshape(num_heads, DH, four_h // num_heads)


def gates_to_heads(weight: Tensor, num_heads: int) -> Tensor:
    """Reorder the rows of a gate-major (4H, ...) parameter from (gate, head, unit) to (head, gate,
    unit), the column order of the fused function's pre-activations."""
    shape = weight.shape
    return weight.reshape(4, num_heads, shape[0] // 4 // num_heads, *shape[1:]).transpose(0, 1).reshape(shape)


def forward_steps(
    pre: Tensor, R2: Tensor, act: Tensor, hs: Tensor, cs: Tensor, ns: Tensor, ms: Tensor, exp_forget: bool
) -> Tensor:
    """The forward time loop, in place: fills ``act`` (T, B, NH, 4, DH) with i', f', s, o and the
    states ``hs, cs, ns, ms`` (T+1, B, NH, 1, DH) from index 1 on; returns log f (T, B, NH, 1, DH)
    for the sigmoid gate (an empty tensor for the exp gate). ``pre`` (T, B, NH, 4, DH) and ``R2``
    (NH, DH, 4 DH) have their z entries doubled."""
    T, B, NH, _, DH = act.shape
    # per-step views made once (C++ unbind), so that the loop only runs the math; the matmul
    # operands are (NH, B, .) views of the (B, NH, .) buffers
    pre_steps = pre.view(T, B, NH, 4 * DH).transpose(1, 2).unbind(0)  # (NH, B, 4 DH)
    a_flat = act.view(T, B, NH, 4 * DH).transpose(1, 2).unbind(0)
    i_act, f_act = act[:, :, :, 0:1].unbind(0), act[:, :, :, 1:2].unbind(0)  # (B, NH, 1, DH) each
    s_act, o_act = act[:, :, :, 2:3].unbind(0), act[:, :, :, 3:4].unbind(0)
    if_act, zo_act = act[:, :, :, :2].unbind(0), act[:, :, :, 2:].unbind(0)  # (B, NH, 2, DH)
    h_flat = hs.view(T + 1, B, NH, DH).transpose(1, 2).unbind(0)  # (NH, B, DH) for the per-head matmul
    h_steps, c_steps, n_steps, m_steps = hs.unbind(0), cs.unbind(0), ns.unbind(0), ms.unbind(0)
    log_fs: list[Tensor] = []
    for t in range(T):
        i, f, s, o, m = i_act[t], f_act[t], s_act[t], o_act[t], m_steps[t + 1]  # (B, NH, 1, DH) each
        torch.baddbmm(pre_steps[t], h_flat[t], R2, out=a_flat[t])  # W x + R h + b  (NH, B, 4 DH)
        if exp_forget:
            f.add_(m_steps[t])  # m_{t-1} + log f, log f = f~
        else:
            log_f = F.logsigmoid(f)  # log f, kept for backward
            log_fs.append(log_f)
            torch.add(log_f, m_steps[t], out=f)  # m_{t-1} + log f
        torch.maximum(i, f, out=m)  # m_t
        if_act[t].sub_(m).exp_()  # i' = exp(i~ - m_t), f' = exp(m_{t-1} + log f - m_t)
        zo_act[t].sigmoid_()  # s = sigmoid(2 z~) (so z = tanh(z~) = 2 s - 1), o
        c = torch.mul(f, c_steps[t], out=c_steps[t + 1])
        c.addcmul_(i, s, value=2).sub_(i)  # c_t = f' c + i' z = f' c + 2 i' s - i'
        torch.addcmul(i, f, n_steps[t], out=n_steps[t + 1])  # n_t = f' n + i'
        torch.div(c_steps[t + 1], n_steps[t + 1], out=h_steps[t + 1]).mul_(o)  # h_t = o c / n
    return torch.stack(log_fs) if len(log_fs) > 0 else pre.new_empty(0)


def backward_steps(
    d_act: Tensor,
    dcn: Tensor,
    d_h_out: Tensor,
    d_cn_out: Optional[Tensor],  # noqa: UP045  (TorchScript does not read ``X | None``)
    f: Tensor,
    to_cn: Tensor,
    from_c: Tensor,
    from_n: Tensor,
    from_h: Tensor,
    R_t: Tensor,
) -> Tensor:
    """The backward time loop: fills ``d_act`` (T, B, NH, 4, DH) (d loss / d pre-activations) and
    leaves d loss / d (c_0, n_0) in ``dcn`` (B, NH, 2, DH, zeros on entry); returns d loss / d h_0
    (B, NH, 1, DH).

    ``d_h_out`` (T, B, NH, DH) and ``d_cn_out`` (T, B, NH, 2, DH) or None are the incoming
    gradients of the outputs; ``f`` (T, B, NH, 1, DH) the stabilized forget gates; ``to_cn``
    (..., 2, DH), ``from_c`` (..., 3, DH), ``from_n`` (..., 2, DH), ``from_h`` (..., 1, DH) the local
    derivatives (see :meth:`SLSTMSequence.backward`); ``R_t`` (NH, 4 DH, DH)."""
    T, B, NH, _, DH = d_act.shape
    dc, dn = dcn[:, :, :1], dcn[:, :, 1:]  # (B, NH, 1, DH)
    dh = d_act.new_empty(B, NH, 1, DH)  # d loss / d h_t
    dh_flat = dh.view(B, NH, DH).transpose(0, 1)  # (NH, B, DH) for the per-head matmul
    d_flat = d_act.view(T, B, NH, 4 * DH).transpose(1, 2).unbind(0)  # (NH, B, 4 DH)
    d_ifz, d_if = d_act[:, :, :, :3].unbind(0), d_act[:, :, :, :2].unbind(0)
    d_o = d_act[:, :, :, 3:].unbind(0)
    d_h_steps, f_steps = d_h_out.transpose(1, 2).unbind(0), f.unbind(0)  # (NH, B, DH), (B, NH, 1, DH)
    to_cn_s, from_c_s, from_n_s, from_h_s = to_cn.unbind(0), from_c.unbind(0), from_n.unbind(0), from_h.unbind(0)
    d_cn_steps: list[Tensor] = [] if d_cn_out is None else d_cn_out.unbind(0)
    if T > 0:
        dh_flat.copy_(d_h_steps[T - 1])
    for t in range(T - 1, -1, -1):
        if len(d_cn_steps) > 0:
            dcn.add_(d_cn_steps[t])
        dcn.addcmul_(dh, to_cn_s[t])  # totals d c_t, d n_t
        torch.mul(dc, from_c_s[t], out=d_ifz[t])  # d i~, d f~, d z~ through c
        d_if[t].addcmul_(dn, from_n_s[t])  # + d i~, d f~ through n
        torch.mul(dh, from_h_s[t], out=d_o[t])  # d o~
        dcn.mul_(f_steps[t])  # d c_{t-1}, d n_{t-1}
        if t > 0:
            torch.baddbmm(d_h_steps[t - 1], d_flat[t], R_t, out=dh_flat)  # d h_{t-1}
        else:
            torch.bmm(d_flat[t], R_t, out=dh_flat)  # d h_0
    return dh


@functools.cache
def scripted_steps() -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """(forward_steps, backward_steps) compiled by ``torch.jit.script`` once per process, or the
    Python functions themselves where TorchScript is unavailable (logged)."""
    try:
        with warnings.catch_warnings():  # torch 2.13 marks torch.jit.script deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(forward_steps), torch.jit.script(backward_steps)
    except Exception as exc:  # noqa: BLE001  (any scripting failure: run the same loops in Python)
        logger.warning("sLSTM: torch.jit.script failed (%s); running the time loops in Python", exc)
        return forward_steps, backward_steps


def step_loops(scripted: bool) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
    """The time loops to run: compiled (:func:`scripted_steps`) or plain Python."""
    return scripted_steps() if scripted else (forward_steps, backward_steps)


class SLSTMSequence(torch.autograd.Function):
    """``hs, cs, ns, ms = SLSTMSequence.apply(pre_x, weight_hh, h0, c0, n0, m0, num_heads, exp_forget,
    scripted)``.

    Args: pre_x (T, B, 4H) input projections with the bias, columns in head-major order (head,
    gate, unit) (:func:`gates_to_heads` of the parameters); weight_hh (4H, DH) the compact
    block-diagonal recurrent weights (:mod:`rnnkit.cells.slstm`); h0, c0, n0, m0 (B, H) the initial
    state; num_heads NH; exp_forget: True for the exponential forget gate; scripted: run the time
    loops compiled by TorchScript (same ops, same numbers). Returns the states after each step,
    each (T, B, H); ``ms`` is not differentiable.

    Speed notes (measured on CPU): buffers are (T, B, NH, ., DH), so the recurrent matmul is one
    batched matmul over heads on (NH, B, .) views ((NH, B, DH) @ (NH, DH, 4 DH)): a quarter of a
    dense (H, 4H) matmul's work at 4 heads, and 2-4x faster at hidden 128-256, while the inputs,
    outputs and gradients keep their layout (no permuted copies of whole sequences);
    ``tanh(z~)`` is computed as ``2 sigmoid(2 z~) - 1`` (the z entries of ``pre_x`` and R are
    doubled, which is exact), sharing one sigmoid call with the output gate (torch's CPU tanh is
    several times slower than its sigmoid); the pre-activation buffer is turned into the gates in
    place; nothing is multiplied by a Python number inside the loop (torch wraps it into a new
    tensor at every call; the factor 2 of ``z = 2 s - 1`` goes through ``addcmul``'s ``value=``).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        pre_x: Tensor,
        weight_hh: Tensor,
        h0: Tensor,
        c0: Tensor,
        n0: Tensor,
        m0: Tensor,
        num_heads: int,
        exp_forget: bool,
        scripted: bool,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        T, B, four_h = pre_x.shape
        H = four_h // 4
        NH, DH = num_heads, H // num_heads
        pre = pre_x.reshape(T, B, NH, 4, DH).clone()  # (T, B, NH, 4, DH)
        pre[:, :, :, 2] *= 2  # 2 z~ (exact)
        R = head_recurrent_matrices(weight_hh, NH)  # (NH, DH, 4 DH)
        R2 = R.clone()
        R2.view(NH, DH, 4, DH)[:, :, 2] *= 2
        act = pre_x.new_empty(T, B, NH, 4, DH)  # W x + R h + b, then in place i', f', s, o
        hs, cs, ns, ms = (pre_x.new_empty(T + 1, B, NH, 1, DH) for _ in range(4))  # states 0 .. T
        for states, initial in zip((hs, cs, ns, ms), (h0, c0, n0, m0), strict=True):
            states[0, :, :, 0] = initial.reshape(B, NH, DH)
        forward_loop, _ = step_loops(scripted)
        log_f_all = forward_loop(pre, R2, act, hs, cs, ns, ms, exp_forget)  # (T, B, NH, 1, DH), sigmoid gate
        ctx.save_for_backward(act, log_f_all, hs, cs, ns, R)
        ctx.exp_forget, ctx.scripted = exp_forget, scripted
        outputs = tuple(s[1:].view(T, B, H) for s in (hs, cs, ns, ms))  # (T, B, H) each
        ctx.mark_non_differentiable(outputs[3])
        ctx.set_materialize_grads(False)
        return outputs

    @staticmethod
    @once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any, d_hs: Tensor | None, d_cs: Tensor | None, d_ns: Tensor | None, _d_ms: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        act, log_f, hs, cs, ns, R = ctx.saved_tensors
        T, B, NH, _, DH = act.shape
        i, f, s, o = act.split(1, dim=3)  # (T, B, NH, 1, DH) each
        z = 2 * s - 1  # tanh(z~)
        h, n, c_prev, n_prev = hs[1:], ns[1:], cs[:-1], ns[:-1]  # (T, B, NH, 1, DH)
        # d log f / d f~: sigmoid(-f~) = -expm1(log f) for the sigmoid gate, 1 for the exp gate
        f_chain = f if ctx.exp_forget else f * -torch.expm1(log_f)  # (T, B, NH, 1, DH)
        # local derivatives for all steps at once; dc, dn in the loop are the totals at step t
        to_cn = torch.cat((o / n, -h / n), dim=3)  # d(c, n) / dh  (T, B, NH, 2, DH)
        from_c = torch.cat((z * i, c_prev * f_chain, i * (1 - z * z)), dim=3)  # d(i~, f~, z~) / dc
        from_n = torch.cat((i, n_prev * f_chain), dim=3)  # d(i~, f~) / dn  (T, B, NH, 2, DH)
        from_h = h * (1 - o)  # d o~ / dh  (T, B, NH, 1, DH)
        d_cn_out = None
        if d_cs is not None or d_ns is not None:
            zeros = act.new_zeros(T, B, NH, DH)
            d_c, d_n = (zeros if d is None else d.reshape(T, B, NH, DH) for d in (d_cs, d_ns))
            d_cn_out = torch.stack((d_c, d_n), dim=3)  # (T, B, NH, 2, DH)
        d_h_out = act.new_zeros(T, B, NH, DH) if d_hs is None else d_hs.reshape(T, B, NH, DH)

        d_act = act.new_empty(T, B, NH, 4, DH)  # d loss / d pre-activations
        dcn = act.new_zeros(B, NH, 2, DH)  # d loss / d (c_t, n_t), at the end d (c_0, n_0)
        _, backward_loop = step_loops(ctx.scripted)
        R_t = R.transpose(1, 2).contiguous()  # (NH, 4 DH, DH)
        dh0 = backward_loop(d_act, dcn, d_h_out, d_cn_out, f, to_cn, from_c, from_n, from_h, R_t)
        d_weight_hh = None
        if ctx.needs_input_grad[1]:
            h_prev = hs[:-1].view(T * B, NH, DH).transpose(0, 1)  # (NH, T*B, DH)
            d_heads = d_act.view(T * B, NH, 4 * DH).transpose(0, 1)  # (NH, T*B, 4 DH)
            d_R = h_prev.transpose(1, 2) @ d_heads  # (NH, DH, 4 DH): the diagonal blocks only
            d_weight_hh = d_R.view(NH, DH, 4, DH).permute(2, 0, 3, 1).reshape(4 * NH * DH, DH)
        H = NH * DH
        d_h0, d_c0, d_n0 = dh0.view(B, H), dcn[:, :, 0].reshape(B, H), dcn[:, :, 1].reshape(B, H)
        return d_act.view(T, B, 4 * H), d_weight_hh, d_h0, d_c0, d_n0, None, None, None, None


def slstm_sequence(
    x: Tensor,
    state: tuple[Tensor, Tensor, Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias: Tensor | None,
    num_heads: int,
    forget_gate: str = "sigmoid",
    scripted: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """sLSTM over a whole sequence. x (T, B, F), state (h, c, n, m) each (B, H).

    ``scripted``: run the time loops compiled by TorchScript (default) or as Python; same numbers.
    Returns hs, cs, ns, ms (T, B, H): the state after each step (the last one is the final state).
    """
    # all steps' input projections in one matmul, columns head-major  (T, B, 4H)
    bias_heads = None if bias is None else gates_to_heads(bias, num_heads)
    pre_x = F.linear(x, gates_to_heads(weight_ih, num_heads), bias_heads)
    h0, c0, n0, m0 = state
    return SLSTMSequence.apply(
        pre_x.contiguous(), weight_hh, h0, c0, n0, m0.detach(), num_heads, forget_gate == "exp", scripted
    )
