"""Synthetic long-range dependency tasks: the adding problem and the copy-memory task.

Both follow Arjovsky, Shah & Bengio (2016), "Unitary Evolution Recurrent Neural Networks", the
variants used since to show that a tanh RNN cannot bridge long time lags while gated cells can
(Hochreiter & Schmidhuber 1997 introduced both problems).

Adding problem
    Input ``x`` of shape (N, T, 2): channel 0 holds values drawn from U[0, 1], channel 1 holds two
    markers (1.0), one at a random step of the first half ``[0, T // 2)`` and one in the second half
    ``[T // 2, T)``. Target ``y`` of shape (N, 1): the sum of the two marked values. Predicting the
    constant 1 (the mean of the sum) scores MSE = Var(a + b) = 2 / 12 = 1/6 ~ 0.167: the baseline.

Copy memory
    Alphabet of 10 symbols: 0 is the blank, 1..8 the data symbols, 9 the delimiter. Input ``x`` of
    shape (N, T + 20): 10 data symbols drawn uniformly from 1..8, then T - 1 blanks, the delimiter,
    then 10 blanks. Target ``y`` of the same shape: T + 10 blanks, then the 10 data symbols. A
    memoryless strategy (blanks, then a uniform guess over the 8 symbols for the last 10 steps) has
    mean cross-entropy ``10 ln 8 / (T + 20)`` per step: the baseline.

Every generator takes a ``torch.Generator`` so a data set is reproducible from its seed;
:class:`LongRangeDataset` draws each sequence on demand, so training can see fresh sequences at
every step (the usual protocol: the number of training sequences is ``steps * batch_size``).
"""

from __future__ import annotations

import math
import torch
from torch.utils.data import Dataset

COPY_NUM_SYMBOLS = 10  # vocabulary: blank, 8 data symbols, delimiter
COPY_BLANK = 0
COPY_DELIMITER = 9
COPY_DATA_SYMBOLS = 8  # symbols 1..8
COPY_LENGTH = 10  # how many symbols to remember


def _check_count(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}; pass a larger {name}")


def adding_baseline_mse() -> float:
    """MSE of always predicting 1 on the adding problem: Var(a + b) = 2 * (1/12) = 1/6."""
    return 1.0 / 6.0


def copy_memory_baseline(T: int) -> float:
    """Mean cross-entropy per step (nats) of the memoryless copy strategy: ``10 ln 8 / (T + 20)``."""
    _check_count("T", T, 1)
    return COPY_LENGTH * math.log(COPY_DATA_SYMBOLS) / (T + 2 * COPY_LENGTH)


def adding_problem(
    num_sequences: int, T: int, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num_sequences`` adding-problem sequences of length ``T``.

    Returns ``x`` (N, T, 2) float32 (values, markers) and ``y`` (N, 1) float32 (sum of the two
    marked values).
    """
    _check_count("num_sequences", num_sequences, 1)
    _check_count("T", T, 2)
    half = T // 2
    values = torch.rand(num_sequences, T, generator=generator)  # (N, T)
    first = torch.randint(0, half, (num_sequences,), generator=generator)  # (N,)
    second = torch.randint(half, T, (num_sequences,), generator=generator)  # (N,)
    markers = torch.zeros(num_sequences, T)  # (N, T)
    rows = torch.arange(num_sequences)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second]).unsqueeze(-1)  # (N, 1)
    return x, y


def copy_memory(
    num_sequences: int, T: int, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num_sequences`` copy-memory sequences with ``T`` blanks between data and recall.

    Returns ``x`` (N, T + 20) int64 and ``y`` (N, T + 20) int64, symbols in ``0..9`` (see the module
    docstring for the layout).
    """
    _check_count("num_sequences", num_sequences, 1)
    _check_count("T", T, 1)
    total = T + 2 * COPY_LENGTH
    data = torch.randint(
        1, COPY_DATA_SYMBOLS + 1, (num_sequences, COPY_LENGTH), generator=generator
    )  # (N, 10)
    x = torch.full((num_sequences, total), COPY_BLANK, dtype=torch.long)  # (N, T + 20)
    x[:, :COPY_LENGTH] = data
    x[:, T + COPY_LENGTH - 1] = COPY_DELIMITER
    y = torch.full((num_sequences, total), COPY_BLANK, dtype=torch.long)  # (N, T + 20)
    y[:, -COPY_LENGTH:] = data
    return x, y


class LongRangeDataset(Dataset):
    """``size`` sequences of a task, each drawn on demand from its own seed: item ``i`` is
    ``(x, y)`` of one sequence, the same every time it is read (``seed`` and ``i`` fix it).

    ``task`` is ``"adding"`` or ``"copy"``. Nothing is stored, so a data set of millions of
    fresh training sequences costs no memory; batches stack items like any map-style data set.
    """

    TASKS = ("adding", "copy")

    def __init__(self, task: str, T: int, size: int, seed: int = 0) -> None:
        super().__init__()
        if task not in self.TASKS:
            raise ValueError(f"task must be one of {self.TASKS}, got {task!r}")
        _check_count("T", T, 2 if task == "adding" else 1)
        _check_count("size", size, 1)
        self.task, self.T, self.size, self.seed = task, T, size, seed
        self._draw = adding_problem if task == "adding" else copy_memory

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} sequences")
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        x, y = self._draw(1, self.T, generator=generator)
        return x[0], y[0]
