"""The mLSTM matrix memory (seed 003, eqs. 19-21) in three equivalent forms.

Per head, with keys already scaled by ``1/sqrt(d)`` (eq. 23), the memory evolves as::

    C_t = f_t C_{t-1} + i_t v_t k_t^T           (19)  (dv, dk)
    n_t = f_t n_{t-1} + i_t k_t                 (20)  (dk,)
    h~_t = C_t q_t / max(|n_t^T q_t|, 1)        (21)  (dv,)

with ``i_t = exp(i~_t)`` and ``f_t = exp(log_f_t)`` (``log_f = logsigmoid(f~)`` for the sigmoid
forget gate, ``log_f = f~`` for the exponential one). Exponentials overflow, so every form keeps the
memory in *stabilized units*: the state ``(C, n, m)`` stands for the true memory
``(C e^m, n e^m)``, where ``m_t`` is the running maximum of the log weights::

    m_t = max(log_f_t + m_{t-1}, i~_t)
    h~_t = C_t q_t / max(|n_t^T q_t|, exp(-m_t))

``h~`` is the same for every choice of ``m`` (it only rescales ``C`` and ``n``), so ``m`` is a
constant for autograd (it is detached): the gradients of any function of ``h~`` are exact.

The three forms compute the same function (tested to ~1e-12 in float64):

* :func:`mlstm_recurrent` — one step at a time (:func:`mlstm_recurrent_step`); used for generation.
* :func:`mlstm_parallel` — all steps at once through the (T, T) log-gate matrix
  ``log D_ts = sum_{r=s+1..t} log_f_r + i~_s`` (s <= t), stabilized by its row maximum; quadratic.
* :func:`mlstm_chunkwise` — chunks of ``chunk_size`` steps: the parallel form inside each chunk,
  the recurrence on ``(C, n, m)`` across chunk boundaries; linear time and memory in T.

Shapes: ``q, k, v`` are (B, NH, T, d) (``v`` may have its own last size dv), the gate
pre-activations ``i_tilde, log_f`` are (B, NH, T), and the state is :class:`mLSTMState` with
``C`` (B, NH, dv, dk), ``n`` (B, NH, dk), ``m`` (B, NH). Any leading batch shape works in place of
(B, NH). A fresh memory is ``C = 0, n = 0, m = -inf``. An input-gate pre-activation of ``-inf``
together with ``log_f = 0`` leaves the memory untouched (used for padding).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
from torch import Tensor

MLSTM_FORMS = ("recurrent", "parallel", "chunkwise")
MLSTMForm = Literal["recurrent", "parallel", "chunkwise"]


class mLSTMState(NamedTuple):  # noqa: N801  (the paper's name)
    """Matrix memory of an mLSTM in stabilized units: the true memory is ``(C e^m, n e^m)``.

    Attributes:
        C: (B, NH, dv, dk) matrix memory.
        n: (B, NH, dk) normalizer.
        m: (B, NH) log-scale stabilizer (``-inf`` for a fresh memory).
    """

    C: Tensor
    n: Tensor
    m: Tensor


def mlstm_zero_state(
    batch_shape: tuple[int, ...], dk: int, dv: int, *, dtype: torch.dtype, device: torch.device
) -> mLSTMState:
    """A fresh memory: ``C = 0`` (*batch_shape, dv, dk), ``n = 0`` (*batch_shape, dk), ``m = -inf``."""
    return mLSTMState(
        C=torch.zeros(*batch_shape, dv, dk, dtype=dtype, device=device),
        n=torch.zeros(*batch_shape, dk, dtype=dtype, device=device),
        m=torch.full(batch_shape, -math.inf, dtype=dtype, device=device),
    )


def _log_dtype(dtype: torch.dtype) -> torch.dtype:
    """Dtype of the log-space gate math: float32 for 16-bit inputs (their cumulative sums of log
    gates would lose whole units), else the input's own."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _stabilizer(m: Tensor, storage: torch.dtype) -> Tensor:
    """A new stabilizer: detached (a constant for autograd) and rounded to the state's dtype, so
    that the stored ``(C, n, m)`` is exactly the memory the following steps computed with."""
    return m.detach().to(storage).to(m.dtype)


def _safe(m: Tensor) -> Tensor:
    """``m`` with ``-inf`` replaced by the most negative finite number, so ``x - m`` is never NaN.

    Where ``m = -inf`` every log weight it stabilizes is ``-inf`` too, and ``exp(-inf - min) = 0``.
    """
    return m.clamp_min(torch.finfo(m.dtype).min)


def _normalize(num: Tensor, qn: Tensor, m: Tensor) -> Tensor:
    """``h~ = num / max(|qn|, exp(-m))`` (eq. 21 in stabilized units). num (..., dv), qn, m (...)."""
    den = torch.maximum(qn.abs().to(m.dtype), torch.exp(-_safe(m)))  # (...)
    # exp(-m) underflows to 0 for m > ~88 (float32): the floor keeps a zero query (the padding of
    # the last chunk) at 0 / tiny = 0 instead of 0 / 0, forward and backward
    den = den.clamp_min(torch.finfo(m.dtype).tiny)
    return num / den[..., None].to(num.dtype)  # (..., dv)


def _check_inputs(q: Tensor, k: Tensor, v: Tensor, i_tilde: Tensor, log_f: Tensor) -> None:
    if q.dim() < 2 or q.shape != k.shape:
        raise ValueError(
            f"mLSTM: q and k must have the same shape (..., T, dk); got q {tuple(q.shape)} and "
            f"k {tuple(k.shape)}"
        )
    if v.shape[:-1] != q.shape[:-1]:
        raise ValueError(
            f"mLSTM: v must be (..., T, dv) with the leading shape of q {tuple(q.shape[:-1])}; "
            f"got {tuple(v.shape)}"
        )
    if i_tilde.shape != q.shape[:-1] or log_f.shape != q.shape[:-1]:
        raise ValueError(
            f"mLSTM: gate pre-activations must be (..., T) = {tuple(q.shape[:-1])}; got i_tilde "
            f"{tuple(i_tilde.shape)} and log_f {tuple(log_f.shape)}"
        )


def mlstm_recurrent_step(
    q: Tensor, k: Tensor, v: Tensor, i_tilde: Tensor, log_f: Tensor, state: mLSTMState
) -> tuple[Tensor, mLSTMState]:
    """One mLSTM step. q, k (B, NH, dk), v (B, NH, dv), i_tilde, log_f (B, NH) -> h~ (B, NH, dv)."""
    C, n, m = state
    ld = _log_dtype(q.dtype)
    i_tilde, log_f, m = i_tilde.to(ld), log_f.to(ld), m.to(ld)
    m_new = _stabilizer(torch.maximum(log_f + m, i_tilde), q.dtype)  # m_t (B, NH)
    m_safe = _safe(m_new)
    f_act = torch.exp(log_f + m - m_safe).to(q.dtype)  # f_t in stabilized units (B, NH)
    i_act = torch.exp(i_tilde - m_safe).to(q.dtype)  # i_t in stabilized units (B, NH)
    C = f_act[..., None, None] * C + i_act[..., None, None] * (v[..., :, None] * k[..., None, :])  # (19) (B, NH, dv, dk)
    n = f_act[..., None] * n + i_act[..., None] * k  # (20) (B, NH, dk)
    num = (C @ q[..., None]).squeeze(-1)  # C_t q_t (B, NH, dv)
    qn = (n * q).sum(-1)  # n_t^T q_t (B, NH)
    h_tilde = _normalize(num, qn, m_new)  # (21) (B, NH, dv)
    return h_tilde, mLSTMState(C, n, m_new.to(q.dtype))


def mlstm_recurrent(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    i_tilde: Tensor,
    log_f: Tensor,
    state: mLSTMState | None = None,
) -> tuple[Tensor, mLSTMState]:
    """Recurrent form: :func:`mlstm_recurrent_step` over T. Returns h~ (B, NH, T, dv) and the state."""
    _check_inputs(q, k, v, i_tilde, log_f)
    if state is None:
        state = mlstm_zero_state(
            q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device
        )
    outputs = []
    # unbind once: indexing step t in the loop would make backward scatter every step's gradient
    # into a zero tensor of the whole sequence, O(T^2)
    steps = zip(q.unbind(-2), k.unbind(-2), v.unbind(-2), i_tilde.unbind(-1), log_f.unbind(-1))
    for q_t, k_t, v_t, i_t, log_f_t in steps:
        h_t, state = mlstm_recurrent_step(q_t, k_t, v_t, i_t, log_f_t, state)
        outputs.append(h_t)
    if not outputs:
        return v.new_zeros(v.shape), state
    return torch.stack(outputs, dim=-2), state


def _parallel_within(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    i_tilde: Tensor,
    F: Tensor,
    state: mLSTMState | None,
) -> Tensor:
    """Parallel form over one block of L steps, starting from ``state``; returns h~ (..., L, dv).

    ``F`` (..., L) is the inclusive cumulative sum of log forget gates inside the block; it and
    ``i_tilde`` are in the log-space dtype (:func:`_log_dtype`).
    """
    L = q.shape[-2]
    log_D = F[..., :, None] - F[..., None, :] + i_tilde[..., None, :]  # log D_ts (..., L, L)
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    log_D = log_D.masked_fill(~causal, -math.inf)  # (..., L, L)
    m = log_D.amax(dim=-1)  # row max (..., L)
    if state is not None:
        log_w0 = F + state.m[..., None].to(F.dtype)  # log weight of the initial memory at t (..., L)
        m = torch.maximum(m, log_w0)
    m = m.detach()
    m_safe = _safe(m)
    D = torch.exp(log_D - m_safe[..., None]).to(q.dtype)  # (..., L, L)
    S = (q @ k.transpose(-1, -2)) * D  # (q_t . k_s) D_ts (..., L, L)
    num = S @ v  # C_t q_t (..., L, dv)
    qn = S.sum(dim=-1)  # n_t^T q_t (..., L)
    if state is not None:
        w0 = torch.exp(log_w0 - m_safe).to(q.dtype)  # (..., L)
        num = num + w0[..., None] * (q @ state.C.transpose(-1, -2))  # (..., L, dv)
        qn = qn + w0 * (q @ state.n[..., None]).squeeze(-1)  # (..., L)
    return _normalize(num, qn, m)  # (21) (..., L, dv)


def _block_memory(
    k: Tensor, v: Tensor, i_tilde: Tensor, F: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """What one block of L steps writes into the memory, in its own scale.

    Returns ``C_blk`` (..., dv, dk), ``n_blk`` (..., dk), ``m_blk`` (...) with
    ``C_blk e^m_blk = sum_s exp(F_L - F_s + i~_s) v_s k_s^T`` and ``g = F_L`` (...), the block's
    total log forget gate.
    """
    g = F[..., -1]  # (...)
    log_w = g[..., None] - F + i_tilde  # log weight of step s at the block end (..., L)
    m_blk = log_w.amax(dim=-1).detach()  # (...)
    w = torch.exp(log_w - _safe(m_blk)[..., None]).to(v.dtype)  # (..., L)
    C_blk = (v * w[..., None]).transpose(-1, -2) @ k  # (..., dv, dk)
    n_blk = (w[..., None] * k).sum(dim=-2)  # (..., dk)
    return C_blk, n_blk, m_blk, g


def _carry(state: mLSTMState, C_blk: Tensor, n_blk: Tensor, m_blk: Tensor, g: Tensor) -> mLSTMState:
    """Memory after a block: decay ``state`` by ``exp(g)`` and add the block's memory."""
    C, n, m = state
    m = m.to(g.dtype)
    m_new = _stabilizer(torch.maximum(g + m, m_blk), C.dtype)  # (...)
    m_safe = _safe(m_new)
    a = torch.exp(g + m - m_safe).to(C.dtype)  # decay of the old memory (...)
    b = torch.exp(m_blk - m_safe).to(C.dtype)  # scale of the block's memory (...)
    C = a[..., None, None] * C + b[..., None, None] * C_blk  # (..., dv, dk)
    n = a[..., None] * n + b[..., None] * n_blk  # (..., dk)
    return mLSTMState(C, n, m_new.to(C.dtype))


def mlstm_parallel(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    i_tilde: Tensor,
    log_f: Tensor,
    state: mLSTMState | None = None,
) -> tuple[Tensor, mLSTMState]:
    """Parallel form: all T steps through the (T, T) gate matrix; O(T^2) time and memory.

    Returns h~ (B, NH, T, dv) and the state after the last step.
    """
    _check_inputs(q, k, v, i_tilde, log_f)
    if state is None:
        state0 = mlstm_zero_state(
            q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device
        )
    else:
        state0 = state
    if q.shape[-2] == 0:
        return v.new_zeros(v.shape), state0
    ld = _log_dtype(q.dtype)
    i_tilde = i_tilde.to(ld)
    F = torch.cumsum(log_f.to(ld), dim=-1)  # sum_{r<=t} log f_r (B, NH, T)
    h_tilde = _parallel_within(q, k, v, i_tilde, F, state)
    return h_tilde, _carry(state0, *_block_memory(k, v, i_tilde, F))


def mlstm_chunkwise(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    i_tilde: Tensor,
    log_f: Tensor,
    state: mLSTMState | None = None,
    *,
    chunk_size: int = 64,
) -> tuple[Tensor, mLSTMState]:
    """Chunkwise form: parallel inside chunks of ``chunk_size`` steps, recurrent across them.

    Time O(T (L + d) d) and memory linear in T: the only loop is over the T / L chunk boundaries,
    carrying ``(C, n, m)``; the intra-chunk parallel form runs for all chunks at once.
    T need not be a multiple of ``chunk_size`` (the last chunk is padded with steps that leave the
    memory untouched). Returns h~ (B, NH, T, dv) and the state after the last step.
    """
    _check_inputs(q, k, v, i_tilde, log_f)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(
            f"mLSTM: chunk_size must be a positive int; got {chunk_size!r} (use e.g. 64)"
        )
    *lead, T, dk = q.shape
    dv = v.shape[-1]
    if state is None:
        state = mlstm_zero_state(tuple(lead), dk, dv, dtype=q.dtype, device=q.device)
    if T == 0:
        return v.new_zeros(v.shape), state
    L = min(chunk_size, T)
    NC = -(-T // L)
    pad = NC * L - T
    if pad:  # padded steps: i~ = -inf, log f = 0, so the memory is untouched
        q = torch.nn.functional.pad(q, (0, 0, 0, pad))
        k = torch.nn.functional.pad(k, (0, 0, 0, pad))
        v = torch.nn.functional.pad(v, (0, 0, 0, pad))
        i_tilde = torch.nn.functional.pad(i_tilde, (0, pad), value=-math.inf)
        log_f = torch.nn.functional.pad(log_f, (0, pad))
    q = q.reshape(*lead, NC, L, dk)  # (B, NH, NC, L, dk)
    k = k.reshape(*lead, NC, L, dk)
    v = v.reshape(*lead, NC, L, dv)
    ld = _log_dtype(q.dtype)
    i_tilde = i_tilde.reshape(*lead, NC, L).to(ld)  # (B, NH, NC, L)
    F = torch.cumsum(log_f.reshape(*lead, NC, L).to(ld), dim=-1)  # within-chunk cumsum (B, NH, NC, L)

    blocks = _block_memory(k, v, i_tilde, F)  # per chunk: C (B, NH, NC, dv, dk), n, m, g
    # unbind once: indexing chunk j inside the loop would make autograd scatter each chunk's
    # gradient into a zero tensor of all NC chunks, O(NC^2) time in backward
    C_blk, n_blk = blocks[0].unbind(-3), blocks[1].unbind(-2)
    m_blk, g = blocks[2].unbind(-1), blocks[3].unbind(-1)
    starts = []
    for j in range(NC):  # the only loop: T / L chunk boundaries
        starts.append(state)
        state = _carry(state, C_blk[j], n_blk[j], m_blk[j], g[j])
    chunk_starts = mLSTMState(*(torch.stack(parts, dim=len(lead)) for parts in zip(*starts)))
    h_tilde = _parallel_within(q, k, v, i_tilde, F, chunk_starts)  # (B, NH, NC, L, dv)
    h_tilde = h_tilde.reshape(*lead, NC * L, dv)[..., :T, :]  # (B, NH, T, dv)
    return h_tilde, state


def freeze_past_lengths(i_tilde: Tensor, log_f: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
    """Input gate 0 (``i~ = -inf``) and forget gate 1 (``log f = 0``) past each sequence's length.

    i_tilde, log_f (B, NH, T); lengths None or (B,) ints. The memory after T steps is then the
    memory at each true end, in every form.
    """
    if lengths is None:
        return i_tilde, log_f
    steps = torch.arange(i_tilde.shape[-1], device=i_tilde.device)  # (T,)
    real = (steps < lengths.to(i_tilde.device)[:, None]).unsqueeze(1)  # (B, 1, T)
    return i_tilde.masked_fill(~real, -math.inf), log_f.masked_fill(~real, 0.0)


def mlstm_sequence(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    i_tilde: Tensor,
    log_f: Tensor,
    state: mLSTMState | None = None,
    *,
    form: MLSTMForm = "chunkwise",
    chunk_size: int = 64,
) -> tuple[Tensor, mLSTMState]:
    """Run the memory over a sequence with the named form (see the module docstring)."""
    if form == "chunkwise":
        return mlstm_chunkwise(q, k, v, i_tilde, log_f, state, chunk_size=chunk_size)
    if form == "parallel":
        return mlstm_parallel(q, k, v, i_tilde, log_f, state)
    if form == "recurrent":
        return mlstm_recurrent(q, k, v, i_tilde, log_f, state)
    raise ValueError(f"mLSTM: form must be one of {MLSTM_FORMS}; got {form!r}")
