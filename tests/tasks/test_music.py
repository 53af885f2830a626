"""Music: piano rolls from music21's Bach chorales and from MIDI files, a next-frame model scored
beside its baselines, continuation of an opening, and one-line errors."""

import json

import numpy as np
import pytest

from rnnkit.data.music import HIGH, LOW, Piece, bach_chorales, read_music_folder, roll_to_midi, split_pieces
from rnnkit.errors import DataError
from rnnkit.tasks.music import MusicConfig, baseline_scores, frame_scores, generate_music, train_music


def _roll(seed, steps=24):
    rng = np.random.default_rng(seed)
    roll = np.zeros((steps, HIGH - LOW), dtype=np.uint8)
    for t in range(0, steps, 2):  # chords held for two steps
        roll[t : t + 2, rng.choice(HIGH - LOW, 3, replace=False)] = 1
    return roll


def test_a_roll_survives_a_round_trip_through_a_midi_file(tmp_path):
    roll = _roll(0)
    roll_to_midi(roll, 0.5, tmp_path / "a.mid")
    (back,) = read_music_folder(tmp_path)
    assert back.name == "a" and np.array_equal(back.roll, roll)


def test_bach_chorales_are_four_part_rolls_with_about_four_notes_a_frame():
    pieces = bach_chorales(limit=6)
    assert len(pieces) == 6 and all(p.roll.shape[1] == HIGH - LOW for p in pieces)
    frames = np.concatenate([p.roll for p in pieces])
    assert 3.5 < frames.sum(axis=1).mean() <= 4.0  # four voices, sometimes in unison or resting


def test_frame_scores_and_baselines_by_hand():
    truth = [np.array([[1, 0], [0, 1]], dtype=np.uint8)]
    scores = frame_scores([np.array([[0.9, 0.2], [0.4, 0.6]])], truth)
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.6) + np.log(0.6)) / 2
    assert scores["nll"] == pytest.approx(expected) and scores["frame_accuracy"] == 1.0
    held = [Piece("x", np.array([[1, 0]] * 6, dtype=np.uint8))]
    result = baseline_scores(held, held, held)  # a constant piece: repeating is nearly perfect
    assert result["repeat"]["epsilon"] == 0.01 and result["repeat"]["nll"] < 0.05
    swinging = [Piece("y", np.array([[1, 0], [0, 1]] * 6, dtype=np.uint8))]
    result = baseline_scores(swinging, swinging, swinging)  # the previous frame is always wrong
    assert result["marginal"]["nll"] == pytest.approx(2 * np.log(2))
    assert result["repeat"]["epsilon"] == 0.9 and result["repeat"]["nll"] > result["marginal"]["nll"]


def test_pieces_are_split_whole_and_reproducibly():
    pieces = [Piece(str(i), _roll(i)) for i in range(20)]
    train, val, test = split_pieces(pieces, 0.1, 0.2, seed=3)
    assert (len(train), len(val), len(test)) == (14, 2, 4)
    assert {p.name for p in train + val + test} == {str(i) for i in range(20)}
    assert [p.name for p in split_pieces(pieces, 0.1, 0.2, seed=3)[2]] == [p.name for p in test]


def test_training_on_chorales_beats_both_baselines_and_writes_a_playable_continuation(tmp_path):
    config = MusicConfig(limit=40, hidden_size=48, epochs=80, batch_size=8, lr=1e-2, sample_steps=20, patience=None,
                         progress_bar="off")
    report = train_music(config, tmp_path / "run")
    assert report.pieces == {"train": 32, "validation": 4, "test": 4}
    assert report.nll < report.baselines["repeat"]["nll"] < report.baselines["marginal"]["nll"]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["nll"] == pytest.approx(report.nll)
    (sample,) = read_music_folder(tmp_path / "run")  # sample.mid
    assert len(sample.roll) >= 20 and sample.roll.sum() > 0
    files = generate_music(tmp_path / "run" / "model", tmp_path / "gen", steps=12, prime=tmp_path / "run" / "sample.mid",
                           prime_steps=8, seed=1)
    (again,) = read_music_folder(tmp_path / "gen")
    assert files["plot"].is_file() and np.array_equal(again.roll[:8], sample.roll[:8])


def test_bad_music_input_is_one_line(tmp_path):
    with pytest.raises(DataError, match="has no MIDI or MusicXML file"):
        read_music_folder(tmp_path)
    (tmp_path / "broken.mid").write_bytes(b"MThd not really a midi file")
    with pytest.raises(DataError, match=r"cannot read broken.mid as music"):
        read_music_folder(tmp_path)
    with pytest.raises(ValueError, match="step must be a duration in quarter notes"):
        MusicConfig(step=0)
