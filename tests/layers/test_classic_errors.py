"""Every bad argument of the classic layers raises a one-line error naming it, expected and got."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dropout": 1.0}, ValueError, r"dropout must be in \[0, 1\).*got 1.0"),
        ({"dropout": -0.1}, ValueError, r"dropout must be in \[0, 1\).*got -0.1"),
        ({"dropout": "0.1"}, TypeError, r"dropout must be a float in \[0, 1\), got '0.1'"),
        ({"hidden_size": 0}, ValueError, r"hidden_size must be a positive int \(>= 1\), got 0"),
        ({"input_size": 2.5}, TypeError, r"input_size must be a positive int, got 2.5"),
        ({"num_layers": 0}, ValueError, r"num_layers must be a positive int \(>= 1\), got 0"),
        ({"bidirectional": 1}, TypeError, r"bidirectional must be True or False, got 1"),
        ({"backend": "cuda"}, ValueError, r"backend must be 'fast' or 'reference', got 'cuda'"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    args = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(error, match=match):
        rnnkit.LSTM(**args)


def test_bad_cell_specific_arguments():
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        rnnkit.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"proj_size must be 0 \(no projection\) or between 1 and hidden_size-1=3, got 4"):
        rnnkit.LSTM(3, 4, proj_size=4)
    with pytest.raises(TypeError, match=r"reset_after must be True or False, got 'no'"):
        rnnkit.GRU(3, 4, reset_after="no")


@pytest.fixture
def lstm():
    return rnnkit.LSTM(3, 4, num_layers=2, batch_first=True)


def test_input_type_rank_features_and_dtype(lstm):
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor or a PackedSequence, got list"):
        lstm([[1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.int64; convert it with x.float\(\)"):
        lstm(torch.ones(2, 5, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"input must be 3-D \(B, T, F\) with F=3 or unbatched 2-D \(T, F\), got 4-D"):
        lstm(torch.randn(2, 5, 3, 1))
    with pytest.raises(ValueError, match=r"must equal input_size=3, got 7 .*build the layer with input_size=7"):
        lstm(torch.randn(2, 5, 7))
    with pytest.raises(TypeError, match=r"input dtype torch.float64 does not match the layer's parameters \(torch.float32\)"):
        lstm(torch.randn(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"at least one time step and one sequence, got shape \(2, 0, 3\)"):
        lstm(torch.randn(2, 0, 3))


def test_bad_lengths(lstm):
    x = torch.randn(3, 5, 3)
    with pytest.raises(ValueError, match=r"lengths must have one entry per sequence: expected shape \(3,\), got \(2,\)"):
        lstm(x, lengths=[5, 4])
    with pytest.raises(ValueError, match=r"lengths must be between 1 and the number of time steps T=5, got 0"):
        lstm(x, lengths=[5, 0, 2])
    with pytest.raises(ValueError, match=r"lengths must be between 1 and the number of time steps T=5, got 6"):
        lstm(x, lengths=torch.tensor([6, 1, 2]))
    with pytest.raises(TypeError, match=r"lengths must hold integers, got dtype torch.float32"):
        lstm(x, lengths=torch.tensor([5.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match=r"lengths must hold integers, got dtype torch.float32"):
        lstm(x, lengths=[5.0, 1.0, 2.0])
    with pytest.raises(TypeError, match=r"lengths must be a 1-D integer tensor or a list of ints, got \[5, 'a', 2\]"):
        lstm(x, lengths=[5, "a", 2])
    with pytest.raises(ValueError, match=r"lengths= needs batched 3-D input"):
        lstm(torch.randn(5, 3), lengths=[5])
    packed = pack_padded_sequence(x, [5, 3, 2], batch_first=True)
    with pytest.raises(ValueError, match=r"lengths= cannot be combined with a PackedSequence"):
        lstm(packed, lengths=[5, 3, 2])


def test_bad_initial_state(lstm):
    x = torch.randn(3, 5, 3)
    h, c = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"initial state c_0 must have shape \(2, 3, 4\) .*got \(1, 3, 4\)"):
        lstm(x, (h, c[:1]))
    with pytest.raises(TypeError, match=r"state for LSTM must be a tuple \(h_0, c_0\), got Tensor"):
        lstm(x, h)
    with pytest.raises(TypeError, match=r"initial state h_0 dtype torch.float64 does not match the input dtype torch.float32"):
        lstm(x, (h.double(), c))
    with pytest.raises(ValueError, match=r"pass the initial state as state= or hx=, not both"):
        lstm(x, (h, c), hx=(h, c))
    gru = rnnkit.GRU(3, 4)
    with pytest.raises(ValueError, match=r"initial state h_0 must have shape \(1, 4\) .*got \(1, 1, 4\)"):
        gru(torch.randn(5, 3), torch.zeros(1, 1, 4))  # unbatched input wants an unbatched state
    with pytest.raises(TypeError, match=r"state for GRU must be a tensor h_0, got tuple"):
        gru(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4),))


def test_hx_alias_is_accepted(lstm):
    x = torch.randn(3, 5, 3)
    state = (torch.randn(2, 3, 4), torch.randn(2, 3, 4))
    assert torch.equal(lstm(x, hx=state)[0], lstm(x, state)[0])
