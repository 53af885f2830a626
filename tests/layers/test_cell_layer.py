"""The cell protocol: every built-in cell and a user's own cell run as full layers in CellLayer,
equal to torch.nn / rnnkit's layers (float64, forward and backward) and to a step-by-step
re-computation with lengths, stacking and both directions."""

import pytest
import torch
from torch import nn

from rnnkit.cells import Cell, GRUCell, LSTMCell, RNNCell, mLSTMCell, sLSTMCell
from rnnkit.layers import GRU, CellLayer, mLSTM, register_cell, sLSTM



@pytest.fixture(autouse=True)
def float64():
    """Every module and tensor of these tests in float64 (restored afterwards)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


class MinimalGatedCell(nn.Module):
    """The protocol's docstring example: h_t = f h + (1 - f) tanh(g), [f, g] = W [x_t, h] + b."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.output_size = input_size, hidden_size
        self.gates = nn.Linear(input_size + hidden_size, 2 * hidden_size)

    def state_spec(self):
        return (("h", (self.output_size,)),)

    def initial_state(self, batch, dtype, device):
        return (torch.zeros(batch, self.output_size, dtype=dtype, device=device),)

    def step(self, x_t, state):
        f, g = self.gates(torch.cat([x_t, state[0]], dim=-1)).chunk(2, dim=-1)
        h = torch.sigmoid(f) * state[0] + (1 - torch.sigmoid(f)) * torch.tanh(g)
        return h, (h,)


def _copy_cells_from(layer, cell_layer, names):
    """Copy a layer's parameters (weight_ih_l0, ..._reverse) into CellLayer's cells, torch's order."""
    with torch.no_grad():
        for index, cell in enumerate(cell_layer.cells):
            suffix = f"_l{index // cell_layer.num_directions}" + ("_reverse" if index % cell_layer.num_directions else "")
            for name in names:  # "weight" or "weight=weight_ih": the cell's name = the layer's stem
                mine, _, theirs = name.partition("=")
                getattr(cell, mine).copy_(getattr(layer, (theirs or mine) + suffix))


def _grads(module, loss):
    module.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in module.named_parameters()}


def test_lstm_cells_in_a_cell_layer_equal_torch_nn_lstm_bidirectional_stacked_with_lengths():
    torch.manual_seed(0)
    reference = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    layer = CellLayer(lambda f: LSTMCell(f, 5), 3, num_layers=2, bidirectional=True, batch_first=True)
    _copy_cells_from(reference, layer, ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    x = torch.randn(4, 7, 3, requires_grad=True)
    lengths = torch.tensor([7, 3, 5, 1])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, (h_ref, c_ref) = reference(packed)
    out_ref, _ = nn.utils.rnn.pad_packed_sequence(out_ref, batch_first=True, total_length=7)
    out, (h, c) = layer(x, lengths=lengths)
    torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(c, c_ref, rtol=0, atol=1e-12)
    gx_ref = torch.autograd.grad((out_ref**2).sum() + h_ref.sum(), x)[0]
    gx = torch.autograd.grad((out**2).sum() + h.sum(), x)[0]
    torch.testing.assert_close(gx, gx_ref, rtol=0, atol=1e-12)
    assert set(dict(layer.named_parameters())) >= {"cells.3.weight_hh", "cells.0.bias_ih"}


@pytest.mark.parametrize("make_cell, make_layer, names", [
    (lambda f: GRUCell(f, 4, reset_after=False), lambda: GRU(3, 4, 2, bidirectional=True, reset_after=False,
                                                             backend="reference"),
     ("weight_ih", "weight_hh", "bias_ih", "bias_hh")),
    (lambda f: sLSTMCell(f, 4, num_heads=2), lambda: sLSTM(3, 4, 2, bidirectional=True, num_heads=2),
     ("weight_ih", "weight_hh", "bias")),
    (lambda f: mLSTMCell(f, 4, num_heads=2), lambda: mLSTM(3, 4, 2, bidirectional=True, num_heads=2),
     ("weight=weight_ih", "bias")),
], ids=["seed-gru", "slstm", "mlstm"])
def test_every_cell_family_in_a_cell_layer_equals_its_own_layer(make_cell, make_layer, names):
    torch.manual_seed(1)
    reference, layer = make_layer(), CellLayer(make_cell, 3, num_layers=2, bidirectional=True)
    _copy_cells_from(reference, layer, names)
    x = torch.randn(6, 3, 3)
    lengths = torch.tensor([6, 2, 4])
    out_ref, state_ref = reference(x, lengths=lengths)
    out, state = layer(x, lengths=lengths)
    torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-10)
    for mine, theirs in zip(state if isinstance(state, tuple) else (state,),
                            state_ref if isinstance(state_ref, tuple) else (state_ref,), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-10)
    g_ref = _grads(reference, (out_ref**2).sum())
    g = _grads(layer, (out**2).sum())
    for index, cell in enumerate(layer.cells):
        suffix = f"_l{index // 2}" + ("_reverse" if index % 2 else "")
        for name in names:
            mine, _, theirs = name.partition("=")
            torch.testing.assert_close(g[f"cells.{index}.{mine}"], g_ref[(theirs or mine) + suffix], rtol=0, atol=1e-10)


def test_a_users_cell_runs_stacked_bidirectional_and_with_lengths_as_its_steps_say():
    torch.manual_seed(2)
    layer = CellLayer(lambda f: MinimalGatedCell(f, 4), 3, num_layers=2, bidirectional=True)
    x, lengths = torch.randn(5, 2, 3), torch.tensor([5, 3])
    out, h_n = layer(x, lengths=lengths)
    assert out.shape == (5, 2, 8) and h_n.shape == (4, 2, 4)
    assert torch.all(out[3:, 1] == 0)  # past the second sequence's length
    # independent re-computation: each sequence alone, step by step, both directions, two layers
    for b in range(2):
        seq = x[: lengths[b], b]  # (n, 3)
        for layer_index in range(2):
            outputs = []
            for direction in range(2):
                cell = layer.cells[2 * layer_index + direction]
                h = torch.zeros(1, 4)
                hs = []
                for x_t in (seq if direction == 0 else seq.flip(0)):
                    h, _ = cell.step(x_t[None], (h,))
                    hs.append(h[0])
                hs = torch.stack(hs) if direction == 0 else torch.stack(hs).flip(0)
                torch.testing.assert_close(h_n[2 * layer_index + direction, b], h[0], rtol=0, atol=1e-12)
                outputs.append(hs)
            seq = torch.cat(outputs, dim=-1)
        torch.testing.assert_close(out[: lengths[b], b], seq, rtol=0, atol=1e-12)


def _as_step(cell, result):
    """A cell module's forward result as the protocol's (y_t, state tuple)."""
    if isinstance(cell, (RNNCell, GRUCell)):
        return result, (result,)
    if isinstance(cell, LSTMCell):
        return result[0], tuple(result)
    if isinstance(cell, sLSTMCell):
        return result.h, tuple(result)
    return result[0], tuple(result[1])  # mLSTM: (h, mLSTMState)


@pytest.mark.parametrize("make", [lambda: RNNCell(3, 4, nonlinearity="relu"), lambda: LSTMCell(3, 4),
                                  lambda: GRUCell(3, 4), lambda: sLSTMCell(3, 4), lambda: mLSTMCell(3, 4)],
                         ids=["rnn", "lstm", "gru", "slstm", "mlstm"])
def test_every_built_in_cell_follows_the_protocol_and_its_step_is_its_forward(make):
    cell = make()
    assert isinstance(cell, Cell) and cell.output_size == 4
    x = torch.randn(2, 3)
    state = cell.initial_state(2, x.dtype, x.device)
    assert [tuple(s.shape[1:]) for s in state] == [shape for _, shape in cell.state_spec()]
    for _ in range(3):  # from a state that is not the fresh one
        _, state = cell.step(x, state)
    y, new = cell.step(x, state)
    y_forward, new_forward = _as_step(cell, cell(x, state if len(state) > 1 else state[0]))
    torch.testing.assert_close(y, y_forward, rtol=0, atol=0)
    for mine, theirs in zip(new, new_forward, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=0)


def test_a_cell_that_breaks_the_protocol_is_refused_in_one_line():
    with pytest.raises(TypeError, match="make_cell returned a Linear, which lacks input_size, output_size, state_spec, "
                                        "initial_state, step"):
        CellLayer(lambda f: nn.Linear(f, 4), 3)
    with pytest.raises(ValueError, match=r"make_cell\(3\) returned a cell with input_size=5"):
        CellLayer(lambda f: LSTMCell(5, 4), 3)


@pytest.fixture
def registered_cell():
    from rnnkit.layers.factory import LAYER_BUILDERS

    register_cell("minimal_gated", MinimalGatedCell)
    yield "minimal_gated"
    LAYER_BUILDERS.pop("minimal_gated")


def test_a_registered_cell_runs_in_every_model_that_takes_cell_and_saves_and_loads(registered_cell, tmp_path):
    from rnnkit import SequenceClassifier, SequenceClassifierConfig, load_model, save_model

    torch.manual_seed(3)
    model = SequenceClassifier(SequenceClassifierConfig(num_outputs=3, cell=registered_cell, hidden_size=6,
                                                        input_size=2, num_layers=2, bidirectional=True))
    x, lengths = torch.randn(4, 5, 2), torch.tensor([5, 4, 2, 1])
    logits = model(x, lengths)
    assert logits.shape == (4, 3)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    layer = next(m for m in model.modules() if isinstance(m, CellLayer))
    assert isinstance(layer.cells[0], MinimalGatedCell) and len(layer.cells) == 4
    save_model(tmp_path / "m", model)
    loaded, _ = load_model(tmp_path / "m")
    torch.testing.assert_close(loaded(x, lengths), logits.detach(), rtol=0, atol=0)


def test_cell_names_come_from_one_registry(registered_cell):
    from rnnkit.models.validation import check_cell

    check_cell("cell", registered_cell)
    with pytest.raises(ValueError, match="cell must be one of rnn, lstm, gru, slstm, mlstm, lnlstm, lngru, minimal_gated"):
        check_cell("cell", "tcn")
    with pytest.raises(ValueError, match="'lstm' is a built-in cell"):
        register_cell("lstm", MinimalGatedCell)
