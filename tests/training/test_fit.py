"""fit / evaluate / predict: learning, optimizers, clipping, schedules, early stopping, best weights,
logs, quiet output, seeds and deterministic mode, each checked against a direct computation."""

import copy
import csv
import json
import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from rnnkit.training import (
    ClassificationObjective,
    RegressionObjective,
    SequenceCrossEntropyObjective,
    TrainConfig,
    evaluate,
    fit,
    predict,
)

FAST = dict(accelerator="cpu", progress_bar="off")


class LastStep(nn.Module):
    """(B, T, F) -> (B, O): GRU, last step, linear."""

    def __init__(self, features=2, hidden=8, outputs=1):
        super().__init__()
        self.rnn = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


class Linear(nn.Module):
    """(B, 1, F) -> (B, 1): a linear map of the only step (a convex problem)."""

    def __init__(self, features=4):
        super().__init__()
        self.layer = nn.Linear(features, 1)

    def forward(self, x):
        return self.layer(x[:, -1])


class StatefulGRU(nn.Module):
    """(B, T, F), state -> (B, T, 1) per step, state: for truncated BPTT."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(2, 8, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


def _regression(n=16, steps=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, steps, 2, generator=g)
    return x, x.sum(dim=(1, 2)).unsqueeze(1) * 0.5


def _model(cls=LastStep, **kwargs):
    torch.manual_seed(0)
    return cls(**kwargs)


def test_a_classifier_learns_the_sign_of_a_sum():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 6, 1, generator=g)
    y = (x.sum(dim=(1, 2)) > 0).long()
    model = _model(LastStep, features=1, hidden=12, outputs=2)
    result = fit(model, ClassificationObjective(), (x[:192], y[:192]), (x[192:], y[192:]),
                 config=TrainConfig(lr=0.02, max_epochs=12, batch_size=32, **FAST))
    first, last = result.history[0], result.history[-1]
    assert [row["epoch"] for row in result.history] == list(range(12))
    assert last["train_loss"] < first["train_loss"] / 3
    assert last["val_accuracy"] >= 0.9
    # The model now holds the weights of the epoch with the lowest val_loss (restore_best).
    best = min(result.history, key=lambda row: row["val_loss"])
    assert result.best_score == pytest.approx(best["val_loss"])
    metrics = evaluate(model, ClassificationObjective(), (x[192:], y[192:]), TrainConfig(**FAST))
    assert metrics == pytest.approx({"loss": best["val_loss"], "accuracy": best["val_accuracy"]}, rel=1e-5)


@pytest.mark.parametrize(
    ("name", "torch_optimizer", "extra"),
    [
        ("sgd", torch.optim.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("adam", torch.optim.Adam, {"betas": (0.8, 0.99), "weight_decay": 0.01}),
        ("adamw", torch.optim.AdamW, {"betas": (0.8, 0.99), "weight_decay": 0.1}),
    ],
)
def test_optimizers_follow_torch_with_the_configured_hyperparameters(name, torch_optimizer, extra):
    x, y = _regression()
    model = _model()
    reference = copy.deepcopy(model)
    fit(model, RegressionObjective(), (x, y),
        config=TrainConfig(optimizer=name, lr=0.05, max_epochs=1, batch_size=4, shuffle=False, **extra, **FAST))
    optimizer = torch_optimizer(reference.parameters(), lr=0.05, **extra)
    for start in range(0, 16, 4):
        loss = F.mse_loss(reference(x[start:start + 4]), y[start:start + 4])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("clip", "transform"),
    [
        ({"clip_norm": 0.05}, lambda grads: _scaled_to_norm(grads, 0.05)),
        ({"clip_value": 0.01}, lambda grads: [g.clamp(-0.01, 0.01) for g in grads]),
        ({"clip_value": 0.02, "clip_norm": 0.03},
         lambda grads: _scaled_to_norm([g.clamp(-0.02, 0.02) for g in grads], 0.03)),
    ],
)
def test_gradient_clipping_by_norm_and_by_value(clip, transform):
    x, y = _regression()
    model = _model()
    reference = copy.deepcopy(model)
    loss = F.mse_loss(reference(x[:8]), y[:8])
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    assert torch.cat([g.flatten() for g in grads]).norm() > 0.1           # so clipping does act
    fit(model, RegressionObjective(), (x[:8], y[:8]),
        config=TrainConfig(optimizer="sgd", lr=1.0, max_steps=1, batch_size=8, **clip, **FAST))
    for param, old, grad in zip(model.parameters(), reference.parameters(), transform(grads)):
        torch.testing.assert_close(param.detach(), old.detach() - grad, rtol=1e-5, atol=1e-7)


def _scaled_to_norm(grads, max_norm):
    norm = torch.cat([g.flatten() for g in grads]).norm()
    return [g * min(1.0, max_norm / (norm.item() + 1e-6)) for g in grads]


def test_gradient_accumulation_equals_one_larger_batch():
    x, y = _regression()
    accumulated, large = _model(), _model()
    common = dict(optimizer="sgd", lr=0.1, max_epochs=1, shuffle=False, **FAST)
    fit(accumulated, RegressionObjective(), (x, y), config=TrainConfig(batch_size=4, accumulate_grad_batches=2, **common))
    fit(large, RegressionObjective(), (x, y), config=TrainConfig(batch_size=8, **common))
    for key, value in large.state_dict().items():
        torch.testing.assert_close(accumulated.state_dict()[key], value, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"lr_schedule": "step", "lr_step_epochs": 2, "lr_gamma": 0.5}, [0.1, 0.1, 0.05, 0.05]),
        ({"lr_schedule": "exponential", "lr_gamma": 0.5}, [0.1, 0.05, 0.025, 0.0125]),
        ({"lr_schedule": "cosine", "lr_min": 0.02}, [0.1, 0.02 + 0.08 * (1 + 2 ** -0.5) / 2, 0.06,
                                                     0.02 + 0.08 * (1 - 2 ** -0.5) / 2]),
    ],
)
@pytest.mark.parametrize("tbptt", [None, 5])
def test_learning_rate_schedules_step_once_per_epoch(schedule, expected, tbptt):
    x, y = _regression()
    y = y.unsqueeze(1).expand(-1, 5, -1).contiguous()
    result = fit(StatefulPerStep(), RegressionObjective(stateful=True), (x, y),
                 config=TrainConfig(optimizer="sgd", lr=0.1, max_epochs=4, batch_size=8, tbptt_steps=tbptt,
                                    **schedule, **FAST))
    assert [row["lr"] for row in result.history] == pytest.approx(expected)


class StatefulPerStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(2, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x, state=None):
        h, state = self.rnn(x, state)
        return self.head(h), state


@pytest.mark.parametrize("tbptt", [None, 5])
def test_plateau_schedule_reduces_the_rate_when_the_metric_stalls(tbptt):
    x, y = _regression()
    y = y.unsqueeze(1).expand(-1, 5, -1).contiguous()
    result = fit(StatefulPerStep(), RegressionObjective(stateful=True), (x, y), (x, y),
                 config=TrainConfig(optimizer="sgd", lr=1e-6, max_epochs=4, lr_schedule="plateau", lr_patience=0,
                                    lr_gamma=0.5, tbptt_steps=tbptt, **FAST))
    # lr=1e-6 moves val_loss by far less than the 1e-4 relative improvement the schedule asks for:
    # epoch 0 sets the best value, after epochs 1 and 2 the rate halves (patience 0).
    assert [row["lr"] for row in result.history] == pytest.approx([1e-6, 1e-6, 5e-7, 2.5e-7])


def test_early_stopping_after_patience_validations_without_improvement():
    x, y = _regression()
    result = fit(_model(), RegressionObjective(), (x, y), (x, y),
                 config=TrainConfig(lr=1e-3, max_epochs=20, early_stopping_patience=2,
                                    early_stopping_min_delta=1e6, **FAST))
    # The first validation sets the best score; two more without an improvement of 1e6 stop the run.
    assert result.stopped_early and len(result.history) == 3 and result.epochs == 3


@pytest.mark.parametrize("tbptt", [None, 2], ids=["full-bptt", "tbptt"])
def test_a_diverging_run_stops_with_a_line_naming_the_learning_rate(tbptt):
    from rnnkit.errors import TrainingDiverged

    x, y = _regression()
    if tbptt is not None:  # one target per step
        y = x.sum(dim=2, keepdim=True)
    y[3, 0] = float("nan")  # one bad target is enough
    objective = RegressionObjective(stateful=tbptt is not None)
    model = _model() if tbptt is None else StatefulGRU()
    with pytest.raises(TrainingDiverged, match=r"the training loss became nan at step 1 \(epoch 1\); lower the "
                                               r"learning rate \(lr=0.001\) or look for NaN"):
        fit(model, objective, (x, y), config=TrainConfig(lr=1e-3, max_epochs=3, tbptt_steps=tbptt, **FAST))


def test_an_exploding_loss_stops_the_run_and_a_sane_one_trains_on():
    from rnnkit.errors import TrainingDiverged

    x, y = _regression()
    with pytest.raises(TrainingDiverged, match=r"the training loss exploded: .* in epoch \d+ against .* at the first "
                                               r"step; lower the learning rate \(lr=50\)"):
        fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(optimizer="sgd", lr=50.0, max_epochs=5,
                                                                         clip_norm=None, **FAST))
    result = fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(lr=1e-2, max_epochs=5, **FAST))
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_max_seconds_ends_a_run_that_has_epochs_left():
    x, y = _regression()
    result = fit(_model(), RegressionObjective(), (x, y),
                 config=TrainConfig(max_epochs=100_000, max_seconds=0.5, batch_size=4, **FAST))
    assert 1 <= result.epochs < 100_000 and len(result.history) >= 1


def test_restore_best_loads_the_weights_of_the_best_validation():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(16, 1, 4, generator=g)
    y = x[:, 0] @ torch.tensor([[1.0], [-1.0], [0.5], [2.0]])
    model = _model(Linear)
    # the validation targets are the negated training targets: the better the fit, the worse every epoch
    result = fit(model, RegressionObjective(), (x, y), (x, -y),
                 config=TrainConfig(optimizer="sgd", lr=0.05, max_epochs=3, batch_size=4, shuffle=False, **FAST))
    losses = [row["val_loss"] for row in result.history]
    assert losses[0] < losses[1] < losses[2]
    assert result.history[0]["train_loss"] > result.history[2]["train_loss"]
    assert result.best_score == pytest.approx(losses[0])
    assert evaluate(model, RegressionObjective(), (x, -y), TrainConfig(**FAST))["loss"] == pytest.approx(losses[0], rel=1e-5)
    last = _model(Linear)
    fit(last, RegressionObjective(), (x, y), (x, -y),
        config=TrainConfig(optimizer="sgd", lr=0.05, max_epochs=3, batch_size=4, shuffle=False, restore_best=False,
                           **FAST))
    assert evaluate(last, RegressionObjective(), (x, -y))["loss"] == pytest.approx(losses[2], rel=1e-5)


def test_logs_checkpoints_and_history_files(tmp_path):
    x, y = _regression()
    config = TrainConfig(max_epochs=3, batch_size=8, log_dir=str(tmp_path / "logs"), clip_norm=1.0,
                         checkpoint_dir=str(tmp_path / "ckpt"), checkpoint_every_n_steps=5, log_every_n_steps=1,
                         lr_schedule="step", **FAST)
    result = fit(_model(), RegressionObjective(), (x, y), (x[:8], y[:8]), config=config)
    assert json.loads((tmp_path / "logs" / "history.json").read_text()) == result.history
    with open(tmp_path / "logs" / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    epoch_rows = [r for r in rows if r.get("val_loss")]
    assert [float(r["val_loss"]) for r in epoch_rows] == pytest.approx([h["val_loss"] for h in result.history])
    assert any(r.get("grad_norm") for r in rows) and any(r.get("train_loss_step") for r in rows)
    assert list((tmp_path / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    assert result.best_checkpoint == str(tmp_path / "ckpt" / "best.ckpt")
    assert result.last_checkpoint == str(tmp_path / "ckpt" / "last.ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["best.ckpt", "last.ckpt"]
    # last.ckpt is written at step 5 (mid-epoch) and at every epoch end: it holds the final step 6.
    assert result.global_step == 6
    assert torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=True)["global_step"] == 6


def test_default_run_prints_nothing_and_quiet_silences_lightning(capfd, caplog):
    x, y = _regression()
    with caplog.at_level(logging.INFO):
        fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(max_epochs=1))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [r for r in caplog.records if r.name.startswith("lightning")]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(max_epochs=1, quiet=False, **FAST))
    assert any("available" in r.getMessage() for r in caplog.records if r.name.startswith("lightning"))


def test_same_seed_same_result_other_seed_other_result_and_deterministic_mode_is_restored():
    x, y = _regression()
    runs = []
    for seed in (7, 7, 8):
        model = _model()
        fit(model, RegressionObjective(), (x, y),
            config=TrainConfig(max_epochs=2, batch_size=4, seed=seed, deterministic=True, **FAST))
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])                      # the seed drives the shuffling
    assert not torch.are_deterministic_algorithms_enabled()


def test_evaluate_weights_batches_by_counted_tokens():
    logits = torch.randn(5, 4, 3)
    labels = torch.randint(0, 3, (5, 4))
    labels[0, 1:] = -100                                           # uneven numbers of counted tokens
    labels[3, 2:] = -100
    metrics = evaluate(nn.Identity(), SequenceCrossEntropyObjective(), (logits, labels),
                       TrainConfig(batch_size=2, **FAST))
    valid = labels != -100
    expected = F.cross_entropy(logits[valid], labels[valid])
    assert metrics["loss"] == pytest.approx(expected.item(), rel=1e-5)
    assert metrics["accuracy"] == pytest.approx((logits.argmax(-1) == labels)[valid].float().mean().item())


def test_predict_concatenates_batches_in_order():
    x, _ = _regression(n=10)
    model = _model()
    out = predict(model, x, config=TrainConfig(batch_size=3, **FAST))
    with torch.no_grad():
        torch.testing.assert_close(out, model(x))
    parts = predict(model, x, config=TrainConfig(batch_size=4, **FAST), concat=False)
    assert [p.shape[0] for p in parts] == [4, 4, 2]
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\] and cannot be concatenated; pass concat=False"):
        predict(nn.Identity(), Ragged(), config=TrainConfig(batch_size=1, **FAST))


class Ragged(Dataset):
    """Inputs of length 2 then 3: predictions that cannot be concatenated."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return (torch.zeros(2 + index),)


def test_fit_refuses_bad_arguments_with_a_fix():
    x, y = _regression()
    with pytest.raises(ValueError, match=r"monitor='val_loss' needs val_data; pass validation data or monitor a train_"):
        fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(monitor="val_loss"))
    with pytest.raises(TypeError, match=r"config must be a TrainConfig \(got dict\)"):
        fit(_model(), RegressionObjective(), (x, y), config={"lr": 0.1})
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module \(got function\)"):
        fit(lambda t: t, RegressionObjective(), (x, y))
    with pytest.raises(TypeError, match=r"objective must have a step\(model, batch, state\) method"):
        fit(_model(), F.mse_loss, (x, y))
    with pytest.raises(TypeError, match=r"train_data must be a torch Dataset, a DataLoader or a tuple of tensors \(got str\)"):
        fit(_model(), RegressionObjective(), "data.csv")
    with pytest.raises(ValueError, match=r"train_data: the tensors must have the same first \(batch\) dimension, got \[16, 3\]"):
        fit(_model(), RegressionObjective(), (x, y[:3]))
    with pytest.raises(ValueError, match=r"resume_from='last' needs TrainConfig.checkpoint_dir"):
        fit(_model(), RegressionObjective(), (x, y), resume_from="last")
    frozen = _model()
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match=r"the model has no trainable parameters"):
        fit(frozen, RegressionObjective(), (x, y), config=TrainConfig(max_steps=1, **FAST))


@pytest.mark.parametrize("shuffle", [False, True])
def test_tensor_batches_fetched_whole_equal_the_stacked_examples(shuffle):
    from torch.utils.data import DataLoader, TensorDataset

    from rnnkit.training.loaders import TaskData, as_dataset

    x, y = _regression()
    config = TrainConfig(batch_size=5, shuffle=shuffle, seed=2, **FAST)
    fast = list(TaskData(config, train=as_dataset((x, y), "train"))._loader(as_dataset((x, y), "train"), train=True))
    sampler = TaskData(config, train=TensorDataset(x, y))._loader(TensorDataset(x, y), train=True).sampler
    slow = list(DataLoader(TensorDataset(x, y), batch_size=5, sampler=sampler))
    assert len(fast) == len(slow) and all(isinstance(batch, tuple) for batch in fast)
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert torch.equal(fx, sx) and torch.equal(fy, sy)
    seen = []  # a collate of the user's still receives one example at a time
    data = TaskData(config, train=as_dataset((x, y), "train"), collate_fn=lambda items: seen.append(len(items)) or items)
    next(iter(data._loader(as_dataset((x, y), "train"), train=True)))
    assert seen == [5]


def test_a_whole_run_budget_leaves_training_what_came_before_did_not_spend():
    import time

    from rnnkit.training.config import MIN_TRAINING_SECONDS, budget_left

    started = time.perf_counter() - 5.0  # five seconds of data and baselines already spent
    assert budget_left(None, started) is None
    assert 12.9 < budget_left(20.0, started, reserve=2.0) <= 13.0
    assert budget_left(4.0, started) == MIN_TRAINING_SECONDS  # an overspent budget still trains a little


def test_without_a_terminal_training_reports_progress_lines(caplog, monkeypatch):
    import logging

    from rnnkit.training import console

    monkeypatch.setattr(console.sys.stdout, "isatty", lambda: False)
    monkeypatch.setattr(console.ProgressLines, "__init__", lambda self, every=0.0: setattr(self, "every", 0.0))
    x, y = _regression()
    with caplog.at_level(logging.INFO, logger="rnnkit.training.console"):
        fit(_model(), RegressionObjective(), (x, y), config=TrainConfig(max_epochs=1, batch_size=8,
                                                                         accelerator="cpu", progress_bar="auto"))
    lines = [r.getMessage() for r in caplog.records if r.name == "rnnkit.training.console"]
    assert lines and all(line.startswith("epoch 1, step ") and ", training loss " in line for line in lines)


def test_engine_callbacks_keep_lightnings_state_keys():
    """Checkpoints keep each callback's state under its state key: the engine's callbacks (which
    compute it once) must give Lightning's own key, or older checkpoints would lose their state."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    from rnnkit.training.engine import _Checkpoint, _EarlyStopping, _LastCheckpointEveryEpoch

    best = dict(dirpath="d", filename="best", monitor="val_loss", mode="min", save_top_k=1)
    assert _Checkpoint(**best).state_key == ModelCheckpoint(**best).state_key
    last = dict(dirpath="d", save_top_k=0, save_last=True, save_on_train_epoch_end=True, enable_version_counter=False)
    assert _LastCheckpointEveryEpoch("d").state_key == "_LastCheckpointEveryEpoch" + ModelCheckpoint(
        **last).state_key.removeprefix("ModelCheckpoint")
    assert _EarlyStopping(monitor="val_acc", mode="max").state_key == EarlyStopping(monitor="val_acc", mode="max").state_key


def test_epoch_sums_leave_out_a_batch_of_all_padding():
    from rnnkit.training.module import TaskModule

    module = TaskModule(Linear(), RegressionObjective(), TrainConfig(**FAST))
    module._record("train", torch.tensor(2.0), {"mae": torch.tensor(1.0)}, 3)
    module._record("train", torch.tensor(float("nan")), {"mae": torch.tensor(float("nan"))}, 0)
    module._record("train", torch.tensor(4.0), {"mae": torch.tensor(3.0)}, 1)
    assert {k: float(v) for k, v in module._sums["train"].items()} == {"loss": 10.0, "mae": 6.0}
    assert module._counts["train"] == 4
