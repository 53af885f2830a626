"""Bag of words against sequence models (seed 002): TF-IDF features and logistic regression.

The texts become sparse TF-IDF vectors of their word unigrams and bigrams (scikit-learn's
``TfidfVectorizer``, sublinear term frequency), order ignored except inside a bigram; a logistic
regression reads them. Its inverse regularization ``C`` is chosen on the validation split, the
model is fit on the training split only (as the recurrent classifier is), and scored on the test
split: the number a practitioner would put beside a recurrent classifier's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

C_GRID: tuple[float, ...] = (0.25, 1.0, 4.0, 16.0, 64.0)


@dataclass(frozen=True)
class BagOfWordsBaseline:
    """TF-IDF + logistic regression: the chosen C, its validation accuracy and the test scores."""

    C: float
    val_accuracy: float
    accuracy: float
    macro_f1: float
    seconds: float


def tfidf_logistic_regression(train: tuple[Sequence[str], Sequence[str]], val: tuple[Sequence[str], Sequence[str]],
                              test: tuple[Sequence[str], Sequence[str]], *, lowercase: bool = True,
                              seed: int = 0) -> BagOfWordsBaseline:
    """Fit on ``train`` (texts, labels) for each C of :data:`C_GRID`, keep the best on ``val``,
    score it on ``test``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=lowercase, min_df=1)
    x_train = vectorizer.fit_transform(train[0])
    x_val, x_test = vectorizer.transform(val[0]), vectorizer.transform(test[0])
    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(x_train, train[1])
        score = accuracy_score(val[1], model.predict(x_val))
        if best is None or score > best[1]:
            best = (c, score, model)
    assert best is not None
    c, val_accuracy, model = best
    predicted = model.predict(x_test)
    return BagOfWordsBaseline(
        C=c, val_accuracy=float(val_accuracy), accuracy=float(accuracy_score(test[1], predicted)),
        macro_f1=float(f1_score(test[1], predicted, average="macro", zero_division=0)),
        seconds=time.perf_counter() - start,
    )
