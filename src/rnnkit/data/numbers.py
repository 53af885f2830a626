"""Numbers written in digits paired with their words, generated offline with ``num2words``.

``number_to_words(1999)`` is ``"mil novecientos noventa y nueve"`` (Spanish, the default) and
``number_to_words(1999, "en")`` is ``"one thousand, nine hundred and ninety-nine"``. The words
are exactly what ``num2words(n, lang=...)`` writes, including its quirks (it writes
``"veintiuno mil"`` for 21000 where careful Spanish says "veintiún mil").

:func:`number_pairs` draws distinct numbers from ``[low, high)`` (default: every number below one
million) without replacement, so the train and test numbers are disjoint by construction, and
pairs them in either direction: ``"to-words"`` (``"1999" -> "mil novecientos..."``) or
``"to-digits"`` (the reverse). The draw is balanced over the numbers' lengths in digits: drawn
uniformly below a million, 90% of the numbers would have six digits and "7" would almost never
be trained on or tested, so each length gets an equal share of the test numbers (at most a third
of a length's numbers: 3 of 0-9, 30 of 10-99) and of the training pairs; a length with fewer
training numbers than its share repeats them, at most :data:`MAX_REPEATS` times each. 0 and 100
are always training numbers (:data:`ALWAYS_TRAINED`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from num2words import num2words

from rnnkit.data.pairs import Pair, PairSplit

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
    train, test = _balanced_draw(config)
    pairs = [(str(n), number_to_words(n, config.lang)) for n in train + test]
    description = (
        f"numbers in [{config.low}, {config.high}) with {config.lang} words from num2words: "
        f"{config.n_train} train / {config.n_test} test, disjoint, balanced over lengths of "
        f"{len(str(config.low))}-{len(str(config.high - 1))} digits (seed {config.seed})"
    )
    split = PairSplit(pairs[: config.n_train], pairs[config.n_train:], description)
    return split if config.direction == "to-words" else split.swapped()


def length_ranges(low: int, high: int) -> dict[int, range]:
    """The numbers of ``[low, high)`` by their length in digits: ``{1: range(0, 10), 2: range(10, 100), ...}``."""
    out = {}
    for digits in range(len(str(low)), len(str(high - 1)) + 1):
        start = 0 if digits == 1 else 10 ** (digits - 1)
        out[digits] = range(max(low, start), min(high, 10**digits))
    return out


def _shares(total: int, capacity: dict[int, int]) -> dict[int, int]:
    """``total`` split as evenly as possible over the keys, none above its ``capacity``."""
    share = {key: 0 for key in capacity}
    left = total
    while left > 0:
        open_keys = [key for key in capacity if share[key] < capacity[key]]
        if not open_keys:
            break
        each = max(1, left // len(open_keys))
        for key in open_keys:
            add = min(each, capacity[key] - share[key], left)
            share[key] += add
            left -= add
            if left == 0:
                break
    return share


ALWAYS_TRAINED = frozenset({0, 100})
"""Never held out: their words ("cero", "cien"; "zero") occur in no other number, so no model could
translate them without having seen them."""
MAX_REPEATS = 20
"""How many times a training number may appear when its length has fewer numbers than its share."""


def _balanced_draw(config: NumberPairsConfig) -> tuple[list[int], list[int]]:
    """Disjoint train and test numbers with an equal share of each length in digits (see the module doc)."""
    rng = random.Random(config.seed)
    ranges = length_ranges(config.low, config.high)
    test_share = _shares(config.n_test, {d: max(1, len(r) // 3) if len(r) > 1 else 0 for d, r in ranges.items()})
    distinct = {d: len(r) - test_share[d] for d, r in ranges.items()}
    train_share = _shares(config.n_train, {d: n * MAX_REPEATS for d, n in distinct.items()})
    train, test = [], []
    for digits, numbers in ranges.items():
        drawn = rng.sample(numbers, test_share[digits] + min(train_share[digits], distinct[digits]))
        held = [n for n in drawn if n not in ALWAYS_TRAINED][: test_share[digits]]
        test += held
        pool = [n for n in drawn if n not in held]
        train += [pool[i % len(pool)] for i in range(train_share[digits])] if pool else []
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def digits_of(pair: Pair, direction: str) -> str:
    """The number in digits of a ``direction`` pair (its source for "to-words", its target else)."""
    return pair[0] if direction == "to-words" else pair[1]


def length_stratum(direction: str) -> Callable[[Pair], int | None]:
    """For :func:`rnnkit.data.pairs.hold_out_sources`: a pair's number length in digits, so that a
    held-out slice has numbers of every length, and ``None`` (never held out) for
    :data:`ALWAYS_TRAINED` numbers, as in the test draw."""
    _check_direction(direction)

    def stratum(pair: Pair) -> int | None:
        digits = digits_of(pair, direction)
        return None if int(digits) in ALWAYS_TRAINED else len(digits)

    return stratum


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
