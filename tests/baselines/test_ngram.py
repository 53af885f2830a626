"""Interpolated Kneser-Ney: a proper distribution, equal to an independent re-computation of its
equations, and the order chosen without the held-out tokens."""

import math
import random
from collections import Counter

import pytest

from rnnkit.baselines.ngram import KneserNeyLM, kneser_ney_baseline


def _text(n=3000, seed=0):
    rng = random.Random(seed)
    words = ["the", "cat", "sat", "on", "mat", "a", "dog"]
    ids = {c: i + 4 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz ")}
    text = " ".join(rng.choice(words) for _ in range(n // 4))
    return [ids[c] for c in text][:n]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_every_history_gives_a_distribution_over_the_whole_vocabulary(order):
    tokens = _text()
    model = KneserNeyLM(vocab_size=40, max_order=5).fit(tokens)
    for start in (0, 17, 400, 2500):
        history = tuple(tokens[start : start + order - 1])
        total = sum(model.probability(w, history, order) for w in range(40))
        assert total == pytest.approx(1.0, abs=1e-12)
    assert sum(model.probability(w, (39, 38, 37), 4) for w in range(40)) == pytest.approx(1.0, abs=1e-12)
    assert model.probability(0, (), order) > 0  # an unseen token (<pad>) keeps a little mass


def test_a_bigram_probability_equals_the_equations_computed_from_scratch():
    rng = random.Random(3)
    tokens = [rng.choice(range(4, 34)) if rng.random() < 0.5 else 4 + i % 7 for i in range(800)]
    V = 40
    model = KneserNeyLM(V, 2).fit(tokens)
    bigrams = Counter(zip(tokens, tokens[1:]))
    # lower order: continuation counts N1+(. w) over distinct bigrams, discounted, mixed with 1 / V
    cont = Counter(w for (_, w) in bigrams)
    n1, n2 = sum(c == 1 for c in cont.values()), sum(c == 2 for c in cont.values())
    d1 = min(max(n1 / (n1 + 2 * n2), 0.1), 0.95) if n1 + 2 * n2 else 0.5
    total1 = sum(cont.values())
    unigram = lambda w: max(cont[w] - d1, 0) / total1 + d1 * len(cont) / total1 / V  # noqa: E731
    b1, b2 = sum(c == 1 for c in bigrams.values()), sum(c == 2 for c in bigrams.values())
    d2 = min(max(b1 / (b1 + 2 * b2), 0.1), 0.95)
    for h in (tokens[10], tokens[99], 39):
        after = {w: c for (a, w), c in bigrams.items() if a == h}
        for w in (tokens[11], tokens[100], 0):
            if after:
                total = sum(after.values())
                expected = max(after.get(w, 0) - d2, 0) / total + d2 * len(after) / total * unigram(w)
            else:
                expected = unigram(w)
            assert model.probability(w, (h,), 2) == pytest.approx(expected, rel=1e-12)


def test_higher_orders_learn_a_repeating_pattern_and_the_order_is_chosen_on_the_training_part():
    pattern = [5, 6, 7, 5, 8, 9]  # after 5 comes 6 or 8: a bigram cannot tell, a trigram can
    train = pattern * 300
    result = kneser_ney_baseline(train, pattern * 20, vocab_size=12, orders=(1, 2, 3, 4))
    assert result.dev_cross_entropy[3] < 0.1 < result.dev_cross_entropy[2] < result.dev_cross_entropy[1]
    assert result.order >= 3 and result.cross_entropy < 0.1
    other = kneser_ney_baseline(train, [11] * 50, vocab_size=12, orders=(1, 2, 3, 4))
    assert other.order == result.order  # the held-out tokens never influence the choice
    assert math.isfinite(other.cross_entropy) and other.cross_entropy > 1.0
