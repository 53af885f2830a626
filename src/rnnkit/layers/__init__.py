"""Recurrent layers: the generic base, the classic drop-ins for torch.nn, the xLSTM layers and
blocks, ``CellLayer`` for any cell of the cell protocol, and the factory."""

from rnnkit.layers.base import LayerConfig, RecurrentLayer
from rnnkit.layers.blocks import mLSTMBlock, sLSTMBlock, xLSTMStack, xLSTMStackConfig
from rnnkit.layers.cell_layer import CellLayer
from rnnkit.layers.classic import GRU, LSTM, RNN
from rnnkit.layers.factory import LAYER_BUILDERS, build_layer, register_cell
from rnnkit.layers.xlstm import mLSTM, sLSTM

__all__ = ["RecurrentLayer", "LayerConfig", "RNN", "LSTM", "GRU", "sLSTM", "mLSTM", "CellLayer", "sLSTMBlock",
           "mLSTMBlock", "xLSTMStack", "xLSTMStackConfig", "build_layer", "register_cell", "LAYER_BUILDERS"]
