"""Fast whole-sequence GRU in the seeds' form (``reset_after=False``), which torch has no kernel for.

Forward: the caller projects the input for all steps in one matmul (``gi``, with every bias folded
in, since here ``b_hh`` sits outside the reset gate); the loop keeps only the two recurrent matmuls
and in-place pointwise math per step. Backward (:class:`SeedGRUSequence`): the gates saved in
forward give every local derivative in a few vectorized ops before the loop, the loop carries
only d h_{t-1}, and the recurrent weight gradient is one matmul over all steps.

Equations (torch's gate order r, z, n; update convention of :mod:`rnnkit.cells.gru`)::

    a_rz = gi_rz[t] + h_{t-1} W_hrz^T          (B, 2H)  (gi includes b_ih + b_hh)
    r, z = sigmoid(a_rz)                        (B, H) each
    n    = tanh(gi_n[t] + (r * h_{t-1}) W_hn^T) (B, H)
    h_t  = (1 - z) * n + z * h_{t-1}            (B, H)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable


class SeedGRUSequence(torch.autograd.Function):
    """``hs = SeedGRUSequence.apply(gi, h0, weight_hh, mask)``.

    Args: gi (T, B, 3H) input projections with both biases folded in; h0 (B, H); weight_hh
    (3H, H); mask None or bool (T, B, 1), False on padded steps (the state is carried over).
    Returns hs (T, B, H), the state after each step (``hs[-1]`` is the final state).
    """

    @staticmethod
    def forward(ctx: Any, gi: Tensor, h0: Tensor, weight_hh: Tensor, mask: Tensor | None) -> Tensor:  # type: ignore[override]
        steps, batch, three_h = gi.shape
        hidden = three_h // 3
        w_rz_t = weight_hh[: 2 * hidden].t()  # (H, 2H)
        w_n_t = weight_hh[2 * hidden :].t()  # (H, H)
        hs = gi.new_empty(steps + 1, batch, hidden)  # h_0 .. h_T
        rz = gi.new_empty(steps, batch, 2 * hidden)  # sigmoid gates r, z
        n = gi.new_empty(steps, batch, hidden)  # candidates
        hs[0] = h0
        h_steps, rz_steps, n_steps = hs.unbind(0), rz.unbind(0), n.unbind(0)
        gi_rz_steps, gi_n_steps = gi[..., : 2 * hidden].unbind(0), gi[..., 2 * hidden :].unbind(0)
        mask_steps = None if mask is None else mask.unbind(0)
        for t in range(steps):
            h, g, c = h_steps[t], rz_steps[t], n_steps[t]
            torch.addmm(gi_rz_steps[t], h, w_rz_t, out=g)  # a_r, a_z  (B, 2H)
            g.sigmoid_()  # r_t, z_t  (B, 2H)
            torch.addmm(gi_n_steps[t], g[:, :hidden] * h, w_n_t, out=c)  # W_in x + W_hn (r * h)  (B, H)
            c.tanh_()  # n_t  (B, H)
            if mask_steps is None:
                torch.lerp(c, h, g[:, hidden:], out=h_steps[t + 1])  # h_t = n + z * (h - n)  (B, H)
            else:
                torch.where(mask_steps[t], torch.lerp(c, h, g[:, hidden:]), h, out=h_steps[t + 1])
        ctx.save_for_backward(hs, rz, n, weight_hh, mask)
        return hs[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_hs: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        hs, rz, n, weight_hh, mask = ctx.saved_tensors
        steps, batch, hidden = n.shape
        h_prev = hs[:-1]  # (T, B, H)
        r, z = rz[..., :hidden], rz[..., hidden:]  # (T, B, H) each
        d_an_dh = (1 - z) * (1 - n * n)  # d a_n / d h_t  (T, B, H)
        d_az_dh = (h_prev - n) * z * (1 - z)  # d a_z / d h_t  (T, B, H)
        d_ar_drh = h_prev * r * (1 - r)  # d a_r / d (r * h)  (T, B, H)
        carry_z = z  # d h_t / d h_{t-1} along the direct path
        if mask is not None:
            d_an_dh = d_an_dh * mask
            d_az_dh = d_az_dh * mask
            carry_z = torch.where(mask, z, torch.ones((), dtype=z.dtype))
        w_rz, w_n = weight_hh[: 2 * hidden], weight_hh[2 * hidden :]  # (2H, H), (H, H)
        d_gi = grad_hs.new_empty(steps, batch, 3 * hidden)  # d loss / d a_r, a_z, a_n
        d_rz_steps, d_r_steps = d_gi[..., : 2 * hidden].unbind(0), d_gi[..., :hidden].unbind(0)
        d_z_steps, d_n_steps = d_gi[..., hidden : 2 * hidden].unbind(0), d_gi[..., 2 * hidden :].unbind(0)
        grad_steps = grad_hs.unbind(0)
        an_steps, az_steps, ar_steps = d_an_dh.unbind(0), d_az_dh.unbind(0), d_ar_drh.unbind(0)
        z_steps, r_steps = carry_z.unbind(0), r.unbind(0)
        carry = torch.zeros_like(grad_hs[0])  # d loss / d h_t from step t+1  (B, H)
        for t in range(steps - 1, -1, -1):
            dh = grad_steps[t] + carry  # (B, H)
            torch.mul(dh, an_steps[t], out=d_n_steps[t])  # d a_n  (B, H)
            d_rh = torch.mm(d_n_steps[t], w_n)  # d (r * h_{t-1})  (B, H)
            torch.mul(dh, az_steps[t], out=d_z_steps[t])  # d a_z  (B, H)
            torch.mul(d_rh, ar_steps[t], out=d_r_steps[t])  # d a_r  (B, H)
            carry = torch.addmm(torch.addcmul(dh * z_steps[t], d_rh, r_steps[t]), d_rz_steps[t], w_rz)  # d h_{t-1}
        grad_weight = None
        if ctx.needs_input_grad[2]:
            flat_prev = h_prev.reshape(steps * batch, hidden)  # (T*B, H)
            grad_weight = torch.cat(
                (
                    d_gi[..., : 2 * hidden].reshape(steps * batch, 2 * hidden).t() @ flat_prev,  # (2H, H)
                    d_gi[..., 2 * hidden :].reshape(steps * batch, hidden).t() @ (r * h_prev).reshape(steps * batch, hidden),
                )
            )
        grad_h0 = carry if ctx.needs_input_grad[1] else None
        return d_gi, grad_h0, grad_weight, None


def seed_gru_sequence(
    x: Tensor,
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    mask: Tensor | None = None,
) -> Tensor:
    """Seeds' GRU over a whole sequence. x (T, B, F), h0 (B, H), mask None or bool (T, B).

    Returns hs (T, B, H): the state after each step, carried unchanged where ``mask`` is False.
    """
    bias = None if bias_ih is None or bias_hh is None else bias_ih + bias_hh  # (3H,) every bias is outside r
    gi = F.linear(x, weight_ih, bias)  # all steps' input projections in one matmul  (T, B, 3H)
    return SeedGRUSequence.apply(gi, h0, weight_hh, None if mask is None else mask.unsqueeze(-1))
