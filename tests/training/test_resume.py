"""Kill a training run with SIGKILL after a checkpoint, resume it, and lose nothing; a checkpoint
that was being written when the process died never replaces a good one; bad checkpoints are refused."""

import csv
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from rnnkit import CheckpointError
from rnnkit.training import RegressionObjective, TrainConfig, fit
from rnnkit.training.checkpoint import AtomicCheckpointIO

WORKER = Path(__file__).with_name("resume_worker.py")


def _load_worker():
    spec = importlib.util.spec_from_file_location("rnnkit_tests_resume_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sigkill_then_resume_continues_from_the_checkpoint_with_nothing_lost(tmp_path, kill_once_written):
    worker = _load_worker()
    last = tmp_path / "last.ckpt"
    kill_once_written([sys.executable, str(WORKER), str(tmp_path)], last)

    saved_step = torch.load(last, weights_only=True)["global_step"]
    assert 3 <= saved_step < 24 and saved_step % 8 != 0                  # a mid-epoch checkpoint
    counter = worker.CountBatches()
    resumed, result = worker.train(str(tmp_path), resume=True, callbacks=[counter])
    assert counter.batches == 24 - saved_step                            # it continued from that step
    assert result.global_step == 24
    # history.json keeps the epochs finished before the kill and adds the rest, one row per epoch.
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert [row["lr"] for row in result.history] == [0.01, 0.005, 0.0025]
    reference, unbroken = worker.train()                                 # the same run, never interrupted
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], value, rtol=0, atol=0)
    # the epoch means count every batch, those before the kill included
    for row, expected in zip(result.history, unbroken.history, strict=True):
        assert row["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-6)
    # metrics.csv keeps what was logged before the kill: a step loss for every step, each epoch's mean
    with open(tmp_path / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted({int(r["step"]) for r in rows if r.get("train_loss_step")}) == list(range(24))
    assert sorted(int(float(r["epoch"])) for r in rows if r.get("train_loss")) == [0, 1, 2]


def test_last_ckpt_is_written_at_the_end_of_every_epoch_with_and_without_validation(tmp_path):
    import lightning as L

    from rnnkit.training.checkpoint import read_training_checkpoint

    class LastAtEpochStart(L.Callback):
        def __init__(self, folder):
            self.folder, self.epochs_saved = folder, []

        def on_train_epoch_start(self, trainer, pl_module):
            last = self.folder / "last.ckpt"
            self.epochs_saved.append(read_training_checkpoint(last)["epoch"] if last.is_file() else None)

    x = torch.randn(64, 3)
    y = x.sum(dim=1, keepdim=True)
    for val in (None, (x[:16], y[:16])):
        folder = tmp_path / ("val" if val else "train")
        probe = LastAtEpochStart(folder)
        config = TrainConfig(max_epochs=3, batch_size=16, checkpoint_dir=str(folder), progress_bar="off", seed=0)
        fit(torch.nn.Linear(3, 1), RegressionObjective(), (x, y), val, config, callbacks=[probe])
        # a run killed in epoch e resumes from the end of epoch e - 1, not from the start
        assert probe.epochs_saved == [None, 0, 1]


def test_a_checkpoint_interrupted_while_written_never_replaces_the_good_one(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "global_step": 3}, path)

    def dies_half_way(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt                                          # the process is being stopped

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "global_step": 6}, path)
    monkeypatch.undo()
    checkpoint = io.load_checkpoint(path)
    assert checkpoint["global_step"] == 3 and torch.equal(checkpoint["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_corrupt_or_mismatched_checkpoints_are_refused_with_the_fix(tmp_path):
    worker = _load_worker()
    x, y = worker.data()
    config = TrainConfig(max_epochs=1, accelerator="cpu", progress_bar="off", checkpoint_dir=str(tmp_path))
    fit(worker.DropoutRegressor(), RegressionObjective(), (x, y), config=config)
    with pytest.raises(CheckpointError, match=r"was written for another model: missing \['model.layer.bias', 'model.layer.weight'\]"):
        fit(_Other(), RegressionObjective(), (x, y), config=config, resume_from="last")
    (tmp_path / "last.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"last.ckpt' is corrupt or not a training checkpoint .*; resume from another .ckpt"):
        fit(worker.DropoutRegressor(), RegressionObjective(), (x, y), config=config, resume_from="last")
    torch.save({"state_dict": {}, "callback": _Other}, tmp_path / "last.ckpt")  # code, not only tensors
    with pytest.raises(CheckpointError, match=r"holds Python objects besides tensors, which rnnkit never unpickles\); "
                                              r"resume from another .ckpt") as caught:
        fit(worker.DropoutRegressor(), RegressionObjective(), (x, y), config=config, resume_from="last")
    assert "weights_only" not in str(caught.value)  # no advice to turn the safe loading off
    with pytest.raises(CheckpointError, match=r"checkpoint '.*missing.ckpt' does not exist; pass the path of a .ckpt"):
        fit(worker.DropoutRegressor(), RegressionObjective(), (x, y), config=config,
            resume_from=str(tmp_path / "missing.ckpt"))


class _Other(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.layer(x[:, -1])
