"""Truncated BPTT and streams: carrying a recurrent state across chunks of a long sequence.

How a model takes part
    A model trained with truncated BPTT (``TrainConfig(tbptt_steps=k)``) or with a streaming
    objective is called ``output, state = model(inputs, state=state)``: ``inputs`` of shape
    (B, T, ...) (batch first), ``state`` the recurrent state to start from (``None`` = zeros) and
    the returned ``state`` the state after the last step, a *pytree* of tensors (a tensor, a
    tuple, a NamedTuple, a list or a dict of them), exactly like ``rnnkit.build_layer`` layers.
    Passing the returned state back continues the sequence, so a forward pass over consecutive
    chunks equals one forward pass over the whole sequence.

What the engine does (``rnnkit.training.TaskModule``)
    For each batch it splits the time axis into chunks of ``k`` steps
    (:meth:`Objective.split_time`), runs the chunks in order with the state carried from the
    previous chunk, and after each chunk does backward + optimizer step and detaches the state
    (:func:`detach_state`), so gradients flow through at most ``k`` steps and memory does not grow
    with the sequence length. With ``k >= T`` this is exactly full BPTT. A *streaming* objective
    (``StreamingLMObjective``) also carries the state from one batch to the next: batch ``c + 1``
    row ``b`` must continue batch ``c`` row ``b``, which :class:`StreamDataset` arranges.

Example (a language model over one long token stream)::

    from rnnkit.training import StreamDataset, StreamingLMObjective, TrainConfig, fit

    stream = StreamDataset(token_ids, num_streams=32, seq_len=140)   # token_ids: (N,) int64
    fit(model, StreamingLMObjective(), stream,
        config=TrainConfig(batch_size=32, tbptt_steps=35, clip_norm=0.25, lr=1e-3))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

State = Any  # a pytree of tensors: Tensor | tuple | NamedTuple | list | dict | None


def map_state(fn: Callable[[Tensor], Tensor], state: State) -> State:
    """Apply ``fn`` to every tensor of a state pytree, keeping its structure (and NamedTuple type)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return fn(state)
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(map_state(fn, item) for item in state))
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(fn, item) for item in state)
    if isinstance(state, Mapping):
        return {key: map_state(fn, value) for key, value in state.items()}
    raise TypeError(
        f"a recurrent state must be a tensor or a tuple/list/dict of tensors (got {type(state).__name__}); "
        "return the layer's state object from the model's forward"
    )


def detach_state(state: State) -> State:
    """Cut the autograd graph behind a state: gradients stop here (the 'truncate' in TBPTT)."""
    return map_state(Tensor.detach, state)


def split_time(tensor: Tensor, k: int) -> list[Tensor]:
    """Split a batch-first tensor (B, T, ...) into chunks (B, <=k, ...) along time, in order."""
    if tensor.dim() < 2:
        raise ValueError(f"truncated BPTT needs batch-first sequences of shape (B, T, ...), got shape "
                         f"{tuple(tensor.shape)}; use tbptt_steps=None for one-value-per-sequence targets")
    return list(torch.split(tensor, k, dim=1))


def shard_rows(tensor: Tensor, rank: int, world_size: int) -> Tensor:
    """Rows ``[rank * B/W, (rank + 1) * B/W)`` of a (B, ...) tensor: one process's streams."""
    rows = tensor.shape[0]
    if rows % world_size:
        raise ValueError(f"a streaming batch of {rows} streams cannot be shared equally by {world_size} "
                         f"processes; use a number of streams divisible by {world_size}")
    size = rows // world_size
    return tensor[rank * size:(rank + 1) * size]


class StreamDataset(Dataset):
    """One long sequence cut into ``num_streams`` parallel streams, served chunk by chunk.

    Args:
        sequence: (N,) token ids or (N, F) features.
        num_streams: parallel streams B; must equal ``TrainConfig.batch_size``.
        seq_len: time steps per chunk L (the last chunk may be shorter).
        targets: (N, ...) targets aligned with ``sequence``; ``None`` = next-step prediction,
            ``inputs[t] = sequence[t]`` and ``targets[t] = sequence[t + 1]``.

    Stream ``b`` is the ``b``-th contiguous slice of S = (N - 1) // B steps (N // B with explicit
    targets); the remainder at the end is dropped. Item ``i`` is ``(inputs, targets)`` of chunk
    ``i // B`` of stream ``i % B``, each of shape (L, ...), so unshuffled batches of B items give
    batch ``c`` = chunk ``c`` of every stream, and batch ``c + 1`` continues batch ``c`` row by row.
    """

    def __init__(self, sequence: Tensor, num_streams: int, seq_len: int, targets: Tensor | None = None) -> None:
        if not isinstance(sequence, Tensor) or sequence.dim() not in (1, 2):
            raise ValueError("StreamDataset sequence must be a tensor of shape (N,) or (N, F) (got "
                             f"{type(sequence).__name__} {tuple(getattr(sequence, 'shape', ()))})")
        for name, value in (("num_streams", num_streams), ("seq_len", seq_len)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"StreamDataset {name} must be an integer >= 1 (got {value!r})")
        if targets is None:
            inputs, targets = sequence[:-1], sequence[1:]
        else:
            if targets.shape[0] != sequence.shape[0]:
                raise ValueError(f"StreamDataset targets have {targets.shape[0]} steps but the sequence has "
                                 f"{sequence.shape[0]}; give one target per step")
            inputs = sequence
        steps = inputs.shape[0] // num_streams
        if steps < 1:
            raise ValueError(f"StreamDataset: a sequence of {sequence.shape[0]} steps is too short for "
                             f"{num_streams} streams; use fewer streams or more data")
        self.num_streams = num_streams
        self.seq_len = seq_len
        self.steps_per_stream = steps
        self.num_chunks = -(-steps // seq_len)
        # (B, S, ...) views: row b is stream b.
        self._inputs = inputs[: steps * num_streams].reshape(num_streams, steps, *inputs.shape[1:])
        self._targets = targets[: steps * num_streams].reshape(num_streams, steps, *targets.shape[1:])

    def __len__(self) -> int:
        return self.num_chunks * self.num_streams

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"StreamDataset index {index} out of range [0, {len(self)})")
        chunk, stream = divmod(index, self.num_streams)
        start = chunk * self.seq_len
        stop = min(start + self.seq_len, self.steps_per_stream)
        return self._inputs[stream, start:stop], self._targets[stream, start:stop]
