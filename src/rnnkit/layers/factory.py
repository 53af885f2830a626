"""``build_layer``: one entry point from a cell name to a recurrent layer; the one cell registry.

Every layer it returns is called ``output, state = layer(x, state=None, lengths=None)`` and
exposes ``layer.output_size`` (D * H). Cell families register a constructor in
:data:`LAYER_BUILDERS` (the classic cells and the xLSTM ones); :func:`register_cell` adds a
user's cell of the cell protocol (:mod:`rnnkit.cells.protocol`), after which every model that
takes ``cell=`` (classifier, tagger, language model, seq2seq, forecaster...) accepts its name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from rnnkit.cells.layer_norm import LayerNormGRUCell, LayerNormLSTMCell
from rnnkit.layers.cell_layer import CellLayer
from rnnkit.layers.classic import GRU, LSTM, RNN
from rnnkit.layers.xlstm import mLSTM, sLSTM

LayerBuilder = Callable[..., nn.Module]


def _classic(layer_cls: type[RNN] | type[LSTM] | type[GRU]) -> LayerBuilder:
    def build(
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        batch_first: bool,
        **cell_kwargs: Any,
    ) -> nn.Module:
        return layer_cls(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            batch_first=batch_first,
            **cell_kwargs,
        )

    return build


LAYER_BUILDERS: dict[str, LayerBuilder] = {
    "rnn": _classic(RNN),
    "lstm": _classic(LSTM),
    "gru": _classic(GRU),
    # the xLSTM layers take the builder's arguments as they are (num_heads=, mode=, ... as cell_kwargs)
    "slstm": sLSTM,
    "mlstm": mLSTM,
}


def _cell_layer(make_cell: Callable[..., nn.Module]) -> LayerBuilder:
    def build(input_size: int, hidden_size: int, *, num_layers: int, bidirectional: bool, dropout: float,
              batch_first: bool, **cell_kwargs: Any) -> nn.Module:
        return CellLayer(lambda size: make_cell(size, hidden_size, **cell_kwargs), input_size, num_layers=num_layers,
                         batch_first=batch_first, dropout=dropout, bidirectional=bidirectional)

    return build


# the layer-normalized cells run in CellLayer (their parameters are the cells', not torch's layout)
LAYER_BUILDERS["lnlstm"] = _cell_layer(LayerNormLSTMCell)
LAYER_BUILDERS["lngru"] = _cell_layer(LayerNormGRUCell)

BUILT_IN_CELLS: tuple[str, ...] = tuple(LAYER_BUILDERS)


def register_cell(name: str, make_cell: Callable[..., nn.Module]) -> None:
    """Make ``cell=name`` build :class:`~rnnkit.layers.CellLayer` layers of ``make_cell``.

    ``make_cell(input_size, hidden_size, **cell_kwargs)`` returns a cell of the cell protocol
    (a class such as ``MyCell`` works). Register the name again before loading a saved model that
    uses it. Built-in names cannot be replaced.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier such as 'my_cell', got {name!r}")
    if name in BUILT_IN_CELLS:
        raise ValueError(f"{name!r} is a built-in cell; register yours under another name")
    if not callable(make_cell):
        raise TypeError(f"make_cell must be a class or function (input_size, hidden_size) -> cell, got {make_cell!r}")

    LAYER_BUILDERS[name] = _cell_layer(make_cell)


def registered_cells() -> tuple[str, ...]:
    """Every cell name ``build_layer`` knows: the built-in ones, then the registered ones."""
    return tuple(LAYER_BUILDERS)


def build_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    batch_first: bool = True,
    **cell_kwargs: Any,
) -> nn.Module:
    """Build a recurrent layer of the named cell.

    Args:
        cell: one of :data:`LAYER_BUILDERS`: "rnn", "lstm", "gru", "slstm", "mlstm", the
            layer-normalized "lnlstm" and "lngru", or a name given to :func:`register_cell`.
        input_size: features F of x (B, T, F).
        hidden_size: features H of the state; the output has ``layer.output_size`` = D*H features.
        num_layers, bidirectional, dropout: as ``torch.nn.LSTM``.
        batch_first: x is (B, T, F) when True (the default here, unlike torch.nn).
        **cell_kwargs: passed to the layer, e.g. ``nonlinearity="relu"`` (rnn),
            ``reset_after=False`` (gru), ``proj_size=`` (lstm), ``backend="reference"``.
    """
    if cell not in LAYER_BUILDERS:
        valid = ", ".join(repr(name) for name in LAYER_BUILDERS)
        raise ValueError(f"unknown cell {cell!r}; expected one of {valid}")
    try:
        return LAYER_BUILDERS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            batch_first=batch_first,
            **cell_kwargs,
        )
    except TypeError as error:
        if "unexpected keyword argument" in str(error):
            raise TypeError(f"cell {cell!r} does not accept that option: {error}") from error
        raise
