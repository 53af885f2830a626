"""Classic layers beyond torch parity: fast == reference, the seeds' GRU, dropout, state carry-over."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit

TOL = 1e-10

LAYERS = {
    "rnn_tanh": lambda **kw: rnnkit.RNN(3, 4, **kw),
    "rnn_relu": lambda **kw: rnnkit.RNN(3, 4, nonlinearity="relu", **kw),
    "lstm": lambda **kw: rnnkit.LSTM(3, 4, **kw),
    "lstm_proj": lambda **kw: rnnkit.LSTM(3, 4, proj_size=2, **kw),
    "gru": lambda **kw: rnnkit.GRU(3, 4, **kw),
    "gru_seeds": lambda **kw: rnnkit.GRU(3, 4, reset_after=False, **kw),
}


def _leaves(state):
    return list(state) if isinstance(state, tuple) else [state]


def _pair(name, **kwargs):
    fast = LAYERS[name](backend="fast", dtype=torch.float64, **kwargs)
    reference = LAYERS[name](backend="reference", dtype=torch.float64, **kwargs)
    reference.load_state_dict(fast.state_dict())
    return fast, reference


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("lengths", [None, [5, 1, 3]], ids=["dense", "lengths"])
def test_fast_equals_reference_forward_and_backward(name, lengths):
    fast, reference = _pair(name, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(3, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = [torch.randn(4, 3, *s, dtype=torch.float64, requires_grad=True) for _, s in fast._state_spec()]
    state = h0[0] if len(h0) == 1 else tuple(h0)
    results = []
    for layer in (fast, reference):
        out, final = layer(x, state, lengths=lengths)
        probes = [out, *_leaves(final)]
        torch.manual_seed(1)
        loss = sum((torch.randn_like(p) * p).sum() for p in probes)
        grads = torch.autograd.grad(loss, [x, *h0, *layer.parameters()])
        results.append((probes, grads))
    (probes_f, grads_f), (probes_r, grads_r) = results
    for a, b in zip(probes_f + list(grads_f), probes_r + list(grads_r), strict=True):
        assert a.shape == b.shape and (a - b).abs().max() <= TOL


def _seed_gru_numpy(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The seeds' GRU (seed 003) in float64 numpy, in the seeds' own symbols and convention.

    z_t = sigma(W_z [h_{t-1}, x_t] + b_z);  r_t = sigma(W_r [h_{t-1}, x_t] + b_r)
    h~_t = tanh(W [r_t * h_{t-1}, x_t] + b);  h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
    torch's update gate keeps the old state (h = (1 - z) n + z h), so the seeds' z is torch's
    1 - z: W_z and b_z are torch's z-block weights negated (sigma(-a) = 1 - sigma(a)).
    """
    H = h0.shape[-1]
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    W_r = np.concatenate([w_hh[:H], w_ih[:H]], axis=1)
    W_z = -np.concatenate([w_hh[H : 2 * H], w_ih[H : 2 * H]], axis=1)
    W = np.concatenate([w_hh[2 * H :], w_ih[2 * H :]], axis=1)
    b_r, b_z, b = b_ih[:H] + b_hh[:H], -(b_ih[H : 2 * H] + b_hh[H : 2 * H]), b_ih[2 * H :] + b_hh[2 * H :]
    h, outs = h0, []
    for x_t in x:
        hx = np.concatenate([h, x_t], axis=-1)
        z = sig(hx @ W_z.T + b_z)
        r = sig(hx @ W_r.T + b_r)
        h_tilde = np.tanh(np.concatenate([r * h, x_t], axis=-1) @ W.T + b)
        h = (1 - z) * h + z * h_tilde
        outs.append(h)
    return np.stack(outs), h


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_seeds_gru_matches_independent_recomputation(backend):
    layer = rnnkit.GRU(3, 4, reset_after=False, backend=backend, dtype=torch.float64)
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    h0 = torch.randn(1, 2, 4, dtype=torch.float64)
    out, h_n = layer(x, h0)
    p = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
    expected, final = _seed_gru_numpy(x.numpy(), h0[0].numpy(), p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
    assert np.abs(out.detach().numpy() - expected).max() <= TOL
    assert np.abs(h_n[0].detach().numpy() - final).max() <= TOL
    torch_form = torch.nn.GRU(3, 4, dtype=torch.float64)
    torch_form.load_state_dict(layer.state_dict())
    assert (torch_form(x, h0)[0] - out).abs().max() > 1e-3  # the two forms are different models


@pytest.mark.parametrize("name", ["lstm", "gru_seeds"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_dropout_between_layers_in_train_mode_only(name, backend):
    layer = LAYERS[name](num_layers=2, dropout=0.5, backend=backend, dtype=torch.float64)
    plain = LAYERS[name](num_layers=2, backend=backend, dtype=torch.float64)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    layer.eval()
    assert torch.equal(layer(x)[0], plain(x)[0])
    layer.train()
    first, second = layer(x)[0], layer(x)[0]
    assert (first - plain(x)[0]).abs().max() > 1e-3 and (first - second).abs().max() > 1e-3
    single = LAYERS[name](num_layers=1, dropout=0.5, backend=backend, dtype=torch.float64).train()
    single_plain = LAYERS[name](num_layers=1, backend=backend, dtype=torch.float64)
    single_plain.load_state_dict(single.state_dict())
    assert torch.equal(single(x)[0], single_plain(x)[0])  # never on the last layer's output


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_state_passed_back_continues_the_sequence(name, backend):
    layer = LAYERS[name](num_layers=2, batch_first=True, backend=backend, dtype=torch.float64)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    full, final = layer(x)
    state, steps = None, []
    for t in range(6):  # one step at a time, as generation does
        out, state = layer(x[:, t : t + 1], state)
        steps.append(out)
    assert (torch.cat(steps, dim=1) - full).abs().max() <= TOL
    for a, b in zip(_leaves(state), _leaves(final), strict=True):
        assert (a - b).abs().max() <= TOL


@pytest.mark.parametrize("name", list(LAYERS))
def test_lengths_final_state_is_taken_at_each_true_end(name):
    layer = LAYERS[name](num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 4]
    out, final = layer(x, lengths=lengths)
    for b, n in enumerate(lengths):  # each sequence alone, truncated to its length
        alone_out, alone_final = layer(x[b : b + 1, :n])
        assert (out[b, :n] - alone_out[0]).abs().max() <= TOL
        assert torch.all(out[b, n:] == 0)
        for a, s in zip(_leaves(final), _leaves(alone_final), strict=True):
            assert (a[:, b] - s[:, 0]).abs().max() <= TOL


def test_layer_exposes_cell_and_output_size():
    assert rnnkit.RNN(3, 4).cell == "rnn" and rnnkit.LSTM(3, 4).cell == "lstm" and rnnkit.GRU(3, 4).cell == "gru"
    assert rnnkit.GRU(3, 4, bidirectional=True).output_size == 8
    assert rnnkit.LSTM(3, 4, proj_size=2, bidirectional=True).output_size == 4


def test_lengths_accept_tensor_list_and_numpy():
    layer = rnnkit.GRU(3, 4, batch_first=True)
    x = torch.randn(3, 5, 3)
    expected, _ = layer(x, lengths=torch.tensor([5, 2, 4]))
    assert torch.equal(layer(x, lengths=[5, 2, 4])[0], expected)
    assert torch.equal(layer(x, lengths=np.array([5, 2, 4]))[0], expected)
