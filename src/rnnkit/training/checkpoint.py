"""Training checkpoints (``.ckpt``, for resuming): atomic writes, pickle-free loads, clear errors.

A training checkpoint is Lightning's: model and optimizer state, loop progress, callback state,
the data position in the epoch and the RNG states. rnnkit writes it atomically (temporary file,
fsync, rename: a crash never leaves a half-written ``last.ckpt`` where a good one was) and reads
it with ``torch.load(weights_only=True)`` (tensors and plain containers only, no code runs).
For a model you ship, use the saved-model directory instead (:mod:`rnnkit.training.saved_model`).

Resume::

    fit(model, objective, train, val, config=TrainConfig(checkpoint_dir="ckpt", ...),
        resume_from="last")            # or a path to a .ckpt file
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from torch import nn

from rnnkit.errors import CheckpointError
from rnnkit.io import atomic_write_with

log = logging.getLogger(__name__)

LAST_NAME = "last.ckpt"
BEST_NAME = "best.ckpt"


def load_weights_only(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a missing or corrupt file raises ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist; pass the path of a .ckpt written by "
                              "fit (checkpoint_dir/last.ckpt) or resume_from='last'")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, OSError) as err:
        if isinstance(err, pickle.UnpicklingError) or "Weights only load failed" in str(err):
            reason = "it holds Python objects besides tensors, which rnnkit never unpickles"
        else:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or not a training checkpoint ({reason}); "
                              "resume from another .ckpt or start without resume_from") from err


def read_training_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A ``.ckpt`` written by ``fit`` (see :func:`load_weights_only`), checked to hold a ``state_dict``."""
    checkpoint = load_weights_only(path, map_location)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a training checkpoint written by fit (no "
                              "'state_dict'); resume from checkpoint_dir/last.ckpt")
    return checkpoint


def check_checkpoint_matches(checkpoint: dict[str, Any], module: nn.Module, path: str | Path) -> None:
    """Raise ``CheckpointError`` if the checkpoint's weights do not fit ``module`` (names or shapes)."""
    saved = checkpoint["state_dict"]
    expected = module.state_dict()
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"checkpoint {str(path)!r} was written for another model: missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}; resume with the model configuration it was "
                              "trained with")
    for name, tensor in expected.items():
        if tuple(saved[name].shape) != tuple(tensor.shape):
            raise CheckpointError(f"checkpoint {str(path)!r} has {name} of shape {tuple(saved[name].shape)} but "
                                  f"the model has {tuple(tensor.shape)}; resume with the model configuration "
                                  "it was trained with")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes atomically and loads with ``weights_only=True``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        log.debug("writing checkpoint %s", path)
        atomic_write_with(path, lambda tmp: torch.save(checkpoint, tmp))

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> Any:
        return load_weights_only(path, map_location=map_location or "cpu")
