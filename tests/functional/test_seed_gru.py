"""The seeds' GRU whole-sequence autograd function: gradcheck and equality with the cell loop."""

from __future__ import annotations

import pytest
import torch

from rnnkit.cells import gru_step
from rnnkit.functional import SeedGRUSequence, length_mask, scan, seed_gru_sequence


@pytest.mark.parametrize("with_mask", [False, True])
def test_gradcheck(with_mask):
    gi = torch.randn(4, 3, 6, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    mask = length_mask(torch.tensor([4, 1, 3]), 4, torch.device("cpu")).unsqueeze(-1) if with_mask else None
    assert torch.autograd.gradcheck(lambda a, b, c: SeedGRUSequence.apply(a, b, c, mask), (gi, h0, w))


@pytest.mark.parametrize("lengths", [None, [5, 2, 1]])
def test_equals_the_cell_driven_by_scan_forward_and_backward(lengths):
    x = torch.randn(5, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    params = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in [(12, 2), (12, 4), (12,), (12,)]]
    mask = None if lengths is None else length_mask(torch.tensor(lengths), 5, torch.device("cpu"))
    fast = seed_gru_sequence(x, h0, *params, mask=mask)

    def step(x_t, state):
        h = gru_step(x_t, state[0], *params, reset_after=False)
        return h, (h,)

    ys, (final,) = scan(step, x, (h0,), mask)
    fast_final = fast[-1]
    assert (fast_final - final).abs().max() <= 1e-12
    if mask is not None:  # scan zeroes padded outputs; the fused function carries the state there
        fast = torch.where(mask.unsqueeze(-1), fast, 0.0)
    assert (fast - ys).abs().max() <= 1e-12
    probe = torch.randn_like(ys)
    g_fast = torch.autograd.grad((probe * fast).sum() + fast_final.sum(), [x, h0, *params])
    g_ref = torch.autograd.grad((probe * ys).sum() + final.sum(), [x, h0, *params])
    for a, b in zip(g_fast, g_ref, strict=True):
        assert (a - b).abs().max() <= 1e-12
