"""Cells: parity with torch.nn's cells, gradcheck, the seeds' GRU form, and bad-input messages."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.cells import elman_step, gru_step, lstm_step

TOL = 1e-12


@pytest.mark.parametrize(
    ("ours", "ref"),
    [
        (lambda: rnnkit.RNNCell(3, 4, dtype=torch.float64), lambda: torch.nn.RNNCell(3, 4, dtype=torch.float64)),
        (
            lambda: rnnkit.RNNCell(3, 4, nonlinearity="relu", dtype=torch.float64),
            lambda: torch.nn.RNNCell(3, 4, nonlinearity="relu", dtype=torch.float64),
        ),
        (lambda: rnnkit.LSTMCell(3, 4, dtype=torch.float64), lambda: torch.nn.LSTMCell(3, 4, dtype=torch.float64)),
        (lambda: rnnkit.GRUCell(3, 4, dtype=torch.float64), lambda: torch.nn.GRUCell(3, 4, dtype=torch.float64)),
        (
            lambda: rnnkit.GRUCell(3, 4, bias=False, dtype=torch.float64),
            lambda: torch.nn.GRUCell(3, 4, bias=False, dtype=torch.float64),
        ),
    ],
)
def test_cell_matches_torch_cell_batched_and_unbatched(ours, ref):
    torch.manual_seed(5)
    cell = ours()
    torch.manual_seed(5)
    torch_cell = ref()
    for key, value in torch_cell.state_dict().items():  # torch's names, shapes, order and init
        assert torch.equal(cell.state_dict()[key], value)
    is_lstm = isinstance(cell, rnnkit.LSTMCell)
    for shape in [(2, 3), (3,)]:
        x = torch.randn(shape, dtype=torch.float64)
        h = torch.randn(*shape[:-1], 4, dtype=torch.float64)
        state = (h, torch.randn_like(h)) if is_lstm else h
        got, expected = cell(x, state), torch_cell(x, state)
        for a, b in zip(got if is_lstm else [got], expected if is_lstm else [expected], strict=True):
            assert a.shape == b.shape and (a - b).abs().max() <= TOL
        default = cell(x)  # zero state when None
        zero = cell(x, (torch.zeros_like(h), torch.zeros_like(h)) if is_lstm else torch.zeros_like(h))
        assert all(torch.equal(a, b) for a, b in zip(default if is_lstm else [default], zero if is_lstm else [zero]))


def _params(gates, with_grad=True):
    shapes = [(gates * 3, 2), (gates * 3, 3), (gates * 3,), (gates * 3,)]
    return [torch.randn(s, dtype=torch.float64, requires_grad=with_grad) for s in shapes]


@pytest.mark.parametrize(
    ("name", "gates", "fn"),
    [
        ("elman_tanh", 1, lambda x, h, *w: elman_step(x, h, *w, "tanh")),
        ("elman_relu", 1, lambda x, h, *w: elman_step(x, h, *w, "relu")),
        ("lstm", 4, lambda x, h, *w: lstm_step(x, (h, torch.tanh(h)), *w)),
        ("gru_reset_after", 3, lambda x, h, *w: gru_step(x, h, *w, True)),
        ("gru_seeds", 3, lambda x, h, *w: gru_step(x, h, *w, False)),
    ],
)
def test_gradcheck_each_cell(name, gates, fn):
    x = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x, h, *_params(gates)))


def test_gradcheck_lstm_projection():
    x = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    w_ih = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(12, 2, dtype=torch.float64, requires_grad=True)
    w_hr = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: lstm_step(a[0], (a[1], a[2]), a[3], a[4], None, None, a[5]), (x, h, c, w_ih, w_hh, w_hr))


def test_gru_forms_differ_only_in_where_the_reset_gate_acts():
    torch.manual_seed(2)
    x, h = torch.randn(2, 2, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    w_ih, w_hh, b_ih, b_hh = _params(3, with_grad=False)
    assert (gru_step(x, h, w_ih, w_hh, b_ih, b_hh, True) - gru_step(x, h, w_ih, w_hh, b_ih, b_hh, False)).abs().max() > 1e-3
    # with r = 1 everywhere (huge reset bias) and b_hn = 0 both forms are the same function
    b_ih_open = b_ih.clone()
    b_ih_open[:3] = 1e3
    b_hh_open = b_hh.clone()
    b_hh_open[6:] = 0
    after = gru_step(x, h, w_ih, w_hh, b_ih_open, b_hh_open, True)
    before = gru_step(x, h, w_ih, w_hh, b_ih_open, b_hh_open, False)
    assert (after - before).abs().max() <= TOL


def test_cell_errors():
    cell = rnnkit.GRUCell(3, 4)
    with pytest.raises(ValueError, match=r"input feature size must equal input_size=3, got 5"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"input must be 2-D \(batch, 3\) or 1-D \(3,\), got 3-D"):
        cell(torch.randn(2, 2, 3))
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.int64"):
        cell(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"input dtype torch.float64 does not match the cell's parameters \(torch.float32\)"):
        cell(torch.randn(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"hx must have shape \(2, 4\) to match the input, got \(2, 5\)"):
        cell(torch.randn(2, 3), torch.randn(2, 5))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) of two tensors or None, got Tensor"):
        rnnkit.LSTMCell(3, 4)(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"c_0 must have shape \(2, 4\) to match the input, got \(1, 4\)"):
        rnnkit.LSTMCell(3, 4)(torch.randn(2, 3), (torch.randn(2, 4), torch.randn(1, 4)))
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'gelu'"):
        rnnkit.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"hidden_size must be a positive int \(>= 1\), got -1"):
        rnnkit.LSTMCell(3, -1)
    with pytest.raises(TypeError, match=r"reset_after must be True or False, got 0"):
        rnnkit.GRUCell(3, 4, reset_after=0)
