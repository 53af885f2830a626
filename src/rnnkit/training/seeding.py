"""Seeds and deterministic mode for a training run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
import torch


def seed_everything(seed: int | None) -> None:
    """Seed python, numpy and torch in this process and in its dataloader workers (``None``: no-op).

    DDP processes started by Lightning inherit the seed (``PL_GLOBAL_SEED``), so every process
    builds the same initial model and draws the same shuffling.
    """
    if seed is not None:
        L.seed_everything(seed, workers=True, verbose=False)


@contextmanager
def deterministic_algorithms(enabled: bool) -> Iterator[None]:
    """Within the block force deterministic torch algorithms if ``enabled``; restore the old mode after.

    Lightning's ``Trainer(deterministic=True)`` switches the global mode on and leaves it on;
    this scope gives the caller's process back the mode it had.
    """
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        yield
    finally:
        if enabled or previous != torch.are_deterministic_algorithms_enabled():
            torch.use_deterministic_algorithms(previous, warn_only=previous_warn_only)
