"""Gradient flow through real layers against independent computations, and the seeds' claim."""

import dataclasses
from typing import NamedTuple

import numpy as np
import pytest
import torch

from rnnkit import build_layer
from rnnkit.diagnostics.gradient_flow import (
    GradientFlowConfig,
    GradientFlowCurve,
    explain_gradient_flow,
    gradient_norms_by_distance,
    measure_gradient_flow,
    set_forget_bias,
    state_tensors,
)

BATCH, STEPS, FEATURES, HIDDEN = 3, 7, 2, 4


def _inputs_and_direction(generator_seed: int = 1):
    generator = torch.Generator().manual_seed(generator_seed)
    x = torch.randn(BATCH, STEPS + 1, FEATURES, generator=generator, dtype=torch.float64)
    u = torch.randn(BATCH, HIDDEN, generator=generator, dtype=torch.float64)
    return x, u


def test_elman_rnn_matches_explicit_jacobian_product():
    """g(d) = RMS_b || u_b^T prod_{i=t+1..T} diag(1 - h_i^2) W_hh ||, recomputed in numpy."""
    layer = build_layer("rnn", FEATURES, HIDDEN).double()
    x, u = _inputs_and_direction()
    measured = gradient_norms_by_distance(layer, x, u)

    w_ih = layer.weight_ih_l0.detach().numpy()
    w_hh = layer.weight_hh_l0.detach().numpy()
    bias = (layer.bias_ih_l0 + layer.bias_hh_l0).detach().numpy()
    xs, us = x.numpy(), u.numpy()
    expected = np.zeros(STEPS)
    for b in range(BATCH):
        h = np.zeros(HIDDEN)
        states = []  # h_0 .. h_T (h_0 is produced by input 0)
        for k in range(STEPS + 1):
            h = np.tanh(w_ih @ xs[b, k] + w_hh @ h + bias)
            states.append(h)
        row = us[b].copy()  # dL/dh_T
        for distance in range(1, STEPS + 1):
            h_i = states[STEPS - distance + 1]  # step i = t + 1 of the product
            row = (row * (1.0 - h_i**2)) @ w_hh  # dL/dh_{i-1} = dL/dh_i diag(1 - h_i^2) W_hh
            expected[distance - 1] += row @ row
    expected = np.sqrt(expected / BATCH)
    np.testing.assert_allclose(measured, expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_matches_torch_nn_restarted_from_each_state(cell):
    """Independent check: torch.nn with copied weights, restarted from s_t, differentiated by s_t."""
    layer = build_layer(cell, FEATURES, HIDDEN).double()
    reference = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        FEATURES, HIDDEN, batch_first=True
    ).double()
    reference.load_state_dict(layer.state_dict())
    x, u = _inputs_and_direction(2)
    measured = gradient_norms_by_distance(layer, x, u)

    expected = np.zeros(STEPS)
    for t in range(STEPS):  # s_t is the state after input t
        _, state = reference(x[:, : t + 1])
        leaves = tuple(s.detach().requires_grad_() for s in (state if cell == "lstm" else (state,)))
        output, _ = reference(x[:, t + 1 :], leaves if cell == "lstm" else leaves[0])
        grads = torch.autograd.grad((u * output[:, -1]).sum(), leaves)
        squared = sum(float(g.pow(2).sum()) for g in grads)
        expected[STEPS - t - 1] = np.sqrt(squared / BATCH)
    np.testing.assert_allclose(measured, expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("cell", ["slstm", "mlstm"])
def test_xlstm_matches_the_layer_restarted_from_each_state(cell):
    """For cells torch lacks: restart the same layer from a detached copy of s_t (its
    stabilizer m as a constant) and differentiate h_T by that copy; no shared graph bookkeeping."""
    layer = build_layer(cell, FEATURES, HIDDEN, num_heads=2).double()
    x, u = _inputs_and_direction(3)
    measured = gradient_norms_by_distance(layer, x, u)

    expected = np.zeros(STEPS)
    for t in range(STEPS):
        with torch.no_grad():
            _, state = layer(x[:, : t + 1])
        leaves = type(state)(*(s.clone().requires_grad_(name != "m") for name, s in zip(state._fields, state)))
        output, _ = layer(x[:, t + 1 :], state=leaves)
        wrt = [s for s in leaves if s.requires_grad]
        grads = torch.autograd.grad((u * output[:, -1]).sum(), wrt)
        expected[STEPS - t - 1] = np.sqrt(sum(float(g.pow(2).sum()) for g in grads) / BATCH)
    assert np.all(expected > 0)
    np.testing.assert_allclose(measured, expected, rtol=1e-9, atol=0)


def test_tanh_rnn_vanishes_much_faster_than_lstm_with_forget_bias():
    shared = dict(hidden_size=32, input_size=8, steps=60, batch_size=4, seed=0)
    rnn = measure_gradient_flow(GradientFlowConfig("rnn", **shared))
    lstm_1 = measure_gradient_flow(GradientFlowConfig("lstm", forget_bias=1.0, **shared))
    lstm_3 = measure_gradient_flow(GradientFlowConfig("lstm", forget_bias=3.0, **shared))
    decay = {c.label: c.norm_at(50) / c.norm_at(1) for c in (rnn, lstm_1, lstm_3)}
    # measured (seed 0): rnn 1e-13, lstm b_f=1 3e-5, lstm b_f=3 0.9
    assert decay["rnn"] < 1e-10
    assert decay["lstm b_f=1"] > 1e6 * decay["rnn"]
    assert decay["lstm b_f=3"] > 0.1
    assert np.all(np.diff(np.log(rnn.grad_norm)) < 0)  # the tanh RNN shrinks at every step
    assert "(vanishing)" in explain_gradient_flow(rnn)


@pytest.mark.parametrize("cell", ["slstm", "mlstm"])
def test_xlstm_forget_bias_init_keeps_the_gradient(cell):
    """xLSTM initialises the forget bias at 3..6: the gradient from 50 steps back stays large."""
    config = GradientFlowConfig(
        cell, hidden_size=16, input_size=8, steps=60, batch_size=4, cell_kwargs={"num_heads": 2}
    )
    curve = measure_gradient_flow(config)
    assert curve.norm_at(50) / curve.norm_at(1) > 0.1  # measured (seed 0): slstm 0.43, mlstm 0.51
    assert explain_gradient_flow(curve).endswith("(preserved, within 10x)")


def test_measurement_is_reproducible_and_leaves_global_rng_alone():
    config = GradientFlowConfig("gru", hidden_size=6, input_size=3, steps=12, batch_size=2, seed=5)
    before = torch.get_rng_state()
    first = measure_gradient_flow(config)
    assert torch.equal(torch.get_rng_state(), before)
    second = measure_gradient_flow(config)
    np.testing.assert_array_equal(first.grad_norm, second.grad_norm)
    np.testing.assert_array_equal(first.distance, np.arange(1, 13))
    other_seed = measure_gradient_flow(dataclasses.replace(config, seed=6))
    assert not np.allclose(first.grad_norm, other_seed.grad_norm)


def test_set_forget_bias_sets_only_the_forget_slice():
    layer = build_layer("lstm", 3, 5)
    before = {name: p.detach().clone() for name, p in layer.named_parameters()}
    set_forget_bias(layer, 2.5)
    assert torch.all(layer.bias_ih_l0[5:10] == 2.5)
    assert torch.all(layer.bias_hh_l0[5:10] == 0.0)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        kept = torch.cat([getattr(layer, name)[:5], getattr(layer, name)[10:]])
        assert torch.equal(kept, torch.cat([before[name][:5], before[name][10:]]))
    assert torch.equal(layer.weight_hh_l0, before["weight_hh_l0"])
    with pytest.raises(ValueError, match=r"needs an LSTM layer .*got layer.cell='gru'"):
        set_forget_bias(build_layer("gru", 3, 5), 1.0)


def test_forget_bias_changes_the_lstm_curve():
    shared = dict(hidden_size=8, input_size=4, steps=20, batch_size=2, seed=0)
    low = measure_gradient_flow(GradientFlowConfig("lstm", forget_bias=0.0, **shared))
    high = measure_gradient_flow(GradientFlowConfig("lstm", forget_bias=3.0, **shared))
    assert high.norm_at(20) > 100 * low.norm_at(20)
    assert high.label == "lstm b_f=3" and low.label == "lstm b_f=0"


def _curve(norms):
    config = GradientFlowConfig("rnn", steps=len(norms))
    return GradientFlowCurve(config, np.arange(1, len(norms) + 1), np.asarray(norms, dtype=float))


def test_explanations_follow_the_numbers():
    distance = np.arange(1, 201)
    falling = explain_gradient_flow(_curve(10.0 ** (-0.1 * distance)))
    assert falling == (
        "tanh RNN (default init): gradient norm falls 9.9 orders of magnitude from distance 1 "
        "to 100, by a factor e every 4.3 steps (vanishing)"
    )
    rising = explain_gradient_flow(_curve(10.0 ** (0.05 * distance)))
    assert "grows 5.0 orders of magnitude" in rising and rising.endswith("(exploding)")
    flat = explain_gradient_flow(_curve(np.full(200, 0.3)))
    assert flat.endswith("changes by a factor 1.00 from distance 1 to 100 (preserved, within 10x)")
    underflow = explain_gradient_flow(_curve(np.r_[1.0, np.zeros(199)]))
    assert "below the float64 range before distance 100 (vanishing)" in underflow
    short = explain_gradient_flow(_curve(10.0 ** (-0.5 * np.arange(1, 11))), horizon=100)
    assert "from distance 1 to 10" in short
    assert "no gradient reaches even distance 1" in explain_gradient_flow(_curve([0.0, 0.0]))
    assert "(use T >= 2 to see a trend)" in explain_gradient_flow(_curve([0.5]))


def test_state_tensors_flattens_pytrees():
    class State(NamedTuple):
        h: torch.Tensor
        c: torch.Tensor

    a, b, c = torch.zeros(1), torch.ones(2), torch.zeros(3, dtype=torch.int64)
    assert state_tensors(a) == [a]
    flat = state_tensors((State(a, b), [c, b]))
    assert [t.shape for t in flat] == [(1,), (2,), (2,)]  # the integer tensor is left out
    with pytest.raises(TypeError, match=r"tensor or a \(named\) tuple of tensors, got dict"):
        state_tensors({"h": a})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell": "rnn", "forget_bias": 1.0}, r"forget_bias can be set for cell 'lstm' only, got cell='rnn'"),
        ({"cell": "lstm", "forget_bias": float("inf")}, r"forget_bias must be a finite number, got inf"),
        ({"steps": 0}, r"steps must be an integer >= 1, got 0"),
        ({"hidden_size": 2.0}, r"hidden_size must be an integer >= 1, got 2.0"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"cell": ""}, r"cell must be a cell name such as 'lstm', got ''"),
    ],
)
def test_bad_config_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GradientFlowConfig(**kwargs)


def test_bad_arguments_are_refused():
    layer = build_layer("rnn", FEATURES, HIDDEN).double()
    x, u = _inputs_and_direction()
    with pytest.raises(ValueError, match=r"inputs must be a floating tensor of shape \(batch, T \+ 1"):
        gradient_norms_by_distance(layer, x[:, :1], u)
    with pytest.raises(ValueError, match=r"inputs must be .*got dtype torch.int64"):
        gradient_norms_by_distance(layer, x.long(), u)
    with pytest.raises(ValueError, match=r"direction must have shape \(batch, output_size\) = \(3, 4\), got \(3, 5\)"):
        gradient_norms_by_distance(layer, x, torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"distance must be in \[1, 3\] .*got 4"):
        _curve([1.0, 0.5, 0.25]).norm_at(4)
