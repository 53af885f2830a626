"""``rnnkit caption`` end to end on a tiny budget: train, caption the held-out images, refuse bad input."""

import json
import re

import pytest

from rnnkit.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("caption")
    assert main(["caption", "train", "--epochs", "6", "--lr-schedule", "constant", "--seed", "1",
                 "--out", str(root / "run")]) == 0
    return root


def test_train_then_predict_held_out(trained, capsys):
    report = json.loads((trained / "run" / "metrics.json").read_text())
    # stated target on this tiny budget (6 epochs, constant learning rate): >= 70% of the 359 held-out images
    assert report["n_test"] == 359 and report["test_accuracy"] >= 0.70
    assert [row["epoch"] for row in report["history"]] == list(range(6))  # every epoch's training loss
    code = main(["caption", "predict", str(trained / "run" / "model"), "--out", str(trained / "pred"),
                 "--count", "16"])
    out = capsys.readouterr().out
    assert code == 0
    printed = float(re.search(r"held-out caption accuracy: ([\d.]+)%", out).group(1))
    assert printed == pytest.approx(100 * report["test_accuracy"], abs=0.06)  # the same held-out images
    assert (trained / "pred" / "captions.png").read_bytes()[:4] == b"\x89PNG"


def test_english_train_on_one_epoch(tmp_path, capsys):
    code = main(["caption", "train", "--lang", "en", "--epochs", "1", "--hidden", "8",
                 "--out", str(tmp_path / "run")])
    assert code == 0
    vocab = json.loads((tmp_path / "run" / "model" / "vocab.json").read_text())
    assert "z" in vocab["tokens"] and "ñ" not in vocab["tokens"]


def test_bad_input_one_line(trained, tmp_path, capsys):
    assert main(["caption", "predict", str(trained / "run" / "model"), "--beam", "0",
                 "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "rnnkit caption: error: beam size must be >= 1, got 0" in err
    assert main(["caption", "predict", str(tmp_path / "missing")]) == 2
    assert main(["caption", "train", "--test-fraction", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--test-fraction must be in (0, 1), got 1.5" in err
