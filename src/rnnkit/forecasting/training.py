"""Training the members of a global forecaster: the ensemble module, the loss, one Lightning run each."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

from rnnkit.forecasting.config import GlobalForecastConfig
from rnnkit.forecasting.networks import GlobalNetConfig, build_global_net, smape_loss
from rnnkit.io import atomic_write_with
from rnnkit.training.objectives import Objective, StepOutput

@dataclass
class GlobalEnsembleConfig:
    """The members of a :class:`GlobalEnsemble`: one network config, one lookback per member."""

    net: GlobalNetConfig
    lookbacks: tuple[int, ...]


class GlobalEnsemble(nn.Module):
    """The trained networks of a :class:`GlobalForecaster` (``members[i]`` reads ``lookbacks[i]`` values)."""

    def __init__(self, config: GlobalEnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(build_global_net(config.net) for _ in config.lookbacks)


class GlobalObjective(Objective):
    """Loss of a global network on a batch of windows.

    direct: ``loss`` ("mae" of the scaled values, or "smape") of the H-step forecast.
    deepar: negative log-likelihood of every observed step of the window (context and target)
    given the steps before it, the true values fed back.
    """

    def __init__(self, loss: str, log: bool = False) -> None:
        self.loss = loss
        self.log = log  # the network works on log values: sMAPE is taken of exp(.)

    def step(self, model: nn.Module, batch: Any, state: Any = None) -> StepOutput:
        z, mask, target = batch["z"], batch["mask"], batch["target"]
        if model.config.network == "deepar":
            full_z = torch.cat([z, target], dim=1)  # (B, L + H)
            full_mask = torch.cat([mask, torch.ones_like(target)], dim=1)
            hist = torch.cat([batch["hist"], batch["target_hist"]], dim=1)
            dist = model.distribution(full_z, full_mask, hist, batch["futr"], batch["stat"])
            weight = full_mask[:, 1:]  # (B, L + H - 1)
            loss = -(dist.log_prob(full_z[:, 1:]) * weight).sum() / weight.sum().clamp_min(1.0)
            return StepOutput(loss, {}, int(z.shape[0]))
        forecast = model(z, mask, batch["hist"], batch["futr"], batch["stat"])  # (B, H)
        mae = torch.mean(torch.abs(forecast - target))
        if self.loss == "mae":
            loss = mae
        else:
            loss = smape_loss(forecast.exp(), target.exp()) if self.log else smape_loss(forecast, target)
        return StepOutput(loss, {"mae": mae.detach()}, int(z.shape[0]))


def best_epoch(history: list[dict[str, float]]) -> int:
    """Epochs up to and including the one with the lowest validation loss (all of them without one)."""
    losses = [row.get("val_loss", math.inf) for row in history]
    return int(np.argmin(losses)) + 1 if losses and min(losses) < math.inf else max(1, len(history))


def train_member(member: nn.Module, train: Any, val: Any, config: GlobalForecastConfig, epochs: int, seed: int,
                 checkpoint_dir: Path | None = None) -> int:
    """Train one network with the engine (Lightning): early stopping and the best weights on ``val``
    when given. Returns the best epoch (:func:`best_epoch`).

    With ``checkpoint_dir`` the member can be resumed: its last epoch is checkpointed there while it
    trains, and once it is done its weights and best epoch are kept there too, so that a second call
    with the same folder (after the process was killed) loads a finished member instead of training
    it again and continues an unfinished one from its last epoch, with the result of an unbroken run.
    """
    from rnnkit.training import TrainConfig, fit
    from rnnkit.training.loaders import batch_as_is  # WindowDataset's batches are stacked already

    done = None if checkpoint_dir is None else checkpoint_dir / "done.safetensors"
    if done is not None and done.is_file():
        member.load_state_dict(safetensors.torch.load_file(str(done)))
        with safetensors.safe_open(str(done), "pt") as handle:
            return int(handle.metadata()["best_epoch"])
    c = config
    settings = TrainConfig(
        optimizer="adamw" if c.weight_decay else "adam", lr=c.lr, weight_decay=c.weight_decay,
        clip_norm=c.clip_norm, max_epochs=epochs, max_seconds=c.max_seconds, batch_size=c.batch_size,
        shuffle=True, seed=seed, early_stopping_patience=c.patience if val is not None else None,
        restore_best=val is not None, progress_bar=c.progress_bar, log_dir=None, quiet=True,
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
    )
    with torch.random.fork_rng(devices=[]):  # training draws leave the caller's generator alone
        objective = GlobalObjective(c.loss, log=c.transform == "log")
        interrupted = checkpoint_dir is not None and (checkpoint_dir / "last.ckpt").is_file()
        result = fit(member, objective, train, val, settings, collate_fn=batch_as_is,
                     resume_from="last" if interrupted else None)
    best = best_epoch(result.history)
    if done is not None:
        state = {name: tensor.contiguous() for name, tensor in member.state_dict().items()}
        atomic_write_with(done, lambda path: safetensors.torch.save_file(state, str(path),
                                                                         metadata={"best_epoch": str(best)}))
    return best
