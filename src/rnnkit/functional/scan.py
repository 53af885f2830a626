"""The single time loop of rnnkit, and the two helpers every layer needs for padded batches.

Shapes are time-major: ``xs`` (T, B, ...), ``lengths`` (B,) with ``1 <= lengths[b] <= T``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

State = tuple[Tensor, ...]
Step = Callable[[Tensor, State], tuple[Tensor, State]]


def length_mask(lengths: Tensor, steps: int, device: torch.device) -> Tensor:
    """Bool mask (T, B): ``mask[t, b]`` is True while ``t < lengths[b]`` (a real, not padded, step)."""
    return torch.arange(steps, device=device).unsqueeze(1) < lengths.to(device).unsqueeze(0)  # (T, B)


def reverse_within_lengths(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``x`` (T, B, ...) inside its own length; padded steps stay put.

    Without lengths this is ``x.flip(0)``. Applying it twice gives ``x`` back, so the same call
    turns a backward direction's output into the original time order.
    """
    if lengths is None:
        return x.flip(0)
    steps, batch = x.shape[0], x.shape[1]
    t = torch.arange(steps, device=x.device).unsqueeze(1)  # (T, 1)
    n = lengths.to(x.device).unsqueeze(0)  # (1, B)
    index = torch.where(t < n, n - 1 - t, t)  # (T, B) source step of each output step
    index = index.view(steps, batch, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def scan(step: Step, xs: Tensor, state: State, mask: Tensor | None = None) -> tuple[Tensor, State]:
    """Run ``step`` over time: ``y_t, state = step(xs[t], state)`` for t = 0 .. T-1.

    Args:
        step: one time step, ``(x_t (B, ...), state) -> (y_t (B, Y), new_state)``; state is a
            tuple of tensors whose first dimension is the batch.
        xs: inputs (T, B, ...).
        state: initial state, a tuple of (B, ...) tensors.
        mask: optional (T, B) bool, False on padded steps: there the state is carried unchanged
            (so the final state is the one at each sequence's true end) and ``y_t`` is zero.

    Returns:
        ys (T, B, Y) and the final state.
    """
    ys = []
    # unbind once: indexing xs[t] in the loop would make backward O(T^2) (each select's
    # gradient is a full-size zero tensor)
    keeps = mask.unbind(0) if mask is not None else (None,) * xs.shape[0]
    for x_t, keep in zip(xs.unbind(0), keeps, strict=True):
        y, new_state = step(x_t, state)
        if keep is not None:  # (B,)
            new_state = tuple(
                torch.where(keep.view(-1, *([1] * (s.dim() - 1))), s_new, s)
                for s_new, s in zip(new_state, state, strict=True)
            )
            y = torch.where(keep.view(-1, *([1] * (y.dim() - 1))), y, torch.zeros((), dtype=y.dtype, device=y.device))
        ys.append(y)
        state = new_state
    return torch.stack(ys), state
