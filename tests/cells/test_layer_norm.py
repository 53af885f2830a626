"""Layer-normalized LSTM and GRU cells (Ba et al. 2016): equal to an independent float64
re-computation of their equations, compiled loop equal to the step (forward and backward), scale
invariant as layer normalization promises, and usable in every model."""

import pytest
import torch

from rnnkit import LanguageModel, LanguageModelConfig, SequenceClassifier, SequenceClassifierConfig, load_model, save_model
from rnnkit.cells import LayerNormGRUCell, LayerNormLSTMCell, LSTMCell
from rnnkit.layers import CellLayer, build_layer


def _ln(a, gain, shift):
    """Layer norm by hand: (a - mean) / sqrt(mean((a - mean)^2) + 1e-5) * gain + shift."""
    mean = a.mean(dim=-1, keepdim=True)
    var = ((a - mean) ** 2).mean(dim=-1, keepdim=True)
    return (a - mean) / torch.sqrt(var + 1e-5) * gain + shift


def _randomized(cell):
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(0.3 * torch.randn_like(p))  # gains and shifts away from 1 and 0
    return cell


def test_ln_lstm_step_equals_the_equations_by_hand():
    torch.manual_seed(0)
    cell = _randomized(LayerNormLSTMCell(3, 4, dtype=torch.float64))
    x, h, c = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    a = _ln(x @ cell.weight_ih.T, *cell.ln_x) + _ln(h @ cell.weight_hh.T, *cell.ln_h) + cell.bias
    i, f, g, o = a[:, :4], a[:, 4:8], a[:, 8:12], a[:, 12:]
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(_ln(c_new, *cell.ln_c))
    y, (h_t, c_t) = cell.step(x, (h, c))
    torch.testing.assert_close(c_t, c_new, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_t, h_new, rtol=0, atol=1e-12)
    assert torch.equal(y, h_t)


def test_ln_gru_step_equals_the_equations_by_hand():
    torch.manual_seed(1)
    cell = _randomized(LayerNormGRUCell(3, 4, dtype=torch.float64))
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    gx = _ln(x @ cell.weight_ih.T, *cell.ln_x) + cell.bias_ih
    gh = _ln(h @ cell.weight_hh.T, *cell.ln_h) + cell.bias_hh
    r, z = torch.sigmoid(gx[:, :4] + gh[:, :4]), torch.sigmoid(gx[:, 4:8] + gh[:, 4:8])
    n = torch.tanh(gx[:, 8:] + r * gh[:, 8:])
    y, (h_t,) = cell.step(x, (h,))
    torch.testing.assert_close(h_t, (1 - z) * n + z * h, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cell_cls", [LayerNormLSTMCell, LayerNormGRUCell])
def test_the_compiled_sequence_equals_the_step_loop_forward_and_backward(cell_cls):
    torch.manual_seed(2)
    cell = _randomized(cell_cls(3, 4, dtype=torch.float64))
    xs = torch.randn(7, 2, 3, dtype=torch.float64, requires_grad=True)
    state = cell.initial_state(2, torch.float64, xs.device)
    ys, final = cell.sequence(xs, state)
    steps, s = [], state
    for x_t in xs.unbind(0):
        y, s = cell.step(x_t, s)
        steps.append(y)
    torch.testing.assert_close(ys, torch.stack(steps), rtol=0, atol=1e-12)
    for a, b in zip(final, s, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    grads = torch.autograd.grad((ys**2).sum() + final[-1].sum(), [xs, *cell.parameters()])
    grads_step = torch.autograd.grad((torch.stack(steps) ** 2).sum() + s[-1].sum(), [xs, *cell.parameters()])
    for a, b in zip(grads, grads_step, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_layer_norm_makes_the_step_blind_to_the_scale_of_the_input_weights():
    torch.manual_seed(3)
    cell, plain = LayerNormLSTMCell(3, 4, dtype=torch.float64), LSTMCell(3, 4, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    state = cell.step(x, cell.initial_state(5, torch.float64, torch.device("cpu")))[1]
    before, plain_before = cell.step(x, state)[0], plain.step(x, state)[0]
    with torch.no_grad():  # an input 50 times larger reaches the normalized gates at the same scale
        cell.weight_ih.mul_(50.0)
        plain.weight_ih.mul_(50.0)
    torch.testing.assert_close(cell.step(x, state)[0], before, rtol=0, atol=1e-3)  # only eps differs
    assert (plain.step(x, state)[0] - plain_before).abs().max() > 0.1  # the plain LSTM saturates


@pytest.mark.parametrize("cell", ["lnlstm", "lngru"])
def test_layer_norm_cells_run_in_every_layer_factory_and_model(cell, tmp_path):
    torch.manual_seed(4)
    layer = build_layer(cell, 3, 6, num_layers=2, bidirectional=True)
    assert isinstance(layer, CellLayer)
    output, _ = layer(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2]))  # the step path, with lengths
    assert output.shape == (2, 5, 12) and torch.all(output[1, 2:] == 0)
    clf = SequenceClassifier(SequenceClassifierConfig(num_outputs=2, cell=cell, hidden_size=6, input_size=3))
    clf(torch.randn(4, 5, 3)).sum().backward()
    lm = LanguageModel(LanguageModelConfig(vocab_size=12, cell=cell, hidden_size=8, embedding_dim=4))
    ids = torch.randint(0, 12, (2, 9))
    save_model(tmp_path / "lm", lm)
    loaded, _ = load_model(tmp_path / "lm")
    torch.testing.assert_close(loaded(ids)[0], lm.eval()(ids)[0])
