"""Interpolated Kneser-Ney n-gram language model: the baseline every recurrent LM is shown against.

For a history h (the n-1 tokens before w) the model of order n mixes the discounted count of
``h w`` with the next-lower order (Chen & Goodman 1998, "interpolated Kneser-Ney")::

    P_n(w | h) = max(c(h w) - D_n, 0) / c(h .)  +  D_n T(h) / c(h .) * P_{n-1}(w | h')

where h' drops the oldest token of h, ``c(h .)`` is the total count after h and ``T(h)`` the
number of distinct tokens seen after it (so the two terms sum to 1); a history never seen gives
all its weight to the lower order. The highest order counts occurrences; every lower order counts
*continuations* ``N1+(. g)``, the number of distinct tokens seen before g, which is what makes
Kneser-Ney good: a token that follows many contexts is likely in a new one. The lowest order
mixes with the uniform 1 / V in the same way, so every token of the vocabulary (``<unk>``
included) has a non-zero probability. Discounts ``D = n1 / (n1 + 2 n2)`` per order and count
kind, from the numbers of n-grams seen once and twice (kept within [0.1, 0.95]).

An n-gram is stored as one integer, its tokens as digits in base V, so counting is ``np.unique``
and every lookup a binary search over all positions at once: a 3-million-character corpus is
counted to order 6 in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class _Table:
    """Counts of one order and kind: sorted n-gram codes with their counts, sorted history codes
    with their total count and number of distinct next tokens, and the discount."""

    grams: np.ndarray
    counts: np.ndarray
    histories: np.ndarray
    totals: np.ndarray
    types: np.ndarray
    discount: float


def _table(grams: np.ndarray, counts: np.ndarray, vocab_size: int) -> _Table:
    histories, first = np.unique(grams // vocab_size, return_index=True)  # grams sorted: histories in blocks
    totals = np.add.reduceat(counts, first) if len(first) else np.zeros(0, dtype=np.int64)
    types = np.diff(np.append(first, len(grams)))
    n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    discount = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
    return _Table(grams, counts, histories, totals, types, min(max(discount, 0.1), 0.95))


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[keys == q] for each query (0 where a query is not a key); keys sorted."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=np.int64)
    index = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[index] == queries, values[index], 0)


def _windows(tokens: np.ndarray, n: int, vocab_size: int) -> np.ndarray:
    """Codes of every window of n tokens: sum_k tokens[i + k] V^(n-1-k), (len - n + 1,)."""
    codes = np.zeros(max(0, len(tokens) - n + 1), dtype=np.int64)
    for k in range(n):
        codes = codes * vocab_size + tokens[k : len(tokens) - n + 1 + k]
    return codes


class KneserNeyLM:
    """Interpolated Kneser-Ney over token ids in ``range(vocab_size)``, every order up to ``max_order``.

    ``fit(ids)`` counts once; ``cross_entropy(ids, order)`` scores any order up to ``max_order``.
    """

    def __init__(self, vocab_size: int, max_order: int) -> None:
        if vocab_size < 1 or max_order < 1:
            raise ValueError(f"vocab_size and max_order must be >= 1, got {vocab_size} and {max_order}")
        if max_order * np.log2(max(vocab_size, 2)) >= 62:
            raise ValueError(f"max_order={max_order} is too high for a vocabulary of {vocab_size} (n-grams are "
                             "coded in 63 bits); use a lower order")
        self.vocab_size = vocab_size
        self.max_order = max_order
        self.raw: dict[int, _Table] = {}
        self.continuation: dict[int, _Table] = {}

    def fit(self, ids: Sequence[int]) -> KneserNeyLM:
        tokens = np.asarray(ids, dtype=np.int64)
        V = self.vocab_size
        for n in range(1, self.max_order + 1):
            grams, counts = np.unique(_windows(tokens, n, V), return_counts=True)
            self.raw[n] = _table(grams, counts, V)
            if n > 1:  # N1+(. g) for the (n-1)-grams g: distinct n-grams ending in g
                tails, cont = np.unique(grams % V ** (n - 1), return_counts=True)
                self.continuation[n - 1] = _table(tails, cont, V)
        return self

    def _probabilities(self, windows: np.ndarray, order: int) -> np.ndarray:
        """P(last token | the order-1 before it) for every row of ``windows`` (M, order)."""
        V = self.vocab_size
        p = np.full(len(windows), 1.0 / V)
        for n in range(1, order + 1):
            table = self.raw[n] if n == order else self.continuation[n]
            codes = _windows_rows(windows[:, order - n :], V)  # the last n tokens of each row
            total = _lookup(table.histories, table.totals, codes // V)
            types = _lookup(table.histories, table.types, codes // V)
            count = _lookup(table.grams, table.counts, codes)
            d = table.discount
            seen = total > 0
            safe = np.where(seen, total, 1)
            p = np.where(seen, np.maximum(count - d, 0.0) / safe + d * types / safe * p, p)
        return p

    def probability(self, token: int, history: tuple[int, ...], order: int) -> float:
        """P(token | the last order-1 tokens of history); a shorter history uses a lower order."""
        history = tuple(history[-(order - 1):]) if order > 1 else ()
        return float(self._probabilities(np.array([[*history, token]], dtype=np.int64), len(history) + 1)[0])

    def cross_entropy(self, ids: Sequence[int], order: int, context: Sequence[int] = ()) -> float:
        """Mean -log P of each token of ``ids`` given the ones before it (nats per token); the
        first tokens also read the end of ``context`` (e.g. the training text before them)."""
        if not 1 <= order <= self.max_order:
            raise ValueError(f"order must be between 1 and max_order={self.max_order}, got {order}")
        tokens = np.asarray(ids, dtype=np.int64)
        lead = np.asarray(list(context)[-(order - 1):] if order > 1 else [], dtype=np.int64)
        stream = np.concatenate([lead, tokens])
        total = 0.0
        short = order - 1 - len(lead)  # tokens whose history is shorter than order - 1
        for i in range(max(0, short)):
            total -= np.log(self.probability(int(tokens[i]), tuple(stream[: len(lead) + i]), order))
        full = np.lib.stride_tricks.sliding_window_view(stream, order) if len(stream) >= order else np.zeros((0, order), np.int64)
        total -= float(np.sum(np.log(self._probabilities(full, order))))
        return total / max(1, len(tokens))


def _windows_rows(rows: np.ndarray, vocab_size: int) -> np.ndarray:
    codes = np.zeros(len(rows), dtype=np.int64)
    for k in range(rows.shape[1]):
        codes = codes * vocab_size + rows[:, k]
    return codes


@dataclass(frozen=True)
class NgramBaseline:
    """The n-gram model chosen on a development part, scored on held-out tokens."""

    order: int
    cross_entropy: float
    """Nats per token on the held-out tokens."""
    dev_cross_entropy: dict[int, float]
    """Nats per token of every order tried on the development part."""


def kneser_ney_baseline(train: Sequence[int], held_out: Sequence[int], vocab_size: int,
                        orders: Sequence[int] = (1, 2, 3, 4, 5, 6), dev_fraction: float = 0.1,
                        gap: Sequence[int] = ()) -> NgramBaseline:
    """Choose the order on the last ``dev_fraction`` of ``train`` (counted on the rest), refit on
    all of ``train`` and score ``held_out`` (reading the end of ``train`` + ``gap``, the tokens
    between the two, as its first context): the held-out tokens play no part in the choice.
    Orders too high for the vocabulary's codes are left out."""
    train = list(train)
    orders = [n for n in orders if n * np.log2(max(vocab_size, 2)) < 62] or [1]
    cut = max(1, int(len(train) * (1 - dev_fraction)))
    dev_model = KneserNeyLM(vocab_size, max(orders)).fit(train[:cut])
    dev = {n: dev_model.cross_entropy(train[cut:], n, context=train[:cut]) for n in orders}
    best = min(dev, key=dev.get)
    model = KneserNeyLM(vocab_size, best).fit(train)
    return NgramBaseline(best, model.cross_entropy(held_out, best, context=train + list(gap)), dev)
