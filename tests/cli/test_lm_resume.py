"""``rnnkit lm train`` killed with SIGKILL, then ``--resume``: the same model as a run never
interrupted, the whole metrics history, and the run folder appearing only when complete."""

import csv
import json
import sys

import torch

from rnnkit.cli import main
from rnnkit.data.corpora import load_corpus
from rnnkit.tasks.lm import TextGenerator

STEPS = 260  # 100-update checkpoints at 100 and 200, an epoch ends near 210


def _args(text, out):
    return ["lm", "train", str(text), "--hidden", "192", "--embedding-dim", "16", "--batch-size", "8", "--bptt", "16",
            "--max-steps", str(STEPS), "--no-baseline", "--sample-length", "0", "--out", str(out)]


def test_a_killed_run_resumes_to_the_result_of_an_unbroken_one(tmp_path, capsys, kill_once_written):
    text = tmp_path / "hamlet.txt"
    text.write_text(load_corpus("hamlet")[:30000], encoding="utf-8")
    run, partial = tmp_path / "run", tmp_path / ".run.partial"
    last = partial / "checkpoints" / "last.ckpt"
    kill_once_written([sys.executable, "-m", "rnnkit", *_args(text, run)], last)
    assert not run.exists() and partial.is_dir()  # nothing half-written where the user looks

    # a new run to the same folder refuses to discard the interrupted one
    assert main(_args(text, run)) == 2
    assert "has an interrupted lm run" in capsys.readouterr().err and partial.is_dir()

    assert main(["lm", "train", "--resume", str(run), "--sample-length", "0"]) == 0
    assert "resuming the interrupted lm run" in capsys.readouterr().err
    assert not partial.exists() and not (run / "checkpoints").exists()
    assert main(_args(text, tmp_path / "unbroken")) == 0

    resumed, unbroken = TextGenerator.load(run / "model").model, TextGenerator.load(tmp_path / "unbroken" / "model").model
    for key, value in unbroken.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)
    history = json.loads((run / "logs" / "history.json").read_text())
    expected = json.loads((tmp_path / "unbroken" / "logs" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [row["epoch"] for row in expected] == [0, 1]
    for row, want in zip(history, expected, strict=True):
        assert abs(row["train_loss"] - want["train_loss"]) < 1e-5
    with open(run / "logs" / "metrics.csv", newline="") as fh:
        logged = sorted({int(r["step"]) for r in csv.DictReader(fh)})
    assert logged[0] < 100 and logged[-1] >= STEPS - 50  # the steps before the kill are still there
