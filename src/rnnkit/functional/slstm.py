"""Fast whole-sequence sLSTM: one autograd function for all T steps (the readable step is
:func:`rnnkit.cells.slstm.slstm_step`, tested equal forward and backward).

Forward: the caller projects the input for all steps in one matmul (``pre_x`` = W x + b); the
block-diagonal recurrent matrix is expanded once to a dense (H, 4H) matrix so each step is one
``addmm``, followed by in-place pointwise math into preallocated buffers. Backward: every local
derivative is formed for all steps at once from the saved gates before the loop; the loop carries
only ``dh, dc, dn`` with a handful of ops and one matmul per step; the recurrent weight gradient is
one matmul over all steps.

Equations (gate order i, f, z, o; m is a constant for autograd, see :mod:`rnnkit.cells.slstm`)::

    a_t   = pre_x[t] + h_{t-1} R                (B, 4H)
    m_t   = max(i~, m_{t-1} + log f)            (B, H)
    i', f' = exp(i~ - m_t), exp(m_{t-1} + log f - m_t)
    c_t = f' c_{t-1} + i' tanh(z~);  n_t = f' n_{t-1} + i';  h_t = sigmoid(o~) c_t / n_t
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable


def dense_recurrent_matrix(weight_hh: Tensor, num_heads: int) -> Tensor:
    """Expand the compact block-diagonal ``weight_hh`` (4H, DH) to R (H, 4H) with ``a = h R``.

    ``R[h*DH + k, g*H + h*DH + j] = weight_hh[g*H + h*DH + j, k]``; entries across heads are zero.
    Differentiable: the gradient of R flows back to the diagonal blocks only.
    """
    four_h, DH = weight_hh.shape
    H = four_h // 4
    blocks = weight_hh.view(4, num_heads, DH, 1, DH)  # [gate, head out, j, ., k]
    eye = torch.eye(num_heads, dtype=weight_hh.dtype, device=weight_hh.device)
    dense = blocks * eye.view(1, num_heads, 1, num_heads, 1)  # [gate, head out, j, head in, k]
    return dense.reshape(4 * H, H).t()  # (H, 4H)


class SLSTMSequence(torch.autograd.Function):
    """``hs, cs, ns, ms = SLSTMSequence.apply(pre_x, R, h0, c0, n0, m0, exp_forget)``.

    Args: pre_x (T, B, 4H) input projections with the bias; R (H, 4H) dense recurrent matrix
    (:func:`dense_recurrent_matrix`); h0, c0, n0, m0 (B, H) the initial state; exp_forget: True for
    the exponential forget gate. Returns the states after each step, each (T, B, H); ``ms`` is not
    differentiable.

    Speed notes (measured on CPU): the recurrent matmul is batch-major ((B, H) @ (H, 4H)), much
    faster than its transpose for small B; ``tanh(z~)`` is computed as ``2 sigmoid(2 z~) - 1``
    (the z columns of ``pre_x`` and R are doubled, which is exact), sharing one sigmoid call with
    the output gate (torch's CPU tanh is several times slower than its sigmoid); the
    pre-activation buffer is turned into the gates in place; nothing is multiplied by a Python
    number inside the loop (torch wraps it into a new tensor at every call; the factor 2 of
    ``z = 2 s - 1`` goes through ``addcmul``'s ``value=``).
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        pre_x: Tensor,
        R: Tensor,
        h0: Tensor,
        c0: Tensor,
        n0: Tensor,
        m0: Tensor,
        exp_forget: bool,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        T, B, four_h = pre_x.shape
        H = four_h // 4
        z_cols = slice(2 * H, 3 * H)
        pre = pre_x.clone()  # (T, B, 4H)
        pre[..., z_cols] *= 2  # 2 z~ (exact)
        R2 = R.clone()
        R2[:, z_cols] *= 2
        act = pre_x.new_empty(T, B, 4, H)  # W x + R h + b, then in place i', f', s, o
        hs, cs, ns, ms = (pre_x.new_empty(T + 1, B, 1, H) for _ in range(4))  # states 0 .. T
        hs[0, :, 0], cs[0, :, 0], ns[0, :, 0], ms[0, :, 0] = h0, c0, n0, m0
        log_fs = []
        # per-step views made once (C++ unbind), so that the loop only runs the math
        pre_steps, a_flat = pre.unbind(0), act.view(T, B, four_h).unbind(0)
        i_act, f_act, s_act, o_act = (act[:, :, k : k + 1].unbind(0) for k in range(4))  # (B, 1, H)
        if_act, zo_act = act[:, :, :2].unbind(0), act[:, :, 2:].unbind(0)  # (B, 2, H)
        h_flat = hs.view(T + 1, B, H).unbind(0)  # (B, H) for the matmul
        h_steps, c_steps, n_steps, m_steps = hs.unbind(0), cs.unbind(0), ns.unbind(0), ms.unbind(0)
        for t in range(T):
            i, f, s, o, m = i_act[t], f_act[t], s_act[t], o_act[t], m_steps[t + 1]  # (B, 1, H) each
            torch.addmm(pre_steps[t], h_flat[t], R2, out=a_flat[t])  # W x + R h + b  (B, 4H)
            if exp_forget:
                f.add_(m_steps[t])  # m_{t-1} + log f, log f = f~
            else:
                log_f = F.logsigmoid(f)  # log f  (B, 1, H), kept for backward
                log_fs.append(log_f)
                torch.add(log_f, m_steps[t], out=f)  # m_{t-1} + log f
            torch.maximum(i, f, out=m)  # m_t
            if_act[t].sub_(m).exp_()  # i' = exp(i~ - m_t), f' = exp(m_{t-1} + log f - m_t)
            zo_act[t].sigmoid_()  # s = sigmoid(2 z~) (so z = tanh(z~) = 2 s - 1), o
            c = torch.mul(f, c_steps[t], out=c_steps[t + 1])
            c.addcmul_(i, s, value=2).sub_(i)  # c_t = f' c + i' z = f' c + 2 i' s - i'
            torch.addcmul(i, f, n_steps[t], out=n_steps[t + 1])  # n_t = f' n + i'
            torch.div(c_steps[t + 1], n_steps[t + 1], out=h_steps[t + 1]).mul_(o)  # h_t = o c / n
        log_f_all = torch.stack(log_fs) if log_fs else pre_x.new_empty(0)  # (T, B, 1, H), sigmoid gate
        ctx.save_for_backward(act, log_f_all, hs, cs, ns, R)
        ctx.exp_forget = exp_forget
        outputs = tuple(s[1:, :, 0] for s in (hs, cs, ns, ms))  # (T, B, H) each
        ctx.mark_non_differentiable(outputs[3])
        ctx.set_materialize_grads(False)
        return outputs

    @staticmethod
    @once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any, d_hs: Tensor | None, d_cs: Tensor | None, d_ns: Tensor | None, _d_ms: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        act, log_f, hs, cs, ns, R = ctx.saved_tensors
        T, B, _, H = act.shape
        i, f, s, o = act.split(1, dim=2)  # (T, B, 1, H) each
        z = 2 * s - 1  # tanh(z~)
        h, c, n, c_prev, n_prev = hs[1:], cs[1:], ns[1:], cs[:-1], ns[:-1]  # (T, B, 1, H)
        # d log f / d f~: sigmoid(-f~) = -expm1(log f) for the sigmoid gate, 1 for the exp gate
        f_chain = f if ctx.exp_forget else f * -torch.expm1(log_f)  # (T, B, 1, H)
        # local derivatives for all steps at once; dc, dn in the loop are the totals at step t
        to_cn = torch.cat((o / n, -h / n), dim=2)  # d(c, n) / dh  (T, B, 2, H)
        from_c = torch.cat((z * i, c_prev * f_chain, i * (1 - z * z)), dim=2)  # d(i~, f~, z~) / dc
        from_n = torch.cat((i, n_prev * f_chain), dim=2)  # d(i~, f~) / dn  (T, B, 2, H)
        from_h = h * (1 - o)  # d o~ / dh  (T, B, 1, H)
        d_cn_out = None
        if d_cs is not None or d_ns is not None:
            zeros = act.new_zeros(T, B, H)
            d_cn_out = torch.stack((zeros if d_cs is None else d_cs, zeros if d_ns is None else d_ns), dim=2)
        d_h_out = act.new_zeros(T, B, H) if d_hs is None else d_hs.contiguous()

        d_act = act.new_empty(T, B, 4, H)  # d loss / d pre-activations
        dcn = act.new_zeros(B, 2, H)  # d loss / d (c_t, n_t)
        dc, dn = dcn[:, :1], dcn[:, 1:]  # (B, 1, H)
        dh = act.new_empty(B, 1, H)  # d loss / d h_t
        dh_flat = dh.view(B, H)
        R_t = R.t().contiguous()  # (4H, H)
        d_flat = d_act.view(T, B, 4 * H).unbind(0)
        d_ifz, d_if, d_o = d_act[:, :, :3].unbind(0), d_act[:, :, :2].unbind(0), d_act[:, :, 3:].unbind(0)
        d_h_steps, f_steps = d_h_out.unbind(0), f.unbind(0)
        to_cn_s, from_c_s, from_n_s, from_h_s = (x.unbind(0) for x in (to_cn, from_c, from_n, from_h))
        d_cn_steps = None if d_cn_out is None else d_cn_out.unbind(0)
        if T:
            dh_flat.copy_(d_h_steps[T - 1])
        for t in range(T - 1, -1, -1):
            if d_cn_steps is not None:
                dcn.add_(d_cn_steps[t])
            dcn.addcmul_(dh, to_cn_s[t])  # totals d c_t, d n_t
            torch.mul(dc, from_c_s[t], out=d_ifz[t])  # d i~, d f~, d z~ through c
            d_if[t].addcmul_(dn, from_n_s[t])  # + d i~, d f~ through n
            torch.mul(dh, from_h_s[t], out=d_o[t])  # d o~
            dcn.mul_(f_steps[t])  # d c_{t-1}, d n_{t-1}
            if t:
                torch.addmm(d_h_steps[t - 1], d_flat[t], R_t, out=dh_flat)  # d h_{t-1}
            else:
                torch.mm(d_flat[t], R_t, out=dh_flat)  # d h_0
        d_pre = d_act.view(T, B, 4 * H)
        d_R = None
        if ctx.needs_input_grad[1]:
            h_prev = hs[:-1].view(T * B, H)  # (T*B, H)
            d_R = h_prev.t() @ d_pre.reshape(T * B, 4 * H)  # (H, 4H)
        return d_pre, d_R, dh_flat.clone(), dc[:, 0].clone(), dn[:, 0].clone(), None, None


def slstm_sequence(
    x: Tensor,
    state: tuple[Tensor, Tensor, Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias: Tensor | None,
    num_heads: int,
    forget_gate: str = "sigmoid",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """sLSTM over a whole sequence. x (T, B, F), state (h, c, n, m) each (B, H).

    Returns hs, cs, ns, ms (T, B, H): the state after each step (the last one is the final state).
    """
    pre_x = F.linear(x, weight_ih, bias)  # all steps' input projections in one matmul  (T, B, 4H)
    R = dense_recurrent_matrix(weight_hh, num_heads)  # (H, 4H)
    h0, c0, n0, m0 = (s.contiguous() for s in state)
    return SLSTMSequence.apply(pre_x.contiguous(), R, h0, c0, n0, m0.detach(), forget_gate == "exp")
