"""sLSTM cell (seed 003, eqs. 8-14) and its fused whole-sequence path."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.cells.slstm import recurrent_preactivation, sLSTMCell, sLSTMState, slstm_zero_state
from rnnkit.functional import slstm as slstm_functional
from rnnkit.functional.slstm import head_recurrent_matrices, slstm_sequence

F_IN, H, NH, B = 3, 6, 2, 2


def make_cell(forget_gate="sigmoid", dtype=torch.float64, **kwargs):
    cell = sLSTMCell(F_IN, H, NH, forget_gate=forget_gate, **kwargs).to(dtype)
    with torch.no_grad():  # varied gates: make the exponential input gate matter
        if cell.bias is not None:
            cell.bias.normal_(0.0, 1.0)
        cell.weight_hh.mul_(3.0)
    return cell


def run_cell(cell, xs, state=None):
    """Loop the cell over xs (T, B, F); returns the stacked states (each (T, B, H))."""
    states = []
    for x_t in xs:
        state = cell(x_t, state)
        states.append(state)
    return sLSTMState(*(torch.stack(parts) for parts in zip(*states)))


def naive_slstm(cell, xs, h0=None, c0=None, n0=None):
    """Eqs. 8-14 with plain exponentials (no stabilizer), R built as an explicit block diagonal."""
    T, batch, _ = xs.shape
    W = cell.weight_hh.view(4, NH, H // NH, H // NH)
    R = torch.stack([torch.block_diag(*W[g]) for g in range(4)])  # (4, H, H): r_z, r_i, ... per gate
    b = cell.bias.view(4, H)
    Wx = cell.weight_ih.view(4, H, F_IN)
    h = torch.zeros(batch, H, dtype=xs.dtype) if h0 is None else h0
    c = torch.zeros(batch, H, dtype=xs.dtype) if c0 is None else c0
    n = torch.zeros(batch, H, dtype=xs.dtype) if n0 is None else n0
    hs, cs, ns = [], [], []
    for x in xs:
        i_t, f_t, z_t, o_t = (x @ Wx[g].T + h @ R[g].T + b[g] for g in range(4))  # w^T x + r h + b
        i = torch.exp(i_t)  # (12)
        f = torch.sigmoid(f_t) if cell.forget_gate == "sigmoid" else torch.exp(f_t)  # (13)
        z = torch.tanh(z_t)  # (11)
        o = torch.sigmoid(o_t)  # (14)
        c = f * c + i * z  # (8)
        n = f * n + i  # (9)
        h = o * c / n  # (10)
        hs.append(h)
        cs.append(c)
        ns.append(n)
    return torch.stack(hs), torch.stack(cs), torch.stack(ns)


@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
def test_cell_matches_naive_unstabilized_equations(forget_gate):
    cell = make_cell(forget_gate)
    xs = torch.randn(7, B, F_IN, dtype=torch.float64)
    out = run_cell(cell, xs)
    h, c, n = naive_slstm(cell, xs)
    assert torch.allclose(out.h, h, rtol=1e-11, atol=1e-13)
    scale = out.m.exp()  # true states = stabilized states * exp(m)
    assert torch.allclose(out.c * scale, c, rtol=1e-11, atol=1e-13)
    assert torch.allclose(out.n * scale, n, rtol=1e-11, atol=1e-13)


def test_stabilizer_does_not_change_h():
    """The same true state at another scale m gives the same outputs, to rounding."""
    cell = make_cell()
    xs = torch.randn(6, B, F_IN, dtype=torch.float64)
    state = sLSTMState(*(torch.randn(B, H, dtype=torch.float64) for _ in range(2)),
                       torch.rand(B, H, dtype=torch.float64) + 0.5, torch.randn(B, H, dtype=torch.float64))
    reference = run_cell(cell, xs, state)
    for shift in (-20.0, 20.0):
        shifted = sLSTMState(state.h, state.c * math.exp(-shift), state.n * math.exp(-shift), state.m + shift)
        out = run_cell(cell, xs, shifted)
        assert torch.allclose(out.h, reference.h, rtol=1e-10, atol=1e-12)


def test_head_recurrent_matrices_are_the_diagonal_blocks():
    cell = make_cell()
    R = head_recurrent_matrices(cell.weight_hh, NH)  # (NH, DH, 4 DH): a[head] = h[head] R[head]
    DH = H // NH
    W = cell.weight_hh.view(4, NH, DH, DH)  # [gate, head, unit j, unit k]
    for head in range(NH):
        for g in range(4):
            assert torch.equal(R[head, :, g * DH : (g + 1) * DH], W[g, head].T)
    # per-head products == h times the dense block-diagonal matrix == the cell's einsum
    h = torch.randn(B, H, dtype=torch.float64)
    a = torch.einsum("bnk,nkc->bnc", h.view(B, NH, DH), R).view(B, NH, 4, DH).transpose(1, 2).reshape(B, 4 * H)
    dense = torch.cat([torch.block_diag(*W[g]).T for g in range(4)], dim=1)  # (H, 4H): a = h R
    assert (a - h @ dense).abs().max() <= 1e-12
    assert (a - recurrent_preactivation(h, cell.weight_hh, NH)).abs().max() <= 1e-12


@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
def test_gradcheck_cell(forget_gate):
    cell = sLSTMCell(2, 4, 2, forget_gate=forget_gate).double()
    xs = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)
    params = (cell.weight_ih, cell.weight_hh, cell.bias)

    def fn(xs, weight_ih, weight_hh, bias):
        state = None
        hs = []
        for x_t in xs:
            state = torch.func.functional_call(
                cell, {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias": bias}, (x_t, state)
            )
            hs.append(state.h)
        return torch.stack(hs), state.c * state.m.exp(), state.n * state.m.exp()

    inputs = (xs, *(p.detach().clone().requires_grad_() for p in params))
    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("scripted", [True, False], ids=["torchscript", "python"])
@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_fused_sequence_equals_cell_forward_and_backward(forget_gate, dtype, tol, scripted):
    cell = make_cell(forget_gate, dtype)
    T = 9
    xs = torch.randn(T, B, F_IN, dtype=dtype, requires_grad=True)
    state = [torch.randn(B, H, dtype=dtype).requires_grad_(), torch.randn(B, H, dtype=dtype).requires_grad_(),
             (torch.rand(B, H, dtype=dtype) + 0.5).requires_grad_(), torch.randn(B, H, dtype=dtype)]
    weights = torch.randn(3, T, B, H, dtype=dtype)
    wrt = [xs, *state[:3], cell.weight_ih, cell.weight_hh, cell.bias]

    reference = run_cell(cell, xs, sLSTMState(*state))
    fused = slstm_sequence(xs, tuple(state), cell.weight_ih, cell.weight_hh, cell.bias, NH, forget_gate, scripted)
    results = []
    for out in (reference[:3], fused[:3]):
        loss = sum((o * w).sum() for o, w in zip(out, weights))  # a loss of h, c and n at every step
        results.append((out, torch.autograd.grad(loss, wrt)))
    (out_ref, grads_ref), (out_fused, grads_fused) = results
    assert (reference.m - fused[3]).abs().max() <= tol
    for a, b in zip(out_fused, out_ref):
        assert (a - b).abs().max() <= tol
    for a, b in zip(grads_fused, grads_ref):
        assert (a - b).abs().max() <= tol * max(1.0, b.abs().max().item())


def test_time_loops_fall_back_to_python_when_scripting_fails(monkeypatch, caplog):
    def broken_script(fn):
        raise RuntimeError("no TorchScript here")

    slstm_functional.scripted_steps.cache_clear()
    monkeypatch.setattr(torch.jit, "script", broken_script)
    try:
        with caplog.at_level("WARNING", logger="rnnkit.functional.slstm"):
            loops = slstm_functional.step_loops(scripted=True)
        assert loops == (slstm_functional.forward_steps, slstm_functional.backward_steps)
        assert "torch.jit.script failed (no TorchScript here)" in caplog.text
    finally:
        slstm_functional.scripted_steps.cache_clear()
    monkeypatch.undo()
    forward_loop, _ = slstm_functional.step_loops(scripted=True)
    assert isinstance(forward_loop, torch.jit.ScriptFunction)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias_value", [100.0, -100.0])
def test_extreme_preactivations_stay_finite(dtype, bias_value):
    """Gate pre-activations of +/-100 (mixed signs per gate), forward and backward, both paths."""
    cell = make_cell(dtype=dtype)
    signs = torch.tensor([1.0, -1.0]).repeat(2 * H)  # alternate signs across the 4H pre-activations
    with torch.no_grad():
        cell.bias.copy_(bias_value * signs)
    xs = torch.randn(30, B, F_IN, dtype=dtype, requires_grad=True)
    reference = run_cell(cell, xs)
    fused = slstm_sequence(xs, tuple(slstm_zero_state(B, H, dtype=dtype, device="cpu")),
                           cell.weight_ih, cell.weight_hh, cell.bias, NH)
    for out in (reference, fused):
        assert all(torch.isfinite(s).all() for s in out)
        (grad,) = torch.autograd.grad(out[0].sum() + out[1].sum(), xs)
        assert torch.isfinite(grad).all()


def test_bfloat16_cell_is_finite():
    cell = make_cell(dtype=torch.bfloat16)
    out = run_cell(cell, torch.randn(20, B, F_IN, dtype=torch.bfloat16) * 30)
    assert all(torch.isfinite(s).all() for s in out)


def test_ten_thousand_steps_stay_finite():
    cell = sLSTMCell(2, 2, 1)
    xs = (5 * torch.randn(10_000, 1, 2)).requires_grad_()
    out = slstm_sequence(xs, tuple(slstm_zero_state(1, 2, dtype=torch.float32, device="cpu")),
                         cell.weight_ih, cell.weight_hh, cell.bias, 1)
    out[0].sum().backward()
    assert all(torch.isfinite(s).all() for s in out)
    assert torch.isfinite(xs.grad).all() and torch.isfinite(cell.weight_hh.grad).all()


def test_fresh_state_and_init():
    cell = sLSTMCell(F_IN, 8)
    assert cell.num_heads == 4 and cell.weight_hh.shape == (32, 2)
    assert sLSTMCell(F_IN, 6).num_heads == 1
    f_bias = cell.bias[8:16]
    assert torch.allclose(f_bias, torch.linspace(3.0, 6.0, 8))  # forget gate biased open
    assert torch.count_nonzero(cell.bias[:8]) == 0 and torch.count_nonzero(cell.bias[16:]) == 0
    state = cell(torch.randn(B, F_IN))
    assert isinstance(state, sLSTMState) and all(torch.isfinite(s).all() for s in state)
    assert (state.n >= 1.0).all()  # a fresh state starts the normalizer at i / i = 1


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"num_heads must divide hidden_size=6, got num_heads=4"):
        sLSTMCell(3, 6, 4)
    with pytest.raises(ValueError, match=r"forget_gate must be 'sigmoid' or 'exp' \(eq. 13\), got 'relu'"):
        sLSTMCell(3, 6, forget_gate="relu")
    with pytest.raises(TypeError, match=r"num_heads must be a positive int"):
        sLSTMCell(3, 6, 2.0)
    cell = sLSTMCell(3, 6)
    with pytest.raises(ValueError, match=r"input must have shape \(batch, input_size=3\), got \(2, 4\)"):
        cell(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"state c must have shape \(2, 6\), got \(2, 5\)"):
        cell(torch.randn(2, 3), (torch.zeros(2, 6), torch.zeros(2, 5), torch.zeros(2, 6), torch.zeros(2, 6)))
    with pytest.raises(TypeError, match=r"state must be a tuple \(h, c, n, m\)"):
        cell(torch.randn(2, 3), torch.zeros(2, 6))
    with pytest.raises(TypeError, match=r"input dtype torch.float64 does not match"):
        cell(torch.randn(2, 3, dtype=torch.float64))
