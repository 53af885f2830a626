"""TF-IDF + logistic regression: learns word evidence, picks C on validation only."""

import random

from rnnkit.baselines.bag_of_words import C_GRID, tfidf_logistic_regression


def _texts(n, seed, flip=False):
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        positive = i % 2 == 0
        words = rng.sample(["the", "film", "plot", "was", "very", "and", "story", "music"], 5)
        words.insert(rng.randrange(6), rng.choice(["good", "great", "superb"] if positive else ["bad", "dull", "awful"]))
        texts.append(" ".join(words))
        labels.append(("pos" if positive else "neg") if not flip else ("neg" if positive else "pos"))
    return texts, labels


def test_word_evidence_is_learned_and_scored_on_the_test_split():
    result = tfidf_logistic_regression(_texts(200, 0), _texts(60, 1), _texts(60, 2))
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0 and result.C in C_GRID
    assert result.val_accuracy == 1.0 and result.seconds > 0


def test_the_test_split_is_only_scored_never_learned_from():
    flipped = tfidf_logistic_regression(_texts(200, 0), _texts(60, 1), _texts(60, 2, flip=True))
    assert flipped.accuracy == 0.0  # trained on train, chosen on val: the flipped test labels are all wrong
