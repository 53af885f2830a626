"""Seed 004's initialization remedies on the classic layers: orthogonal, Xavier, identity (IRNN)."""

import math

import pytest
import torch

from rnnkit import GRU, LSTM, RNN, SequenceClassifier, SequenceClassifierConfig


def _blocks(weight, hidden):
    return weight.view(-1, hidden, weight.shape[1]).unbind(0)


@pytest.mark.parametrize("layer_cls", [RNN, LSTM, GRU])
def test_orthogonal_recurrent_blocks_zero_biases_and_an_open_forget_gate(layer_cls):
    torch.manual_seed(0)
    layer = layer_cls(5, 6, num_layers=2, bidirectional=True, init="orthogonal", dtype=torch.float64)
    for suffix in ("_l0", "_l1_reverse"):
        for block in _blocks(getattr(layer, "weight_hh" + suffix), 6):
            torch.testing.assert_close(block @ block.T, torch.eye(6, dtype=torch.float64), atol=1e-12, rtol=0)
        bias_ih, bias_hh = getattr(layer, "bias_ih" + suffix), getattr(layer, "bias_hh" + suffix)
        assert torch.all(bias_hh == 0)
        expected = torch.zeros_like(bias_ih)
        if layer_cls is LSTM:
            expected[6:12] = 1.0  # gates i, f, g, o: f is the second block
        assert torch.equal(bias_ih, expected)
    assert "init='orthogonal'" in repr(layer)


def test_xavier_keeps_every_gate_block_within_its_glorot_bound():
    torch.manual_seed(1)
    layer = GRU(10, 4, init="xavier")
    for name, fan_in in (("weight_ih_l0", 10), ("weight_hh_l0", 4)):
        bound = math.sqrt(6 / (fan_in + 4))
        for block in _blocks(getattr(layer, name), 4):
            assert block.abs().max() <= bound and block.abs().max() > 0.5 * bound


def test_identity_init_is_the_irnn_a_relu_rnn_carries_its_state_through_zero_input():
    torch.manual_seed(2)
    rnn = RNN(3, 5, nonlinearity="relu", init="identity", batch_first=True)
    assert torch.equal(rnn.weight_hh_l0, torch.eye(5)) and rnn.weight_ih_l0.std() < 0.002
    h0 = torch.rand(1, 2, 5)  # non-negative, as a ReLU state is
    output, h_n = rnn(torch.zeros(2, 50, 3), h0)
    torch.testing.assert_close(h_n, h0)  # 50 steps later, nothing has vanished or exploded
    torch.testing.assert_close(output[:, -1], h0[0])
    with pytest.raises(ValueError, match="init='identity' is the IRNN initialization of the Elman RNN"):
        LSTM(3, 5, init="identity")
    with pytest.raises(ValueError, match="init must be one of default, orthogonal, xavier, identity"):
        GRU(3, 5, init="he")


def test_every_model_takes_the_init_through_cell_kwargs():
    model = SequenceClassifier(SequenceClassifierConfig(num_outputs=2, cell="lstm", hidden_size=8, input_size=3,
                                                        cell_kwargs={"init": "orthogonal"}))
    layer = next(m for m in model.modules() if isinstance(m, LSTM))
    assert layer.init == "orthogonal"
    block = layer.weight_hh_l0[:8]
    torch.testing.assert_close(block @ block.T, torch.eye(8), atol=1e-5, rtol=0)
