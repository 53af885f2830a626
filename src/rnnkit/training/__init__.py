"""The training engine: one Lightning-based loop for every rnnkit model and task.

* :class:`TrainConfig` — every setting of a run, validated (``config.py``).
* :func:`fit`, :func:`evaluate`, :func:`predict` and :class:`FitResult` (``fit.py``).
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

from rnnkit.training.config import TrainConfig
from rnnkit.training.fit import FitResult, evaluate, fit, predict
from rnnkit.training.module import TaskModule
from rnnkit.training.objectives import (
    ClassificationObjective,
    Objective,
    RegressionObjective,
    SequenceCrossEntropyObjective,
    StepOutput,
    StreamingLMObjective,
)
from rnnkit.training.saved_model import load_model, save_model
from rnnkit.training.tbptt import StreamDataset, detach_state

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
    "SequenceCrossEntropyObjective",
    "StreamingLMObjective",
    "StreamDataset",
    "detach_state",
    "save_model",
    "load_model",
]
