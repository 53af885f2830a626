"""Checks shared by the model configuration dataclasses: each raises one clear line."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CELLS: tuple[str, ...] = ("rnn", "lstm", "gru", "slstm", "mlstm")
"""The built-in cells (the CLI's choices); :func:`check_cell` also accepts registered ones."""

# Cells whose recurrent state holds a hidden vector h that a conditioning vector can initialize.
# mLSTM's state is (C, n, m): a matrix memory with no h, so it is conditioned through its input.
CELLS_WITH_HIDDEN_STATE: tuple[str, ...] = ("rnn", "lstm", "gru", "slstm")


def check_cell(name: str, cell: object) -> None:
    """``cell`` must be a built-in cell or one given to :func:`rnnkit.layers.register_cell`."""
    from rnnkit.layers.factory import registered_cells

    if cell not in registered_cells():
        raise ValueError(f"{name} must be one of {', '.join(registered_cells())}; got {cell!r} (a cell of your "
                         "own: rnnkit.layers.register_cell)")


def check_choice(name: str, value: object, choices: Sequence[Any]) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")


def check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def check_optional_int(name: str, value: object, minimum: int) -> None:
    if value is not None:
        check_int(name, value, minimum)


def check_positive(name: str, value: object, *, optional: bool = False) -> None:
    """``value`` must be a finite number > 0 (or None when ``optional``)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")


def check_fraction(name: str, value: object, *, high_inclusive: bool = False) -> None:
    """``value`` must be a float in [0, 1) (or [0, 1] with ``high_inclusive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    ok = 0.0 <= value <= 1.0 if high_inclusive else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if high_inclusive else "[0, 1)"
        raise ValueError(f"{name} must be in {interval}, got {value}")


def check_cell_kwargs(name: str, value: object) -> None:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError(
            f"{name} must be a dict of keyword arguments for the cell (e.g. "
            f"{{'nonlinearity': 'relu'}}), got {value!r}"
        )


def check_token_input(vocab_size: int | None, embedding_dim: int | None, input_size: int | None) -> None:
    """A model reads token ids (``vocab_size`` + ``embedding_dim``) or features (``input_size``)."""
    if (vocab_size is None) == (input_size is None):
        raise ValueError(
            "give exactly one input kind: vocab_size (token ids, with embedding_dim) or "
            f"input_size (float features); got vocab_size={vocab_size}, input_size={input_size}"
        )
    check_optional_int("vocab_size", vocab_size, 1)
    check_optional_int("input_size", input_size, 1)
    if vocab_size is not None:
        if embedding_dim is None:
            raise ValueError("embedding_dim is required with vocab_size; pass e.g. embedding_dim=32")
        check_int("embedding_dim", embedding_dim, 1)
