"""One-to-many image captioning (seed 002/003: a CNN encoder and a recurrent decoder).

What ``rnnkit caption`` runs: the 8x8 ``load_digits`` images, each captioned with its digit's
word (:mod:`rnnkit.data.digits`), split into stratified train / held-out sets; a
:class:`~rnnkit.models.ConditionalGenerator` whose small CNN turns an image into a vector that
initializes (or, for mLSTM, is fed to) a character decoder; trained with the engine's ``fit`` on
teacher-forced cross-entropy. Caption accuracy is the fraction of held-out images whose whole
generated caption equals the reference.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from rnnkit.data.digits import DigitCaptions, load_digit_captions, split_digit_captions
from rnnkit.data.numbers import LANGS
from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.data.vocab import BOS_ID, EOS_ID, PAD_ID, Vocab
from rnnkit.io import (
    CHECKPOINTS,
    atomic_write_text,
    atomic_write_with,
    check_resumable_run_folder,
    resumable_run_folder,
)
from rnnkit.models import ConditionalGenerator, ConditionalGeneratorConfig
from rnnkit.models.validation import check_cell, check_positive
from rnnkit.tasks.predictor import Predictor
from rnnkit.training import Objective, StepOutput, TrainConfig, fit
from rnnkit.training.config import LR_SCHEDULES

logger = logging.getLogger(__name__)

_TOKENIZER = CharTokenizer()


@dataclass
class CaptionConfig:
    """Everything ``rnnkit caption train`` needs.

    Attributes:
        lang: caption language, "es" (default) or "en".
        cell: decoder cell; hidden_size, embedding_dim: decoder sizes; feature_size: size of the
            CNN's image vector; cnn_channels: output channels of the CNN blocks;
            conditioning: how the image vector reaches the decoder: "both" (it sets the initial
            state and is fed at every step), "init", "input" or "auto"; ``None`` (default) picks
            "both", or "input" for mLSTM, whose state has no h to set. "both" trained more
            reliably than "init" in our runs (fewer runs stuck on one caption for every image).
        epochs, batch_size, lr (Adam), clip_norm: training; lr_schedule: the engine's schedule
            ("cosine", default: from ``lr`` down to 0 over the epochs; "constant"...);
            max_seconds: stop training after this much time (None: no limit).
        test_fraction: stratified fraction of each digit's images held out; seed: split and init.
        progress_bar: the engine's progress bar ("off", "auto", "tqdm", "rich").
    """

    lang: str = "es"
    cell: str = "lstm"
    hidden_size: int = 64
    embedding_dim: int = 16
    feature_size: int = 64
    cnn_channels: tuple[int, ...] = (16, 32)
    conditioning: str | None = None
    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    clip_norm: float = 1.0
    max_seconds: float | None = None
    test_fraction: float = 0.2
    seed: int = 0
    progress_bar: str = "off"

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {self.lang!r}")
        check_cell("cell", self.cell)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        self.cnn_channels = tuple(self.cnn_channels)
        for name in ("hidden_size", "embedding_dim", "feature_size", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")
        if not (isinstance(self.test_fraction, (int, float)) and 0.0 < self.test_fraction < 1.0):
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction!r}; e.g. 0.2")
        for name in ("lr", "clip_norm"):
            check_positive(name, getattr(self, name))
        check_positive("max_seconds", self.max_seconds, optional=True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Captioner(Predictor):
    """A trained :class:`ConditionalGenerator` with its character vocabulary (a :class:`Predictor`).

    Args:
        model: CNN encoder + recurrent decoder.
        vocab: the caption characters.
        max_tokens: longest training caption (decoding stops after ``max_tokens + 2``).
        lang: caption language.
        split: ``{"test_fraction": f, "seed": s}`` of the training run, to find its held-out images.
        info: saved beside the model, see :class:`Predictor`.
    """

    model_class = ConditionalGenerator
    parts = ("captioner", "vocab")
    what, command = "a captioner", "caption"

    def __init__(self, model: ConditionalGenerator, vocab: Vocab, max_tokens: int, lang: str,
                 split: dict[str, Any], info: dict[str, Any] | None = None) -> None:
        self.model, self.vocab, self.max_tokens, self.info = model, vocab, max_tokens, dict(info or {})
        self.lang, self.split = lang, split

    def caption(self, images: torch.Tensor, beam: int = 1, batch_size: int = 512) -> list[str]:
        """Captions of ``images`` (N, 1, 8, 8) in [0, 1]: greedy (``beam == 1``) or beam search."""
        if isinstance(beam, bool) or not isinstance(beam, int):
            raise TypeError(f"beam must be an int, got {type(beam).__name__} {beam!r}")
        if beam < 1:
            raise ValueError(f"beam size must be >= 1, got {beam}; use 1 for greedy decoding")
        captions: list[str] = []
        for start in range(0, images.size(0), batch_size):
            hyps = self.model.generate(images[start:start + batch_size],
                                       "greedy" if beam == 1 else "beam", beam_size=beam,
                                       max_length=self.max_tokens + 2)
            for row in hyps.tokens.tolist():
                row = row[: row.index(EOS_ID)] if EOS_ID in row else row
                captions.append(_TOKENIZER.detokenize(self.vocab.decode(row)))
        return captions

    def held_out(self) -> DigitCaptions:
        """The images this captioner did not train on (same split as its training run)."""
        data = load_digit_captions(self.lang)
        return split_digit_captions(data, self.split["test_fraction"], self.split["seed"])[1]

    def to_parts(self) -> dict[str, Any]:
        return {"captioner": {"max_tokens": self.max_tokens, "lang": self.lang, "split": self.split},
                "vocab": self.vocab.to_dict()}

    @classmethod
    def from_parts(cls, model: torch.nn.Module, parts: dict[str, Any]) -> Captioner:
        meta = parts["captioner"]
        return cls(model, Vocab.from_dict(parts["vocab"]), int(meta["max_tokens"]), str(meta["lang"]),
                   dict(meta["split"]))


class CaptionObjective(Objective):
    """Teacher-forced cross-entropy on batches (images, tokens_in, tokens_out); pads not counted.

    Metric: ``accuracy`` per caption character.
    """

    def step(self, model: torch.nn.Module, batch: Any, state: Any = None) -> StepOutput:
        images, tokens_in, tokens_out = batch
        logits = model(images, tokens_in)  # (B, T, V)
        valid = tokens_out != PAD_ID  # (B, T)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tokens_out, ignore_index=PAD_ID)
        count = int(valid.sum())
        correct = ((logits.argmax(dim=-1) == tokens_out) & valid).sum()
        return StepOutput(loss, {"accuracy": (correct.float() / max(count, 1)).detach()}, count)


def _tensor_dataset(data: DigitCaptions, vocab: Vocab) -> TensorDataset:
    """(images (N, 1, 8, 8), tokens_in (N, T+1) = <bos> y, tokens_out (N, T+1) = y <eos>)."""
    encoded = [vocab.encode(_TOKENIZER.tokenize(c)) for c in data.captions]
    width = max(map(len, encoded)) + 1
    tokens_in = torch.full((len(data), width), PAD_ID, dtype=torch.long)
    tokens_out = torch.full((len(data), width), PAD_ID, dtype=torch.long)
    for i, ids in enumerate(encoded):
        tokens_in[i, : len(ids) + 1] = torch.tensor([BOS_ID, *ids])
        tokens_out[i, : len(ids) + 1] = torch.tensor([*ids, EOS_ID])
    return TensorDataset(data.images, tokens_in, tokens_out)


@dataclass
class CaptionResult:
    """What :func:`train_captioner` returns: the captioner, its held-out caption accuracy, the
    number of training / held-out images, the wall-clock seconds of ``fit`` and its history (one
    row per epoch)."""

    captioner: Captioner
    accuracy: float
    n_train: int
    n_test: int
    train_seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def train_captioner(config: CaptionConfig, *, checkpoint_dir: str | None = None, resume: bool = False) -> CaptionResult:
    """Train a CNN + recurrent captioner on the digit images and score it on the held-out ones
    (``checkpoint_dir``: keep ``last.ckpt`` there at each epoch end; ``resume``: continue from it)."""
    train, test = split_digit_captions(load_digit_captions(config.lang), config.test_fraction,
                                       config.seed)
    torch.manual_seed(config.seed)
    vocab = Vocab.build(_TOKENIZER.tokenize(c) for c in train.captions)
    max_tokens = max(len(c) for c in train.captions)
    model = ConditionalGenerator(ConditionalGeneratorConfig(
        vocab_size=len(vocab), condition_size=config.feature_size, cell=config.cell,
        embedding_dim=config.embedding_dim, hidden_size=config.hidden_size,
        image_channels=1, image_size=8, cnn_channels=list(config.cnn_channels),
        conditioning=config.conditioning or ("input" if config.cell == "mlstm" else "both"),
        max_length=max_tokens + 2,
    ))
    train_config = TrainConfig(optimizer="adam", lr=config.lr, clip_norm=config.clip_norm,
                               lr_schedule=config.lr_schedule, max_epochs=config.epochs,
                               batch_size=config.batch_size, max_seconds=config.max_seconds,
                               seed=config.seed, progress_bar=config.progress_bar, checkpoint_dir=checkpoint_dir)
    logger.info("training a CNN + %s captioner on %d images", config.cell, len(train))
    started = time.perf_counter()
    trained = fit(model, CaptionObjective(), _tensor_dataset(train, vocab), config=train_config,
                  resume_from="last" if resume else None)
    seconds = time.perf_counter() - started
    model.eval()
    captioner = Captioner(model, vocab, max_tokens, config.lang,
                          {"test_fraction": config.test_fraction, "seed": config.seed})
    accuracy = caption_accuracy(captioner.caption(test.images), test.captions)
    return CaptionResult(captioner, accuracy, len(train), len(test), seconds, trained.history)


RUN_KIND = "caption"


def run_caption(config: CaptionConfig, out_dir: str | Path, *, overwrite: bool = False,
                resume: bool = False) -> CaptionResult:
    """:func:`train_captioner`, then the run folder ``out_dir``: ``model/`` (:meth:`Captioner.save`)
    and ``metrics.json``. ``out_dir`` must be new or empty, or an earlier caption run with
    ``overwrite``; it appears only when complete. ``resume=True`` continues a killed run from its
    last epoch checkpoint."""
    out = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)
    with resumable_run_folder(out, RUN_KIND, config.to_dict(), overwrite=overwrite, resume=resume) as tmp:
        result = train_captioner(config, checkpoint_dir=str(tmp / CHECKPOINTS), resume=resume)
        report = {"config": config.to_dict(), "train_seconds": result.train_seconds, "test_accuracy": result.accuracy,
                  "n_test": result.n_test, "history": result.history}
        result.captioner.save(tmp / "model")
        atomic_write_text(tmp / "metrics.json", json.dumps(report, indent=2))
    return result


def caption_accuracy(captions: list[str], references: list[str]) -> float:
    """Fraction of captions exactly equal to their reference."""
    if len(captions) != len(references) or not references:
        raise ValueError(f"got {len(captions)} captions for {len(references)} references; "
                         f"give one (non-empty) caption per reference")
    return sum(c == r for c, r in zip(captions, references)) / len(references)


@dataclass
class HeldOutCaptions:
    """Generated captions of the held-out images: images (N, 1, 8, 8), captions, references, accuracy."""

    images: torch.Tensor
    captions: list[str]
    references: list[str]
    accuracy: float


def caption_held_out(captioner: Captioner, beam: int = 1) -> HeldOutCaptions:
    """Caption every held-out image of ``captioner``'s training split."""
    test = captioner.held_out()
    captions = captioner.caption(test.images, beam=beam)
    return HeldOutCaptions(test.images, captions, test.captions, caption_accuracy(captions, test.captions))


def write_caption_grid(held: HeldOutCaptions, path: str | Path, count: int = 32) -> None:
    """A PNG grid of the first ``count`` held-out images titled with their generated captions
    (wrong ones in red, with the reference), written atomically."""
    from matplotlib.figure import Figure

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an int >= 1, got {count!r}")
    count = min(count, len(held.captions))
    columns = min(8, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(1.5 * columns, 1.7 * rows))
    for i in range(count):
        axes = figure.add_subplot(rows, columns, i + 1)
        axes.imshow(held.images[i, 0].numpy(), cmap="gray_r", vmin=0.0, vmax=1.0)
        right = held.captions[i] == held.references[i]
        title = held.captions[i] if right else f"{held.captions[i]}\n(≠ {held.references[i]})"
        axes.set_title(title, fontsize=8, color="black" if right else "red")
        axes.axis("off")
    figure.tight_layout()
    atomic_write_with(Path(path), lambda tmp: figure.savefig(tmp, format="png", dpi=100))
