"""Translation with a sequence-to-sequence model (seed 002: "many-to-one + one-to-many").

What ``rnnkit translate`` runs:

1. pairs: numbers in digits <-> Spanish words (:mod:`rnnkit.data.numbers`), ISO dates <->
   Spanish long dates (:mod:`rnnkit.data.dates`), or a TSV file (:mod:`rnnkit.data.pairs`), split
   into train and held-out test pairs whose sources are disjoint;
2. tokens: the digit/ISO side is always read character by character; the text side (built-in
   data) or both sides (a file) use ``level`` ("char" or "word");
3. :class:`~rnnkit.models.Seq2Seq` (encoder and decoder of any cell, attention none / additive /
   multiplicative) trained with the engine's ``fit`` on teacher-forced cross-entropy, the best
   epoch kept by the loss on a validation slice of the training sources (held out of training);
4. held-out exact match, chrF and BLEU (:mod:`rnnkit.metrics.text`); a :class:`Translator`
   that translates new text (greedy or beam), draws attention heat maps, and saves / loads.

Inputs at prediction time: a token the model never saw (an unknown character, or word) or an input
with more tokens than the longest training source is **refused** with a ``DataError`` naming the
problem (not truncated: a truncated number would be silently translated wrong).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from rnnkit.data.dates import DatePairsConfig, date_pairs
from rnnkit.data.numbers import DIRECTIONS, NumberPairsConfig, digits_of, length_stratum, number_pairs
from rnnkit.data.pairs import Pair, PairSplit, hold_out_sources, load_pairs, split_pairs
from rnnkit.data.tokenizers import LEVELS, Tokenizer, get_tokenizer, tokenizer_from_dict
from rnnkit.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, Vocab
from rnnkit.errors import DataError
from rnnkit.io import (
    CHECKPOINTS,
    atomic_write_text,
    atomic_write_with,
    check_resumable_run_folder,
    resumable_run_folder,
)
from rnnkit.metrics.text import TextScores, text_scores
from rnnkit.models import Seq2Seq, Seq2SeqConfig
from rnnkit.models.validation import check_cell, check_choice, check_fraction, check_int, check_positive
from rnnkit.tasks.predictor import Predictor
from rnnkit.training import Objective, StepOutput, TrainConfig, fit

logger = logging.getLogger(__name__)

DATASETS: tuple[str, ...] = ("numbers", "dates", "file")
ATTENTIONS: tuple[str, ...] = ("none", "additive", "multiplicative")


@dataclass
class TranslateConfig:
    """Everything ``rnnkit translate train`` needs.

    Data
        dataset: "numbers", "dates" or "file" (then ``path`` is a TSV of source<TAB>target).
        direction: built-in data: "to-words" (digits/ISO -> words) or "to-digits" (reverse).
        level: "char" or "word" tokens for the text side (built-in) or both sides (file);
            ``None``: "word" for numbers, "char" for dates and files.
        n_train, n_test: built-in pairs (distinct numbers/days, disjoint).
        max_number: numbers are drawn from [0, max_number).
        test_fraction: file: fraction of distinct sources held out.
    Model
        cell: encoder and decoder cell; attention: "none", "additive", "multiplicative";
        hidden_size, embedding_dim, num_layers, bidirectional (encoder), dropout.
    Training
        epochs, batch_size, lr (Adam), clip_norm, max_seconds (optional wall-clock cap),
        validation_fraction (of the distinct training sources, for numbers of each length, held
        out of training to pick the best epoch),
        eval_beam (beam size of the held-out evaluation), seed, progress_bar ("auto", "off"...).
    """

    dataset: str = "numbers"
    path: str | None = None
    direction: str = "to-words"
    level: str | None = None
    n_train: int = 20_000
    n_test: int = 1_000
    max_number: int = 1_000_000
    test_fraction: float = 0.1
    cell: str = "lstm"
    attention: str = "additive"
    hidden_size: int = 128
    embedding_dim: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    clip_norm: float = 1.0
    max_seconds: float | None = None
    validation_fraction: float = 0.05
    eval_beam: int = 1
    seed: int = 0
    progress_bar: str = "off"

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        if self.dataset == "file" and not self.path:
            raise ValueError("dataset='file' needs path= a TSV file of source<TAB>target lines")
        if self.dataset != "file" and self.path:
            raise ValueError(f"path={self.path!r} is only read with dataset='file', got dataset={self.dataset!r}")
        check_choice("direction", self.direction, DIRECTIONS)
        fields = TranslateConfig.__dataclass_fields__
        applies = {"direction": ("numbers", "dates"), "n_train": ("numbers", "dates"), "n_test": ("numbers", "dates"),
                   "max_number": ("numbers",), "test_fraction": ("file",)}
        for name, datasets in applies.items():
            if self.dataset not in datasets and getattr(self, name) != fields[name].default:
                raise ValueError(f"{name}={getattr(self, name)!r} has no effect with dataset={self.dataset!r}: it "
                                 f"applies to dataset={' or '.join(repr(d) for d in datasets)}; drop it")
        if self.level is not None:
            check_choice("level", self.level, LEVELS)
        check_cell("cell", self.cell)
        check_choice("attention", self.attention, ATTENTIONS)
        for name in ("n_train", "n_test", "hidden_size", "embedding_dim", "num_layers", "epochs",
                     "batch_size", "eval_beam"):
            check_int(name, getattr(self, name), 1)
        check_int("max_number", self.max_number, 2)
        check_int("seed", self.seed, 0)
        for name in ("test_fraction", "validation_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
                raise ValueError(f"{name} must be in (0, 1), got {value!r}")
        check_fraction("dropout", self.dropout)
        for name in ("lr", "clip_norm"):
            check_positive(name, getattr(self, name))
        check_positive("max_seconds", self.max_seconds, optional=True)

    @property
    def text_level(self) -> str:
        """The level actually used for the text side (``level`` or the dataset's default)."""
        return self.level or ("word" if self.dataset == "numbers" else "char")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_translation_pairs(config: TranslateConfig) -> PairSplit:
    """The train/test pairs ``config`` asks for (generated offline or read from the TSV)."""
    if config.dataset == "numbers":
        return number_pairs(NumberPairsConfig(high=config.max_number, n_train=config.n_train,
                                              n_test=config.n_test, direction=config.direction,
                                              seed=config.seed))
    if config.dataset == "dates":
        return date_pairs(DatePairsConfig(n_train=config.n_train, n_test=config.n_test,
                                          direction=config.direction, seed=config.seed))
    assert config.path is not None
    return split_pairs(load_pairs(config.path), config.test_fraction, config.seed,
                       description=f"pairs from {config.path}")


def _tokenizers(config: TranslateConfig) -> tuple[Tokenizer, Tokenizer]:
    """(source, target) tokenizers: digits/ISO always by character, the text side by level."""
    text = get_tokenizer(config.text_level)
    if config.dataset == "file":
        return text, text
    digits = get_tokenizer("char")
    return (digits, text) if config.direction == "to-words" else (text, digits)


@dataclass(frozen=True)
class AttentionMap:
    """Where the decoder looked: ``weights[t, j]`` is the attention on source token j when it
    emitted output token t; weights is (L, S) and each row sums to 1."""

    source_tokens: list[str]
    output_tokens: list[str]
    weights: np.ndarray


class Translator(Predictor):
    """A trained :class:`Seq2Seq` with its tokenizers and vocabularies (a :class:`Predictor`).

    Args:
        model: the encoder-decoder.
        source_tokenizer, target_tokenizer: how each side is split into tokens.
        source_vocab, target_vocab: token <-> id maps of each side.
        max_source_tokens: longest training source; longer inputs are refused.
        max_target_tokens: longest training target; decoding stops after ``2 * max + 2`` tokens.
        description: where the training pairs came from.
        info: saved beside the model, see :class:`Predictor`.
        source_eos: the encoder reads each source followed by ``<eos>``; ``False`` only for
            models saved before sources ended with it (they read the source alone).

    The encoder reads the source followed by ``<eos>`` (Sutskever et al. 2014; Bahdanau et al.
    2015), so its final state and the attention know where the input ends: without it, a
    one-digit number "2" ends in the same encoder state as the first step of "25" or "2019",
    and the decoder cannot tell a lone digit from the start of a longer number.
    """

    model_class = Seq2Seq
    parts = ("translator", "source_vocab", "target_vocab")
    what, command = "a translator", "translate"

    def __init__(self, model: Seq2Seq, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                 source_vocab: Vocab, target_vocab: Vocab, max_source_tokens: int,
                 max_target_tokens: int, description: str = "", info: dict[str, Any] | None = None, *,
                 source_eos: bool = True) -> None:
        self.model, self.info = model, dict(info or {})
        self.source_eos = source_eos
        self.source_tokenizer, self.target_tokenizer = source_tokenizer, target_tokenizer
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.max_source_tokens, self.max_target_tokens = max_source_tokens, max_target_tokens
        self.description = description

    @property
    def max_output_tokens(self) -> int:
        return 2 * self.max_target_tokens + 2

    # ----------------------------------------------------------------------------- encoding
    def encode_sources(self, texts: Sequence[str], *, strict: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Source ids (B, S) padded with ``<pad>`` and lengths (B,).

        With ``strict`` (user input) an empty text, a token outside the source vocabulary, or
        more tokens than ``max_source_tokens`` raise ``DataError``; without it (evaluation)
        unknown tokens become ``<unk>`` and long inputs are kept whole.
        """
        if isinstance(texts, str) or len(texts) == 0:
            raise TypeError("texts must be a non-empty list of strings, e.g. ['1999']")
        rows: list[list[int]] = []
        unit = "character" if self.source_tokenizer.level == "char" else "word"
        for text in texts:
            tokens = self.source_tokenizer.tokenize(text.strip())
            if strict:
                if not tokens:
                    raise DataError(f"empty input {text!r}; give some text to translate")
                unknown = self.source_vocab.missing(tokens)
                if unknown:
                    known = self.source_vocab.tokens[len(SPECIALS):]
                    hint = (f"the model knows only {''.join(known)!r}"
                            if unit == "character" and len(known) <= 80
                            else "use only tokens seen in training")
                    raise DataError(
                        f"unknown {unit}(s) {' '.join(map(repr, unknown))} in input {text!r}: "
                        f"{hint}"
                    )
                if len(tokens) > self.max_source_tokens:
                    raise DataError(
                        f"input {text!r} has {len(tokens)} {unit}s, more than the longest training "
                        f"source ({self.max_source_tokens}); such inputs are refused, not "
                        f"truncated: shorten it"
                    )
            rows.append(_source_ids(self.source_vocab.encode(tokens), self.source_eos) or [PAD_ID])
        lengths = torch.tensor([max(len(r), 1) for r in rows])
        ids = torch.full((len(rows), int(lengths.max())), PAD_ID, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
        return ids, lengths

    def _decode(self, tokens: torch.Tensor) -> str:
        return self.target_tokenizer.detokenize(self.target_vocab.decode(_until_eos(tokens)))

    # ----------------------------------------------------------------------------- translating
    def translate(self, texts: Sequence[str], beam: int = 1, *, strict: bool = True,
                  batch_size: int = 256) -> list[str]:
        """Translate each text: greedy decoding (``beam == 1``) or beam search of width ``beam``."""
        beam = _check_beam(beam)
        outputs: list[str] = []
        for start in range(0, len(texts), batch_size):
            src, lengths = self.encode_sources(texts[start:start + batch_size], strict=strict)
            hyps = self.model.generate(src, lengths, "greedy" if beam == 1 else "beam",
                                       beam_size=beam, max_length=self.max_output_tokens)
            outputs.extend(self._decode(row) for row in hyps.tokens)
        return outputs

    def attention_map(self, text: str, beam: int = 1) -> AttentionMap:
        """Translate ``text`` and return the attention of each output token over the source."""
        if self.model.config.attention is None:
            raise ValueError("this model was trained with attention='none', so it has no attention "
                             "to draw; train it with attention='additive' (or multiplicative)")
        beam = _check_beam(beam)
        src, lengths = self.encode_sources([text])
        hyps = self.model.generate(src, lengths, "greedy" if beam == 1 else "beam",
                                   beam_size=beam, max_length=self.max_output_tokens)
        tokens = hyps.tokens[:, : int(hyps.lengths[0])]  # (1, L) with the final <eos>
        weights = self.model.attention_weights(src, lengths, tokens)[0]  # (L, S)
        return AttentionMap(self.source_tokenizer.tokenize(text.strip()) + (["<eos>"] if self.source_eos else []),
                            [self.target_vocab.token(int(i)) for i in tokens[0]],
                            weights.numpy().astype(np.float64))

    # ----------------------------------------------------------------------------- saving
    def to_parts(self) -> dict[str, Any]:
        return {
            "translator": {
                "source_tokenizer": self.source_tokenizer.to_dict(),
                "target_tokenizer": self.target_tokenizer.to_dict(),
                "max_source_tokens": self.max_source_tokens,
                "max_target_tokens": self.max_target_tokens,
                "description": self.description,
                "source_eos": self.source_eos,
            },
            "source_vocab": self.source_vocab.to_dict(),
            "target_vocab": self.target_vocab.to_dict(),
        }

    @classmethod
    def from_parts(cls, model: nn.Module, parts: dict[str, Any]) -> Translator:
        meta = parts["translator"]
        return cls(model, tokenizer_from_dict(meta["source_tokenizer"]), tokenizer_from_dict(meta["target_tokenizer"]),
                   Vocab.from_dict(parts["source_vocab"]), Vocab.from_dict(parts["target_vocab"]),
                   int(meta["max_source_tokens"]), int(meta["max_target_tokens"]), str(meta.get("description", "")),
                   source_eos=bool(meta.get("source_eos", False)))


class TranslationObjective(Objective):
    """Teacher-forced cross-entropy of a Seq2Seq on batches (src, src_lengths, tgt_in, tgt_out).

    ``src`` (B, S) and ``tgt_in``/``tgt_out`` (B, T) come padded to the dataset's longest
    sequence; each batch is cut to its own longest source/target first. Padding (``<pad>`` in
    ``tgt_out``) is not counted. Metric: ``accuracy`` per target token.
    """

    def step(self, model: torch.nn.Module, batch: Any, state: Any = None) -> StepOutput:
        src, src_lengths, tgt_in, tgt_out = batch
        target_steps = int((tgt_out != PAD_ID).sum(dim=1).max())
        src = src[:, : int(src_lengths.max())]  # (B, S_batch)
        tgt_in, tgt_out = tgt_in[:, :target_steps], tgt_out[:, :target_steps]  # (B, T_batch)
        logits, _ = model(src, src_lengths, tgt_in)  # (B, T, V)
        valid = tgt_out != PAD_ID  # (B, T)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt_out, ignore_index=PAD_ID)
        correct = ((logits.argmax(dim=-1) == tgt_out) & valid).sum()
        count = int(valid.sum())
        return StepOutput(loss, {"accuracy": (correct.float() / max(count, 1)).detach()}, count)


def _tensor_dataset(pairs: Sequence[Pair], source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                    source_vocab: Vocab, target_vocab: Vocab) -> TensorDataset:
    """(src (N, S+1) = x <eos>, src_lengths (N,), tgt_in (N, T+1) = <bos> y, tgt_out (N, T+1) = y <eos>)."""
    sources = [_source_ids(source_vocab.encode(source_tokenizer.tokenize(s)), True) for s, _ in pairs]
    targets = [target_vocab.encode(target_tokenizer.tokenize(t)) for _, t in pairs]
    n, s_max, t_max = len(pairs), max(map(len, sources)), max(map(len, targets)) + 1
    src = torch.full((n, s_max), PAD_ID, dtype=torch.long)
    tgt_in = torch.full((n, t_max), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((n, t_max), PAD_ID, dtype=torch.long)
    for i, (s, t) in enumerate(zip(sources, targets)):
        src[i, : len(s)] = torch.tensor(s)
        tgt_in[i, : len(t) + 1] = torch.tensor([BOS_ID, *t])
        tgt_out[i, : len(t) + 1] = torch.tensor([*t, EOS_ID])
    lengths = torch.tensor([len(s) for s in sources])
    return TensorDataset(src, lengths, tgt_in, tgt_out)


@dataclass
class TranslateResult:
    """What :func:`train_translator` returns.

    translator: the trained model with its vocabularies; scores: held-out exact match, chrF,
    BLEU; examples: (source, reference, output) for the first held-out pairs; train_seconds:
    wall-clock time of ``fit``; data_description: the data and the split; by_digits (numbers
    only): held-out exact matches per length of the number in digits, ``{digits: (right, total)}``;
    history: one row per epoch (train_loss, val_loss...), as the engine recorded it;
    validation_by_digits (numbers only): the same counts on the validation numbers (held out of
    training, used to pick the epoch: where settings are compared, not the test).
    """

    translator: Translator
    scores: TextScores
    examples: list[tuple[str, str, str]]
    train_seconds: float
    data_description: str
    by_digits: dict[int, tuple[int, int]] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    validation_by_digits: dict[int, tuple[int, int]] | None = None


def train_translator(config: TranslateConfig, split: PairSplit | None = None, *, checkpoint_dir: str | None = None,
                     resume: bool = False) -> TranslateResult:
    """Train a translator as configured and score it on the held-out pairs.

    Args:
        config: data, model and training settings.
        split: pairs to use instead of the ones ``config`` describes (its dataset/direction then
            only choose the tokenizers: for ``dataset="file"`` both sides use ``level``).
        checkpoint_dir: keep training checkpoints there (``last.ckpt`` at each epoch end);
            ``resume=True`` continues from the last one.
    """
    split = split or load_translation_pairs(config)
    torch.manual_seed(config.seed)
    source_tokenizer, target_tokenizer = _tokenizers(config)
    train_pairs, val_pairs = validation_split(split.train, config)
    source_vocab = Vocab.build(source_tokenizer.tokenize(s) for s, _ in split.train)
    target_vocab = Vocab.build(target_tokenizer.tokenize(t) for _, t in split.train)
    max_source = max(len(source_tokenizer.tokenize(s)) for s, _ in split.train)
    max_target = max(len(target_tokenizer.tokenize(t)) for _, t in split.train)
    model = Seq2Seq(Seq2SeqConfig(
        source_vocab_size=len(source_vocab), target_vocab_size=len(target_vocab), cell=config.cell,
        embedding_dim=config.embedding_dim, hidden_size=config.hidden_size,
        num_layers=config.num_layers, bidirectional=config.bidirectional, dropout=config.dropout,
        attention=None if config.attention == "none" else config.attention,
        max_length=2 * max_target + 2,
    ))
    datasets = [_tensor_dataset(p, source_tokenizer, target_tokenizer, source_vocab, target_vocab)
                for p in (train_pairs, val_pairs)]
    train_config = TrainConfig(
        optimizer="adam", lr=config.lr, clip_norm=config.clip_norm, max_epochs=config.epochs,
        max_seconds=config.max_seconds, batch_size=config.batch_size, seed=config.seed,
        progress_bar=config.progress_bar, checkpoint_dir=checkpoint_dir,
    )
    logger.info("training a %s seq2seq (attention %s) on %d pairs", config.cell, config.attention,
                len(train_pairs))
    started = time.perf_counter()
    trained = fit(model, TranslationObjective(), datasets[0], datasets[1], config=train_config,
                  resume_from="last" if resume else None)
    seconds = time.perf_counter() - started
    model.eval()
    translator = Translator(model, source_tokenizer, target_tokenizer, source_vocab, target_vocab,
                            max_source, max_target, split.description)
    scores, outputs = evaluate_translator(translator, split.test, beam=config.eval_beam)
    by_digits = val_by_digits = None
    if config.dataset == "numbers":
        by_digits = exact_match_by_digits(translator, split.test, outputs, config.direction)
        val_distinct = list(dict(val_pairs).items())     # each validation number once
        val_outputs = translator.translate([s for s, _ in val_distinct], beam=config.eval_beam, strict=False)
        val_by_digits = exact_match_by_digits(translator, val_distinct, val_outputs, config.direction)
    examples = [(s, t, o) for (s, t), o in zip(split.test[:8], outputs[:8])]
    return TranslateResult(translator, scores, examples, seconds, split.description, by_digits, trained.history,
                           val_by_digits)


def validation_split(pairs: Sequence[Pair], config: TranslateConfig) -> tuple[list[Pair], list[Pair]]:
    """``(train, validation)``: ``config.validation_fraction`` of the distinct training sources
    held out with all their pairs, so that validation, like the test, asks for sources the model
    never trained on; for numbers, that fraction of each length in digits (at least one number
    of each), so that short numbers are validated too."""
    stratum = length_stratum(config.direction) if config.dataset == "numbers" else None
    train, val = hold_out_sources(pairs, config.validation_fraction, config.seed, stratum=stratum)
    if not val or not train:
        raise DataError(f"{len(pairs)} training pair(s) with {len({s for s, _ in pairs})} distinct source(s) are too "
                        "few to hold some sources out for validation; give more pairs")
    return train, val


def exact_match_by_digits(translator: Translator, pairs: Sequence[Pair], outputs: Sequence[str],
                          direction: str) -> dict[int, tuple[int, int]]:
    """``{digits: (right, total)}``: exact matches of ``outputs`` per length of the pairs' numbers."""
    tokenizer = translator.target_tokenizer
    counts: dict[int, tuple[int, int]] = {}
    for pair, output in zip(pairs, outputs, strict=True):
        digits = len(digits_of(pair, direction))
        right, total = counts.get(digits, (0, 0))
        counts[digits] = (right + (output == tokenizer.detokenize(tokenizer.tokenize(pair[1]))), total + 1)
    return dict(sorted(counts.items()))


RUN_KIND = "translate"


def run_translate(config: TranslateConfig, out_dir: str | Path, *, overwrite: bool = False,
                  resume: bool = False) -> TranslateResult:
    """:func:`train_translator`, then the run folder ``out_dir``: ``model/`` (:meth:`Translator.save`)
    and ``metrics.json`` (data, config, seconds, held-out scores, examples). ``out_dir`` must be new
    or empty, or an earlier translate run with ``overwrite``; it appears only when complete.
    ``resume=True`` continues a killed run from its last epoch checkpoint."""
    out = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    with resumable_run_folder(out, RUN_KIND, config.to_dict(), overwrite=overwrite, resume=resume) as tmp:
        result = train_translator(config, checkpoint_dir=str(tmp / CHECKPOINTS), resume=resume)
        report = {"data": result.data_description, "config": config.to_dict(), "train_seconds": result.train_seconds,
                  "test": result.scores.to_dict(), "examples": [list(e) for e in result.examples],
                  "test_by_digits": result.by_digits, "validation_by_digits": result.validation_by_digits,
                  "history": result.history}
        result.translator.save(tmp / "model")
        atomic_write_text(tmp / "metrics.json", json.dumps(report, indent=2, ensure_ascii=False))
    return result


def evaluate_translator(translator: Translator, pairs: Sequence[Pair],
                        beam: int = 1) -> tuple[TextScores, list[str]]:
    """Exact match, chrF and BLEU of the translations of ``pairs``' sources; also the outputs.

    References go through the target tokenizer and back (e.g. word level joins words with single
    spaces) so that a correct output is an exact match. BLEU counts character n-grams when the
    target side is read by character, word n-grams otherwise.
    """
    if len(pairs) == 0:
        raise DataError("no held-out pairs to evaluate; give at least one pair")
    outputs = translator.translate([s for s, _ in pairs], beam=beam, strict=False)
    tokenizer = translator.target_tokenizer
    references = [tokenizer.detokenize(tokenizer.tokenize(t)) for _, t in pairs]
    bleu_tokenize = "char" if tokenizer.level == "char" else "13a"
    return text_scores(outputs, references, bleu_tokenize=bleu_tokenize), outputs


def write_attention_map(amap: AttentionMap, path: str | Path) -> None:
    """Draw ``amap`` as a heat map (outputs down, source across) into the PNG ``path``, atomically."""
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the attention map is a PNG: give a path ending in .png, got {str(path)!r}")
    rows, cols = amap.weights.shape
    figure = Figure(figsize=(max(3.0, 0.45 * cols + 1.5), max(2.5, 0.35 * rows + 1.2)))
    axes = figure.add_subplot()
    image = axes.imshow(amap.weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(cols), [t if t.strip() else "\u2423" for t in amap.source_tokens], rotation=90)
    axes.set_yticks(range(rows), amap.output_tokens)
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    figure.colorbar(image, ax=axes, fraction=0.05)
    figure.tight_layout()
    atomic_write_with(path, lambda tmp: figure.savefig(tmp, format="png", dpi=120))


def _source_ids(ids: list[int], source_eos: bool) -> list[int]:
    """A source's ids as the encoder reads them: followed by ``<eos>`` (see :class:`Translator`)."""
    return [*ids, EOS_ID] if source_eos and ids else ids


def _until_eos(tokens: torch.Tensor) -> list[int]:
    ids = tokens.tolist()
    return ids[: ids.index(EOS_ID)] if EOS_ID in ids else ids


def _check_beam(beam: Any) -> int:
    if isinstance(beam, bool) or not isinstance(beam, int):
        raise TypeError(f"beam must be an int, got {type(beam).__name__} {beam!r}")
    if beam < 1:
        raise ValueError(f"beam size must be >= 1, got {beam}; use 1 for greedy decoding")
    return beam
