"""Text classification (many-to-one, seed 002: "the sentiment of a review"): train, evaluate, predict.

What ``rnnkit classify`` runs::

    report = train_classifier(ClassifyTrainConfig(cell="lstm", embeddings="glove"), out_dir)
    report.accuracy, report.macro_f1, report.confusion
    TextClassifier.load(report.model_dir).predict(["a gorgeous, moving film"])   # [Prediction("fresh", 0.93, ...)]

Data: a CSV file with a text column and a label column, or by default the Rotten Tomatoes review
snippets (fresh / rotten) shipped with rnnkit. The examples are split at random,
stratified by label, with ``seed``: ``test_fraction`` of them are held out for the final report
(accuracy, macro-F1, confusion matrix, and the majority-class accuracy to compare with),
``val_fraction`` for early stopping and the choice of the best epoch, the rest for training.

Text: word tokens (lowercased by default), vocabulary built on the training split only
(``min_freq``, ``max_vocab``), each text cut to its first ``max_len`` tokens (longer texts are
truncated, not refused; a text without any token is read as one ``<unk>``).

Pretrained vectors (``embeddings="glove"`` or a word2vec/fastText/GloVe file) initialise the
embedding matrix aligned with the vocabulary (see :mod:`rnnkit.data.embeddings` for the words
without a vector); ``freeze_embeddings`` keeps them fixed, else they are fine-tuned.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from rnnkit.baselines.bag_of_words import BagOfWordsBaseline, tfidf_logistic_regression
from rnnkit.data.embeddings import VECTOR_FORMATS, embedding_matrix
from rnnkit.data.sentiment import LABEL_COLUMN, TEXT_COLUMN, load_rotten_tomatoes
from rnnkit.data.text import read_labeled_csv
from rnnkit.data.tokenizers import WordTokenizer, tokenizer_from_dict
from rnnkit.data.vocab import PAD_ID, UNK_ID, Vocab
from rnnkit.errors import DataError
from rnnkit.io import CHECKPOINTS, check_resumable_run_folder, resumable_run_folder
from rnnkit.models import SequenceClassifier, SequenceClassifierConfig
from rnnkit.tasks.embed import resolve_vectors
from rnnkit.tasks.predictor import Predictor
from rnnkit.training import ClassificationObjective, TrainConfig, fit, predict
from rnnkit.training.config import budget_left

log = logging.getLogger(__name__)

MODEL_DIR = "model"
RUN_KIND = "classify"


@dataclass
class ClassifyTrainConfig:
    """Options of ``rnnkit classify train`` (see the module doc for the data handling).

    Data: ``data`` (CSV path; ``None`` = Rotten Tomatoes), ``text_col`` / ``label_col``
    (default ``text`` / ``label`` for a CSV), ``encoding``, ``limit`` (use a stratified sample of
    this many examples), ``test_fraction``, ``val_fraction``.

    Text: ``lowercase``, ``min_freq``, ``max_vocab`` (reserved tokens included), ``max_len``.

    Model: ``cell``, ``embedding_dim`` (ignored with pretrained vectors: their dimension is used),
    ``hidden_size``, ``num_layers``, ``bidirectional``, ``dropout``, ``pooling`` ("last",
    "mean", "max"), ``cell_kwargs``, ``embeddings`` ("glove" or a vectors file), ``vectors_format``,
    ``freeze_embeddings``.

    Training: ``epochs``, ``batch_size``, ``lr`` (Adam), ``weight_decay``, ``clip_norm``,
    ``patience`` (early stopping on validation loss, None = off), ``max_seconds`` (the whole run's
    budget, data and baseline included), ``seed``,
    ``progress_bar``.

    ``baseline``: also fit TF-IDF + logistic regression on the same split
    (:mod:`rnnkit.baselines.bag_of_words`) and report it beside the network.
    """

    data: str | None = None
    text_col: str | None = None
    label_col: str | None = None
    encoding: str = "utf-8"
    limit: int | None = None
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    lowercase: bool = True
    min_freq: int = 2
    max_vocab: int | None = 30000
    max_len: int = 64
    cell: str = "lstm"
    embedding_dim: int = 100
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.3
    pooling: str = "max"
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    embeddings: str | None = None
    vectors_format: str = "auto"
    freeze_embeddings: bool = False
    epochs: int = 6
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    patience: int | None = 2
    max_seconds: float | None = None
    seed: int = 0
    progress_bar: str = "auto"
    baseline: bool = True

    def __post_init__(self) -> None:
        if self.data is None and (self.text_col is not None or self.label_col is not None):
            raise ValueError(
                "text_col / label_col name columns of your CSV file; give that file too, or drop "
                "them to use the Rotten Tomatoes data"
            )
        for name in ("test_fraction", "val_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5), got {value}")
        for name in ("min_freq", "max_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 10):
            raise ValueError(f"limit must be an integer >= 10 or None, got {self.limit!r}")
        if self.vectors_format not in VECTOR_FORMATS:
            raise ValueError(f"vectors_format must be one of {', '.join(VECTOR_FORMATS)}, got {self.vectors_format!r}")
        if self.embeddings is None:  # settings of pretrained vectors, without them
            for name, default in (("vectors_format", "auto"), ("freeze_embeddings", False)):
                if getattr(self, name) != default:
                    raise ValueError(f"{name}={getattr(self, name)!r} has no effect without pretrained vectors; give "
                                     "them with embeddings=glove (or a vectors file), or drop it")
        elif self.embedding_dim != ClassifyTrainConfig.__dataclass_fields__["embedding_dim"].default:
            raise ValueError(f"embedding_dim={self.embedding_dim} has no effect with pretrained vectors (their own "
                             "dimension is used); drop it")
        self.model_config(vocab_size=10, num_classes=2, embedding_dim=self.embedding_dim)
        self.train_config()

    @property
    def columns(self) -> tuple[str, str]:
        if self.data is None:
            return TEXT_COLUMN, LABEL_COLUMN
        return self.text_col or "text", self.label_col or "label"

    def model_config(self, vocab_size: int, num_classes: int, embedding_dim: int) -> SequenceClassifierConfig:
        return SequenceClassifierConfig(
            num_outputs=num_classes, cell=self.cell, hidden_size=self.hidden_size, vocab_size=vocab_size,
            embedding_dim=embedding_dim, num_layers=self.num_layers, bidirectional=self.bidirectional,
            dropout=self.dropout, pooling=self.pooling, padding_idx=PAD_ID,
            freeze_embedding=self.freeze_embeddings and self.embeddings is not None,
            cell_kwargs=dict(self.cell_kwargs),
        )

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            optimizer="adam", lr=self.lr, weight_decay=self.weight_decay, clip_norm=self.clip_norm,
            batch_size=self.batch_size, max_epochs=self.epochs, max_seconds=self.max_seconds,
            early_stopping_patience=self.patience, seed=self.seed, progress_bar=self.progress_bar,
            restore_best=True,
        )


class EncodedTexts(Dataset):
    """Token-id sequences with integer labels; items are ``(ids (T,), label)``."""

    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids = [torch.tensor(seq, dtype=torch.long) for seq in ids]
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[index], self.labels[index]


def pad_batch(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate ``(ids, label)`` items into ``(inputs (B, T), labels (B,), lengths (B,))``, padded with 0."""
    lengths = torch.tensor([len(ids) for ids, _ in items], dtype=torch.long)
    inputs = torch.nn.utils.rnn.pad_sequence([ids for ids, _ in items], batch_first=True, padding_value=PAD_ID)
    return inputs, torch.stack([label for _, label in items]), lengths


def encode_texts(texts: list[str], tokenizer: WordTokenizer, vocab: Vocab, max_len: int) -> list[list[int]]:
    """Ids of each text's first ``max_len`` tokens (``[<unk>]`` for a text without tokens)."""
    return [vocab.encode(tokenizer.tokenize(text)[:max_len]) or [UNK_ID] for text in texts]


@dataclass(frozen=True)
class ClassifyReport:
    """Held-out results of :func:`train_classifier` (test split, never seen in training)."""

    model_dir: Path
    labels: list[str]
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]
    majority_accuracy: float
    n_train: int
    n_val: int
    n_test: int
    vocab_size: int
    embedding_coverage: float | None
    parameters: int
    epochs: int
    seconds: float
    history: list[dict[str, float]]
    baseline: BagOfWordsBaseline | None = None
    """TF-IDF + logistic regression on the same split (None when not asked for)."""


def _load_examples(config: ClassifyTrainConfig) -> tuple[list[str], list[str]]:
    if config.data is None:
        return load_rotten_tomatoes()
    text_col, label_col = config.columns
    return read_labeled_csv(config.data, text_col, label_col, encoding=config.encoding)


def _split(texts: list[str], labels: list[str], config: ClassifyTrainConfig):
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    rare = [(label, n) for label, n in counts.items() if n < 3]
    if rare:
        label, n = rare[0]
        raise DataError(
            f"class {label!r} has only {n} example(s); every class needs at least 3 (one each for "
            f"training, validation and test): add examples or drop that class"
        )
    if config.limit is not None and config.limit < len(texts):
        texts, _, labels, _ = train_test_split(
            texts, labels, train_size=config.limit, stratify=labels, random_state=config.seed
        )
    held_out = config.test_fraction + config.val_fraction
    try:
        train_x, rest_x, train_y, rest_y = train_test_split(
            texts, labels, test_size=held_out, stratify=labels, random_state=config.seed
        )
        val_x, test_x, val_y, test_y = train_test_split(
            rest_x, rest_y, test_size=config.test_fraction / held_out, stratify=rest_y, random_state=config.seed
        )
    except ValueError as err:
        raise DataError(
            f"cannot split {len(texts)} examples of {len(counts)} classes into train/validation/test "
            f"({err}); give more examples per class or raise limit={config.limit}"
        ) from None
    return (train_x, train_y), (val_x, val_y), (test_x, test_y)


def train_classifier(config: ClassifyTrainConfig, out_dir: str | os.PathLike[str], *,
                     overwrite: bool = False, resume: bool = False) -> ClassifyReport:
    """Train a :class:`~rnnkit.models.SequenceClassifier`, report on the held-out split, save it
    under ``out_dir/model`` (a new or empty folder, or an earlier classify run with ``overwrite``;
    written only when complete). ``resume=True`` continues a killed run from its last epoch
    checkpoint (see :func:`rnnkit.io.resumable_run_folder`)."""
    from sklearn.metrics import confusion_matrix, f1_score

    started = time.perf_counter()
    out_dir = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    texts, raw_labels = _load_examples(config)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = _split(texts, raw_labels, config)
    label_names = sorted(set(raw_labels))
    label_id = {name: i for i, name in enumerate(label_names)}
    tokenizer = WordTokenizer(lowercase=config.lowercase)
    vocab = Vocab.build((tokenizer.tokenize(t) for t in train_x), min_freq=config.min_freq, max_size=config.max_vocab)

    weights, coverage = None, None
    embedding_dim = config.embedding_dim
    if config.embeddings is not None:
        kv = resolve_vectors(config.embeddings, config.vectors_format)
        weights, cov = embedding_matrix(vocab, kv, seed=config.seed)
        embedding_dim, coverage = weights.shape[1], cov.fraction
        log.info("pretrained vectors cover %.1f%% of the %d vocabulary words", 100 * cov.fraction, cov.total)

    def dataset(xs: list[str], ys: list[str]) -> EncodedTexts:
        return EncodedTexts(encode_texts(xs, tokenizer, vocab, config.max_len), [label_id[y] for y in ys])

    train_data, val_data, test_data = dataset(train_x, train_y), dataset(val_x, val_y), dataset(test_x, test_y)
    torch.manual_seed(config.seed)
    model = SequenceClassifier(config.model_config(len(vocab), len(label_names), embedding_dim), embedding_weights=weights)
    baseline = None
    if config.baseline:  # before training, so that max_seconds covers it
        baseline = tfidf_logistic_regression((train_x, train_y), (val_x, val_y), (test_x, test_y),
                                             lowercase=config.lowercase, seed=config.seed)
    with resumable_run_folder(out_dir, RUN_KIND, asdict(config), overwrite=overwrite, resume=resume) as tmp:
        # max_seconds is the whole run's budget: training gets what the data and the baseline left
        train_config = replace(config.train_config(), checkpoint_dir=str(tmp / CHECKPOINTS),
                               max_seconds=budget_left(config.max_seconds, started))
        result = fit(model, ClassificationObjective(), train_data, val_data, config=train_config, collate_fn=pad_batch,
                     resume_from="last" if resume else None)

        logits = predict(model, test_data, ClassificationObjective(), train_config, collate_fn=pad_batch)
        predicted = logits.argmax(dim=-1).tolist()
        truth = test_data.labels.tolist()
        majority = Counter(train_y).most_common(1)[0][0]
        report_metrics = {
            "accuracy": sum(p == t for p, t in zip(predicted, truth)) / len(truth),
            "macro_f1": float(f1_score(truth, predicted, average="macro", labels=list(range(len(label_names))),
                                       zero_division=0)),
            "confusion": confusion_matrix(truth, predicted, labels=list(range(len(label_names)))).tolist(),
            "majority_accuracy": sum(y == majority for y in test_y) / len(test_y),
        }
        if baseline is not None:
            report_metrics["tfidf_logreg"] = asdict(baseline)
        TextClassifier(model, tokenizer, vocab, label_names, config.max_len,
                       info={"metrics": report_metrics, "train_config": asdict(config)}).save(tmp / MODEL_DIR)
    return ClassifyReport(
        model_dir=out_dir / MODEL_DIR,
        labels=label_names,
        accuracy=report_metrics["accuracy"],
        macro_f1=report_metrics["macro_f1"],
        confusion=report_metrics["confusion"],
        majority_accuracy=report_metrics["majority_accuracy"],
        n_train=len(train_data),
        n_val=len(val_data),
        n_test=len(test_data),
        vocab_size=len(vocab),
        embedding_coverage=coverage,
        parameters=sum(p.numel() for p in model.parameters()),
        epochs=result.epochs,
        seconds=result.seconds,
        history=result.history,
        baseline=baseline,
    )


@dataclass(frozen=True)
class Prediction:
    """The predicted label of one text, its probability, and every label's probability."""

    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


class TextClassifier(Predictor):
    """A trained :class:`~rnnkit.models.SequenceClassifier` with its tokenizer, vocabulary and label
    names (a :class:`Predictor`); :func:`train_classifier` saves one as ``model/``.

    Args:
        model: the classifier.
        tokenizer, vocab: how a text becomes token ids.
        labels: the class names, in the order of the model's outputs.
        max_len: texts are cut to their first ``max_len`` tokens, as in training.
        info: saved beside the model (the run's metrics and settings), see :class:`Predictor`.
    """

    model_class = SequenceClassifier
    parts = ("vocab", "tokenizer", "labels", "preprocessing")
    what, command = "a text classifier", "classify"

    def __init__(self, model: SequenceClassifier, tokenizer: WordTokenizer, vocab: Vocab, labels: list[str],
                 max_len: int, info: dict[str, Any] | None = None) -> None:
        self.model, self.tokenizer, self.vocab, self.labels = model, tokenizer, vocab, list(labels)
        self.max_len, self.info = max_len, dict(info or {})

    def to_parts(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_dict(), "tokenizer": self.tokenizer.to_dict(), "labels": self.labels,
                "preprocessing": {"max_len": self.max_len}}

    @classmethod
    def from_parts(cls, model: torch.nn.Module, parts: dict[str, Any]) -> TextClassifier:
        return cls(model, tokenizer_from_dict(parts["tokenizer"]), Vocab.from_dict(parts["vocab"]),
                   [str(label) for label in parts["labels"]], int(parts["preprocessing"]["max_len"]))

    def predict(self, texts: list[str]) -> list[Prediction]:
        """The label of each text, its probability and every label's probability."""
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise DataError("give at least one non-empty text to classify")
        ids = encode_texts(texts, self.tokenizer, self.vocab, self.max_len)
        inputs, _, lengths = pad_batch([(torch.tensor(seq), torch.tensor(0)) for seq in ids])
        self.model.eval()
        with torch.no_grad():
            probs = torch.softmax(self.model(inputs, lengths), dim=-1)  # (N, C)
        out = []
        for text, row in zip(texts, probs.tolist()):
            best = max(range(len(self.labels)), key=lambda i: row[i])
            out.append(Prediction(text, self.labels[best], row[best], dict(zip(self.labels, row))))
        return out
