"""sLSTM and mLSTM layers: the layer contract (state, lengths, packing, stacking, directions)."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit.layers import build_layer
from rnnkit.layers.xlstm import mLSTM, mLSTMState, sLSTM, sLSTMState

F_IN, H = 5, 8
VARIANTS = {
    "slstm-fast": (sLSTM, {}),
    "slstm-reference": (sLSTM, {"backend": "reference"}),
    "mlstm-chunkwise": (mLSTM, {"mode": "chunkwise", "chunk_size": 3}),
    "mlstm-parallel": (mLSTM, {"mode": "parallel"}),
    "mlstm-recurrent": (mLSTM, {"mode": "recurrent"}),
}


def make(variant, dtype=torch.float64, **kwargs):
    cls, options = VARIANTS[variant]
    torch.manual_seed(0)
    return cls(F_IN, H, batch_first=True, **options, **kwargs).to(dtype)


def assert_states_close(a, b, **tol):
    assert type(a) is type(b)
    for x, y in zip(a, b):
        assert torch.allclose(x, y, **tol)


@pytest.mark.parametrize("variant", VARIANTS)
def test_lengths_give_each_sequence_its_own_result(variant):
    """Padded batch (2 layers, bidirectional) == every sequence alone; zero past each length."""
    layer = make(variant, num_layers=2, bidirectional=True)
    x = torch.randn(3, 7, F_IN, dtype=torch.float64)
    lengths = torch.tensor([7, 4, 1])
    out, state = layer(x, lengths=lengths)
    assert out.shape == (3, 7, 2 * H) and layer.output_size == 2 * H
    for b, length in enumerate(lengths.tolist()):
        out_b, state_b = layer(x[b : b + 1, :length])
        assert torch.allclose(out[b : b + 1, :length], out_b, rtol=1e-10, atol=1e-12)
        assert torch.count_nonzero(out[b, length:]) == 0
        for s, s_b in zip(state, state_b):
            assert torch.allclose(s[:, b : b + 1], s_b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_packed_sequence_equals_lengths(variant):
    layer = make(variant)
    x = torch.randn(3, 6, F_IN, dtype=torch.float64)
    lengths = torch.tensor([4, 6, 2])
    out, state = layer(x, lengths=lengths)
    packed_out, packed_state = layer(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_out, batch_first=True)
    assert torch.allclose(padded, out[:, : padded.shape[1]], rtol=1e-12, atol=1e-14)
    assert_states_close(packed_state, state, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS)
def test_split_sequence_state_passing(variant):
    layer = make(variant, num_layers=2)
    x = torch.randn(2, 11, F_IN, dtype=torch.float64)
    out, state = layer(x)
    out_a, state_a = layer(x[:, :4])
    out_b, state_b = layer(x[:, 4:], state_a)
    assert torch.allclose(torch.cat((out_a, out_b), dim=1), out, rtol=1e-10, atol=1e-12)
    assert_states_close(state_b, state, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_step_by_step_generation_equals_the_whole_pass(variant):
    layer = make(variant, num_layers=2)
    x = torch.randn(2, 9, F_IN, dtype=torch.float64)
    out, state = layer(x)
    steps, step_state = [], None
    for t in range(x.shape[1]):
        y, step_state = layer(x[:, t : t + 1], step_state)  # T = 1 calls (the recurrent step for mLSTM)
        steps.append(y)
    assert torch.allclose(torch.cat(steps, dim=1), out, rtol=1e-10, atol=1e-12)
    assert_states_close(step_state, state, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["slstm", "mlstm"])
def test_backends_and_modes_agree_forward_and_backward(cell):
    """sLSTM fused == reference; mLSTM chunkwise == parallel == recurrent; with lengths, both directions."""
    variants = [v for v in VARIANTS if v.startswith(cell)]
    x = torch.randn(3, 10, F_IN, dtype=torch.float64)
    lengths = torch.tensor([10, 6, 3])
    results = []
    for variant in variants:
        layer = make(variant, num_layers=2, bidirectional=True)
        xv = x.clone().requires_grad_()
        out, state = layer(xv, lengths=lengths)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum()
        loss = loss + sum(torch.nan_to_num(s, neginf=0.0).sum() for s in state[:-1])
        grads = torch.autograd.grad(loss, [xv, *layer.parameters()])
        results.append((out, state, grads))
    out_ref, state_ref, grads_ref = results[0]
    for out, state, grads in results[1:]:
        assert (out - out_ref).abs().max() < 1e-10
        for s, s_ref in zip(state, state_ref):
            assert (s - s_ref).abs().max() < 1e-10
        for g, g_ref in zip(grads, grads_ref):
            assert (g - g_ref).abs().max() < 1e-9


@pytest.mark.parametrize("variant", ["slstm-fast", "mlstm-chunkwise"])
def test_time_major_unbatched_and_bidirectional_layouts(variant):
    cls, options = VARIANTS[variant]
    torch.manual_seed(0)
    layer = cls(F_IN, H, bidirectional=True, **options).double()  # batch_first=False: (T, B, F)
    x = torch.randn(6, 2, F_IN, dtype=torch.float64)
    out, state = layer(x)
    assert out.shape == (6, 2, 2 * H)
    out_1, state_1 = layer(x[:, 1])  # unbatched (T, F)
    assert torch.allclose(out_1, out[:, 1], rtol=1e-12, atol=1e-14)
    # the backward direction is the forward direction's math on the reversed sequence
    forward_only = cls(F_IN, H, **options).double()
    with torch.no_grad():
        for name, param in forward_only.named_parameters():
            param.copy_(getattr(layer, name + "_reverse"))
    out_rev, _ = forward_only(x.flip(0))
    assert torch.allclose(out[:, :, H:], out_rev.flip(0), rtol=1e-12, atol=1e-14)


def test_states_are_named_tuples_and_fresh_state_is_stable():
    s_out, s_state = make("slstm-fast", num_layers=2)(torch.randn(2, 3, F_IN, dtype=torch.float64))
    assert isinstance(s_state, sLSTMState) and s_state.h.shape == (2, 2, H)
    assert torch.allclose(s_state.h[-1], s_out[:, -1])
    m_out, m_state = make("mlstm-chunkwise", num_layers=2)(torch.randn(2, 3, F_IN, dtype=torch.float64))
    assert isinstance(m_state, mLSTMState)
    assert m_state.C.shape == (2, 2, 4, 2, 2) and m_state.n.shape == (2, 2, 4, 2) and m_state.m.shape == (2, 2, 4)
    assert all(torch.isfinite(s).all() for s in (*s_state, *m_state))


def test_extreme_inputs_and_long_sequences_stay_finite():
    for variant in ("slstm-fast", "mlstm-chunkwise"):
        layer = make(variant, dtype=torch.float32)
        x = (torch.randn(2, 50, F_IN) * 300).requires_grad_()  # pre-activations of several hundred
        out, state = layer(x)
        out.sum().backward()
        assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
        assert all(torch.isfinite(s).all() for s in state)


def test_build_layer_defaults_and_options():
    for cell, cls in (("slstm", sLSTM), ("mlstm", mLSTM)):
        layer = build_layer(cell, 6, 8)
        assert isinstance(layer, cls) and layer.cell == cell and layer.output_size == 8
        assert layer.num_heads == 4 and layer.batch_first
        assert build_layer(cell, 6, 6).num_heads == 1
        assert build_layer(cell, 6, 6, num_heads=3, bidirectional=True).output_size == 12
        out, _ = layer(torch.randn(2, 5, 6))
        assert out.shape == (2, 5, 8)
    assert build_layer("mlstm", 6, 8, mode="parallel", chunk_size=4).mode == "parallel"
    assert rnnkit.sLSTM is sLSTM and rnnkit.mLSTM is mLSTM


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"mode must be one of \('recurrent', 'parallel', 'chunkwise'\), got 'fast'"):
        mLSTM(3, 8, mode="fast")
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int \(e.g. 64\), got 0"):
        mLSTM(3, 8, chunk_size=0)
    with pytest.raises(ValueError, match=r"backend must be 'fast' or 'reference', got 'cuda'"):
        sLSTM(3, 8, backend="cuda")
    with pytest.raises(ValueError, match=r"num_heads must divide hidden_size=8, got num_heads=3"):
        sLSTM(3, 8, num_heads=3)
    with pytest.raises(TypeError, match=r"cell 'mlstm' does not accept that option"):
        build_layer("mlstm", 3, 8, nonlinearity="relu")
    layer = mLSTM(3, 8, batch_first=True)
    bad = mLSTMState(torch.zeros(1, 2, 4, 3, 3), torch.zeros(1, 2, 4, 2), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"initial state C must have shape \(1, 2, 4, 2, 2\).*got \(1, 2, 4, 3, 3\)"):
        layer(torch.randn(2, 5, 3), bad)
    with pytest.raises(ValueError, match=r"lengths must be between 1 and the number of time steps T=5"):
        layer(torch.randn(2, 5, 3), lengths=[0, 5])
