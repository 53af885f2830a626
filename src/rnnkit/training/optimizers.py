"""Optimizer and learning-rate schedule from a :class:`TrainConfig`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from rnnkit.training.config import TrainConfig


def build_optimizer(parameters: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """SGD (with optional momentum/Nesterov), Adam or AdamW over ``parameters``."""
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False); "
                         "unfreeze at least one parameter before fit()")
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay)
    optimizer_class = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return optimizer_class(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, monitor: str) -> dict[str, Any] | None:
    """Lightning's ``lr_scheduler`` dict for ``config.lr_schedule`` (stepped once per epoch), or ``None``."""
    schedules = torch.optim.lr_scheduler
    if config.lr_schedule == "constant":
        return None
    if config.lr_schedule == "cosine":
        scheduler: Any = schedules.CosineAnnealingLR(optimizer, T_max=config.max_epochs, eta_min=config.lr_min)
    elif config.lr_schedule == "step":
        scheduler = schedules.StepLR(optimizer, step_size=config.lr_step_epochs, gamma=config.lr_gamma)
    elif config.lr_schedule == "exponential":
        scheduler = schedules.ExponentialLR(optimizer, gamma=config.lr_gamma)
    else:
        scheduler = schedules.ReduceLROnPlateau(optimizer, mode=config.monitor_mode, factor=config.lr_gamma,
                                                patience=config.lr_patience, min_lr=config.lr_min)
    return {"scheduler": scheduler, "interval": "epoch", "frequency": 1, "monitor": monitor}
