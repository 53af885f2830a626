"""The generic recurrent layer, written once and reused by every cell family.

:class:`RecurrentLayer` turns "one layer, one direction over a time-major batch" into a full
``torch.nn``-style layer: argument checks with clear errors, ``batch_first``, unbatched 2-D input,
``PackedSequence`` in and out, ``lengths=`` for padded batches, stacking with dropout between
layers (train mode only), bidirectional layers (each sequence reversed within its own length),
zeroed outputs past each length and final states taken at each sequence's true end.

Subclass hooks (a subclass registers its parameters and implements these):

``_state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]``
    Name and trailing shape of each state tensor. Every state tensor has the leading dimensions
    ``(num_layers * num_directions, B)``, in torch's order (layer 0 forward, layer 0 backward,
    layer 1 forward, ...). Example, LSTM: ``(("h_0", (H,)), ("c_0", (H,)))``.
``_run_direction(self, layer, reverse, x, state, lengths) -> (output, final_state)``
    The computation of one layer in one direction. ``x`` (T, B, F_layer) is time-major and, for
    ``reverse=True``, already reversed within each length, so the hook always runs forward in
    time; ``state`` is a tuple of (B, ...) tensors; ``lengths`` is None (every sequence has T
    steps) or an int64 (B,) CPU tensor. Return ``output`` (T, B, direction_size) and the final
    state tuple, which must be the state at each sequence's true end (freeze it past
    ``lengths``, e.g. with :func:`rnnkit.functional.scan` and a mask). Outputs past each length
    may hold anything: the base zeroes them.
``direction_size`` (property)
    Features one direction outputs (H; ``proj_size`` for a projected LSTM). Default: hidden_size.

Optional hooks:

``_forward_all(self, x, state, lengths) -> (output, final_state)``
    The whole stack at once (x (T, B, F), state tuple of (L*D, B, ...) tensors, output
    (T, B, D*direction_size)); the default loops over layers and directions with
    ``_run_direction``. Override it to call a fused kernel for the whole stack.
``_pack_state(self, tensors) -> State`` / ``_unpack_state(self, state) -> tuple[Tensor, ...]``
    Convert between the internal tuple and what the user sees. Default: a single tensor when the
    spec has one entry, a tuple otherwise (the user may pass a tuple, list or NamedTuple).
    Override ``_pack_state`` to return a NamedTuple.
``_initial_state(self, state, x, batched) -> tuple[Tensor, ...]``
    Checks the user's state against ``_state_spec`` or makes a fresh one of zeros; override it
    (calling ``super()``) when a fresh state is not all zeros (xLSTM's stabilizer starts at -inf).
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.cells.base import check_positive_int
from rnnkit.functional.scan import length_mask, reverse_within_lengths

logger = logging.getLogger(__name__)

State = Any  # a Tensor, a tuple of Tensors or a NamedTuple of Tensors


@dataclass(frozen=True)
class LayerConfig:
    """The arguments every recurrent layer shares (torch.nn's names and defaults).

    Attributes:
        input_size: features F of the input x (B, T, F).
        hidden_size: features H of the hidden state.
        num_layers: stacked layers; layer l > 0 reads layer l-1's output.
        bias: whether the layers have bias parameters.
        batch_first: x is (B, T, F) when True, (T, B, F) when False.
        dropout: probability of zeroing an element of each layer's output except the last one's,
            in train mode only; in [0, 1).
        bidirectional: add a backward direction; the output concatenates both (D = 2).
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False

    def __post_init__(self) -> None:
        check_positive_int("input_size", self.input_size)
        check_positive_int("hidden_size", self.hidden_size)
        check_positive_int("num_layers", self.num_layers)
        for name in ("bias", "batch_first", "bidirectional"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise TypeError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                f"dropout must be in [0, 1) (the probability of zeroing an element), got {self.dropout}"
            )

    @property
    def num_directions(self) -> int:
        """D: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1


class RecurrentLayer(nn.Module, abc.ABC):
    """Base of every rnnkit recurrent layer; see the module docstring for the subclass hooks.

    Call: ``output, state = layer(x, state=None, lengths=None)`` (``hx=`` is accepted as an
    alias of ``state`` for torch.nn code).

    - ``x``: (B, T, F) if ``batch_first`` else (T, B, F); unbatched (T, F); or a
      ``PackedSequence``.
    - ``state``: initial state in the layer's format (tensors (L*D, B, ...), or (L*D, ...) for
      unbatched input); zeros when None. Passing a returned state back continues the sequences.
    - ``lengths``: optional (B,) ints in [1, T], the true length of each padded sequence.

    Returns ``output`` (B, T, D*direction_size) (or time-major / unbatched / packed like the
    input), zero past each length, and the final ``state`` taken at each sequence's true end.
    """

    cell: ClassVar[str] = ""

    def __init__(self, config: LayerConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size = config.input_size
        self.hidden_size = config.hidden_size
        self.num_layers = config.num_layers
        self.bias = config.bias
        self.batch_first = config.batch_first
        self.dropout = float(config.dropout)
        self.bidirectional = config.bidirectional
        self.num_directions = config.num_directions
        if config.dropout > 0 and config.num_layers == 1:
            logger.warning(
                "dropout=%s has no effect with num_layers=1: it applies between stacked layers",
                config.dropout,
            )

    # ----------------------------------------------------------------- subclass hooks
    @property
    def direction_size(self) -> int:
        """Features one direction outputs; D * direction_size is the output width."""
        return self.hidden_size

    @property
    def output_size(self) -> int:
        """Width of the output's last dimension: D * direction_size."""
        return self.num_directions * self.direction_size

    def layer_input_size(self, layer: int) -> int:
        """Input features of stacked layer ``layer`` (F for layer 0, D * direction_size after)."""
        return self.input_size if layer == 0 else self.output_size

    @abc.abstractmethod
    def _state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The state's entries: (name, per-direction trailing shape) each, e.g. (("h_0", (H,)),)."""

    @abc.abstractmethod
    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Run one stacked layer in one direction over time-major ``x`` (T, B, F_l) from ``state``."""

    def _pack_state(self, tensors: tuple[Tensor, ...]) -> State:
        return tensors[0] if len(tensors) == 1 else tensors

    def _unpack_state(self, state: State) -> tuple[Tensor, ...]:
        spec = self._state_spec()
        if len(spec) == 1:
            if not isinstance(state, Tensor):
                raise TypeError(
                    f"state for {type(self).__name__} must be a tensor {spec[0][0]}, got {type(state).__name__}"
                )
            return (state,)
        names = ", ".join(name for name, _ in spec)
        if not isinstance(state, (tuple, list)) or len(state) != len(spec):
            got = f"{type(state).__name__} of length {len(state)}" if isinstance(state, (tuple, list)) else type(state).__name__
            raise TypeError(f"state for {type(self).__name__} must be a tuple ({names}), got {got}")
        for (name, _), tensor in zip(spec, state, strict=True):
            if not isinstance(tensor, Tensor):
                raise TypeError(f"state {name} must be a tensor, got {type(tensor).__name__}")
        return tuple(state)

    # ----------------------------------------------------------------- default stack
    def _forward_all(
        self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Every layer and direction in turn. x (T, B, F) -> output (T, B, D*direction_size)."""
        mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)  # (T, B)
        finals: list[tuple[Tensor, ...]] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                initial = tuple(s[index] for s in state)
                if direction == 0:
                    out, final = self._run_direction(layer, False, layer_input, initial, lengths)
                else:
                    reversed_input = reverse_within_lengths(layer_input, lengths)
                    out, final = self._run_direction(layer, True, reversed_input, initial, lengths)
                    out = reverse_within_lengths(out, lengths)
                outputs.append(out)
                finals.append(final)
            layer_output = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)  # (T, B, D*H)
            if mask is not None:
                layer_output = torch.where(mask.unsqueeze(-1), layer_output, layer_output.new_zeros(()))
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_output = F.dropout(layer_output, p=self.dropout, training=True)
            layer_input = layer_output
        final_state = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))
        return layer_input, final_state

    # ----------------------------------------------------------------- forward
    def forward(
        self,
        input: Tensor | PackedSequence,
        state: State | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        *,
        hx: State | None = None,
    ) -> tuple[Tensor | PackedSequence, State]:
        if hx is not None:
            if state is not None:
                raise ValueError("pass the initial state as state= or hx=, not both")
            state = hx
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError("lengths= cannot be combined with a PackedSequence input: it carries its own lengths")
            x, lengths_t = pad_packed_sequence(input)  # (T, B, F) in the original batch order
            self._check_tensor(x)
            batched = True
        else:
            if not isinstance(input, Tensor):
                raise TypeError(
                    f"input must be a torch.Tensor or a PackedSequence, got {type(input).__name__}"
                )
            self._check_tensor(input)
            batched = input.dim() == 3
            if batched:
                x = input.transpose(0, 1) if self.batch_first else input  # (T, B, F)
            else:
                if lengths is not None:
                    raise ValueError("lengths= needs batched 3-D input; unbatched 2-D input is one sequence of T steps")
                x = input.unsqueeze(1)  # (T, 1, F)
            lengths_t = None if lengths is None else self._check_lengths(lengths, x.shape[0], x.shape[1])
        initial = self._initial_state(state, x, batched)
        output, final = self._forward_all(x, initial, lengths_t)
        if not batched:
            return output.squeeze(1), self._pack_state(tuple(s.squeeze(1) for s in final))
        if packed:
            return self._repack(output, input, lengths_t), self._pack_state(final)
        return (output.transpose(0, 1) if self.batch_first else output), self._pack_state(final)

    # ----------------------------------------------------------------- checks
    def _check_tensor(self, input: Tensor) -> None:
        if not input.is_floating_point():
            raise TypeError(
                f"input must be a floating-point tensor, got dtype {input.dtype}; convert it with x.float()"
            )
        if input.dim() not in (2, 3):
            layout = "(B, T, F)" if self.batch_first else "(T, B, F)"
            raise ValueError(
                f"input must be 3-D {layout} with F={self.input_size} or unbatched 2-D (T, F), "
                f"got {input.dim()}-D with shape {tuple(input.shape)}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"input feature size (last dimension) must equal input_size={self.input_size}, got "
                f"{input.shape[-1]} (shape {tuple(input.shape)}); build the layer with "
                f"input_size={input.shape[-1]} or fix the input"
            )
        if input.numel() == 0:
            raise ValueError(f"input must have at least one time step and one sequence, got shape {tuple(input.shape)}")
        param_dtype = next(self.parameters()).dtype
        if input.dtype != param_dtype:
            raise TypeError(
                f"input dtype {input.dtype} does not match the layer's parameters ({param_dtype}); "
                f"convert the input with x.to({param_dtype}) or the layer with layer.to({input.dtype})"
            )

    @staticmethod
    def _check_lengths(lengths: Tensor | Sequence[int], steps: int, batch: int) -> Tensor:
        if not isinstance(lengths, Tensor):
            try:
                lengths = torch.as_tensor(lengths)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(
                    f"lengths must be a 1-D integer tensor or a list of ints, got {lengths!r}"
                ) from None
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}; use lengths.long()")
        values = lengths.detach().to("cpu", torch.int64)
        if values.dim() != 1 or values.numel() != batch:
            raise ValueError(
                f"lengths must have one entry per sequence: expected shape ({batch},), got {tuple(values.shape)}"
            )
        low, high = int(values.min()), int(values.max())
        if low < 1 or high > steps:
            bad = low if low < 1 else high
            raise ValueError(
                f"lengths must be between 1 and the number of time steps T={steps}, got {bad}; "
                "drop empty sequences and pad the input to the longest one"
            )
        return values

    def _initial_state(self, state: State | None, x: Tensor, batched: bool) -> tuple[Tensor, ...]:
        """Zeros or the user's state, as a tuple of (L*D, B, ...) tensors, checked against the spec."""
        spec = self._state_spec()
        lead = self.num_layers * self.num_directions
        batch = x.shape[1]
        if state is None:
            return tuple(x.new_zeros((lead, batch, *shape)) for _, shape in spec)
        tensors = self._unpack_state(state)
        checked = []
        for (name, shape), tensor in zip(spec, tensors, strict=True):
            expected = (lead, batch, *shape) if batched else (lead, *shape)
            if tuple(tensor.shape) != expected:
                raise ValueError(
                    f"initial state {name} must have shape {expected} (num_layers*num_directions, "
                    f"{'batch, ' if batched else ''}...), got {tuple(tensor.shape)}"
                )
            if tensor.dtype != x.dtype:
                raise TypeError(
                    f"initial state {name} dtype {tensor.dtype} does not match the input dtype {x.dtype}"
                )
            checked.append(tensor if batched else tensor.unsqueeze(1))
        return tuple(checked)

    @staticmethod
    def _repack(output: Tensor, like: PackedSequence, lengths: Tensor) -> PackedSequence:
        """Pack ``output`` (T, B, Y) (original batch order) with the batch order of ``like``."""
        order = like.sorted_indices
        if order is not None:
            output = output.index_select(1, order)
            lengths = lengths.index_select(0, order.cpu())
        data = pack_padded_sequence(output, lengths, enforce_sorted=True).data
        return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        return ", ".join(parts)
