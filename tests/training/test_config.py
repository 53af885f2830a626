"""TrainConfig: defaults are valid, every bad value is refused with a message that says what to do."""

import pytest

from rnnkit.training import TrainConfig


def test_defaults_and_tuple_coercion():
    config = TrainConfig(betas=[0.8, 0.9], loggers=["csv"])
    assert config.betas == (0.8, 0.9) and config.loggers == ("csv",)
    assert config.optimizer == "adam" and config.tbptt_steps is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": "rmsprop"}, ValueError, r"optimizer must be one of 'sgd', 'adam', 'adamw' \(got 'rmsprop'\)"),
        ({"lr": 0.0}, ValueError, r"lr must be a finite number > 0 \(got 0.0\); use e.g. lr=1e-3"),
        ({"lr": -0.1}, ValueError, r"lr must be a finite number > 0 \(got -0.1\)"),
        ({"lr": float("nan")}, ValueError, r"lr must be a finite number > 0"),
        ({"lr": "0.1"}, TypeError, r"lr must be a number \(got '0.1' of type str\)"),
        ({"clip_norm": 0.0}, ValueError, r"clip_norm must be a finite number > 0 \(got 0.0\); use e.g. clip_norm=1.0, or None"),
        ({"clip_value": -1.0}, ValueError, r"clip_value must be a finite number > 0 \(got -1.0\); use e.g. clip_value=1.0"),
        ({"max_epochs": 0}, ValueError, r"max_epochs must be >= 1 \(got 0\)"),
        ({"max_epochs": None}, ValueError, r"needs a limit: set max_epochs, max_steps or max_seconds"),
        ({"max_steps": 0}, ValueError, r"max_steps must be >= 1 \(got 0\)"),
        ({"batch_size": 0}, ValueError, r"batch_size must be >= 1 \(got 0\); use e.g. batch_size=32"),
        ({"batch_size": 8.0}, TypeError, r"batch_size must be an integer \(got 8.0 of type float\)"),
        ({"batch_size": True}, TypeError, r"batch_size must be an integer \(got True of type bool\)"),
        ({"tbptt_steps": 0}, ValueError, r"tbptt_steps must be >= 1 \(got 0\); the number of time steps per"),
        ({"tbptt_steps": 5, "accumulate_grad_batches": 2}, ValueError, r"cannot be combined with accumulate_grad_batches=2"),
        ({"early_stopping_patience": 0}, ValueError, r"early_stopping_patience must be >= 1 \(got 0\)"),
        ({"seed": -1}, ValueError, r"seed must be >= 0 \(got -1\)"),
        ({"monitor_mode": "up"}, ValueError, r"monitor_mode must be one of 'min', 'max' \(got 'up'\)"),
        ({"monitor": ""}, ValueError, r"monitor must be a metric name like 'val_loss' or None"),
        ({"momentum": 0.9}, ValueError, r"momentum only applies to optimizer='sgd'"),
        ({"optimizer": "sgd", "nesterov": True}, ValueError, r"nesterov=True needs optimizer='sgd' and momentum > 0"),
        ({"betas": (0.9, 1.0)}, ValueError, r"betas must be two numbers in \[0, 1\)"),
        ({"lr_schedule": "linear"}, ValueError, r"lr_schedule must be one of 'constant', 'cosine'"),
        ({"lr_schedule": "cosine", "max_epochs": None, "max_steps": 10}, ValueError, r"anneals over max_epochs"),
        ({"lr_gamma": 0}, ValueError, r"lr_gamma must be > 0"),
        ({"lr_min": 1.0, "lr": 0.1}, ValueError, r"lr_min must be in \[0, lr=0.1\)"),
        ({"precision": "8-bit"}, ValueError, r"precision must be one of '64-true', '32-true'"),
        ({"strategy": "horovod"}, ValueError, r"strategy must be one of 'auto', 'ddp', 'ddp_spawn'"),
        ({"accelerator": "tpu"}, ValueError, r"accelerator must be one of 'auto', 'cpu'"),
        ({"devices": 0}, ValueError, r"devices must be >= 1 \(got 0\); the number of devices per machine, or 'auto'"),
        ({"num_nodes": 0}, ValueError, r"num_nodes must be >= 1"),
        ({"progress_bar": "yes"}, ValueError, r"progress_bar must be one of 'auto', 'tqdm', 'rich', 'off'"),
        ({"loggers": ("wandb",)}, ValueError, r"loggers must be one of 'csv', 'tensorboard' \(got 'wandb'\)"),
        ({"log_dir": 3}, TypeError, r"log_dir must be a folder path string or None"),
        ({"checkpoint_every_n_steps": 0}, ValueError, r"checkpoint_every_n_steps must be >= 1"),
        ({"max_seconds": -5}, ValueError, r"max_seconds must be a finite number > 0"),
        ({"weight_decay": -1e-4}, ValueError, r"weight_decay must be a number >= 0"),
    ],
)
def test_bad_values_are_refused_with_a_fix(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)
