"""rnnkit.RNN/LSTM/GRU against torch.nn with copied weights, in float64 (max abs error <= 1e-10).

Both backends, every classic cell, over a pairwise-covering set of configurations of
num_layers {1, 3} x bidirectional x batch_first x initial state x {dense, lengths=, PackedSequence}:
outputs, final states and gradients w.r.t. the input, the initial state and every weight.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnkit

TOL = 1e-10

# (name, rnnkit class, torch class, constructor kwargs)
CELLS = [
    ("rnn_tanh", rnnkit.RNN, torch.nn.RNN, {}),
    ("rnn_relu", rnnkit.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    ("lstm", rnnkit.LSTM, torch.nn.LSTM, {}),
    ("lstm_proj", rnnkit.LSTM, torch.nn.LSTM, {"proj_size": 3}),
    ("gru", rnnkit.GRU, torch.nn.GRU, {}),
]

# (num_layers, bidirectional, batch_first, initial_state, mode): every pair of values appears.
CONFIGS = [
    (1, False, False, False, "dense"),
    (3, True, True, True, "dense"),
    (1, True, True, False, "lengths"),
    (3, False, False, True, "lengths"),
    (1, False, True, True, "packed"),
    (3, True, False, False, "packed"),
    (3, True, True, True, "lengths"),
    (3, True, False, True, "packed"),
]

F_IN, HIDDEN, STEPS, LENGTHS = 4, 5, 6, [6, 2, 5, 1]


def _pair(cell_name: str) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    return next((cls, tcls, kw) for name, cls, tcls, kw in CELLS if name == cell_name)  # type: ignore[return-value]


def _leaves(state: object) -> list[torch.Tensor]:
    return list(state) if isinstance(state, tuple) else [state]  # type: ignore[list-item]


def _initial(model: torch.nn.Module, batch: int, is_lstm: bool) -> object:
    lead = model.num_layers * (2 if model.bidirectional else 1)
    h_size = model.proj_size if getattr(model, "proj_size", 0) else model.hidden_size
    h0 = torch.randn(lead, batch, h_size, dtype=torch.float64, requires_grad=True)
    if not is_lstm:
        return h0
    return h0, torch.randn(lead, batch, model.hidden_size, dtype=torch.float64, requires_grad=True)


def _run(model, x, state, mode, lengths, batch_first):
    """Call ``model`` in ``mode``; return (padded output, state leaves, the tensor to differentiate)."""
    if mode == "dense":
        out, final = model(x, state) if state is not None else model(x)
        return out, _leaves(final)
    if mode == "packed" or isinstance(model, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)):
        packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        out, final = model(packed, state) if state is not None else model(packed)
        assert isinstance(out, PackedSequence)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=STEPS)
        return out, _leaves(final)
    out, final = model(x, state, lengths=lengths)
    return out, _leaves(final)


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("cell", [name for name, *_ in CELLS])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "L{}-bi{:d}-bf{:d}-h0{:d}-{}".format(*c))
def test_matches_torch_nn(cell, backend, config):
    num_layers, bidirectional, batch_first, with_state, mode = config
    cls, tcls, kwargs = _pair(cell)
    ours = cls(F_IN, HIDDEN, num_layers, bidirectional=bidirectional, batch_first=batch_first,
               dtype=torch.float64, backend=backend, **kwargs)
    ref = tcls(F_IN, HIDDEN, num_layers, bidirectional=bidirectional, batch_first=batch_first,
               dtype=torch.float64, **kwargs)
    ref.load_state_dict(ours.state_dict())
    batch = len(LENGTHS)
    shape = (batch, STEPS, F_IN) if batch_first else (STEPS, batch, F_IN)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    state = _initial(ours, batch, cls is rnnkit.LSTM) if with_state else None
    lengths = torch.tensor(LENGTHS)

    out_ours, final_ours = _run(ours, x, state, mode, lengths, batch_first)
    out_ref, final_ref = _run(ref, x, state, mode, lengths, batch_first)

    assert out_ours.shape == out_ref.shape
    assert (out_ours - out_ref).abs().max() <= TOL
    for a, b in zip(final_ours, final_ref, strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL
    if mode != "dense":  # padded positions are exactly zero
        mask = torch.arange(STEPS).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
        padded = out_ours.transpose(0, 1) if batch_first else out_ours
        assert torch.all(padded[~mask] == 0)

    weights = [torch.randn_like(out_ours)] + [torch.randn_like(s) for s in final_ours]
    inputs = [x] + (_leaves(state) if state is not None else [])
    grads_ours = torch.autograd.grad(
        sum((w * t).sum() for w, t in zip(weights, [out_ours, *final_ours])), inputs + list(ours.parameters())
    )
    grads_ref = torch.autograd.grad(
        sum((w * t).sum() for w, t in zip(weights, [out_ref, *final_ref])), inputs + list(ref.parameters())
    )
    for a, b in zip(grads_ours, grads_ref, strict=True):
        assert (a - b).abs().max() <= TOL


@pytest.mark.parametrize("backend", ["fast", "reference"])
@pytest.mark.parametrize("cell", ["rnn_relu", "lstm_proj", "gru"])
def test_unbatched_input_matches_torch_nn(cell, backend):
    cls, tcls, kwargs = _pair(cell)
    ours = cls(F_IN, HIDDEN, 2, bidirectional=True, dtype=torch.float64, backend=backend, **kwargs)
    ref = tcls(F_IN, HIDDEN, 2, bidirectional=True, dtype=torch.float64, **kwargs)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(STEPS, F_IN, dtype=torch.float64)
    state = _initial(ours, 1, cls is rnnkit.LSTM)
    state = tuple(s[:, 0] for s in state) if isinstance(state, tuple) else state[:, 0]
    out_ours, final_ours = ours(x, state)
    out_ref, final_ref = ref(x, state)
    assert out_ours.shape == (STEPS, ours.output_size)
    assert (out_ours - out_ref).abs().max() <= TOL
    for a, b in zip(_leaves(final_ours), _leaves(final_ref), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL


@pytest.mark.parametrize("cell", [name for name, *_ in CELLS])
def test_state_dict_loads_both_ways_and_init_is_torchs(cell):
    cls, tcls, kwargs = _pair(cell)
    torch.manual_seed(3)
    ours = cls(F_IN, HIDDEN, 2, bidirectional=True, **kwargs)
    torch.manual_seed(3)
    ref = tcls(F_IN, HIDDEN, 2, bidirectional=True, **kwargs)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():  # same names, shapes, order and initial values
        assert torch.equal(ours.state_dict()[key], value)
    other = tcls(F_IN, HIDDEN, 2, bidirectional=True, **kwargs)
    ours.load_state_dict(other.state_dict())  # torch -> rnnkit
    x = torch.randn(STEPS, 3, F_IN)
    assert torch.allclose(ours(x)[0], other(x)[0], atol=1e-6)
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(0.1)
    ref.load_state_dict(ours.state_dict())  # rnnkit -> torch
    assert torch.allclose(ours(x)[0], ref(x)[0], atol=1e-6)


def test_no_bias_matches_torch_nn():
    ours = rnnkit.LSTM(F_IN, HIDDEN, 2, bias=False, dtype=torch.float64, backend="reference")
    ref = torch.nn.LSTM(F_IN, HIDDEN, 2, bias=False, dtype=torch.float64)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(STEPS, 3, F_IN, dtype=torch.float64)
    assert (ours(x)[0] - ref(x)[0]).abs().max() <= TOL
