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
import math
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from rnnkit.errors import TrainingDiverged
from rnnkit.training.config import TrainConfig
from rnnkit.training.objectives import Batch, Objective
from rnnkit.training.optimizers import build_optimizer, build_scheduler
from rnnkit.training.tbptt import State, detach_state

log = logging.getLogger(__name__)


EXPLODED = 10.0
"""A training run stops when an epoch's mean loss exceeds the first batch's loss by this many times
its size (:meth:`TaskModule._check_not_exploding`)."""


class TaskModule(L.LightningModule):
    """LightningModule for ``model`` trained on ``objective`` with ``config``.

    Args:
        model: any ``nn.Module``; with a stateful objective, ``model(x, state=s) -> (out, s)``.
        objective: computes the loss/metrics of a batch (``objective.step``).
        config: the training configuration.
        monitor: the metric watched by the plateau schedule (``"val_loss"``...).

    Logged metrics: ``train_loss`` / ``val_loss`` and ``train_<m>`` / ``val_<m>`` for each metric
    of the objective: epoch means weighted by ``StepOutput.count``, accumulated on the device and
    summed over DDP processes once per epoch (:meth:`epoch_metrics`); ``train_loss_step`` every
    step and ``grad_norm`` (before clipping, when ``clip_norm`` is set) when a logger or a
    progress bar shows them.
    """

    _PLAIN_ATTRIBUTES = frozenset({"_current_fx_name", "last_loss"})
    """Set without ``nn.Module.__setattr__``'s checks (see :meth:`__setattr__`)."""

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
        self.last_loss: Tensor | None = None
        self.first_loss: float | None = None
        """The loss of the first training batch, before any update (for :meth:`_check_not_exploding`)."""
        self.config = config
        self.monitor = monitor
        self.automatic_optimization = config.tbptt_steps is None
        self._carried: dict[str, State] = {}
        self._sums: dict[str, dict[str, Tensor]] = {}
        self._counts: dict[str, int] = {}
        self._means: dict[str, dict[str, Tensor]] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        """Lightning names the running hook in ``_current_fx_name`` around every hook call (about
        45 times a training step) and the step keeps its loss in ``last_loss``: attributes that are
        never parameters, buffers or submodules need none of ``nn.Module.__setattr__``'s checks."""
        if name in self._PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

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

    # ---------------------------------------------------------------- epoch metrics
    def on_train_epoch_start(self) -> None:
        self._carried.pop("train", None)
        self._reset_metrics("train")

    def on_validation_epoch_start(self) -> None:
        self._carried.pop("val", None)
        self._reset_metrics("val")

    def _reset_metrics(self, stage: str) -> None:
        self._sums.pop(stage, None)
        self._counts.pop(stage, None)
        self._means.pop(stage, None)

    def _record(self, stage: str, loss: Tensor, metrics: dict[str, Tensor], count: int) -> None:
        """Add a batch's ``count``-weighted loss and metrics to the epoch sums (no device sync)."""
        sums = self._sums.setdefault(stage, {})
        for name, value in (("loss", loss), *metrics.items()):
            value = value.detach()
            value = value.double() if value.dtype == torch.float64 else value.float()
            if name not in sums:
                sums[name] = torch.zeros_like(value)
            if count > 0:                                       # a batch of all padding adds nothing
                sums[name] = torch.add(sums[name], value, alpha=count)
        self._counts[stage] = self._counts.get(stage, 0) + count

    def epoch_metrics(self, stage: str) -> dict[str, Tensor]:
        """``{"<stage>_<name>": mean}``: count-weighted means of this epoch's batches, over all processes.

        Computed once per epoch (one all-reduce under DDP; every process must call it).
        """
        if stage not in self._means:
            sums = self._sums.get(stage, {})
            names = sorted(sums)
            means: dict[str, Tensor] = {}
            if names:
                totals = torch.stack([sums[name] for name in names])
                count = torch.tensor([float(self._counts[stage])], dtype=totals.dtype, device=totals.device)
                totals = torch.cat([totals, count])
                if self.trainer.world_size > 1:
                    totals = self.trainer.strategy.reduce(totals, reduce_op="sum")
                if totals[-1] > 0:
                    means = {f"{stage}_{name}": totals[i] / totals[-1] for i, name in enumerate(names)}
            self._means[stage] = means
        return self._means[stage]

    def _log_epoch(self, stage: str) -> None:
        self.log_dict(self.epoch_metrics(stage), on_step=False, on_epoch=True, prog_bar=stage == "val",
                      sync_dist=self.trainer.world_size > 1)

    def _log_step(self, loss: Tensor) -> None:
        """The step loss, for the progress bar and the loggers (skipped when nobody shows it), and
        kept as ``last_loss`` (a tensor: reading it is left to whoever shows it)."""
        self.last_loss = loss.detach()
        if self.trainer.loggers or self.trainer.progress_bar_callback is not None:
            self.log("train_loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True, batch_size=1)

    def _check_finite(self, loss: Tensor) -> None:
        """Stop a diverged run with a line naming the likely cause. Reading the loss syncs a GPU
        with the host, so off the CPU it is read every 50 steps only."""
        if loss.device.type != "cpu" and self.global_step % 50:
            return
        value = float(loss.detach())                           # the loss is a scalar
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"the training loss became {value:g} at step {self.global_step + 1} (epoch "
                f"{self.current_epoch + 1}); lower the learning rate (lr={self.config.lr:g}) or look for NaN or "
                "infinite values in the data"
            )
        if self.first_loss is None:
            self.first_loss = value

    def _check_not_exploding(self) -> None:
        """Stop a run whose epoch-mean training loss has grown far past the loss of its very first
        batch (the untrained model's): by :data:`EXPLODED` times its size. Training that works never
        ends an epoch that far above where it started; a too-high learning rate does."""
        mean = self.epoch_metrics("train").get("train_loss")
        if mean is None or self.first_loss is None:
            return
        first, value = self.first_loss, float(mean)
        if value > first + EXPLODED * max(abs(first), 1e-3):
            raise TrainingDiverged(
                f"the training loss exploded: {value:.4g} in epoch {self.current_epoch + 1} against {first:.4g} at the "
                f"first step; lower the learning rate (lr={self.config.lr:g})"
            )

    # ---------------------------------------------------------------- steps
    def training_step(self, batch: Batch, batch_idx: int) -> Tensor | None:
        batch = self._local_rows(batch)
        if not self.automatic_optimization:
            self._truncated_bptt_step(batch)
            return None
        out = self.objective.step(self.model, batch, self._carried.get("train"))
        self._check_finite(out.loss)
        self._carry("train", out.state)
        self._record("train", out.loss, out.metrics, out.count)
        self._log_step(out.loss)
        return out.loss

    def _truncated_bptt_step(self, batch: Batch) -> None:
        """Chunks of ``tbptt_steps`` steps: forward with the carried state, backward, step, detach."""
        optimizer = self.optimizers()
        state = self._carried.get("train")
        for chunk in self.objective.split_time(batch, self.config.tbptt_steps):
            out = self.objective.step(self.model, chunk, state)
            self._check_finite(out.loss)
            optimizer.zero_grad()
            self.manual_backward(out.loss)
            optimizer.step()
            state = detach_state(out.state)                   # truncate: no gradient past this chunk
            self._record("train", out.loss, out.metrics, out.count)
        self._carry("train", state)
        self._log_step(out.loss)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        batch = self._local_rows(batch)
        out = self.objective.step(self.model, batch, self._carried.get("val"))
        self._carry("val", out.state)
        self._record("val", out.loss, out.metrics, out.count)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> Any:
        return self.objective.predict(self.model, batch)

    def on_train_epoch_end(self) -> None:
        """Log the epoch means; manual optimization (truncated BPTT) also steps its LR schedule."""
        self._log_epoch("train")
        self._check_not_exploding()
        if self.automatic_optimization:
            return
        scheduler = self.lr_schedulers()
        if scheduler is None:
            return
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            value = {**self.epoch_metrics("train"), **self._means.get("val", {})}.get(self.monitor)
            if value is None:
                log.warning("lr_schedule='plateau': metric %r was not logged this epoch; lr unchanged",
                            self.monitor)
                return
            scheduler.step(value)
        else:
            scheduler.step()

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store what a resumed run needs to go on as an unbroken one: the RNG states (the same
        dropout masks), the training epoch's sums so far and the state a streaming objective
        carries to the next batch (a checkpoint may fall mid-epoch)."""
        checkpoint["rnnkit"] = {
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_states": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "train_sums": dict(self._sums.get("train", {})),
            "train_count": self._counts.get("train", 0),
            "train_carried": self._carried.get("train"),
            "first_loss": self.first_loss,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get("rnnkit")
        if not saved:
            return
        torch.set_rng_state(saved["torch_rng_state"])
        if saved["cuda_rng_states"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(saved["cuda_rng_states"])
        if saved.get("train_sums"):
            self._sums["train"], self._counts["train"] = dict(saved["train_sums"]), int(saved["train_count"])
        if saved.get("train_carried") is not None:
            self._carried["train"] = saved["train_carried"]
        self.first_loss = saved.get("first_loss")
