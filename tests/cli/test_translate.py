"""``rnnkit translate`` end to end on a tiny budget: it learns, predicts, draws, and refuses bad input."""

import json
import random

import pytest

from rnnkit.cli import main


def write_reversal_tsv(path, n=700, seed=0):
    rng = random.Random(seed)
    strings = set()
    while len(strings) < n:
        strings.add("".join(rng.choice("0123456789") for _ in range(rng.randint(3, 6))))
    path.write_text("".join(f"{s}\t{s[::-1]}\n" for s in sorted(strings)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    tsv = write_reversal_tsv(root / "reverse.tsv")
    code = main(["translate", "train", str(tsv), "--attention", "multiplicative", "--hidden", "64",
                 "--embedding", "16", "--epochs", "8", "--batch-size", "32", "--lr", "5e-3",
                 "--out", str(root / "run")])
    assert code == 0
    return root


def test_train_learns_and_writes_metrics_and_model(trained):
    report = json.loads((trained / "run" / "metrics.json").read_text())
    # stated target on this tiny budget: >= 75% exact match on the 70 held-out strings
    assert report["test"]["n"] == 70
    assert report["test"]["exact_match"] >= 0.75
    assert report["config"]["attention"] == "multiplicative"
    assert (trained / "run" / "model" / "source_vocab.json").is_file()
    history = report["history"]  # every epoch, with the validation loss that picked the best one
    assert [row["epoch"] for row in history] == list(range(8)) and all("val_loss" in row for row in history)


def test_predict_translates_and_draws_attention(trained, capsys):
    png = trained / "att.png"
    code = main(["translate", "predict", str(trained / "run" / "model"), "12345", "9081",
                 "--beam", "3", "--attention-map", str(png)])
    assert code == 0
    out = capsys.readouterr().out
    assert "12345\t54321" in out and "9081\t1809" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "text, beam, message",
    [
        ("12x45", "1", "unknown character(s) 'x' in input '12x45'"),
        ("1234567", "1", "has 7 characters, more than the longest training source (6)"),
        ("123", "0", "beam size must be >= 1, got 0"),
    ],
)
def test_predict_refuses_bad_input_in_one_line(trained, capsys, text, beam, message):
    code = main(["translate", "predict", str(trained / "run" / "model"), text, "--beam", beam])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("rnnkit translate: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "content, message",
    [
        ("123\t321\n456 654\n", "line 2: expected 2 tab-separated fields (source<TAB>target), got 1"),
        ("123\t321\n\n456\t\n", "line 3: empty target text"),
        ("\t321\n", "line 1: empty source text"),
    ],
)
def test_train_refuses_malformed_tsv(tmp_path, capsys, content, message):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text(content, encoding="utf-8")
    code = main(["translate", "train", str(tsv), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_train_refuses_file_with_dataset_and_predict_missing_model(tmp_path, capsys):
    tsv = write_reversal_tsv(tmp_path / "r.tsv", n=20)
    assert main(["translate", "train", str(tsv), "--dataset", "dates"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(["translate", "predict", str(tmp_path / "nowhere"), "123"]) == 2
    assert "rnnkit translate: error: " in capsys.readouterr().err
