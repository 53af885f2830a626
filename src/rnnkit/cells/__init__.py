"""Cells: one time step each (DESIGN §8.1). The time loop lives in :mod:`rnnkit.functional`.

Each family has a pure step function with the seed's equations one per line (used by the
layers' reference path) and a ``torch.nn``-compatible cell module around it.
"""

from rnnkit.cells.elman import RNNCell, elman_step
from rnnkit.cells.gru import GRUCell, gru_step
from rnnkit.cells.lstm import LSTMCell, lstm_step

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "elman_step", "lstm_step", "gru_step"]
