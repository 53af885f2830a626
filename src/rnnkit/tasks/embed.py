"""Word embeddings task: train word2vec (CBOW / skip-gram) on a corpus, query and evaluate vectors.

What ``rnnkit embed`` runs::

    result = train_embeddings(EmbedTrainConfig(source="wiki", algorithm="skipgram"), out_dir)
    kv = resolve_vectors(str(result.vectors_path))   # or resolve_vectors("glove")
    analogy(kv, "man", "king", "woman")              # -> [("queen", 0.85), ...]

Corpus preparation: the text is split into lines (paragraphs), each line is tokenized with the
word tokenizer (lowercased), and tokens without a letter or digit (punctuation) are dropped;
each non-empty line is one word2vec "sentence".
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.data.corpora import CORPORA, load_source
from rnnkit.data.embeddings import (
    Word2VecConfig,
    analogy,
    evaluate_analogies,
    load_glove_6b_50d,
    load_vectors,
    neighbors,
    save_vectors,
    train_word2vec,
)
from rnnkit.data.tokenizers import WordTokenizer
from rnnkit.io import CHECKPOINTS, check_resumable_run_folder, resumable_run_folder

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

__all__ = [
    "EmbedTrainConfig",
    "EmbedTrainResult",
    "analogy",
    "corpus_sentences",
    "evaluate_analogies",
    "neighbors",
    "resolve_vectors",
    "train_embeddings",
]

VECTORS_FILE = "vectors.bin"
RUN_KIND = "embed"
_WORDLIKE = re.compile(r"\w")


@dataclass
class EmbedTrainConfig:
    """Options of ``rnnkit embed train``.

    Attributes:
        source: a named corpus (``hamlet``, ``wiki``) or the path of a UTF-8 text file.
        encoding: encoding of a text file.
        word2vec: the gensim training options (algorithm, vector size, window, ...).
    """

    source: str = "wiki"
    encoding: str = "utf-8"
    word2vec: Word2VecConfig = field(default_factory=Word2VecConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.word2vec, Word2VecConfig):
            raise TypeError(f"word2vec must be a Word2VecConfig, got {type(self.word2vec).__name__}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(
                f"source must be a corpus name ({', '.join(CORPORA)}) or a text file path, "
                f"got {self.source!r}"
            )


@dataclass(frozen=True)
class EmbedTrainResult:
    """What :func:`train_embeddings` produced."""

    vectors_path: Path
    words: int
    vector_size: int
    sentences: int
    tokens: int


def corpus_sentences(text: str) -> list[list[str]]:
    """One lowercase token list per non-empty line, punctuation tokens removed."""
    tokenizer = WordTokenizer(lowercase=True)
    sentences = []
    for line in text.splitlines():
        tokens = [t for t in tokenizer.tokenize(line) if _WORDLIKE.search(t)]
        if tokens:
            sentences.append(tokens)
    return sentences


def config_from_dict(settings: dict[str, Any]) -> EmbedTrainConfig:
    """The :class:`EmbedTrainConfig` of ``dataclasses.asdict(config)`` (what a run folder keeps)."""
    return EmbedTrainConfig(**{**settings, "word2vec": Word2VecConfig(**settings.get("word2vec", {}))})


def train_embeddings(config: EmbedTrainConfig, out_dir: str | os.PathLike[str], *,
                     overwrite: bool = False, resume: bool = False) -> EmbedTrainResult:
    """Train word2vec on ``config.source`` and write ``out_dir/vectors.bin`` (word2vec binary).
    ``out_dir`` must be new or empty, or an earlier embed run with ``overwrite``; it appears only
    when complete. ``resume=True`` continues a killed run after its last finished epoch (see
    :func:`rnnkit.io.resumable_run_folder`)."""
    out = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    sentences = corpus_sentences(load_source(config.source, config.encoding))
    with resumable_run_folder(out, RUN_KIND, asdict(config), overwrite=overwrite, resume=resume) as tmp:
        kv = train_word2vec(sentences, config.word2vec, checkpoint_dir=tmp / CHECKPOINTS)
        save_vectors(kv, tmp / VECTORS_FILE, binary=True)
    return EmbedTrainResult(
        vectors_path=out / VECTORS_FILE,
        words=len(kv),
        vector_size=kv.vector_size,
        sentences=len(sentences),
        tokens=sum(len(s) for s in sentences),
    )


def resolve_vectors(spec: str, fmt: str = "auto") -> KeyedVectors:
    """Vectors named by ``spec``: ``"glove"`` (GloVe 6B 50d, optional package) or a file path."""
    if spec == "glove":
        return load_glove_6b_50d()
    return load_vectors(spec, fmt)
