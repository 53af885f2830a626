"""Music as piano rolls: Bach's chorales from music21's corpus, or a folder of MIDI / MusicXML files.

A piece becomes a binary piano roll ``roll[t, k]`` (T, P): 1 when pitch ``LOW + k`` sounds during
time step t. Steps are ``step`` quarter notes long (0.5: eighth notes); a note from offset o to
o + d sounds in steps ``round(o / step) .. round((o + d) / step) - 1`` (at least one). Pitches
outside ``[LOW, HIGH)`` (MIDI numbers; 36-84 is C2 to B5, where the chorales' four voices lie) are
left out and counted. This is the polyphonic setting of Boulanger-Lewandowski et al. (2012).

Data: music21 (BSD licence) ships Bach's four-part chorales in its wheel (``music21/corpus/bach``,
MusicXML, from the Riemenschneider edition); nothing is downloaded. Reading them takes about half
a minute the first time, so the rolls are cached as ``.npz`` under ``$XDG_CACHE_HOME/rnnkit``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.corpora import cache_dir
from rnnkit.errors import DataError
from rnnkit.io import atomic_path

log = logging.getLogger(__name__)

LOW, HIGH = 36, 84
"""MIDI pitch range of the roll: [LOW, HIGH), 48 pitches."""
MUSIC_SUFFIXES = (".mid", ".midi", ".xml", ".mxl", ".musicxml")


@dataclass
class Piece:
    """A piece as a piano roll: ``roll`` (T, P) uint8, ``step`` quarter notes per row."""

    name: str
    roll: np.ndarray


def score_to_roll(score: object, step: float, low: int = LOW, high: int = HIGH) -> tuple[np.ndarray, int]:
    """The piano roll (T, high - low) of a music21 score, and the number of notes out of range."""
    notes = []
    for element in score.flatten().notes:  # type: ignore[attr-defined]
        start, length = float(element.offset), float(element.quarterLength)
        for pitch in getattr(element, "pitches", ()):
            notes.append((start, start + length, int(pitch.midi)))
    if not notes:
        return np.zeros((0, high - low), dtype=np.uint8), 0
    steps = int(round(max(end for _, end, _ in notes) / step))
    roll = np.zeros((max(steps, 1), high - low), dtype=np.uint8)
    outside = 0
    for start, end, midi in notes:
        if not low <= midi < high:
            outside += 1
            continue
        first = int(round(start / step))
        last = max(first + 1, int(round(end / step)))
        roll[first:last, midi - low] = 1
    return roll, outside


def parse_music_file(path: Path) -> object:
    """A MIDI or MusicXML file as a music21 score; a file music21 cannot read is a one-line DataError."""
    from music21 import converter

    try:
        return converter.parse(str(path))
    except Exception as error:  # music21 raises many kinds for a bad file
        raise DataError(f"cannot read {path.name} as music ({type(error).__name__}: "
                        f"{str(error).strip().splitlines()[0] if str(error).strip() else 'unreadable'}); "
                        "give MIDI (.mid) or MusicXML (.xml, .mxl) files") from None


def bach_chorales(step: float = 0.5, limit: int | None = None) -> list[Piece]:
    """Bach's four-part chorales of music21's corpus as piano rolls (cached after the first full
    read; ``limit`` reads only the first ``limit`` chorales, uncached)."""
    cache = cache_dir() / "music" / f"bach-chorales-step{step:g}-{LOW}-{HIGH}.npz"
    if limit is None and cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return [Piece(str(name), data[f"roll{i}"]) for i, name in enumerate(data["names"])]
    from music21 import corpus

    pieces, outside = [], 0
    for path in sorted(corpus.getComposer("bach"), key=str):
        path = Path(str(path))
        if path.suffix not in (".mxl", ".xml"):
            continue  # roman-numeral analyses and kern files are not scores of the chorales
        score = corpus.parse(str(path))
        if len(getattr(score, "parts", ())) != 4:
            continue  # the four-part chorales only
        roll, out = score_to_roll(score, step)
        outside += out
        if len(roll):
            pieces.append(Piece(path.stem, roll))
        if limit is not None and len(pieces) >= limit:
            return pieces
    log.info("read %d Bach chorales (%d notes outside MIDI %d-%d left out); caching them in %s",
             len(pieces), outside, LOW, HIGH - 1, cache)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, names=np.array([p.name for p in pieces]),
                                **{f"roll{i}": p.roll for i, p in enumerate(pieces)})
    return pieces


def read_music_folder(folder: str | Path, step: float = 0.5) -> list[Piece]:
    """Every MIDI / MusicXML file of ``folder`` (not its subfolders) as a piano roll."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{folder} is not a folder; give a folder of MIDI or MusicXML files")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in MUSIC_SUFFIXES)
    if not files:
        raise DataError(f"{folder} has no MIDI or MusicXML file ({', '.join(MUSIC_SUFFIXES)})")
    pieces, outside = [], 0
    for path in files:
        roll, out = score_to_roll(parse_music_file(path), step)
        outside += out
        if len(roll) == 0:
            raise DataError(f"{path.name} has no notes; remove it from the folder")
        pieces.append(Piece(path.stem, roll))
    if outside:
        log.info("%d notes outside MIDI %d-%d were left out", outside, LOW, HIGH - 1)
    return pieces


def split_pieces(pieces: list[Piece], val_fraction: float, test_fraction: float,
                 seed: int) -> tuple[list[Piece], list[Piece], list[Piece]]:
    """Train / validation / test by piece (a piece is never split), shuffled with ``seed``."""
    if len(pieces) < 3:
        raise DataError(f"{len(pieces)} piece(s) cannot be split into training, validation and test; give at least 3")
    order = np.random.default_rng(seed).permutation(len(pieces))
    n_test = max(1, int(round(len(pieces) * test_fraction)))
    n_val = max(1, int(round(len(pieces) * val_fraction)))
    pick = lambda idx: [pieces[i] for i in idx]  # noqa: E731
    return pick(order[n_test + n_val :]), pick(order[n_test : n_test + n_val]), pick(order[:n_test])


def roll_to_midi(roll: np.ndarray, step: float, path: str | Path, low: int = LOW, tempo: int = 80) -> None:
    """Write a piano roll (T, P) as a MIDI file: a note per run of consecutive active steps of a pitch."""
    from music21 import meter, note, stream, tempo as m21tempo

    part = stream.Part()
    part.append(m21tempo.MetronomeMark(number=tempo))
    part.append(meter.TimeSignature("4/4"))
    padded = np.vstack([np.zeros((1, roll.shape[1]), roll.dtype), roll, np.zeros((1, roll.shape[1]), roll.dtype)])
    changes = np.diff(padded.astype(np.int8), axis=0)  # +1 at an onset, -1 at a release
    for k in range(roll.shape[1]):
        onsets, releases = np.flatnonzero(changes[:, k] == 1), np.flatnonzero(changes[:, k] == -1)
        for start, end in zip(onsets, releases, strict=True):
            n = note.Note(midi=low + k)
            n.quarterLength = (end - start) * step
            part.insert(start * step, n)
    score = stream.Score([part])
    with atomic_path(path) as tmp:
        score.write("midi", fp=str(tmp))
