"""ISO dates paired with their Spanish long form, generated offline with Babel.

``date_to_words(date(1999, 12, 31))`` is ``"viernes, 31 de diciembre de 1999"``, exactly
``babel.dates.format_date(d, format="full", locale="es")``. :func:`date_pairs` draws distinct
days from ``[start, end]`` (default 1900-01-01 to 2099-12-31, both included) without
replacement, so train and test dates are disjoint, and pairs them ``"to-words"``
(``"1999-12-31" -> "viernes, 31 de ..."``) or ``"to-digits"`` (the reverse).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from babel.dates import format_date

from rnnkit.data.numbers import DIRECTIONS
from rnnkit.data.pairs import PairSplit


def date_to_words(day: dt.date, locale: str = "es") -> str:
    """Return Babel's full long form of ``day`` in ``locale`` (default Spanish)."""
    if not isinstance(day, dt.date):
        raise TypeError(f"day must be a datetime.date, got {type(day).__name__} {day!r}")
    return format_date(day, format="full", locale=locale)


@dataclass(frozen=True)
class DatePairsConfig:
    """Which days to draw and how to pair them.

    Attributes:
        start: first day of the range (inclusive).
        end: last day of the range (inclusive).
        n_train: how many distinct training days.
        n_test: how many distinct held-out days (none of them is a training day).
        direction: "to-words" (ISO -> long form) or "to-digits" (long form -> ISO).
        seed: seed of the draw.
    """

    start: dt.date = dt.date(1900, 1, 1)
    end: dt.date = dt.date(2099, 12, 31)
    n_train: int = 20_000
    n_test: int = 1_000
    direction: str = "to-words"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.date):
                raise TypeError(f"{name} must be a datetime.date, got {type(value).__name__} {value!r}")
        for name in ("n_train", "n_test", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if self.end < self.start:
            raise ValueError(f"end must not be before start, got start={self.start}, end={self.end}")
        if self.n_train < 1 or self.n_test < 1:
            raise ValueError(
                f"n_train and n_test must be >= 1, got n_train={self.n_train}, n_test={self.n_test}"
            )
        available = (self.end - self.start).days + 1
        if self.n_train + self.n_test > available:
            raise ValueError(
                f"n_train + n_test = {self.n_train + self.n_test} distinct days do not fit in "
                f"[{self.start}, {self.end}] ({available} days); widen the range or ask for fewer"
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}"
            )


def date_pairs(config: DatePairsConfig | None = None) -> PairSplit:
    """Draw disjoint train/test days and pair each ISO date with its Spanish long form."""
    config = config or DatePairsConfig()
    span = (config.end - config.start).days + 1
    offsets = random.Random(config.seed).sample(range(span), config.n_train + config.n_test)
    days = [config.start + dt.timedelta(days=offset) for offset in offsets]
    pairs = [(day.isoformat(), date_to_words(day)) for day in days]
    description = (
        f"dates in [{config.start}, {config.end}] with Spanish long forms from Babel: "
        f"{config.n_train} train / {config.n_test} test, disjoint (seed {config.seed})"
    )
    split = PairSplit(pairs[: config.n_train], pairs[config.n_train:], description)
    return split if config.direction == "to-words" else split.swapped()
