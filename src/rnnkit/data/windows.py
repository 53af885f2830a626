"""Cutting series into (input, target) windows, and chronological splits (seed 004).

The seed's example: the series ``[0, 1, ..., 9]`` with an input width of 4 and a horizon of 1
gives ``[0, 1, 2, 3] -> [4]``, ``[1, 2, 3, 4] -> [5]``, ... ``[5, 6, 7, 8] -> [9]``; with width 5
and horizon 5 it gives ``[0, 1, 2, 3, 4] -> [5, 6, 7, 8, 9]``.

    >>> spec = WindowSpec(input_width=4, horizon=1)
    >>> x, y = make_windows(np.arange(10), spec)
    >>> x[0].tolist(), y[0].tolist(), len(x)
    ([0, 1, 2, 3], [4], 6)

Windows are aligned to the end of the series: the last window's target always ends at the last
value, so a ``stride`` > 1 drops the oldest values first, never the newest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError


def _check_int(name: str, value: object, minimum: int, meaning: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer ({meaning}), got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} ({meaning}), got {value}")


@dataclass(frozen=True)
class WindowSpec:
    """How a series is cut into training pairs.

    Attributes:
        input_width: W, past steps the model reads (e.g. one seasonal cycle: 12 for monthly data).
        horizon: H, future steps it predicts (1 = the seed's next value).
        stride: steps between the starts of consecutive windows.
        offset: steps skipped between the last input and the first target (0 = right after).
    """

    input_width: int
    horizon: int = 1
    stride: int = 1
    offset: int = 0

    def __post_init__(self) -> None:
        _check_int("input_width", self.input_width, 1, "the number of past steps the model reads")
        _check_int("horizon", self.horizon, 1, "the number of future steps to forecast")
        _check_int("stride", self.stride, 1, "the steps between window starts")
        _check_int("offset", self.offset, 0, "the steps skipped between inputs and targets")

    @property
    def total_width(self) -> int:
        """W + offset + H: the values one window spans."""
        return self.input_width + self.offset + self.horizon

    def check_length(self, length: int, name: str = "the series") -> None:
        """Raise :class:`DataError` if a series of ``length`` values holds no complete window."""
        if length < self.total_width:
            gap = f" + {self.offset} skipped" if self.offset else ""
            raise DataError(
                f"{name} has {length} values, too few for a window of {self.input_width} inputs{gap} + "
                f"{self.horizon} targets (needs at least {self.total_width}); use a smaller window or "
                f"horizon, or a longer series"
            )

    def starts(self, length: int, first_target: int = 0, name: str = "the series") -> np.ndarray:
        """Start index of every window whose first target index is >= ``first_target``: (N,).

        The last window ends at ``length``; earlier ones step back by ``stride``.
        """
        self.check_length(length, name)
        last = length - self.total_width
        earliest = max(0, first_target - self.input_width - self.offset)
        if earliest > last:
            raise DataError(
                f"{name} has {length} values, so no window of {self.total_width} values has its first target "
                f"at or after index {first_target}; shorten the window or horizon, or use a longer part"
            )
        return np.arange(last, earliest - 1, -self.stride)[::-1].copy()

    def target_start(self) -> int:
        """Index of the first target inside a window: W + offset."""
        return self.input_width + self.offset


def make_windows(
    values: np.ndarray, spec: WindowSpec, *, first_target: int = 0, name: str = "the series"
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``values`` (T, ...) into inputs (N, W, ...) and targets (N, H, ...).

    Only windows whose first target index is >= ``first_target`` are kept (use it to take the
    validation or test windows of a chronological split, whose inputs may reach back into the
    training part).
    """
    values = np.asarray(values)
    starts = spec.starts(len(values), first_target, name)
    inputs = np.stack([values[s : s + spec.input_width] for s in starts])
    t0 = spec.target_start()
    targets = np.stack([values[s + t0 : s + t0 + spec.horizon] for s in starts])
    return inputs, targets


@dataclass(frozen=True)
class ChronologicalSplit:
    """Train / validation / test by time: the last ``test`` steps are held out, the ``val`` before them.

    Nothing from a later part reaches an earlier one: scalers and models are fit on
    ``train_end(length)`` steps only; validation and test windows may read earlier values as inputs
    (they are the past at forecast time), never later ones.
    """

    val: int = 0
    test: int = 0

    def __post_init__(self) -> None:
        _check_int("val", self.val, 0, "the validation steps at the end of the training period")
        _check_int("test", self.test, 0, "the held-out steps at the end of the series")

    def train_end(self, length: int) -> int:
        """Number of training steps of a series of ``length`` values."""
        return length - self.val - self.test

    def val_end(self, length: int) -> int:
        """Index where the test part starts."""
        return length - self.test

    def check(self, length: int, spec: WindowSpec, name: str = "the series") -> None:
        """Raise :class:`DataError` unless the training part holds a window and each held-out part a horizon."""
        for part, size in (("validation", self.val), ("test", self.test)):
            if 0 < size < spec.horizon:
                raise ValueError(
                    f"the {part} part has {size} steps, fewer than the horizon {spec.horizon}; make it at "
                    f"least {spec.horizon} steps or 0"
                )
        train = self.train_end(length)
        if train < spec.total_width:
            raise DataError(
                f"{name} has {length} values; after holding out {self.val} validation + {self.test} test "
                f"steps, {train} remain for training, fewer than one window of {spec.total_width} "
                f"(window {spec.input_width} + horizon {spec.horizon}); use a smaller window, horizon or "
                f"held-out part"
            )
