"""The three mLSTM forms (recurrent, parallel, chunkwise) compute one function, eqs. 19-21."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.functional.mlstm import (
    freeze_past_lengths,
    mLSTMState,
    mlstm_chunkwise,
    mlstm_parallel,
    mlstm_recurrent,
    mlstm_sequence,
)

CHUNK = 8
FORMS = {
    "recurrent": mlstm_recurrent,
    "parallel": mlstm_parallel,
    "chunkwise": lambda *a: mlstm_chunkwise(*a, chunk_size=CHUNK),
}


def make_inputs(T, *, B=2, NH=2, d=3, dtype=torch.float64, gate_scale=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, NH, T, d, generator=g, dtype=dtype) for _ in range(3))
    k = k / math.sqrt(d)
    i_tilde = gate_scale * torch.randn(B, NH, T, generator=g, dtype=dtype)
    log_f = F.logsigmoid(gate_scale * torch.randn(B, NH, T, generator=g, dtype=dtype) + 1.0)
    return [q, k, v, i_tilde, log_f]


def make_state(*, B=2, NH=2, d=3, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return mLSTMState(
        C=torch.randn(B, NH, d, d, generator=g, dtype=dtype),
        n=torch.randn(B, NH, d, generator=g, dtype=dtype),
        m=torch.randn(B, NH, generator=g, dtype=dtype),
    )


def naive_mlstm(q, k, v, i_tilde, log_f, C0=None, n0=None):
    """Eqs. 19-21 with plain exponentials, no stabilizer, written out step by step (float64)."""
    B, NH, T, d = q.shape
    C = torch.zeros(B, NH, d, d, dtype=q.dtype) if C0 is None else C0.clone()
    n = torch.zeros(B, NH, d, dtype=q.dtype) if n0 is None else n0.clone()
    hs = []
    for t in range(T):
        f = torch.exp(log_f[..., t])[..., None]  # f_t
        i = torch.exp(i_tilde[..., t])[..., None]  # i_t = exp(i~_t)
        C = f[..., None] * C + i[..., None] * torch.einsum("bhv,bhk->bhvk", v[..., t, :], k[..., t, :])
        n = f * n + i * k[..., t, :]
        num = torch.einsum("bhvk,bhk->bhv", C, q[..., t, :])
        den = torch.clamp((n * q[..., t, :]).sum(-1).abs(), min=1.0)
        hs.append(num / den[..., None])
    return torch.stack(hs, dim=-2), C, n


def run_with_grads(form, inputs, state):
    """h~ and final state of a form, and the gradients of a fixed random loss of h~ and state."""
    leaves = [x.detach().clone().requires_grad_() for x in inputs]
    state_leaves = None
    if state is not None:
        state_leaves = mLSTMState(state.C.clone().requires_grad_(), state.n.clone().requires_grad_(), state.m)
    h, final = FORMS[form](*leaves, state_leaves)
    g = torch.Generator().manual_seed(5)
    w_h = torch.randn(h.shape, generator=g, dtype=h.dtype)
    w_C = torch.randn(final.C.shape, generator=g, dtype=h.dtype)
    w_n = torch.randn(final.n.shape, generator=g, dtype=h.dtype)
    loss = (h * w_h).sum() + (final.C * w_C).sum() + (final.n * w_n).sum()
    wrt = leaves + ([] if state_leaves is None else [state_leaves.C, state_leaves.n])
    grads = torch.autograd.grad(loss, wrt)
    return h.detach(), [s.detach() for s in final], grads


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("T", [5, CHUNK, 19, 3 * CHUNK])  # below, equal, above & not a multiple, multiple
@pytest.mark.parametrize("with_state", [False, True])
def test_forms_agree_forward_and_backward(dtype, tol, T, with_state):
    inputs = make_inputs(T, dtype=dtype)
    state = make_state(dtype=dtype) if with_state else None
    h_ref, s_ref, g_ref = run_with_grads("recurrent", inputs, state)
    for form in ("parallel", "chunkwise"):
        h, s, g = run_with_grads(form, inputs, state)
        assert (h - h_ref).abs().max() <= tol, form
        for a, b in zip(s, s_ref):
            assert (a - b).abs().max() <= tol * max(1.0, b.abs().max().item()), form
        for a, b in zip(g, g_ref):
            assert (a - b).abs().max() <= tol * max(1.0, b.abs().max().item()), form


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("with_state", [False, True])
def test_each_form_matches_naive_unstabilized_recomputation(form, with_state):
    inputs = make_inputs(19)
    state = make_state() if with_state else None
    h, final = FORMS[form](*inputs, state)
    C0 = n0 = None
    if state is not None:  # the naive recurrence works in true units: C e^m, n e^m
        C0 = state.C * state.m.exp()[..., None, None]
        n0 = state.n * state.m.exp()[..., None]
    h_naive, C_naive, n_naive = naive_mlstm(*inputs, C0, n0)
    assert torch.allclose(h, h_naive, rtol=1e-10, atol=1e-11)
    assert torch.allclose(final.C * final.m.exp()[..., None, None], C_naive, rtol=1e-10, atol=1e-11)
    assert torch.allclose(final.n * final.m.exp()[..., None], n_naive, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("form", FORMS)
def test_gradcheck_each_form(form):
    inputs = [x.requires_grad_() for x in make_inputs(5, B=1, NH=2, d=2)]
    state = make_state(B=1, NH=2, d=2)
    C0, n0 = state.C.clone().requires_grad_(), state.n.clone().requires_grad_()

    def fn(q, k, v, i_tilde, log_f, C, n):
        chunked = {"chunkwise": lambda *a: mlstm_chunkwise(*a, chunk_size=2)}
        h, final = chunked.get(form, FORMS[form])(q, k, v, i_tilde, log_f, mLSTMState(C, n, state.m))
        return h, final.C * final.m.exp()[..., None, None]  # final memory in true units

    assert torch.autograd.gradcheck(fn, (*inputs, C0, n0))


@pytest.mark.parametrize("form", FORMS)
def test_stabilizer_does_not_change_the_output(form):
    """The same true memory at a different scale m gives the same h~."""
    inputs = make_inputs(11)
    state = make_state()
    h, _ = FORMS[form](*inputs, state)
    for shift in (-30.0, 30.0):
        shifted = mLSTMState(state.C * math.exp(-shift), state.n * math.exp(-shift), state.m + shift)
        h_shifted, _ = FORMS[form](*inputs, shifted)
        assert torch.allclose(h_shifted, h, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_split_sequence_state_passing(form):
    inputs = make_inputs(21)
    h_whole, s_whole = FORMS[form](*inputs, None)
    h_first, s_mid = FORMS[form](*(x[..., :9, :] if x.dim() == 4 else x[..., :9] for x in inputs), None)
    h_second, s_end = FORMS[form](*(x[..., 9:, :] if x.dim() == 4 else x[..., 9:] for x in inputs), s_mid)
    assert torch.allclose(torch.cat((h_first, h_second), dim=-2), h_whole, rtol=1e-10, atol=1e-12)
    for a, b in zip(s_end, s_whole):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_frozen_steps_leave_the_memory_untouched(form):
    """i~ = -inf, log f = 0 past each length (whole chunks included): final state = state at the end."""
    inputs = make_inputs(3 * CHUNK)
    lengths = torch.tensor([5, 3 * CHUNK])
    i_tilde, log_f = freeze_past_lengths(inputs[3], inputs[4], lengths)
    h, final = FORMS[form](*inputs[:3], i_tilde, log_f, None)
    for b, length in enumerate(lengths.tolist()):
        one = [x[b : b + 1, ..., :length, :] if x.dim() == 4 else x[b : b + 1, ..., :length] for x in inputs]
        h_b, final_b = FORMS[form](*one, None)
        assert torch.allclose(h[b : b + 1, ..., :length, :], h_b, rtol=1e-10, atol=1e-12)
        for a, c in zip(final, final_b):
            assert torch.allclose(a[b : b + 1], c, rtol=1e-10, atol=1e-12)
    assert torch.isfinite(h).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("form", FORMS)
def test_extreme_gate_preactivations_stay_finite(form, dtype):
    inputs = make_inputs(43, dtype=dtype)  # not a multiple of the chunk: a padded last chunk
    signs = torch.randint(0, 2, inputs[3].shape, generator=torch.Generator().manual_seed(3)) * 2 - 1
    i_tilde = (100.0 * signs).to(dtype)  # i~ = +/-100
    for f_tilde in (100.0, -100.0):  # forget gate fully open / log f = -100
        log_f = F.logsigmoid(torch.full_like(i_tilde, f_tilde))
        leaves = [x.clone().requires_grad_() for x in (*inputs[:3], i_tilde, log_f)]
        h, final = FORMS[form](*leaves, None)
        (h.sum() + final.C.sum()).backward()
        assert torch.isfinite(h).all() and all(torch.isfinite(s).all() for s in final)
        assert all(torch.isfinite(x.grad).all() for x in leaves)


def test_ten_thousand_steps_stay_finite():
    """10,000 steps: chunkwise forward and backward (the training form), recurrent forward (the
    generation form); the parallel form would need a 10,000^2 matrix and is covered at T=40 above."""
    inputs = [x.float().requires_grad_() for x in make_inputs(10_000, B=1, NH=1, d=2, gate_scale=5.0)]
    h, final = mlstm_chunkwise(*inputs, chunk_size=64)
    h.sum().backward()
    assert torch.isfinite(h).all() and all(torch.isfinite(s).all() for s in final)
    assert all(torch.isfinite(x.grad).all() for x in inputs)
    with torch.no_grad():
        h_rec, final_rec = mlstm_recurrent(*inputs)
    assert torch.isfinite(h_rec).all() and all(torch.isfinite(s).all() for s in final_rec)
    assert torch.allclose(h_rec, h, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("form", FORMS)
def test_bfloat16_is_finite_and_close(form):
    inputs = make_inputs(40, dtype=torch.float32)
    h32, _ = FORMS[form](*inputs, None)
    h16, final16 = FORMS[form](*(x.bfloat16() for x in inputs), None)
    assert h16.dtype == torch.bfloat16 and all(s.dtype == torch.bfloat16 for s in final16)
    assert torch.isfinite(h16).all()
    assert (h16.float() - h32).abs().max() <= 0.05 * h32.abs().max()


def test_chunkwise_length_is_any_and_time_loop_is_over_chunks_only():
    inputs = make_inputs(2 * CHUNK + 1)
    h_ref, _ = mlstm_recurrent(*inputs)
    for chunk in (1, 2, 3, CHUNK, 100):
        h, _ = mlstm_chunkwise(*inputs, chunk_size=chunk)
        assert torch.allclose(h, h_ref, rtol=1e-10, atol=1e-12)


def test_bad_arguments_are_named():
    q, k, v, i_tilde, log_f = make_inputs(6)
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int; got 0"):
        mlstm_chunkwise(q, k, v, i_tilde, log_f, chunk_size=0)
    with pytest.raises(ValueError, match=r"form must be one of .*; got 'quadratic'"):
        mlstm_sequence(q, k, v, i_tilde, log_f, form="quadratic")
    with pytest.raises(ValueError, match=r"q and k must have the same shape"):
        mlstm_parallel(q, k[..., :2], v, i_tilde, log_f)
    with pytest.raises(ValueError, match=r"gate pre-activations must be \(\.\.\., T\)"):
        mlstm_recurrent(q, k, v, i_tilde[..., :3], log_f)
