"""Text classification task: beats the majority class on Rotten Tomatoes, pretrained vectors, errors."""

import csv
import random

import numpy as np
import pytest
import torch

from rnnkit.errors import DataError
from rnnkit.tasks.classify import ClassifyTrainConfig, TextClassifier, train_classifier
from rnnkit.training import load_model

POSITIVE = ["good", "great", "superb", "lovely", "brilliant"]
NEGATIVE = ["bad", "awful", "dull", "boring", "terrible"]
FILLER = ["the", "film", "plot", "actors", "was", "very", "quite", "and", "story", "music"]


def write_reviews(path, n=240, seed=0, label_col="label"):
    """A CSV whose label is decided by one polar word hidden among filler words."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review", label_col])
        for i in range(n):
            positive = i % 2 == 0
            words = rng.sample(FILLER, 6)
            words.insert(rng.randrange(7), rng.choice(POSITIVE if positive else NEGATIVE))
            writer.writerow([" ".join(words) + ".", "pos" if positive else "neg"])
    return path


FAST = dict(cell="gru", hidden_size=16, embedding_dim=16, bidirectional=False, dropout=0.0, epochs=6, batch_size=16,
            lr=1e-2, min_freq=1, patience=None, progress_bar="off")


def test_rotten_tomatoes_slice_beats_the_majority_class(tmp_path):
    """5,000 snippets, a small GRU, 3 epochs: at least 5 points above always answering 'fresh'."""
    config = ClassifyTrainConfig(limit=5000, cell="gru", hidden_size=32, embedding_dim=32, bidirectional=False,
                                 pooling="max", dropout=0.0, epochs=3, lr=5e-3, patience=None, max_len=40,
                                 progress_bar="off")
    report = train_classifier(config, tmp_path)
    assert report.labels == ["fresh", "rotten"] and report.n_test == 1001
    assert 0.57 < report.majority_accuracy < 0.59
    assert report.accuracy >= report.majority_accuracy + 0.05
    assert report.macro_f1 > 0.55
    confusion = np.array(report.confusion)
    assert confusion.sum() == report.n_test
    assert np.trace(confusion) / confusion.sum() == pytest.approx(report.accuracy)
    # the bag-of-words baseline on the same split: well above the majority class
    assert report.baseline is not None and report.baseline.accuracy >= report.majority_accuracy + 0.1


def test_learns_a_polarity_word_and_predicts_with_probabilities(tmp_path):
    data = write_reviews(tmp_path / "reviews.csv")
    report = train_classifier(ClassifyTrainConfig(data=str(data), text_col="review", **FAST), tmp_path / "run")
    assert report.accuracy == 1.0 and report.macro_f1 == 1.0
    assert report.confusion == [[report.confusion[0][0], 0], [0, report.confusion[1][1]]]
    preds = TextClassifier.load(report.model_dir).predict(["the plot was superb", "the music was awful and dull"])
    assert [p.label for p in preds] == ["pos", "neg"]
    assert all(p.probability > 0.5 and sum(p.probabilities.values()) == pytest.approx(1.0) for p in preds)
    assert preds[0].probabilities["pos"] == pytest.approx(preds[0].probability)


def test_frozen_pretrained_vectors_stay_aligned_with_the_vocab(tmp_path):
    data = write_reviews(tmp_path / "reviews.csv")
    rng = np.random.default_rng(1)
    words = POSITIVE + NEGATIVE + FILLER
    vectors = {w: rng.normal(size=8).round(4) for w in words}
    vec_file = tmp_path / "vectors.vec"
    vec_file.write_text(f"{len(words)} 8\n" + "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()))
    fast = {k: v for k, v in FAST.items() if k != "embedding_dim"}  # the vectors' own dimension is used
    config = ClassifyTrainConfig(data=str(data), text_col="review", embeddings=str(vec_file),
                                 freeze_embeddings=True, **fast)
    report = train_classifier(config, tmp_path / "run")
    assert report.embedding_coverage == pytest.approx(20 / 21)  # every word but "."
    model, extras = load_model(report.model_dir)
    tokens = extras["vocab"]["tokens"]
    weight = model.encoder.embedding.weight
    assert weight.shape[1] == 8 and not weight.requires_grad
    for i, token in enumerate(tokens, start=4):
        if token in vectors:
            assert torch.allclose(weight[i], torch.tensor(vectors[token], dtype=torch.float32))
    assert torch.equal(weight[0], torch.zeros(8))
    assert report.accuracy > 0.7  # learns through fixed (random) vectors too


@pytest.mark.parametrize(
    ("kwargs", "content", "error", "match"),
    [
        (dict(text_col="txt"), None, DataError, r"text column 'txt' is not in .*its columns are 'review', 'label'"),
        (dict(text_col="review", label_col="stars"), None, DataError, r"label column 'stars' is not in"),
        (dict(text_col="review"), "review,label\na,pos\nb,pos\nc,pos\n", DataError, r"has a single class 'pos'"),
        (dict(text_col="review"), "review,label\na,pos\nb,pos\nc,pos\nd,neg\n", DataError, r"class 'neg' has only 1 example\(s\); every class needs at least 3"),
        (dict(text_col="review", embeddings="{bad}", embedding_dim=100), None, DataError, r"is not valid glove format"),
    ],
)
def test_bad_data(tmp_path, kwargs, content, error, match):
    data = tmp_path / "d.csv"
    if content is None:
        write_reviews(data, n=40)
    else:
        data.write_text(content)
    (tmp_path / "bad.txt").write_text("hello world\n")
    kwargs = {k: v.format(bad=tmp_path / "bad.txt") if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(error, match=match):
        train_classifier(ClassifyTrainConfig(data=str(data), **{**FAST, **kwargs}), tmp_path / "run")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(text_col="review"), r"text_col / label_col name columns of your CSV file; give that file too"),
        (dict(test_fraction=0.6), r"test_fraction must be in \(0, 0.5\), got 0.6"),
        (dict(limit=3), r"limit must be an integer >= 10 or None, got 3"),
        (dict(pooling="sum"), r"pooling must be one of 'last', 'mean', 'max'; got 'sum'"),
        (dict(cell="cnn"), r"cell must be one of rnn, lstm, gru, slstm, mlstm, lnlstm, lngru; got 'cnn'"),
        (dict(vectors_format="npy"), r"vectors_format must be one of auto, word2vec"),
    ],
)
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClassifyTrainConfig(**kwargs)


def test_predict_errors(tmp_path):
    data = write_reviews(tmp_path / "reviews.csv", n=60)
    report = train_classifier(ClassifyTrainConfig(data=str(data), text_col="review", **{**FAST, "epochs": 1}), tmp_path / "run")
    with pytest.raises(DataError, match=r"give at least one non-empty text to classify"):
        TextClassifier.load(report.model_dir).predict(["  "])
