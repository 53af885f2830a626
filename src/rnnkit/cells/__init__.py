"""Cells: one time step each (DESIGN §8.1). The time loop lives in :mod:`rnnkit.functional`.

Each family has a pure step function with the seed's equations one per line (used by the
layers' reference path) and a ``torch.nn``-compatible cell module around it. Every cell module
follows the cell protocol (:class:`Cell`: ``state_spec``, ``initial_state``, ``step``), so
:class:`rnnkit.layers.CellLayer` runs it, or a user's own cell, as a full layer.
"""

from rnnkit.cells.elman import RNNCell, elman_step
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.layer_norm import LayerNormGRUCell, LayerNormLSTMCell
from rnnkit.cells.lstm import LSTMCell, lstm_step
from rnnkit.cells.mlstm import mLSTMCell, mlstm_step
from rnnkit.cells.protocol import Cell, StateSpec
from rnnkit.cells.slstm import sLSTMCell, sLSTMState, slstm_step
from rnnkit.functional.mlstm import mLSTMState

__all__ = ["Cell", "StateSpec", "RNNCell", "LSTMCell", "GRUCell", "sLSTMCell", "mLSTMCell", "LayerNormLSTMCell", "LayerNormGRUCell", "sLSTMState",
           "mLSTMState", "elman_step", "lstm_step", "gru_step", "slstm_step", "mlstm_step"]
