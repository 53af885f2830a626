"""build_layer: the cell name picks the layer, options pass through, unknown names say what is valid."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.layers import build_layer


@pytest.mark.parametrize(("cell", "cls"), [("rnn", rnnkit.RNN), ("lstm", rnnkit.LSTM), ("gru", rnnkit.GRU)])
def test_builds_the_named_layer_batch_first_by_default(cell, cls):
    layer = build_layer(cell, 3, 5, num_layers=2, bidirectional=True, dropout=0.1)
    assert type(layer) is cls and layer.cell == cell
    assert layer.batch_first and layer.num_layers == 2 and layer.bidirectional and layer.dropout == 0.1
    assert layer.output_size == 10
    out, state = layer(torch.randn(4, 6, 3), state=None, lengths=[6, 1, 3, 2])
    assert out.shape == (4, 6, layer.output_size)
    assert torch.all(out[1, 1:] == 0)
    out2, _ = layer(torch.randn(4, 1, 3), state=state)  # the state goes back in for the next step
    assert out2.shape == (4, 1, 10)


def test_cell_kwargs_reach_the_layer():
    assert build_layer("rnn", 3, 4, nonlinearity="relu").nonlinearity == "relu"
    assert build_layer("gru", 3, 4, reset_after=False).reset_after is False
    assert build_layer("lstm", 3, 4, proj_size=2).output_size == 2
    assert build_layer("lstm", 3, 4, backend="reference").backend == "reference"
    assert build_layer("gru", 3, 4, batch_first=False).batch_first is False


def test_unknown_cell_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown cell 'lstmm'; expected one of 'rnn', 'lstm', 'gru'"):
        build_layer("lstmm", 3, 4)


def test_option_a_cell_does_not_take():
    with pytest.raises(TypeError, match=r"cell 'lstm' does not accept that option: .*reset_after"):
        build_layer("lstm", 3, 4, reset_after=False)
