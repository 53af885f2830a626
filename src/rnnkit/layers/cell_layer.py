"""``CellLayer``: any cell that follows the cell protocol, run as a full recurrent layer.

The cell gives one time step (:class:`rnnkit.cells.Cell`: ``state_spec``, ``initial_state``,
``step``); the layer gives everything else, the same way every rnnkit layer does
(:class:`~rnnkit.layers.base.RecurrentLayer`): the time loop, ``lengths=``, stacking with dropout,
bidirectional directions, ``batch_first``, unbatched input, ``PackedSequence`` and state checks.
Like Keras's ``RNN(cell)``, but a layer needs one cell per stacked layer and direction, so it
takes a factory ``make_cell(input_size) -> cell``::

    layer = CellLayer(lambda f: LSTMCell(f, 32), input_size=8, num_layers=2, bidirectional=True)
    output, (h_n, c_n) = layer(x, lengths=lengths)   # output (T, B, 64); h_n, c_n (4, B, 32)

The state is the cells' state stacked per layer and direction, in torch's order (layer 0
forward, layer 0 backward, layer 1 forward, ...): a tensor when the cell's state has one entry, a
tuple otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnkit.cells.protocol import Cell, StateSpec
from rnnkit.functional.scan import length_mask, scan
from rnnkit.layers.base import LayerConfig, RecurrentLayer

_MEMBERS = ("input_size", "output_size", "state_spec", "initial_state", "step")


class CellLayer(RecurrentLayer):
    """A recurrent layer over cells made by ``make_cell`` (see the module docstring).

    Args:
        make_cell: called once per stacked layer and direction with that layer's input size
            (F for layer 0, D * Y after); returns an ``nn.Module`` following the cell protocol.
        input_size: F.
        num_layers, batch_first, dropout, bidirectional: as ``torch.nn.LSTM``.

    Call: ``output, state = layer(x, state=None, lengths=None)``; x (B, T, F) if batch_first else
    (T, B, F); output (.., D*Y); state tensors (L*D, B, *shape) for each entry of the cell's spec.
    """

    def __init__(
        self,
        make_cell: Callable[[int], nn.Module],
        input_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        if not callable(make_cell):
            raise TypeError(f"make_cell must be a function input_size -> cell, got {type(make_cell).__name__}")
        first = _checked_cell(make_cell(input_size), input_size)
        config = LayerConfig(input_size, first.output_size, num_layers, True, batch_first, dropout, bidirectional)
        super().__init__(config)
        cells = [first]
        for index in range(1, num_layers * config.num_directions):
            size = self.layer_input_size(index // config.num_directions)
            cell = _checked_cell(make_cell(size), size)
            if cell.output_size != first.output_size or cell.state_spec() != first.state_spec():
                raise ValueError("make_cell must give cells of one output_size and state_spec for every layer; "
                                 f"got output_size {cell.output_size} and {first.output_size}")
            cells.append(cell)
        self.cells = nn.ModuleList(cells)

    def _state_spec(self) -> StateSpec:
        return self.cells[0].state_spec()

    def _initial_state(self, state: object, x: Tensor, batched: bool) -> tuple[Tensor, ...]:
        if state is not None:
            return super()._initial_state(state, x, batched)
        fresh = [cell.initial_state(x.shape[1], x.dtype, x.device) for cell in self.cells]
        return tuple(torch.stack(parts) for parts in zip(*fresh, strict=True))  # (L*D, B, ...) each

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        cell = self.cells[layer * self.num_directions + int(reverse)]
        if lengths is None and hasattr(cell, "sequence"):  # the cell's own whole-sequence loop
            return cell.sequence(x, state)
        mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)
        return scan(cell.step, x, state, mask)

    def extra_repr(self) -> str:
        return super().extra_repr().replace(f"{self.input_size}, {self.hidden_size}", f"{self.input_size}", 1)


def _checked_cell(cell: object, input_size: int) -> Cell:
    missing = [name for name in _MEMBERS if not hasattr(cell, name)]
    if not isinstance(cell, nn.Module) or missing:
        what = f"lacks {', '.join(missing)}" if missing else "is not an nn.Module"
        raise TypeError(f"make_cell returned a {type(cell).__name__}, which {what}; a cell needs input_size, "
                        "output_size, state_spec(), initial_state(batch, dtype, device) and step(x_t, state) "
                        "(rnnkit.cells.protocol)")
    if cell.input_size != input_size:
        raise ValueError(f"make_cell({input_size}) returned a cell with input_size={cell.input_size}; build the "
                         "cell with the input size it is given")
    return cell  # type: ignore[return-value]
