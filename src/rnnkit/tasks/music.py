"""Polyphonic music (seed 003: music among the sequences RNNs model): Bach chorales as piano rolls.

    report = train_music(MusicConfig(cell="lstm"), "runs/music")
    report.nll, report.frame_accuracy, report.baselines
    generate_music("runs/music/model", "runs/gen", steps=64, prime=piece)
    MusicGenerator.load("runs/music/model").continue_piece(opening_roll, steps=64, seed=0)   # (T0 + 64, P)

Many-to-many: at each time step (an eighth note) the network reads the frame that sounds (which
of the P pitches are on) and predicts the next one as P independent Bernoulli probabilities
(the classic setting of Boulanger-Lewandowski et al. 2012); one-to-many: given an opening, it
continues by sampling a frame, feeding it back, and so on. Pieces are split by piece into
training, validation (early stopping, best epoch) and test (reported only).

Scores on the test pieces: the negative log-likelihood of a frame (nats, summed over pitches,
averaged over frames) and the frame accuracy of Bay et al. (2009), TP / (TP + FP + FN) with a 0.5
threshold. Beside them, two baselines on the same frames: every pitch at its training frequency
("marginal"), and "repeat the previous frame" smoothed towards the marginal,
``p = (1 - eps) prev + eps marginal`` with eps chosen on the validation pieces. Published JSB
Chorales figures use another split and another preprocessing (GRU 8.54 nats per step, Chung et al.
2014): context only; the in-run baselines decide.

The run folder: ``metrics.json``, ``model/`` (weights + the roll's step and pitch range),
``sample.mid`` and ``sample.png`` (a continuation of a test piece's opening).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.data.music import HIGH, LOW, Piece, bach_chorales, read_music_folder, roll_to_midi, split_pieces
from rnnkit.errors import CheckpointError, DataError
from rnnkit.io import (CHECKPOINTS, atomic_write_text, atomic_write_with, check_resumable_run_folder, check_run_folder,
                       resumable_run_folder, run_folder)
from rnnkit.models import SequenceTagger, SequenceTaggerConfig
from rnnkit.models.validation import check_cell, check_int
from rnnkit.tasks.predictor import Predictor

log = logging.getLogger(__name__)

EPSILONS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
"""Smoothing of the repeat-the-previous-frame baseline, chosen on validation."""


@dataclass
class MusicConfig:
    """Settings of :func:`train_music`.

    Data: ``folder`` (MIDI / MusicXML files; None: music21's Bach chorales), ``limit`` (first N
    chorales only), ``step`` (quarter notes per frame), ``val_fraction``, ``test_fraction``.
    Model: ``cell``, ``hidden_size``, ``num_layers``, ``dropout``, ``cell_kwargs``.
    Training: ``epochs``, ``batch_size``, ``lr``, ``patience``, ``max_seconds``, ``seed``,
    ``progress_bar``. Sample: ``sample_steps`` generated after ``prime_steps`` of a test piece.
    """

    folder: str | None = None
    limit: int | None = None
    step: float = 0.5
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 40
    batch_size: int = 16
    lr: float = 3e-3
    patience: int | None = 5
    max_seconds: float | None = None
    seed: int = 0
    progress_bar: str = "auto"
    sample_steps: int = 64
    prime_steps: int = 16

    def __post_init__(self) -> None:
        check_cell("cell", self.cell)
        for name in ("hidden_size", "num_layers", "epochs", "batch_size", "sample_steps", "prime_steps"):
            check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        if self.limit is not None:
            check_int("limit", self.limit, 3)
        if not (isinstance(self.step, (int, float)) and 0 < self.step <= 4):
            raise ValueError(f"step must be a duration in quarter notes in (0, 4], e.g. 0.5 for eighths; got {self.step!r}")
        for name in ("val_fraction", "test_fraction"):
            if not 0 < getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5), got {getattr(self, name)}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")


@dataclass
class MusicReport:
    """Test-piece scores of the network and the baselines (nats per frame, frame accuracy)."""

    pieces: dict[str, int]
    nll: float
    frame_accuracy: float
    baselines: dict[str, dict[str, float]]
    epochs: int
    seconds: float
    files: dict[str, Path]


class _Frames(torch.utils.data.Dataset):
    """(frames t = 0..T-2, frames t = 1..T-1) of each piece, float32 (T-1, P)."""

    def __init__(self, pieces: list[Piece]) -> None:
        self.rolls = [torch.as_tensor(p.roll, dtype=torch.float32) for p in pieces]

    def __len__(self) -> int:
        return len(self.rolls)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        roll = self.rolls[index]
        return roll[:-1], roll[1:]


def _pad(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(x) for x, _ in items])
    pad = lambda seqs: torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)  # noqa: E731
    return pad([x for x, _ in items]), pad([y for _, y in items]), lengths


def frame_scores(probabilities: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, float]:
    """NLL per frame (nats, summed over pitches) and frame accuracy, over every frame of every piece."""
    p = np.clip(np.concatenate(probabilities), 1e-7, 1 - 1e-7)
    y = np.concatenate(truths).astype(bool)
    nll = -(np.where(y, np.log(p), np.log1p(-p))).sum(axis=1).mean()
    predicted = p > 0.5
    hits = int((predicted & y).sum())
    return {"nll": float(nll), "frame_accuracy": hits / max(1, int(predicted.sum() + y.sum()) - hits)}


def _marginal(train: list[Piece]) -> np.ndarray:
    return np.clip(np.concatenate([p.roll for p in train]).mean(axis=0), 1e-4, 1 - 1e-4)  # (P,)


def _repeat(pieces: list[Piece], marginal: np.ndarray, eps: float) -> list[np.ndarray]:
    return [(1 - eps) * p.roll[:-1] + eps * marginal for p in pieces]


def baseline_scores(train: list[Piece], val: list[Piece], test: list[Piece]) -> dict[str, dict[str, float]]:
    """The marginal and the smoothed repeat-the-previous-frame baselines on the test pieces."""
    marginal = _marginal(train)
    truths = [p.roll[1:] for p in test]
    out = {"marginal": frame_scores([np.broadcast_to(marginal, t.shape) for t in truths], truths)}
    val_truths = [p.roll[1:] for p in val]
    eps = min(EPSILONS, key=lambda e: frame_scores(_repeat(val, marginal, e), val_truths)["nll"])
    out["repeat"] = {**frame_scores(_repeat(test, marginal, eps), truths), "epsilon": eps}
    return out


def _probabilities(model: SequenceTagger, pieces: list[Piece]) -> list[np.ndarray]:
    model.eval()
    with torch.no_grad():
        return [torch.sigmoid(model(torch.as_tensor(p.roll[None, :-1], dtype=torch.float32))[0][0]).numpy()
                for p in pieces]


class MusicGenerator(Predictor):
    """A trained next-frame :class:`~rnnkit.models.SequenceTagger` with its roll's time step (a
    :class:`Predictor`); :func:`train_music` saves one as ``model/``.

    Args:
        model: the network (P inputs and P outputs, one per pitch of LOW..HIGH-1).
        step: the roll's time step in quarter notes (0.5: eighth notes).
        info: saved beside the model, see :class:`Predictor`.
    """

    model_class = SequenceTagger
    parts = ("music",)
    what, command = "a music model", "music"

    def __init__(self, model: SequenceTagger, step: float, info: dict[str, Any] | None = None) -> None:
        self.model, self.step, self.info = model, step, dict(info or {})

    def to_parts(self) -> dict[str, Any]:
        return {"music": {"step": self.step, "low": LOW, "high": HIGH}}

    @classmethod
    def from_parts(cls, model: torch.nn.Module, parts: dict[str, Any]) -> MusicGenerator:
        meta = parts["music"]
        if (meta.get("low"), meta.get("high")) != (LOW, HIGH):
            raise CheckpointError(f"the saved music model covers MIDI pitches {meta.get('low')}..{meta.get('high')}, "
                                  f"this rnnkit {LOW}..{HIGH}; train it again with this version")
        return cls(model, float(meta["step"]))

    def continue_piece(self, opening: np.ndarray, steps: int, seed: int) -> np.ndarray:
        """One-to-many: feed ``opening`` (T0, P), then sample ``steps`` frames, each fed back. (T0 + steps, P)."""
        generator = torch.Generator().manual_seed(seed)
        self.model.eval()
        frames = [torch.as_tensor(row, dtype=torch.float32) for row in opening]
        with torch.no_grad():
            logits, state = self.model(torch.stack(frames)[None])  # (1, T0, P)
            last = logits[0, -1]
            for _ in range(steps):
                frame = torch.bernoulli(torch.sigmoid(last), generator=generator)
                frames.append(frame)
                logits, state = self.model(frame[None, None], state=state)
                last = logits[0, -1]
        return torch.stack(frames).numpy().astype(np.uint8)


def plot_roll(roll: np.ndarray, opening: int, step: float, path: Path, title: str) -> None:
    """The piano roll as an image: time across, MIDI pitch up; the opening shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.imshow(roll.T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
              extent=(0, len(roll), LOW - 0.5, LOW + roll.shape[1] - 0.5))
    ax.axvspan(0, opening, color="tab:blue", alpha=0.12, label="opening (given)")
    ax.set_xlabel(f"time step ({step:g} quarter notes)")
    ax.set_ylabel("MIDI pitch")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)


def _pieces(config: MusicConfig) -> list[Piece]:
    pieces = read_music_folder(config.folder, config.step) if config.folder else bach_chorales(config.step, config.limit)
    short = [p.name for p in pieces if len(p.roll) < 2]
    if short:
        raise DataError(f"{short[0]} is shorter than two time steps; nothing to predict in it: remove it")
    return pieces


def train_music(config: MusicConfig, out_dir: str | Path, *, overwrite: bool = False,
                resume: bool = False) -> MusicReport:
    """Train on the training pieces, score the test pieces beside the baselines, write the run folder
    (``resume=True`` continues a killed run from its last epoch checkpoint)."""
    from rnnkit.training import MultiLabelSequenceObjective, TrainConfig, fit

    check_resumable_run_folder(out_dir, "music", overwrite=overwrite, resume=resume)  # before any work
    pieces = _pieces(config)
    train, val, test = split_pieces(pieces, config.val_fraction, config.test_fraction, config.seed)
    P = HIGH - LOW
    torch.manual_seed(config.seed)
    model = SequenceTagger(SequenceTaggerConfig(num_outputs=P, cell=config.cell, hidden_size=config.hidden_size,
                                                input_size=P, num_layers=config.num_layers, dropout=config.dropout,
                                                cell_kwargs=dict(config.cell_kwargs)))
    out = Path(out_dir)
    with resumable_run_folder(out, "music", asdict(config), overwrite=overwrite, resume=resume) as tmp:
        settings = TrainConfig(optimizer="adam", lr=config.lr, clip_norm=1.0, max_epochs=config.epochs,
                               max_seconds=config.max_seconds, batch_size=config.batch_size, shuffle=True,
                               seed=config.seed, early_stopping_patience=config.patience, restore_best=True,
                               progress_bar=config.progress_bar, checkpoint_dir=str(tmp / CHECKPOINTS))
        log.info("training a %s on %d pieces (%d validation, %d test)", config.cell, len(train), len(val), len(test))
        result = fit(model, MultiLabelSequenceObjective(), _Frames(train), _Frames(val), config=settings,
                     collate_fn=_pad, resume_from="last" if resume else None)
        scores = frame_scores(_probabilities(model, test), [p.roll[1:] for p in test])
        baselines = baseline_scores(train, val, test)
        opening = test[0].roll[: min(config.prime_steps, len(test[0].roll))]
        generator = MusicGenerator(model, config.step)
        sample = generator.continue_piece(opening, config.sample_steps, config.seed)
        report = MusicReport({"train": len(train), "validation": len(val), "test": len(test)}, scores["nll"],
                             scores["frame_accuracy"], baselines, result.epochs, result.seconds, {})
        metrics = {**asdict(report), "files": None, "config": asdict(config), "sample_opening": test[0].name}
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2))
        generator.save(tmp / "model")
        roll_to_midi(sample, config.step, tmp / "sample.mid")
        plot_roll(sample, len(opening), config.step, tmp / "sample.png",
                  f"{config.cell} continuing the opening of {test[0].name}")
    report.files = {name: out / name for name in ("metrics.json", "model", "sample.mid", "sample.png")}
    return report


def generate_music(model_dir: str | Path, out_dir: str | Path, *, steps: int = 64, prime: str | Path | None = None,
                   prime_steps: int = 16, seed: int = 0, overwrite: bool = False) -> dict[str, Path]:
    """Continue the opening of ``prime`` (a MIDI / MusicXML file; None: start from silence) with a
    saved model: writes ``sample.mid`` and ``sample.png`` into ``out_dir``."""
    from rnnkit.data.music import parse_music_file, score_to_roll

    check_run_folder(out_dir, "music-generate", overwrite=overwrite)
    check_int("steps", steps, 1)
    generator = MusicGenerator.load(model_dir)
    step = generator.step
    if prime is None:
        opening = np.zeros((1, HIGH - LOW), dtype=np.uint8)
    else:
        roll, _ = score_to_roll(parse_music_file(Path(prime)), step)
        if len(roll) == 0:
            raise DataError(f"{Path(prime).name} has no notes to continue")
        opening = roll[:prime_steps]
    sample = generator.continue_piece(opening, steps, seed)
    out = Path(out_dir)
    with run_folder(out, "music-generate", overwrite=overwrite) as tmp:
        roll_to_midi(sample, step, tmp / "sample.mid")
        plot_roll(sample, len(opening), step, tmp / "sample.png", "continuation" if prime else "from silence")
    return {"midi": out / "sample.mid", "plot": out / "sample.png"}
