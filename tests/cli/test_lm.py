"""``rnnkit lm`` end to end on a tiny budget, and each bad input as one line with exit code 2."""

import re

import pytest

from rnnkit.cli import main

TRAIN = ["--cell", "gru", "--embedding-dim", "8", "--hidden", "24", "--batch-size", "4", "--bptt", "12",
         "--epochs", "6", "--lr", "0.01", "--sample-length", "12"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmcli")
    source = root / "abc.txt"
    source.write_text("abcdefg\n" * 150)
    out = root / "run"
    return main(["lm", "train", str(source), *TRAIN, "--out", str(out)]), out


def test_train_reports_metrics_and_learns_the_alphabet(trained, capsys):
    code, out = trained
    assert code == 0
    assert (out / "model" / "config.json").is_file() and (out / "model" / "vocab.json").is_file()
    assert main(["lm", "generate", str(out / "model"), "--prime", "abc", "--length", "13",
                 "--temperature", "0"]) == 0
    assert capsys.readouterr().out.strip() == "abcdefg\nabcdefg"


def test_train_output_table(tmp_path, capsys):
    source = tmp_path / "t.txt"
    source.write_text("xyz " * 200)
    assert main(["lm", "train", str(source), *TRAIN, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    before, after = (float(x) for x in re.search(r"bits per character\s*│\s*([\d.]+)\s*│\s*([\d.]+)", out).groups())
    assert after < before / 4
    assert "perplexity" in out and "sample (temperature 0.8):" in out and "model: " in out


def test_generate_with_a_seed_is_reproducible(trained, capsys):
    _, out = trained
    argv = ["lm", "generate", str(out / "model"), "--prime", "a", "--length", "40", "--temperature", "1.5",
            "--seed", "4", "--top-k", "5", "--top-p", "0.95"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first and first.startswith("a")


@pytest.mark.parametrize(
    ("setup", "argv", "match"),
    [
        (b"", ["lm", "train", "{file}"], r"is empty \(0 bytes\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", ["lm", "train", "{file}"], r"looks binary"),
        ("caf\u00e9 ".encode("latin-1") * 50, ["lm", "train", "{file}"], r"is not valid utf-8 \(byte 0xe9 at offset 3, line 1\)"),
        (b"tiny text", ["lm", "train", "{file}"], r"shorter than one training chunk"),
        (b"x" * 100, ["lm", "train", "{file}", "--heads", "2"], r"--heads applies to the slstm and mlstm cells"),
        (b"x" * 100, ["lm", "train", "{file}", "--hidden", "0"], r"--hidden must be >= 1, got 0"),
        (None, ["lm", "generate", "{model}", "--prime", "xyz"], r"characters outside the model's vocabulary: 'x', 'y', 'z'"),
        (None, ["lm", "generate", "{model}", "--temperature", "-1"], r"temperature must be a number >= 0"),
        (None, ["lm", "generate", "{missing}"], r"saved model folder .*nope. does not exist"),
    ],
)
def test_bad_input_is_one_line(trained, tmp_path, capsys, setup, argv, match):
    file = tmp_path / "input.txt"
    if setup is not None:
        file.write_bytes(setup)
    paths = {"file": str(file), "model": str(trained[1] / "model"), "missing": str(tmp_path / "nope")}
    capsys.readouterr()
    assert main([a.format(**paths) for a in argv] + ["--out", str(tmp_path / "o")] * (argv[1] == "train")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnnkit lm: error: ") and re.search(match, err[0])
