"""Time loops that survive export: TorchScript functions whose loop runs over the input's length.

Tracing (``torch.jit.trace``, ``torch.onnx.export``) records the ops one call ran, so a Python
time loop becomes T copies of the step and the exported graph is right only at the traced length
(and the fused sLSTM / seeds'-GRU functions, which write into buffers in place, do not trace at
all). While a model is being traced, the sLSTM and seeds'-GRU layers call these loops instead: they
are compiled by ``torch.jit.script``, so the loop stays a loop (an ONNX ``Loop`` whose trip count is
the input's T) and the graph is right at every length. The math is the cells' step functions
(:func:`rnnkit.cells.gru.gru_step` with ``reset_after=False``,
:func:`rnnkit.cells.slstm.slstm_step`), tested equal to them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def seed_gru_loop(
    x: Tensor,
    h: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Optional[Tensor],  # noqa: UP045  (TorchScript does not read ``X | None``)
    bias_hh: Optional[Tensor],  # noqa: UP045
) -> Tensor:
    """The seeds' GRU over x (T, B, F) from h (B, H): the state after each step, (T, B, H)."""
    H = h.size(1)
    gi = F.linear(x, weight_ih, bias_ih)  # (T, B, 3H)
    gh_bias = torch.zeros(3 * H, dtype=x.dtype, device=x.device) if bias_hh is None else bias_hh
    w_rz, w_n = weight_hh[: 2 * H], weight_hh[2 * H :]  # (2H, H), (H, H)
    outputs: list[Tensor] = []
    for t in range(x.size(0)):
        rz = torch.sigmoid(gi[t, :, : 2 * H] + F.linear(h, w_rz, gh_bias[: 2 * H]))  # r_t, z_t  (B, 2H)
        r, z = rz[:, :H], rz[:, H:]
        n = torch.tanh(gi[t, :, 2 * H :] + F.linear(r * h, w_n, gh_bias[2 * H :]))  # (B, H)
        h = (1 - z) * n + z * h  # (B, H)
        outputs.append(h)
    return torch.stack(outputs)


def slstm_loop(
    pre_x: Tensor,
    recurrent: Tensor,
    h: Tensor,
    c: Tensor,
    n: Tensor,
    m: Tensor,
    exp_forget: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """sLSTM over the input projections pre_x (T, B, 4H) (gate-major i, f, z, o) with the dense
    block-diagonal recurrent matrix (H, 4H), from (h, c, n, m) (B, H): hs, cs, ns, ms (T, B, H)."""
    H = h.size(1)
    hs: list[Tensor] = []
    cs: list[Tensor] = []
    ns: list[Tensor] = []
    ms: list[Tensor] = []
    for t in range(pre_x.size(0)):
        pre = pre_x[t] + h.matmul(recurrent)  # (B, 4H)
        i_tilde, f_tilde, z_tilde, o_tilde = pre[:, :H], pre[:, H : 2 * H], pre[:, 2 * H : 3 * H], pre[:, 3 * H :]
        log_f = f_tilde if exp_forget else F.logsigmoid(f_tilde)
        m_t = torch.maximum(i_tilde, m + log_f)  # (B, H)
        i = torch.exp(i_tilde - m_t)
        f = torch.exp(m + log_f - m_t)
        c = f * c + i * torch.tanh(z_tilde)
        n = f * n + i
        h = torch.sigmoid(o_tilde) * (c / n)
        m = m_t
        hs.append(h)
        cs.append(c)
        ns.append(n)
        ms.append(m)
    return torch.stack(hs), torch.stack(cs), torch.stack(ns), torch.stack(ms)


def dense_recurrent_matrix(weight_hh: Tensor, num_heads: int) -> Tensor:
    """The sLSTM's block-diagonal recurrent matrix R, stored as its blocks (4H, DH), made dense
    and transposed for ``h @ R``: (H, 4H). Built with broadcasting only (it traces and exports)."""
    four_h, DH = weight_hh.shape
    H = four_h // 4
    blocks = weight_hh.view(4, num_heads, DH, DH)  # [gate, head, unit j, unit k]
    eye = torch.eye(num_heads, dtype=weight_hh.dtype, device=weight_hh.device)
    dense = blocks[:, :, :, None, :] * eye[None, :, None, :, None]  # [gate, head, j, head', k]
    return dense.reshape(four_h, H).t()  # (H, 4H)


@functools.cache
def scripted(name: str) -> Callable[..., object]:
    """The loop ``name`` ("seed_gru_loop" or "slstm_loop") compiled by TorchScript (once)."""
    with warnings.catch_warnings():  # torch 2.13 marks torch.jit.script deprecated
        warnings.simplefilter("ignore")
        return torch.jit.script({"seed_gru_loop": seed_gru_loop, "slstm_loop": slstm_loop}[name])


def tracing() -> bool:
    """True while a model is being traced for export (torch.jit.trace or torch.onnx.export)."""
    return torch.jit.is_tracing()
