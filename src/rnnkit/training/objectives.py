"""Objectives: how a task turns ``(model, batch)`` into a loss and metrics.

An objective is a small picklable object (DDP copies it into every process) with one method::

    step(model, batch, state=None) -> StepOutput(loss, metrics, count, state)

The engine calls it for every training / validation batch (or truncated-BPTT chunk), logs
``<stage>_loss`` and ``<stage>_<metric>`` as epoch means weighted by ``count``, and minimizes
``loss``. Ready ones:

=================================  ===========================================================
``RegressionObjective``            MSE; predictions and targets of equal shape: (B, O) for one
                                   value per sequence, (B, T, O) per step (padded steps masked
                                   with ``lengths``). Metrics ``mse``, ``mae``.
``ClassificationObjective``        cross-entropy, logits (B, C) vs labels (B,). Metric
                                   ``accuracy``.
``SequenceCrossEntropyObjective``  cross-entropy per step, logits (B, T, V) vs labels (B, T);
                                   label ``ignore_index`` (and steps past ``lengths``) masked;
                                   ``loss`` is the mean per counted token, so ``exp(val_loss)`` is
                                   the perplexity and ``val_loss / ln 2`` the bits per symbol.
                                   Metric ``accuracy``.
``StreamingLMObjective``           the same for a language model over one long stream, with
                                   the recurrent state carried from batch to batch
                                   (``stateful`` and ``streaming``; see ``rnnkit.training.tbptt``).
=================================  ===========================================================

Batches are ``(inputs, targets)``, ``(inputs, targets, lengths)`` or a mapping with keys
``"inputs"``, ``"targets"`` and optionally ``"lengths"``; sequences are batch first. The ready
objectives call ``model(inputs)``, adding ``lengths=lengths`` when the batch has lengths and
``state=state`` when the objective is stateful (the model then returns ``(output, state)``).
A model may return a tuple whose first element is the prediction (e.g. ``(output, state)``).

A task with another batch layout (seq2seq: source, source lengths, decoder input, target)
writes its own objective::

    class TranslationObjective(Objective):
        def step(self, model, batch, state=None):
            src, src_len, tgt_in, tgt_out = batch
            logits = model(src, src_len, tgt_in)                     # (B, T, V)
            loss = F.cross_entropy(logits.transpose(1, 2), tgt_out, ignore_index=PAD)
            return StepOutput(loss, count=int((tgt_out != PAD).sum()))

        def predict(self, model, batch):
            return model.greedy(batch[0], batch[1])
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.training.tbptt import State, shard_rows, split_time

Batch = Any  # (inputs, targets[, lengths]) or {"inputs": ..., "targets": ..., "lengths": ...}


@dataclass
class StepOutput:
    """What an objective returns for one batch.

    loss: scalar tensor to minimize (a mean over ``count`` items).
    metrics: scalar tensors to log, each a mean over ``count`` items (logged as
        ``<stage>_<name>``; do not include the loss, it is logged as ``<stage>_loss``).
    count: how many items the means are over (examples, or tokens for sequence losses); the
        epoch value of every metric is the ``count``-weighted mean of its batch values, and a
        batch (or chunk) with ``count == 0`` (all padding) is left out of it.
    state: the recurrent state after the batch (stateful objectives), ``None`` otherwise.
    """

    loss: Tensor
    metrics: dict[str, Tensor] = field(default_factory=dict)
    count: int = 1
    state: State = None


def unpack_batch(batch: Batch, *, need_targets: bool = True) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Return ``(inputs, targets, lengths)`` of a batch (targets/lengths ``None`` when absent)."""
    if isinstance(batch, Tensor):
        inputs, targets, lengths = batch, None, None
    elif isinstance(batch, Mapping):
        if "inputs" not in batch:
            raise ValueError(f"a batch mapping needs the key 'inputs' (got keys {sorted(batch)}); "
                             "use {'inputs': x, 'targets': y, 'lengths': optional}")
        inputs, targets, lengths = batch["inputs"], batch.get("targets"), batch.get("lengths")
    elif isinstance(batch, Sequence) and 1 <= len(batch) <= 3:
        inputs, targets, lengths = (*batch, None, None)[:3]
    else:
        raise ValueError(f"a batch must be (inputs, targets), (inputs, targets, lengths) or a mapping "
                         f"(got {type(batch).__name__}"
                         f"{' of length ' + str(len(batch)) if isinstance(batch, Sequence) else ''}); "
                         "write an Objective subclass for other layouts")
    if need_targets and targets is None:
        raise ValueError("this batch has no targets; training and evaluation need (inputs, targets) batches")
    return inputs, targets, lengths


def call_model(model: nn.Module, inputs: Tensor, *, lengths: Tensor | None = None,
               state: State = None, stateful: bool = False) -> tuple[Tensor, State]:
    """Run ``model`` on a batch; return ``(prediction, state)`` (state ``None`` unless stateful)."""
    kwargs: dict[str, Any] = {}
    if lengths is not None:
        kwargs["lengths"] = lengths
    if stateful:
        kwargs["state"] = state
    out = model(inputs, **kwargs)
    if stateful:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{type(model).__name__} is used with a stateful objective (truncated BPTT or "
                            f"streaming) and must return (output, state) from forward(x, state=...) "
                            f"(got {type(out).__name__})")
        return out[0], out[1]
    if isinstance(out, (tuple, list)):
        out = out[0]
    return out, None


def _step_mask(lengths: Tensor, steps: int, device: torch.device) -> Tensor:
    """(B, T) boolean mask, True at the steps t < lengths[b]."""
    return torch.arange(steps, device=device)[None, :] < lengths.to(device)[:, None]


class Objective(abc.ABC):
    """Base class of objectives; subclass it and implement :meth:`step`.

    Class attributes (override where they apply):
        stateful: the model is called ``model(x, state=state) -> (output, state)`` and the engine
            carries the state between truncated-BPTT chunks. Needed for ``tbptt_steps``.
        streaming: consecutive batches continue the same streams: the engine carries the state
            from batch to batch, keeps the batch order (no shuffling) and, under DDP, gives each
            process its own rows of every batch instead of its own batches.
    """

    stateful: bool = False
    streaming: bool = False

    @abc.abstractmethod
    def step(self, model: nn.Module, batch: Batch, state: State = None) -> StepOutput:
        """Loss and metrics of ``model`` on ``batch``, starting from ``state`` when stateful."""

    def predict(self, model: nn.Module, batch: Batch) -> Any:
        """The model's prediction for a batch (inputs only, or with targets and lengths)."""
        inputs, _, lengths = unpack_batch(batch, need_targets=False)
        prediction, _ = call_model(model, inputs, lengths=lengths)
        return prediction

    def split_time(self, batch: Batch, k: int) -> list[Batch]:
        """Split a batch along time into consecutive chunks of ``k`` steps (truncated BPTT)."""
        inputs, targets, lengths = unpack_batch(batch)
        if lengths is not None:
            raise ValueError("truncated BPTT runs over unpadded streams, but this batch has lengths; "
                             "use tbptt_steps=None for padded batches or StreamDataset for streams")
        if targets.dim() < 2 or targets.shape[1] != inputs.shape[1]:
            raise ValueError(f"truncated BPTT needs one target per time step: inputs {tuple(inputs.shape)} and "
                             f"targets {tuple(targets.shape)} must share (B, T); use tbptt_steps=None for "
                             "one target per sequence")
        return list(zip(split_time(inputs, k), split_time(targets, k)))

    def shard(self, batch: Batch, rank: int, world_size: int) -> Batch:
        """This process's rows of a streaming batch (DDP with a streaming objective)."""
        inputs, targets, lengths = unpack_batch(batch)
        rows = [shard_rows(t, rank, world_size) for t in (inputs, targets)]
        if lengths is not None:
            rows.append(shard_rows(lengths, rank, world_size))
        return tuple(rows)


class RegressionObjective(Objective):
    """Mean squared error between prediction and target of the same shape.

    Args:
        stateful: call the model with ``state=`` and carry it (needed for truncated BPTT).

    Predictions (B, O) / targets (B, O): one value per sequence (many-to-one).
    Predictions (B, T, O) / targets (B, T, O): per step; with ``lengths`` the padded steps are
    left out of the mean. Metrics: ``mse`` (equal to the loss) and ``mae``.
    """

    def __init__(self, *, stateful: bool = False) -> None:
        self.stateful = stateful

    def step(self, model: nn.Module, batch: Batch, state: State = None) -> StepOutput:
        inputs, targets, lengths = unpack_batch(batch)
        prediction, new_state = call_model(model, inputs, lengths=lengths, state=state, stateful=self.stateful)
        if prediction.shape != targets.shape:
            raise ValueError(f"RegressionObjective: the model predicts shape {tuple(prediction.shape)} but the "
                             f"targets have shape {tuple(targets.shape)}; make the output size match the targets")
        targets = targets.to(prediction.dtype)
        if lengths is not None and prediction.dim() >= 3:
            steps = _step_mask(lengths, prediction.shape[1], prediction.device)      # (B, T)
            count = int(steps.sum())                                   # counted (sequence, step) pairs
            mask = steps.reshape(*steps.shape, *([1] * (prediction.dim() - 2))).to(prediction.dtype)
            elements = max(count * prediction[0, 0].numel(), 1)
            error = prediction - targets                               # same shape as targets
            mse = (error.square() * mask).sum() / elements
            mae = (error.detach().abs() * mask).sum() / elements       # a metric: no gradient
        else:
            count = targets.shape[0] * (targets.shape[1] if targets.dim() >= 3 else 1)
            mse = F.mse_loss(prediction, targets)                      # one autograd node, not three
            mae = (prediction.detach() - targets).abs().mean()
        return StepOutput(mse, {"mse": mse.detach(), "mae": mae}, count, new_state)


class MultiLabelSequenceObjective(Objective):
    """Independent Bernoulli outputs per step: logits (B, T, K) vs 0/1 targets (B, T, K).

    The loss is the negative log-likelihood of a step, summed over its K outputs and averaged
    over the valid steps (nats per step: polyphonic music's frame NLL, Boulanger-Lewandowski et
    al. 2012); padded steps (past ``lengths``) are left out. Metric: ``frame_accuracy``, the
    sum of true positives over the sum of true positives, false positives and false negatives
    with a 0.5 threshold (Bay et al. 2009).
    """

    def step(self, model: nn.Module, batch: Batch, state: State = None) -> StepOutput:
        inputs, targets, lengths = unpack_batch(batch)
        logits, _ = call_model(model, inputs, lengths=lengths)
        if logits.shape != targets.shape:
            raise ValueError(f"MultiLabelSequenceObjective: logits {tuple(logits.shape)} and targets "
                             f"{tuple(targets.shape)} must have the same shape (B, T, K)")
        targets = targets.to(logits.dtype)
        nll = F.binary_cross_entropy_with_logits(logits, targets, reduction="none").sum(dim=-1)  # (B, T)
        steps = (torch.ones_like(nll, dtype=torch.bool) if lengths is None
                 else _step_mask(lengths, nll.shape[1], nll.device))
        count = int(steps.sum())
        loss = (nll * steps).sum() / max(count, 1)
        predicted = (logits > 0) & steps.unsqueeze(-1)
        truth = (targets > 0.5) & steps.unsqueeze(-1)
        hits = (predicted & truth).sum()
        accuracy = hits / (predicted.sum() + truth.sum() - hits).clamp_min(1)
        return StepOutput(loss, {"frame_accuracy": accuracy.detach().float()}, count)


class ClassificationObjective(Objective):
    """Cross-entropy of one label per sequence: logits (B, C) vs integer labels (B,).

    Args:
        label_smoothing: as in ``torch.nn.functional.cross_entropy`` (in [0, 1)).

    Metric: ``accuracy`` (fraction of argmax == label).
    """

    def __init__(self, *, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"ClassificationObjective label_smoothing must be in [0, 1) (got {label_smoothing})")
        self.label_smoothing = label_smoothing

    def step(self, model: nn.Module, batch: Batch, state: State = None) -> StepOutput:
        inputs, targets, lengths = unpack_batch(batch)
        logits, _ = call_model(model, inputs, lengths=lengths)
        if logits.dim() != 2 or targets.shape != logits.shape[:1]:
            raise ValueError(f"ClassificationObjective expects logits (B, C) and labels (B,), got logits "
                             f"{tuple(logits.shape)} and labels {tuple(targets.shape)}; use "
                             "SequenceCrossEntropyObjective for one label per step")
        loss = F.cross_entropy(logits, targets.long(), label_smoothing=self.label_smoothing)
        accuracy = (logits.argmax(dim=-1) == targets).float().mean()
        return StepOutput(loss, {"accuracy": accuracy.detach()}, targets.shape[0])


class SequenceCrossEntropyObjective(Objective):
    """Cross-entropy of one label per step: logits (B, T, V) vs integer labels (B, T).

    Args:
        ignore_index: label value of padding (not counted).
        stateful: call the model with ``state=`` and carry it (needed for truncated BPTT).
        streaming: also carry the state from batch to batch (implies ``stateful``).

    Steps past ``lengths`` (when the batch has them) are not counted either. ``loss`` is the mean
    over counted tokens and ``count`` their number, so the epoch loss is the exact per-token mean.
    Metric: ``accuracy`` over counted tokens.
    """

    def __init__(self, *, ignore_index: int = -100, stateful: bool = False, streaming: bool = False) -> None:
        self.ignore_index = ignore_index
        self.streaming = streaming
        self.stateful = stateful or streaming

    def step(self, model: nn.Module, batch: Batch, state: State = None) -> StepOutput:
        inputs, targets, lengths = unpack_batch(batch)
        logits, new_state = call_model(model, inputs, lengths=lengths, state=state, stateful=self.stateful)
        if logits.dim() != 3 or logits.shape[:2] != targets.shape:
            raise ValueError(f"SequenceCrossEntropyObjective expects logits (B, T, V) and labels (B, T), got "
                             f"logits {tuple(logits.shape)} and labels {tuple(targets.shape)}")
        targets = targets.long()
        valid = targets != self.ignore_index                                    # (B, T)
        if lengths is not None:
            valid = valid & _step_mask(lengths, targets.shape[1], targets.device)
        safe_targets = torch.where(valid, targets, torch.zeros_like(targets))
        token_loss = F.cross_entropy(logits.transpose(1, 2), safe_targets, reduction="none")  # (B, T)
        count = int(valid.sum())
        denominator = max(count, 1)
        loss = (token_loss * valid).sum() / denominator
        correct = ((logits.argmax(dim=-1) == targets) & valid).sum()
        accuracy = correct.float() / denominator
        return StepOutput(loss, {"accuracy": accuracy.detach()}, count, new_state)


class StreamingLMObjective(SequenceCrossEntropyObjective):
    """Next-token cross-entropy over one long stream, state carried across chunks and batches.

    Use with :class:`rnnkit.training.StreamDataset` (``batch_size == num_streams``) and
    ``TrainConfig(tbptt_steps=k)``. The model is called ``model(x, state=state) -> (logits, state)``.
    """

    def __init__(self, *, ignore_index: int = -100) -> None:
        super().__init__(ignore_index=ignore_index, stateful=True, streaming=True)
