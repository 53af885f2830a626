"""Language models on text: train with truncated BPTT over the token stream, then generate.

What ``rnnkit lm`` runs::

    report = train_lm(LMTrainConfig(source="hamlet", level="char", cell="lstm"), out_dir)
    report.bits_per_char, report.model_dir
    text = TextGenerator.load(report.model_dir).generate(GenerateConfig(prime="To be", length=200, seed=1)).text

Training (seed 002, many-to-many next-token prediction):

* the text (a named corpus or a UTF-8 file) is tokenized (``char`` or ``word``); the token stream's
  last ``test_fraction`` is the test part, the ``val_fraction`` before it the validation part
  (it picks the best epoch), the rest the training part;
* the vocabulary is built on the training part only (validation tokens it lacks count as ``<unk>``);
* the training stream is cut into ``batch_size`` parallel streams and walked in chunks of
  ``bptt`` steps (``rnnkit.training.StreamDataset``); the recurrent state is carried from chunk to
  chunk and detached after each update (truncated BPTT, ``TrainConfig.tbptt_steps``);
* reported on the test stream, which played no part in any choice (state carried the same way),
  beside the n-gram baseline on the same stream: the mean cross-entropy per
  token ``L`` (nats), the perplexity ``exp(L)`` and the bits per character. At char level bits per
  character = ``L / ln 2``; at word level it is ``L / ln 2`` divided by the mean number of
  characters per word token of the text (its length in characters, spaces and newlines included,
  over its number of tokens), an estimate of the information per character of the text.

The model directory is a :class:`TextGenerator`'s (:class:`~rnnkit.tasks.predictor.Predictor`): the
weights, the model config, ``vocab`` (the :class:`~rnnkit.data.vocab.Vocab`) and ``tokenizer``, with
the run's ``metrics`` and ``train_config`` in its ``info``.

Generation feeds the prime text through the model and samples ``length`` more tokens with a
temperature (0 = greedy), optional top-k / top-p filtering and a seed (same seed, same text). A
prime with characters (or words) outside the vocabulary is refused with the list of them.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rnnkit.baselines.ngram import NgramBaseline, kneser_ney_baseline
from rnnkit.data.corpora import CORPORA, load_source
from rnnkit.data.text import require_stream_length
from rnnkit.data.tokenizers import LEVELS, Tokenizer, get_tokenizer, tokenizer_from_dict
from rnnkit.data.vocab import SPECIALS, Vocab
from rnnkit.errors import DataError
from rnnkit.io import CHECKPOINTS, check_resumable_run_folder, resumable_run_folder
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.tasks.predictor import Predictor
from rnnkit.training import StreamDataset, StreamingLMObjective, TrainConfig, evaluate, fit
from rnnkit.training.config import budget_left

log = logging.getLogger(__name__)

MODEL_DIR = "model"
RUN_KIND = "lm"
CHECKPOINT_EVERY = 100
"""Updates between the checkpoints a killed run resumes from (and at every epoch end)."""


@dataclass
class LMTrainConfig:
    """Options of ``rnnkit lm train`` (see the module doc for what they do).

    Data: ``source`` (a named corpus: hamlet, wiki; or a text file path), ``encoding``,
    ``level`` ("char" or "word"), ``lowercase`` (None = the tokenizer's default: char False,
    word True), ``min_freq`` and ``max_vocab`` (vocabulary limits, reserved tokens included),
    ``val_fraction`` and ``test_fraction`` (the stream's tail: validation, then test).

    Model: ``cell`` (rnn, lstm, gru, slstm, mlstm), ``embedding_dim``, ``hidden_size``,
    ``num_layers``, ``dropout``, ``tie_weights``, ``cell_kwargs``.

    Training: ``batch_size`` (parallel streams), ``bptt`` (steps per truncated-BPTT chunk),
    ``epochs`` / ``max_steps`` / ``max_seconds`` (stop at the first reached; ``max_seconds`` is the
    whole run's budget, data and baseline included), ``lr`` (Adam),
    ``clip_norm``, ``seed``, ``progress_bar`` ("auto", "tqdm", "rich", "off").

    ``baseline``: also score an interpolated Kneser-Ney n-gram model on the same split, its
    order chosen on the end of the training part (:mod:`rnnkit.baselines.ngram`).
    """

    source: str = "hamlet"
    encoding: str = "utf-8"
    level: str = "char"
    lowercase: bool | None = None
    min_freq: int = 1
    max_vocab: int | None = None
    val_fraction: float = 0.05
    test_fraction: float = 0.05
    cell: str = "lstm"
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.3
    tie_weights: bool = False
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 32
    bptt: int = 64
    epochs: int | None = 30
    max_steps: int | None = None
    max_seconds: float | None = None
    lr: float = 3e-3
    clip_norm: float | None = 1.0
    seed: int = 0
    progress_bar: str = "auto"
    baseline: bool = True

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(
                f"source must be a corpus name ({', '.join(CORPORA)}) or a text file path, got {self.source!r}"
            )
        for name in ("val_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5), got {getattr(self, name)}")
        if self.val_fraction + self.test_fraction >= 0.5:
            raise ValueError(f"val_fraction + test_fraction must be < 0.5 (the rest trains), got "
                             f"{self.val_fraction} + {self.test_fraction}")
        for name in ("batch_size", "bptt", "min_freq"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        # Build the model and training configs once so that every bad value fails here.
        self.model_config(vocab_size=len(SPECIALS) + 1)
        self.train_config()

    def model_config(self, vocab_size: int) -> LanguageModelConfig:
        return LanguageModelConfig(
            vocab_size=vocab_size, cell=self.cell, embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size, num_layers=self.num_layers, dropout=self.dropout,
            tie_weights=self.tie_weights, cell_kwargs=dict(self.cell_kwargs),
        )

    def train_config(self, log_dir: str | None = None, checkpoint_dir: str | None = None) -> TrainConfig:
        return TrainConfig(
            optimizer="adam", lr=self.lr, clip_norm=self.clip_norm, batch_size=self.batch_size,
            tbptt_steps=self.bptt, max_epochs=self.epochs, max_steps=self.max_steps,
            max_seconds=self.max_seconds, seed=self.seed, progress_bar=self.progress_bar,
            log_dir=log_dir, restore_best=True, checkpoint_dir=checkpoint_dir,
            checkpoint_every_n_steps=CHECKPOINT_EVERY if checkpoint_dir else None,
        )


@dataclass(frozen=True)
class LMReport:
    """Result of :func:`train_lm`.

    Losses are mean cross-entropies per token in nats on the test stream (never used for a
    choice); ``initial_*`` are measured before training (the untrained model), the others after it.
    """

    model_dir: Path
    level: str
    vocab_size: int
    parameters: int
    train_tokens: int
    val_tokens: int
    test_tokens: int
    chars_per_token: float
    initial_test_loss: float
    test_loss: float
    perplexity: float
    bits_per_char: float
    initial_bits_per_char: float
    epochs: int
    steps: int
    seconds: float
    tokens_per_second: float
    ngram: NgramBaseline | None = None
    """The Kneser-Ney n-gram model on the same split (None when not asked for)."""
    ngram_bits_per_char: float | None = None


NGRAM_ORDERS = {"char": (1, 2, 3, 4, 5, 6, 7), "word": (1, 2, 3)}
"""Orders the n-gram baseline chooses among, per tokenization level."""


def _bits_per_char(loss: float, chars_per_token: float) -> float:
    return loss / math.log(2.0) / chars_per_token


def train_lm(config: LMTrainConfig, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
             resume: bool = False) -> LMReport:
    """Train a :class:`~rnnkit.models.LanguageModel` on ``config.source``; save it under ``out_dir/model``.

    The run (model, training logs) is assembled in ``.<out_dir>.partial`` beside ``out_dir`` and
    moved there when complete; ``out_dir`` must be new or empty, or an earlier lm run with
    ``overwrite``. A killed run leaves that folder with its last checkpoint (every
    :data:`CHECKPOINT_EVERY` updates and every epoch): ``resume=True`` with the same ``config``
    (:func:`rnnkit.io.interrupted_settings` gives it back) continues it to the result an
    uninterrupted run gives, its metrics history whole.
    """
    started = time.perf_counter()
    out_dir = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    tokenizer = get_tokenizer(config.level, lowercase=config.lowercase)
    text = load_source(config.source, config.encoding)
    tokens = tokenizer.tokenize(text)
    if len(tokens) < 2:
        raise DataError(f"the text has {len(tokens)} {config.level} tokens; a language model needs more text")
    n_val, n_test = (max(1, int(round(len(tokens) * f))) for f in (config.val_fraction, config.test_fraction))
    train_tokens = tokens[: -(n_val + n_test)]
    vocab = Vocab.build([train_tokens], min_freq=config.min_freq, max_size=config.max_vocab)
    ids = torch.tensor(vocab.encode(tokens), dtype=torch.long)
    train_ids, val_ids, test_ids = ids[: -(n_val + n_test)], ids[-(n_val + n_test) : -n_test], ids[-n_test:]
    require_stream_length(len(train_ids), config.batch_size, config.bptt, what="training text")
    require_stream_length(len(val_ids), config.batch_size, 1, what="validation text")
    require_stream_length(len(test_ids), config.batch_size, 1, what="test text")
    chars_per_token = len(text) / len(tokens) if config.level == "word" else 1.0

    with resumable_run_folder(out_dir, RUN_KIND, asdict(config), overwrite=overwrite, resume=resume) as tmp:
        torch.manual_seed(config.seed)
        model = LanguageModel(config.model_config(len(vocab)))
        train_data = StreamDataset(train_ids, num_streams=config.batch_size, seq_len=config.bptt)
        val_data = StreamDataset(val_ids, num_streams=config.batch_size, seq_len=config.bptt)
        test_data = StreamDataset(test_ids, num_streams=config.batch_size, seq_len=config.bptt)
        train_config = config.train_config(log_dir=str(tmp / "logs"), checkpoint_dir=str(tmp / CHECKPOINTS))
        objective = StreamingLMObjective()
        ngram = None
        if config.baseline:  # before training, so that max_seconds covers it
            ngram = kneser_ney_baseline(train_ids.tolist(), test_ids.tolist(), len(vocab), NGRAM_ORDERS[config.level],
                                        gap=val_ids.tolist())
            log.info("Kneser-Ney %d-gram: %.3f bits/char", ngram.order, _bits_per_char(ngram.cross_entropy,
                                                                                        chars_per_token))
        evaluated = time.perf_counter()
        initial = evaluate(model, objective, test_data, train_config)["loss"]
        # max_seconds is the whole run's budget: training gets what the steps before it and the
        # final evaluation (as long as the first one) leave
        reserve = time.perf_counter() - evaluated
        train_config = replace(train_config, max_seconds=budget_left(config.max_seconds, started, reserve))
        log.info(
            "training a %s %s LM: %d tokens, vocabulary %d, %d parameters",
            config.level, config.cell, len(train_ids), len(vocab), sum(p.numel() for p in model.parameters()),
        )
        result = fit(model, objective, train_data, val_data, config=train_config,
                     resume_from="last" if resume else None)
        final = evaluate(model, objective, test_data, train_config)["loss"]
        metrics = {
            "test_loss": final,
            "perplexity": math.exp(final),
            "bits_per_char": _bits_per_char(final, chars_per_token),
            "initial_test_loss": initial,
            "chars_per_token": chars_per_token,
        }
        if ngram is not None:
            metrics["ngram_order"] = ngram.order
            metrics["ngram_bits_per_char"] = _bits_per_char(ngram.cross_entropy, chars_per_token)
        TextGenerator(model, vocab, tokenizer, info={"metrics": metrics, "train_config": asdict(config)}).save(
            tmp / MODEL_DIR)
    trained_tokens = result.global_step * config.batch_size * config.bptt
    return LMReport(
        model_dir=out_dir / MODEL_DIR,
        level=config.level,
        vocab_size=len(vocab),
        parameters=sum(p.numel() for p in model.parameters()),
        train_tokens=len(train_ids),
        val_tokens=len(val_ids),
        test_tokens=len(test_ids),
        chars_per_token=chars_per_token,
        initial_test_loss=initial,
        test_loss=final,
        perplexity=math.exp(final),
        bits_per_char=_bits_per_char(final, chars_per_token),
        initial_bits_per_char=_bits_per_char(initial, chars_per_token),
        epochs=result.epochs,
        steps=result.global_step,
        seconds=result.seconds,
        tokens_per_second=trained_tokens / result.seconds if result.seconds > 0 else float("nan"),
        ngram=ngram,
        ngram_bits_per_char=None if ngram is None else _bits_per_char(ngram.cross_entropy, chars_per_token),
    )


@dataclass
class GenerateConfig:
    """Options of ``rnnkit lm generate``.

    Attributes:
        prime: text the generation continues (``None``: the most frequent token).
        length: tokens to generate (characters at char level, words at word level).
        temperature: divides the logits; < 1 is more conservative, 0 is greedy (arg-max).
        top_k: sample only among the ``k`` most likely tokens (None = all).
        top_p: sample only within the smallest set of tokens of probability >= ``p`` (None = all).
        seed: seed of the sampling generator (same seed, same text).
    """

    prime: str | None = None
    length: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise ValueError(f"length must be a positive integer, got {self.length!r}")
        if not isinstance(self.temperature, (int, float)) or not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {self.temperature!r}")
        if self.top_k is not None and (isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1):
            raise ValueError(f"top_k must be a positive integer or None, got {self.top_k!r}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1] or None, got {self.top_p!r}")
        for name in ("top_k", "top_p"):
            if self.temperature == 0 and getattr(self, name) is not None:
                raise ValueError(f"{name}={getattr(self, name)} has no effect with temperature=0 (greedy: the most "
                                 "likely token is always taken); drop it, or sample with a temperature > 0")


@dataclass(frozen=True)
class Generated:
    """A generation: the prime, the generated continuation, and both joined."""

    prime: str
    continuation: str
    text: str


class TextGenerator(Predictor):
    """A trained :class:`~rnnkit.models.LanguageModel` with its vocabulary and tokenizer (a
    :class:`Predictor`); :func:`train_lm` saves one as ``model/`` with the run's metrics in ``info``.

    ``TextGenerator.load("runs/lm/model").generate(GenerateConfig(prime="To be", length=200))``
    """

    model_class = LanguageModel
    parts = ("vocab", "tokenizer")
    what, command = "a language model", "lm"

    def __init__(self, model: LanguageModel, vocab: Vocab, tokenizer: Tokenizer,
                 info: dict[str, Any] | None = None) -> None:
        self.model, self.vocab, self.tokenizer, self.info = model, vocab, tokenizer, dict(info or {})

    def to_parts(self) -> dict[str, Any]:
        return {"vocab": self.vocab.to_dict(), "tokenizer": self.tokenizer.to_dict()}

    @classmethod
    def from_parts(cls, model: torch.nn.Module, parts: dict[str, Any]) -> TextGenerator:
        return cls(model, Vocab.from_dict(parts["vocab"]), tokenizer_from_dict(parts["tokenizer"]))

    def generate(self, config: GenerateConfig) -> Generated:
        """Continue ``config.prime`` (sampling as ``config`` says)."""
        vocab, tokenizer = self.vocab, self.tokenizer
        if config.prime is None:
            prime_tokens = [vocab.token(len(SPECIALS))]
        else:
            prime_tokens = tokenizer.tokenize(config.prime)
        if not prime_tokens:
            raise DataError(
                f"the prime text {config.prime!r} has no {tokenizer.level} token; give at least one "
                f"{'character' if tokenizer.level == 'char' else 'word'}"
            )
        unknown = vocab.missing(prime_tokens)
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
            kind = "characters" if tokenizer.level == "char" else "words"
            raise DataError(
                f"the prime text has {kind} outside the model's vocabulary: {shown}; use only {kind} "
                f"seen in training (the vocabulary has {len(vocab) - len(SPECIALS)} {kind})"
            )
        generator = torch.Generator().manual_seed(config.seed)
        prime_ids = torch.tensor(vocab.encode(prime_tokens), dtype=torch.long)
        new_ids = self.model.generate(
            prime_ids, config.length, temperature=config.temperature, top_k=config.top_k,
            top_p=config.top_p, generator=generator,
        )
        new_tokens = vocab.decode(new_ids)
        prime_text = tokenizer.detokenize(prime_tokens)
        full = tokenizer.detokenize(prime_tokens + new_tokens)
        return Generated(prime=prime_text, continuation=full[len(prime_text):], text=full)
