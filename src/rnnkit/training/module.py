"""``TaskModule``: the one LightningModule every rnnkit task trains through.

It wraps any ``nn.Module`` with an :class:`~rnnkit.training.objectives.Objective` and a
:class:`~rnnkit.training.config.TrainConfig`; Lightning's ``Trainer`` runs the loop. You rarely
build it yourself: :func:`rnnkit.training.fit` does. Its checkpoint keys are ``model.<name>``.

Full BPTT (``tbptt_steps=None``) uses Lightning's automatic optimization: one backward through
the whole batch, then the optimizer step. Truncated BPTT uses manual optimization: per batch,
for each chunk of ``k`` steps, ``forward (state carried) -> backward -> clip -> step -> detach``
(see :mod:`rnnkit.training.tbptt`). Gradient clipping (by value, then by norm) happens in
``on_before_optimizer_step`` in both modes, after mixed-precision unscaling.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from rnnkit.training.config import TrainConfig
from rnnkit.training.objectives import Batch, Objective
from rnnkit.training.optimizers import build_optimizer, build_scheduler
from rnnkit.training.tbptt import State, detach_state

log = logging.getLogger(__name__)


class TaskModule(L.LightningModule):
    """LightningModule for ``model`` trained on ``objective`` with ``config``.

    Args:
        model: any ``nn.Module``; with a stateful objective, ``model(x, state=s) -> (out, s)``.
        objective: computes the loss/metrics of a batch (``objective.step``).
        config: the training configuration.
        monitor: the metric watched by the plateau schedule (``"val_loss"``...).

    Logged metrics: ``train_loss`` / ``val_loss`` and ``train_<m>`` / ``val_<m>`` for each metric
    of the objective (epoch means weighted by ``StepOutput.count``), ``train_loss_step`` every
    step, ``grad_norm`` (before clipping) when ``clip_norm`` is set.
    """

    def __init__(self, model: nn.Module, objective: Objective, config: TrainConfig, monitor: str = "val_loss") -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module (got {type(model).__name__})")
        if not callable(getattr(objective, "step", None)):
            raise TypeError(f"objective must have a step(model, batch, state) method, e.g. an "
                            f"rnnkit.training.Objective (got {type(objective).__name__})")
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig (got {type(config).__name__})")
        if config.tbptt_steps is not None and not getattr(objective, "stateful", False):
            raise ValueError(f"TrainConfig.tbptt_steps={config.tbptt_steps} needs a stateful objective whose model "
                             f"carries its state (got {type(objective).__name__} with stateful=False); use e.g. "
                             "RegressionObjective(stateful=True) or StreamingLMObjective()")
        self.model = model
        self.objective = objective
        self.config = config
        self.monitor = monitor
        self.automatic_optimization = config.tbptt_steps is None
        self._carried: dict[str, State] = {}

    # ---------------------------------------------------------------- optimization
    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.model.parameters(), self.config)
        scheduler = build_scheduler(optimizer, self.config, self.monitor)
        if scheduler is None:
            return optimizer
        if not self.automatic_optimization:
            scheduler.pop("monitor")  # manual optimization steps the schedule itself (on_train_epoch_end)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip gradients (seed 002: "acotar manualmente el gradiente"): by value, then by norm."""
        config = self.config
        if config.clip_value is None and config.clip_norm is None:
            return
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if config.clip_value is not None:
            nn.utils.clip_grad_value_(params, config.clip_value)
        if config.clip_norm is not None:
            norm = nn.utils.clip_grad_norm_(params, config.clip_norm)
            if self.trainer.loggers:
                self.log("grad_norm", norm, on_step=True, on_epoch=False, logger=True)

    # ---------------------------------------------------------------- state carry
    def _carry(self, stage: str, state: State) -> None:
        """Keep the detached final state for the next batch of a streaming objective."""
        if getattr(self.objective, "streaming", False):
            self._carried[stage] = detach_state(state)

    def _local_rows(self, batch: Batch) -> Batch:
        """Under DDP a streaming batch holds every process's streams: keep this process's rows."""
        if getattr(self.objective, "streaming", False) and self.trainer.world_size > 1:
            return self.objective.shard(batch, self.global_rank, self.trainer.world_size)
        return batch

    def on_train_epoch_start(self) -> None:
        self._carried.pop("train", None)

    def on_validation_epoch_start(self) -> None:
        self._carried.pop("val", None)

    # ---------------------------------------------------------------- steps
    def _log_output(self, stage: str, loss: Tensor, metrics: dict[str, Tensor], count: int) -> None:
        if count <= 0:
            return
        sync = self.trainer.world_size > 1
        self.log(f"{stage}_loss", loss.detach(), on_step=False, on_epoch=True, batch_size=count,
                 sync_dist=sync, prog_bar=stage != "train")
        for name, value in metrics.items():
            self.log(f"{stage}_{name}", value.detach(), on_step=False, on_epoch=True, batch_size=count,
                     sync_dist=sync)
        if stage == "train":
            self.log("train_loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True,
                     batch_size=count)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        batch = self._local_rows(batch)
        if not self.automatic_optimization:
            self._truncated_bptt_step(batch)
            return None
        out = self.objective.step(self.model, batch, self._carried.get("train"))
        self._carry("train", out.state)
        self._log_output("train", out.loss, out.metrics, out.count)
        return out.loss

    def _truncated_bptt_step(self, batch: Batch) -> None:
        """Chunks of ``tbptt_steps`` steps: forward with the carried state, backward, step, detach."""
        optimizer = self.optimizers()
        state = self._carried.get("train")
        loss_sum = torch.zeros((), device=self.device)
        metric_sums: dict[str, Tensor] = {}
        count = 0
        for chunk in self.objective.split_time(batch, self.config.tbptt_steps):
            out = self.objective.step(self.model, chunk, state)
            optimizer.zero_grad()
            self.manual_backward(out.loss)
            optimizer.step()
            state = detach_state(out.state)                   # truncate: no gradient past this chunk
            loss_sum = loss_sum + out.loss.detach() * out.count
            for name, value in out.metrics.items():
                metric_sums[name] = metric_sums.get(name, 0.0) + value.detach() * out.count
            count += out.count
        self._carry("train", state)
        if count > 0:
            self._log_output("train", loss_sum / count, {k: v / count for k, v in metric_sums.items()}, count)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        batch = self._local_rows(batch)
        out = self.objective.step(self.model, batch, self._carried.get("val"))
        self._carry("val", out.state)
        self._log_output("val", out.loss, out.metrics, out.count)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> Any:
        return self.objective.predict(self.model, batch)

    def on_train_epoch_end(self) -> None:
        """Manual optimization (truncated BPTT) steps its epoch-level LR schedule itself."""
        if self.automatic_optimization:
            return
        scheduler = self.lr_schedulers()
        if scheduler is None:
            return
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            value = self.trainer.callback_metrics.get(self.monitor)
            if value is None:
                log.warning("lr_schedule='plateau': metric %r was not logged this epoch; lr unchanged",
                            self.monitor)
                return
            scheduler.step(value)
        else:
            scheduler.step()

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the RNG states, so a resumed run draws the same dropout masks as an unbroken one."""
        checkpoint["rnnkit"] = {
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_states": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("rnnkit")
        if not saved:
            return
        torch.set_rng_state(saved["torch_rng_state"])
        if saved["cuda_rng_states"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng_states"])
