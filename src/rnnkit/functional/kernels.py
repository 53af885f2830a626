"""torch's fused recurrent kernels (``torch._VF``) called with rnnkit's parameters.

Used by the classic layers' fast path wherever the math is exactly torch's (Elman tanh/relu,
LSTM with optional projection, GRU with ``reset_after=True``). Dense batches go straight to the
kernel; padded batches with ``lengths`` are packed for it and unpacked after.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, _VF
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

KERNELS = {"rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "lstm": _VF.lstm, "gru": _VF.gru}


def fused_recurrence(
    kind: str,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights: Sequence[Tensor],
    *,
    has_bias: bool,
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
    lengths: Tensor | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Whole stack in one kernel call.

    Args:
        kind: ``"rnn_tanh"``, ``"rnn_relu"``, ``"lstm"`` or ``"gru"``.
        x: time-major input (T, B, F).
        state: (h_0,) or (h_0, c_0) for LSTM, each (L*D, B, ...).
        weights: per layer and direction, in torch's order: w_ih, w_hh, [b_ih, b_hh], [w_hr].
        lengths: None or int64 (B,) on the CPU, each in [1, T].

    Returns:
        output (T, B, D*H) zero past each length, and the final state tuple at each true end.
    """
    kernel = KERNELS[kind]
    hx = state if kind == "lstm" else state[0]
    if lengths is None:
        result = kernel(x, hx, weights, has_bias, num_layers, dropout, training, bidirectional, False)
        return result[0], tuple(result[1:])
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    order, unorder = packed.sorted_indices, packed.unsorted_indices
    hx = tuple(h.index_select(1, order) for h in state) if kind == "lstm" else state[0].index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, hx, weights, has_bias, num_layers, dropout, training, bidirectional)
    out_packed = PackedSequence(result[0], packed.batch_sizes, order, unorder)
    output, _ = pad_packed_sequence(out_packed, total_length=x.shape[0])
    return output, tuple(h.index_select(1, unorder) for h in result[1:])
