"""The training engine: one Lightning-based loop for every rnnkit model and task.

* :class:`TrainConfig` — every setting of a run, validated (``config.py``).
* :func:`fit`, :func:`evaluate`, :func:`predict` and :class:`FitResult` (``engine.py``).
* Objectives: how a batch becomes a loss — :class:`Objective`, :class:`StepOutput` and the ready
  :class:`RegressionObjective`, :class:`ClassificationObjective`,
  :class:`SequenceCrossEntropyObjective`, :class:`StreamingLMObjective` (``objectives.py``).
* Truncated BPTT and streams: :class:`StreamDataset`, :func:`detach_state` (``tbptt.py``).
* Saved models: :func:`save_model` / :func:`load_model` (``saved_model.py``); training
  checkpoints for resuming (``checkpoint.py``).
* :class:`TaskModule`, the LightningModule behind ``fit`` (``module.py``).

Quick start::

    from rnnkit.training import ClassificationObjective, TrainConfig, fit, save_model

    result = fit(model, ClassificationObjective(), (x_train, y_train), (x_val, y_val),
                 config=TrainConfig(max_epochs=20, lr=3e-3, clip_norm=1.0, early_stopping_patience=3))
    print(result.history[-1])          # {"epoch": 19, "train_loss": ..., "val_accuracy": ...}
    save_model("models/clf", model, extras={"labels": ["neg", "pos"]})

See ``docs/guides/training.md`` for TBPTT, clipping, DDP, checkpoints and the saved-model format.
"""

from typing import TYPE_CHECKING, Any

from rnnkit.training.config import TrainConfig
from rnnkit.training.objectives import (
    ClassificationObjective,
    MultiLabelSequenceObjective,
    Objective,
    RegressionObjective,
    SequenceCrossEntropyObjective,
    StepOutput,
    StreamingLMObjective,
)
from rnnkit.training.saved_model import load_model, load_task_model, save_model
from rnnkit.training.tbptt import StreamDataset, detach_state

if TYPE_CHECKING:
    from rnnkit.training.engine import FitResult, evaluate, fit, predict
    from rnnkit.training.module import TaskModule

# The engine's entry points import Lightning (about 2 s): loaded on first use (PEP 562), so
# ``import rnnkit`` and ``rnnkit --help`` stay fast.
_LAZY = {"FitResult": "engine", "fit": "engine", "evaluate": "engine", "predict": "engine", "TaskModule": "module"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"rnnkit.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rnnkit.training' has no attribute {name!r}")


__all__ = [
    "TrainConfig",
    "FitResult",
    "fit",
    "evaluate",
    "predict",
    "TaskModule",
    "Objective",
    "StepOutput",
    "RegressionObjective",
    "ClassificationObjective",
    "MultiLabelSequenceObjective",
    "SequenceCrossEntropyObjective",
    "StreamingLMObjective",
    "StreamDataset",
    "detach_state",
    "save_model",
    "load_model",
    "load_task_model",
]
