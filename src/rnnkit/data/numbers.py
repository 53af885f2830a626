"""Numbers written in digits paired with their words, generated offline with ``num2words``.

``number_to_words(1999)`` is ``"mil novecientos noventa y nueve"`` (Spanish, the default) and
``number_to_words(1999, "en")`` is ``"one thousand, nine hundred and ninety-nine"``. The words
are exactly what ``num2words(n, lang=...)`` writes, including its quirks (it writes
``"veintiuno mil"`` for 21000 where careful Spanish says "veintiún mil").

:func:`number_pairs` draws distinct numbers from ``[low, high)`` (default: every number below one
million) without replacement, so the train and test numbers are disjoint by construction, and
pairs them in either direction: ``"to-words"`` (``"1999" -> "mil novecientos..."``) or
``"to-digits"`` (the reverse).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from num2words import num2words

from rnnkit.data.pairs import PairSplit

LANGS: tuple[str, ...] = ("es", "en")
DIRECTIONS: tuple[str, ...] = ("to-words", "to-digits")


def number_to_words(n: int, lang: str = "es") -> str:
    """Return the words of the non-negative integer ``n`` in ``lang`` ("es" or "en")."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}; negative numbers are not supported")
    _check_lang(lang)
    return num2words(n, lang=lang)


@dataclass(frozen=True)
class NumberPairsConfig:
    """Which numbers to draw and how to pair them.

    Attributes:
        low: smallest number (inclusive), >= 0.
        high: end of the range (exclusive); default 1_000_000 = "numbers below one million".
        n_train: how many distinct training numbers.
        n_test: how many distinct held-out numbers (none of them is a training number).
        lang: words language, "es" (default) or "en".
        direction: "to-words" (digits -> words) or "to-digits" (words -> digits).
        seed: seed of the draw.
    """

    low: int = 0
    high: int = 1_000_000
    n_train: int = 20_000
    n_test: int = 1_000
    lang: str = "es"
    direction: str = "to-words"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("low", "high", "n_train", "n_test", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if self.low < 0:
            raise ValueError(f"low must be >= 0, got {self.low}; negative numbers are not supported")
        if self.high <= self.low:
            raise ValueError(f"high must be > low, got low={self.low}, high={self.high}")
        if self.n_train < 1 or self.n_test < 1:
            raise ValueError(
                f"n_train and n_test must be >= 1, got n_train={self.n_train}, n_test={self.n_test}"
            )
        available = self.high - self.low
        if self.n_train + self.n_test > available:
            raise ValueError(
                f"n_train + n_test = {self.n_train + self.n_test} distinct numbers do not fit in "
                f"[{self.low}, {self.high}) ({available} numbers); widen the range or ask for fewer"
            )
        _check_lang(self.lang)
        _check_direction(self.direction)


def number_pairs(config: NumberPairsConfig | None = None) -> PairSplit:
    """Draw disjoint train/test numbers and pair each with its words.

    Returns:
        A :class:`PairSplit` whose pairs are ``(str(n), words)`` for ``"to-words"`` and
        ``(words, str(n))`` for ``"to-digits"``; ``description`` states the range and sizes.
    """
    config = config or NumberPairsConfig()
    drawn = random.Random(config.seed).sample(range(config.low, config.high),
                                              config.n_train + config.n_test)
    pairs = [(str(n), number_to_words(n, config.lang)) for n in drawn]
    description = (
        f"numbers in [{config.low}, {config.high}) with {config.lang} words from num2words: "
        f"{config.n_train} train / {config.n_test} test, disjoint (seed {config.seed})"
    )
    split = PairSplit(pairs[: config.n_train], pairs[config.n_train:], description)
    return split if config.direction == "to-words" else split.swapped()


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
