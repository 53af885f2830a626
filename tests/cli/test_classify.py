"""``rnnkit classify`` end to end on a tiny CSV, and each bad input as one line with exit code 2."""

import csv
import random
import re

import pytest

from rnnkit.cli import main

FAST = ["--cell", "lstm", "--hidden", "16", "--embedding-dim", "16", "--unidirectional", "--dropout", "0",
        "--epochs", "6", "--batch-size", "16", "--lr", "0.01", "--min-freq", "1", "--patience", "0"]


def write_reviews(path, n=240):
    rng = random.Random(0)
    filler = ["the", "film", "plot", "actors", "was", "very", "quite", "and", "story", "music"]
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["review", "sentiment", "id"])
        for i in range(n):
            words = rng.sample(filler, 6)
            words.insert(rng.randrange(7), rng.choice(["good", "great", "superb"] if i % 2 else ["bad", "awful", "dull"]))
            writer.writerow([" ".join(words), "pos" if i % 2 else "neg", i])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("clscli")
    data = write_reviews(root / "reviews.csv")
    return main(["classify", "train", str(data), "--text-col", "review", "--label-col", "sentiment", *FAST,
                 "--out", str(root / "run")]), root


def test_train_reports_accuracy_f1_confusion(trained, capsys):
    code, root = trained
    assert code == 0
    assert (root / "run" / "model" / "labels.json").is_file()


def test_train_output(tmp_path, capsys):
    data = write_reviews(tmp_path / "r.csv", n=160)
    assert main(["classify", "train", str(data), "--text-col", "review", "--label-col", "sentiment", *FAST,
                 "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r"│ accuracy\s*│\s*([\d.]+)%", out).group(1))
    majority = float(re.search(r"│ majority class accuracy\s*│\s*([\d.]+)%", out).group(1))
    assert accuracy >= 90.0 and 45.0 <= majority <= 55.0
    assert "macro-F1" in out and "confusion matrix (rows: true label, columns: predicted label):" in out
    baseline = float(re.search(r"│ TF-IDF \+ logistic regression accuracy \(C=[\d.]+\)\s*│\s*([\d.]+)%", out).group(1))
    assert baseline >= 90.0
    verdict = " ".join(out.split())
    assert ("beats the bag-of-words baseline on this split" in verdict) or ("baseline beats the recurrent" in verdict)
    rows = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(r"│ (neg|pos)\s*│\s*(\d+) │\s*(\d+) │", out)}
    n_test = int(re.search(r"held-out test split \((\d+) texts\)", out).group(1))
    assert 30 <= n_test <= 34 and sum(sum(r) for r in rows.values()) == n_test  # ~20% of 160


def test_predict_prints_label_and_probability(trained, capsys):
    _, root = trained
    capsys.readouterr()
    assert main(["classify", "predict", str(root / "run" / "model"), "the plot was superb", "awful actors"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    labels = [line.split("\t")[0] for line in lines]
    probs = [float(line.split("\t")[1]) for line in lines]
    assert labels == ["pos", "neg"] and all(0.5 < p <= 1.0 for p in probs)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["classify", "train", "{csv}", "--text-col", "text"], r"text column 'text' is not in .*its columns are 'review', 'sentiment', 'id'"),
        (["classify", "train", "{csv}", "--text-col", "review", "--label-col", "stars"], r"label column 'stars' is not in"),
        (["classify", "train", "{one}", "--text-col", "review", "--label-col", "sentiment"], r"has a single class 'pos'"),
        (["classify", "train", "{empty}"], r"is empty \(0 bytes\)"),
        (["classify", "train", "{latin}"], r"is not valid utf-8 \(byte 0xe9"),
        (["classify", "train", "{csv}", "--text-col", "review", "--label-col", "sentiment", "--embeddings", "{one}"], r"is not valid .* format"),
        (["classify", "train", "--text-col", "review"], r"--text-col / --label-col name columns of your CSV file; give that file too"),
        (["classify", "predict", "{missing}", "text"], r"saved model folder .* does not exist"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, argv, match):
    write_reviews(tmp_path / "r.csv", n=40)
    (tmp_path / "one.csv").write_text("review,sentiment\na,pos\nb,pos\nc,pos\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "latin.csv").write_bytes("text,label\ncaf\u00e9,a\n".encode("latin-1"))
    paths = {"csv": tmp_path / "r.csv", "one": tmp_path / "one.csv", "empty": tmp_path / "empty.csv",
             "latin": tmp_path / "latin.csv", "missing": tmp_path / "nope"}
    argv = [a.format(**paths) for a in argv] + (["--out", str(tmp_path / "o")] if argv[1] == "train" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnnkit classify: error: ") and re.search(match, err[0])
