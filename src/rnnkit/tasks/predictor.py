"""The one save/load every task's trained model shares.

A :class:`Predictor` is a trained network together with what it needs to read raw inputs and
write answers (vocabularies, tokenizers, label names, a scaler's state...). Each task defines
one (``TextClassifier``, ``TextGenerator``, ``MusicGenerator``, ``Translator``, ``Captioner``,
``GlobalForecaster``) and all of them save and load the same way::

    predictor.save("runs/clf/model")                  # safetensors weights + JSON, atomically
    TextClassifier.load("runs/clf/model").predict(["a gorgeous, moving film"])

The folder is :func:`rnnkit.training.save_model`'s: the weights, the network's config and one JSON
file per part. Loading a folder written by another task (or not by rnnkit) raises one
``CheckpointError`` in the same words for every task: what the folder holds, what was expected and
which command writes such a folder.

A subclass names its network class (``model_class``), the JSON parts it cannot work without
(``parts``), how it is called in messages (``what``) and the command that trains it (``command``),
and converts itself to and from those parts (:meth:`to_parts`, :meth:`from_parts`). Anything else a
run wants to keep beside the model (its metrics, its settings) goes into ``info`` and comes back
from :meth:`load` unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from torch import nn

P = TypeVar("P", bound="Predictor")


class Predictor(ABC):
    """A trained ``model`` and the JSON-able parts that turn raw inputs into its inputs and back.

    Attributes:
        model: the network (``nn.Module`` built as ``Model(config)``), in eval mode after :meth:`load`.
        info: name -> JSON-able value saved beside the model and given back by :meth:`load`
            (e.g. ``{"metrics": {...}, "train_config": {...}}``); not needed to predict.
    """

    model_class: ClassVar[type[nn.Module]]
    parts: ClassVar[tuple[str, ...]]
    what: ClassVar[str]
    command: ClassVar[str]

    model: nn.Module
    info: dict[str, Any]

    @abstractmethod
    def to_parts(self) -> dict[str, Any]:
        """name -> JSON-able value of everything besides the weights that :meth:`from_parts` needs."""

    @classmethod
    @abstractmethod
    def from_parts(cls: type[P], model: nn.Module, parts: dict[str, Any]) -> P:
        """The predictor of a loaded ``model`` and the parts :meth:`to_parts` wrote."""

    def save(self, directory: str | Path) -> Path:
        """Write the model folder (weights, config, parts, ``info``) atomically; returns its path.

        An earlier saved model in ``directory`` is replaced; any other non-empty folder is refused.
        """
        from rnnkit.training.saved_model import save_model

        parts = self.to_parts()
        clash = sorted(set(parts) & set(self.info))
        if clash:
            raise ValueError(f"info uses the names {', '.join(clash)} of the predictor's own parts; rename them")
        return Path(save_model(directory, self.model, extras={**parts, **self.info}))

    @classmethod
    def load(cls: type[P], directory: str | Path) -> P:
        """The predictor saved in ``directory`` (by :meth:`save` or the task's ``run``)."""
        from rnnkit.training.saved_model import load_task_model

        model, saved = load_task_model(directory, cls.model_class, cls.parts, what=cls.what, run=cls.command)
        model.eval()
        predictor = cls.from_parts(model, {name: saved[name] for name in cls.parts})
        predictor.info = {name: value for name, value in saved.items() if name not in cls.parts}
        return predictor
