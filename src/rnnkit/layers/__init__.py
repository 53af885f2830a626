"""Recurrent layers: the generic base, the classic drop-ins for torch.nn, and the factory."""

from rnnkit.layers.base import LayerConfig, RecurrentLayer
from rnnkit.layers.classic import GRU, LSTM, RNN
from rnnkit.layers.factory import LAYER_BUILDERS, build_layer

__all__ = ["RecurrentLayer", "LayerConfig", "RNN", "LSTM", "GRU", "build_layer", "LAYER_BUILDERS"]
