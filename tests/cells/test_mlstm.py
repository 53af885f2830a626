"""mLSTM cell (seed 003, eqs. 19-27): projections, memory step, output gate."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.cells.mlstm import mLSTMCell
from rnnkit.functional.mlstm import mLSTMState

F_IN, H, NH, B = 3, 6, 2, 2
D = H // NH


def make_cell(forget_gate="sigmoid", dtype=torch.float64):
    cell = mLSTMCell(F_IN, H, NH, forget_gate=forget_gate).to(dtype)
    with torch.no_grad():
        cell.bias.normal_(0.0, 1.0)  # gates of both signs
    return cell


def run_cell(cell, xs, state=None):
    hs = []
    for x_t in xs:
        h, state = cell(x_t, state)
        hs.append(h)
    return torch.stack(hs), state


def naive_mlstm_cell(cell, xs):
    """Eqs. 19-27 per head with plain exponentials, written from the seed (float64)."""
    W, b = cell.weight, cell.bias
    rows = {"q": slice(0, H), "k": slice(H, 2 * H), "v": slice(2 * H, 3 * H),
            "i": slice(3 * H, 3 * H + NH), "f": slice(3 * H + NH, 3 * H + 2 * NH), "o": slice(3 * H + 2 * NH, None)}
    C = torch.zeros(xs.shape[1], NH, D, D, dtype=xs.dtype)
    n = torch.zeros(xs.shape[1], NH, D, dtype=xs.dtype)
    hs = []
    for x in xs:
        q = (x @ W[rows["q"]].T + b[rows["q"]]).view(-1, NH, D)  # (22)
        k = (x @ W[rows["k"]].T / math.sqrt(D) + b[rows["k"]]).view(-1, NH, D)  # (23)
        v = (x @ W[rows["v"]].T + b[rows["v"]]).view(-1, NH, D)  # (24)
        i = torch.exp(x @ W[rows["i"]].T + b[rows["i"]])  # (25)
        f_tilde = x @ W[rows["f"]].T + b[rows["f"]]
        f = torch.sigmoid(f_tilde) if cell.forget_gate == "sigmoid" else torch.exp(f_tilde)  # (26)
        o = torch.sigmoid(x @ W[rows["o"]].T + b[rows["o"]])  # (27)
        for head in range(NH):
            C[:, head] = f[:, head, None, None] * C[:, head] + i[:, head, None, None] * torch.einsum(
                "bv,bk->bvk", v[:, head], k[:, head])  # (19)
            n[:, head] = f[:, head, None] * n[:, head] + i[:, head, None] * k[:, head]  # (20)
        num = torch.einsum("bhvk,bhk->bhv", C, q)
        den = torch.clamp((n * q).sum(-1).abs(), min=1.0)
        hs.append(o * (num / den[..., None]).reshape(-1, H))  # (21)
    return torch.stack(hs)


@pytest.mark.parametrize("forget_gate", ["sigmoid", "exp"])
def test_cell_matches_naive_unstabilized_equations(forget_gate):
    cell = make_cell(forget_gate)
    xs = torch.randn(8, B, F_IN, dtype=torch.float64)
    hs, _ = run_cell(cell, xs)
    assert torch.allclose(hs, naive_mlstm_cell(cell, xs), rtol=1e-11, atol=1e-13)


def test_gradcheck_cell():
    cell = mLSTMCell(2, 4, 2).double()
    xs = torch.randn(3, 1, 2, dtype=torch.float64, requires_grad=True)

    def fn(xs, weight, bias):
        state = None
        hs = []
        for x_t in xs:
            h, state = torch.func.functional_call(cell, {"weight": weight, "bias": bias}, (x_t, state))
            hs.append(h)
        return torch.stack(hs), state.C * state.m.exp()[..., None, None]

    inputs = (xs, cell.weight.detach().clone().requires_grad_(), cell.bias.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(fn, inputs)


def test_stabilizer_does_not_change_h():
    cell = make_cell()
    xs = torch.randn(5, B, F_IN, dtype=torch.float64)
    _, state = run_cell(cell, torch.randn(3, B, F_IN, dtype=torch.float64))
    reference, _ = run_cell(cell, xs, state)
    for shift in (-25.0, 25.0):
        shifted = mLSTMState(state.C * math.exp(-shift), state.n * math.exp(-shift), state.m + shift)
        hs, _ = run_cell(cell, xs, shifted)
        assert torch.allclose(hs, reference, rtol=1e-10, atol=1e-12)


def test_init_and_shapes():
    cell = mLSTMCell(F_IN, 8)
    assert cell.num_heads == 4 and cell.weight.shape == (4 * 8 + 2 * 4, F_IN)
    f_bias = cell.bias[3 * 8 + 4 : 3 * 8 + 8]
    assert torch.allclose(f_bias, torch.linspace(3.0, 6.0, 4))  # forget gate biased open per head
    h, state = cell(torch.randn(B, F_IN))
    assert h.shape == (B, 8)
    assert state.C.shape == (B, 4, 2, 2) and state.n.shape == (B, 4, 2) and state.m.shape == (B, 4)
    assert torch.isfinite(state.m).all()


def test_extreme_inputs_stay_finite():
    cell = make_cell(dtype=torch.float32)
    xs = (torch.randn(30, B, F_IN) * 300).requires_grad_()  # gate pre-activations in the hundreds
    hs, state = run_cell(cell, xs)
    hs.sum().backward()
    assert torch.isfinite(hs).all() and all(torch.isfinite(s).all() for s in state)
    assert torch.isfinite(xs.grad).all() and torch.isfinite(cell.weight.grad).all()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"num_heads must divide hidden_size=6, got num_heads=4"):
        mLSTMCell(3, 6, 4)
    with pytest.raises(ValueError, match=r"forget_gate must be 'sigmoid' or 'exp'"):
        mLSTMCell(3, 6, forget_gate="tanh")
    cell = mLSTMCell(3, 6, 2)
    with pytest.raises(ValueError, match=r"input must have shape \(batch, input_size=3\), got \(5, 2, 3\)"):
        cell(torch.randn(5, 2, 3))
    bad = mLSTMState(torch.zeros(2, 2, 3, 3), torch.zeros(2, 2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"state m must have shape \(2, 2\), got \(2, 3\)"):
        cell(torch.randn(2, 3), bad)
