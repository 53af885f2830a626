"""Gradient flow *during* training: g(d), the gradient reaching d steps back, recorded as a model learns.

:func:`rnnkit.diagnostics.gradient_flow.gradient_norms_by_distance` measures a layer once, at
initialization. :class:`GradientFlowTracker` is a Lightning callback that measures the model's
recurrent layer every ``every`` optimizer steps (and after the first), on a fixed batch of the
task's own inputs passed through the model's embedding, in float64 on a copy (training is not
touched): it shows whether a remedy keeps the long-distance gradient alive while the network
learns, not only at the start.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import lightning as L
import numpy as np
import torch
from torch import Tensor

from rnnkit.diagnostics.gradient_flow import gradient_norms_by_distance


@dataclass
class GradientFlowTracker(L.Callback):
    """Record g(d), d = 1..T-1, of ``model.encoder.rnn`` on ``inputs`` (B, T, ...) every ``every`` steps.

    After training, ``records`` holds (step, norms (T-1,)) pairs; :meth:`rows` flattens them.
    """

    inputs: Tensor
    every: int = 200
    seed: int = 0
    records: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {self.every}")

    def measure(self, model: torch.nn.Module, step: int) -> None:
        encoder = model.encoder
        with torch.no_grad():
            x = encoder.embed(self.inputs).double()  # (B, T, F) what the recurrent layer reads
        layer = copy.deepcopy(encoder.rnn).double()
        generator = torch.Generator().manual_seed(self.seed)
        direction = torch.randn(x.shape[0], layer.output_size, generator=generator, dtype=torch.float64)
        direction = direction / direction.norm(dim=1, keepdim=True)
        self.records.append((step, gradient_norms_by_distance(layer, x, direction)))

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.records:  # a resumed run brings its records back from the checkpoint
            self.measure(pl_module.model, 0)

    def state_dict(self) -> dict[str, object]:
        """The records so far, kept in training checkpoints so a resumed run keeps them."""
        return {"steps": [step for step, _ in self.records],
                "norms": [torch.from_numpy(np.asarray(norms)) for _, norms in self.records]}

    def load_state_dict(self, state_dict: dict[str, object]) -> None:
        self.records = [(int(step), norms.numpy()) for step, norms in zip(state_dict["steps"], state_dict["norms"])]

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        step = trainer.global_step
        if step % self.every == 0 or step == trainer.max_steps:
            self.measure(pl_module.model, step)

    def rows(self) -> list[dict[str, float]]:
        """{"step", "distance", "norm"} for every record and distance."""
        return [{"step": step, "distance": d + 1, "norm": float(norm)}
                for step, norms in self.records for d, norm in enumerate(norms)]
