"""The cell protocol: what a layer needs of a cell to run it over time.

A cell is one time step. Any ``nn.Module`` with these four members runs in
:class:`rnnkit.layers.CellLayer`, which adds what a layer does around the step: the time loop
(:func:`rnnkit.functional.scan`), ``lengths=`` for padded batches, stacking with dropout,
bidirectional directions, ``batch_first``, ``PackedSequence`` and state checks::

    class MinimalGatedCell(nn.Module):          # f_t = sigma(W_f [x_t, h]), h_t = f h + (1 - f) tanh(W [x_t, h])
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

    layer = CellLayer(lambda f: MinimalGatedCell(f, 32), input_size=8, num_layers=2, bidirectional=True)
    output, h_n = layer(x, lengths=lengths)      # output (B, T, 64), h_n (4, B, 32)

Every built-in cell (:class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`, :class:`sLSTMCell`,
:class:`mLSTMCell`, :class:`LayerNormLSTMCell`, :class:`LayerNormGRUCell`) follows it too.

Optionally a cell may also have ``sequence(xs, state) -> (ys, final_state)`` over a whole
time-major sequence (a compiled loop, say); ``CellLayer`` then uses it for batches without
``lengths`` and ``step`` otherwise, so the two must agree (test them equal).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

StateSpec = tuple[tuple[str, tuple[int, ...]], ...]
"""(name, trailing shape) of every state tensor, e.g. LSTM: (("h", (H,)), ("c", (H,)))."""


@runtime_checkable
class Cell(Protocol):
    """One recurrent time step (see the module docstring for an example).

    Attributes:
        input_size: F, features of x_t.
        output_size: Y, features of the step's output y_t (what the next stacked layer reads).
    """

    input_size: int
    output_size: int

    def state_spec(self) -> StateSpec:
        """Name and trailing shape of each state tensor (the batch dimension comes first)."""
        ...

    def initial_state(self, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
        """A fresh state for ``batch`` sequences: one (B, *shape) tensor per entry of the spec."""
        ...

    def step(self, x_t: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
        """One step: x_t (B, F) and the state -> y_t (B, Y) and the new state."""
        ...


def zero_state(spec: StateSpec, batch: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, ...]:
    """Zeros of every entry of ``spec`` for ``batch`` sequences."""
    return tuple(torch.zeros((batch, *shape), dtype=dtype, device=device) for _, shape in spec)
