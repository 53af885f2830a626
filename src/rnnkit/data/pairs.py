"""(source, target) text pairs for translation: TSV loading, validation and held-out splits.

A pairs file is UTF-8 text with one pair per line, ``source<TAB>target``. Empty lines are
skipped; every other line must have exactly one tab and a non-empty (after stripping spaces)
source and target, otherwise :class:`~rnnkit.errors.DataError` names the file and the line.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnkit.errors import DataError

Pair = tuple[str, str]
"""One translation example: (source text, target text)."""


@dataclass(frozen=True)
class PairSplit:
    """A training set and a held-out test set of pairs whose sources are disjoint.

    Attributes:
        train: pairs to learn from.
        test: held-out pairs; no test source appears among the training sources.
        description: one line saying where the pairs come from and how they were split
            (e.g. the number range), shown by the CLI and written into the model directory.
    """

    train: list[Pair]
    test: list[Pair]
    description: str

    def swapped(self) -> PairSplit:
        """The same split with source and target exchanged (the reverse direction)."""
        return PairSplit(swap(self.train), swap(self.test), self.description)


def swap(pairs: Iterable[Pair]) -> list[Pair]:
    """Return ``[(target, source), ...]``."""
    return [(target, source) for source, target in pairs]


def validate_pairs(pairs: Sequence[Pair], origin: str = "pairs") -> list[Pair]:
    """Check that ``pairs`` is a non-empty list of (non-empty str, non-empty str).

    Args:
        pairs: the examples.
        origin: how to name them in error messages (a file name, "pairs").

    Returns:
        The pairs as a list of tuples with surrounding spaces stripped.

    Raises:
        DataError: an element is not a pair of strings, or a source/target is empty.
    """
    if len(pairs) == 0:
        raise DataError(f"{origin}: no (source, target) pairs; give at least one pair")
    clean: list[Pair] = []
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise DataError(
                f"{origin}: item {index} is {pair!r}, expected a (source, target) pair of strings"
            )
        source, target = pair
        if not (isinstance(source, str) and isinstance(target, str)):
            raise DataError(
                f"{origin}: item {index} is ({type(source).__name__}, {type(target).__name__}), "
                f"expected (str, str)"
            )
        clean.append(_checked(source, target, f"{origin}: item {index}"))
    return clean


def load_pairs(path: str | Path) -> list[Pair]:
    """Read a TSV file of ``source<TAB>target`` lines.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataError: the file is not UTF-8, has no pairs, or a line does not have exactly two
            tab-separated non-empty fields (the message gives the line number, counted from 1).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"pairs file {str(path)!r} does not exist; give a TSV file path")
    if path.is_dir():
        raise IsADirectoryError(f"pairs file {str(path)!r} is a folder; give a TSV file path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8"
        ) from None
    pairs: list[Pair] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line == "":
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(
                f"{path} line {number}: expected 2 tab-separated fields (source<TAB>target), "
                f"got {len(fields)}: {_preview(line)}; put exactly one tab between source and target"
            )
        pairs.append(_checked(fields[0], fields[1], f"{path} line {number}"))
    if not pairs:
        raise DataError(f"{path}: no (source, target) lines found; write one source<TAB>target per line")
    return pairs


def split_pairs(pairs: Sequence[Pair], test_fraction: float = 0.1, seed: int = 0,
                description: str = "pairs") -> PairSplit:
    """Split pairs into train and test so that no source text is in both.

    Distinct source texts are shuffled with ``seed`` and the last ``test_fraction`` of them
    (at least one) go to the test set with all their pairs (:func:`hold_out_sources`).

    Raises:
        ValueError: ``test_fraction`` is not in (0, 1).
        DataError: fewer than two distinct sources (nothing to hold out).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}; e.g. 0.1")
    n_sources = len({source for source, _ in pairs})
    if n_sources < 2:
        raise DataError(
            f"{description}: {n_sources} distinct source text(s), need at least 2 to hold some out for "
            f"testing; add more pairs"
        )
    train, test = hold_out_sources(pairs, test_fraction, seed)
    summary = (f"{description}: {len(train)} train / {len(test)} test pairs, "
               f"sources disjoint (seed {seed})")
    return PairSplit(train, test, summary)


def hold_out_sources(pairs: Sequence[Pair], fraction: float, seed: int = 0, *,
                     stratum: Callable[[Pair], Hashable | None] | None = None) -> tuple[list[Pair], list[Pair]]:
    """``(kept, held)``: ``fraction`` of the distinct sources, with all their pairs, held out.

    Within each stratum (``stratum(pair)`` of a source's first pair; all sources form one
    stratum when ``stratum`` is None) the distinct sources are sorted, shuffled with ``seed`` and
    the last ``round(fraction * n)`` of them are held out: at least one, and never all of them
    (a stratum of one source keeps it). Sources whose stratum is ``None`` are always kept. So a
    held-out set stratified by, say, the length of a number has every length in it, short ones
    included, where a uniform draw of pairs would hold out long ones only.
    """
    strata: dict[Hashable, list[str]] = {}
    seen: set[str] = set()
    for pair in pairs:
        if pair[0] in seen:
            continue
        seen.add(pair[0])
        key = stratum(pair) if stratum is not None else 0
        if key is not None:
            strata.setdefault(key, []).append(pair[0])
    held_sources: set[str] = set()
    for key in sorted(strata, key=repr):
        sources = sorted(strata[key])
        random.Random(seed).shuffle(sources)
        n_held = min(len(sources) - 1, max(1, round(fraction * len(sources))))
        held_sources.update(sources[len(sources) - n_held:])
    kept = [pair for pair in pairs if pair[0] not in held_sources]
    held = [pair for pair in pairs if pair[0] in held_sources]
    return kept, held


def _checked(source: str, target: str, where: str) -> Pair:
    source, target = source.strip(), target.strip()
    if not source:
        raise DataError(f"{where}: empty source text; every pair needs a non-empty source")
    if not target:
        raise DataError(f"{where}: empty target text; every pair needs a non-empty target")
    return source, target


def _preview(line: str, width: int = 60) -> str:
    shown = line if len(line) <= width else line[:width] + "..."
    return repr(shown)
