"""``rnnkit.sLSTM`` and ``rnnkit.mLSTM``: the xLSTM cells as stackable, bidirectional layers.

Both follow the layer contract of the classic layers (:class:`rnnkit.layers.base.RecurrentLayer`):
``output, state = layer(x, state=None, lengths=None)`` with x (B, T, F) if ``batch_first`` else
(T, B, F) (or a ``PackedSequence``), output (..., D*H) zero past each length, and the final state
taken at each sequence's true end. Passing the state back continues the sequences.

States (every tensor has the leading dimensions (L*D, B), layer-major as torch.nn):

- sLSTM: :class:`sLSTMState` ``(h, c, n, m)``, each (L*D, B, H).
- mLSTM: :class:`mLSTMState` ``(C, n, m)``: C (L*D, B, NH, d, d), n (L*D, B, NH, d),
  m (L*D, B, NH).

``c, n`` (sLSTM) and ``C, n`` (mLSTM) are in stabilized units (the true values are times
``exp(m)``). ``state=None`` is a fresh state (zeros, and ``m = -inf``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.mlstm import init_mlstm_parameters, merge_heads, mlstm_project, projection_size
from rnnkit.cells.slstm import (
    check_forget_gate,
    init_slstm_parameters,
    resolve_num_heads,
    sLSTMState,
    slstm_step,
)
from rnnkit.functional.export_loops import dense_recurrent_matrix, scripted, tracing
from rnnkit.functional.mlstm import MLSTM_FORMS, freeze_past_lengths, mLSTMState, mlstm_sequence
from rnnkit.functional.scan import length_mask, scan
from rnnkit.functional.slstm import slstm_sequence
from rnnkit.layers.base import LayerConfig, RecurrentLayer, State

SLSTM_BACKENDS = ("fast", "reference")

__all__ = ["sLSTM", "mLSTM", "sLSTMState", "mLSTMState"]


class _xLSTMLayer(RecurrentLayer):  # noqa: N801
    """What both xLSTM layers share: head count, forget gate, a fresh state with ``m = -inf``."""

    def __init__(
        self, config: LayerConfig, num_heads: int | None, forget_gate: str
    ) -> None:
        super().__init__(config)
        check_forget_gate(forget_gate)
        self.num_heads = resolve_num_heads(config.hidden_size, num_heads)
        self.head_size = config.hidden_size // self.num_heads
        self.forget_gate = forget_gate

    def _suffix(self, layer: int, reverse: bool) -> str:
        return f"_l{layer}" + ("_reverse" if reverse else "")

    def _suffixes(self) -> list[tuple[int, str]]:
        """(layer, parameter-name suffix) for every layer and direction, in torch's order."""
        return [
            (layer, self._suffix(layer, direction == 1))
            for layer in range(self.num_layers)
            for direction in range(self.num_directions)
        ]

    def _initial_state(self, state: State | None, x: Tensor, batched: bool) -> tuple[Tensor, ...]:
        tensors = super()._initial_state(state, x, batched)
        if state is not None:
            return tensors
        *rest, m = tensors  # the stabilizer of a fresh state is -inf (see rnnkit.cells.slstm)
        return (*rest, torch.full_like(m, -math.inf))

    def extra_repr(self) -> str:
        extra = f"{super().extra_repr()}, num_heads={self.num_heads}"
        return extra + ("" if self.forget_gate == "sigmoid" else ", forget_gate='exp'")


class sLSTM(_xLSTMLayer):  # noqa: N801
    """sLSTM layer (seed 003, eqs. 8-14): exponential gating, normalizer, block-diagonal memory mixing.

    Args (torch's order): input_size F, hidden_size H, num_layers, bias, batch_first, dropout,
    bidirectional; keyword-only ``num_heads`` (divides H; None: 4 if it divides H, else 1),
    ``forget_gate`` (``"sigmoid"`` or ``"exp"``), ``backend`` (``"fast"``: the whole-sequence
    autograd function :class:`rnnkit.functional.slstm.SLSTMSequence`; ``"reference"``: the cell's
    step :func:`rnnkit.cells.slstm.slstm_step` in the time loop; equal to ~1e-15 in float64).

    Parameters per layer and direction (suffix ``_l{k}`` / ``_l{k}_reverse``): ``weight_ih``
    (4H, F_k), ``weight_hh`` (4H, H/NH) (the diagonal blocks of R), ``bias`` (4H,); gates i, f, z, o.

    Call: ``output, state = slstm(x, state=None, lengths=None)`` -> output (B, T, D*H),
    :class:`sLSTMState` (h, c, n, m) each (L*D, B, H).
    """

    cell: ClassVar[str] = "slstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        num_heads: int | None = None,
        forget_gate: str = "sigmoid",
        backend: str = "fast",
    ) -> None:
        config = LayerConfig(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(config, num_heads, forget_gate)
        if backend not in SLSTM_BACKENDS:
            raise ValueError(f"backend must be 'fast' or 'reference', got {backend!r}")
        self.backend = backend
        factory = {"device": device, "dtype": dtype}
        H = hidden_size
        for layer, suffix in self._suffixes():
            self.register_parameter(
                "weight_ih" + suffix, nn.Parameter(torch.empty(4 * H, self.layer_input_size(layer), **factory))
            )
            self.register_parameter("weight_hh" + suffix, nn.Parameter(torch.empty(4 * H, self.head_size, **factory)))
            bias_param = nn.Parameter(torch.empty(4 * H, **factory)) if bias else None
            self.register_parameter("bias" + suffix, bias_param)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights U(-1/sqrt(H), 1/sqrt(H)); forget-gate bias spread over [3, 6]; other biases 0."""
        for _, suffix in self._suffixes():
            init_slstm_parameters(*self._weights_by_suffix(suffix))

    def _weights_by_suffix(self, suffix: str) -> tuple[Tensor, Tensor, Tensor | None]:
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), getattr(self, "bias" + suffix)

    def _state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        H = self.hidden_size
        return (("h", (H,)), ("c", (H,)), ("n", (H,)), ("m", (H,)))

    def _pack_state(self, tensors: tuple[Tensor, ...]) -> sLSTMState:
        return sLSTMState(*tensors)

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        weight_ih, weight_hh, bias = self._weights_by_suffix(self._suffix(layer, reverse))
        if tracing() and lengths is None:  # exported: a scripted loop, right at every length
            states = scripted("slstm_loop")(F.linear(x, weight_ih, bias), dense_recurrent_matrix(weight_hh, self.num_heads),
                                            *state, self.forget_gate == "exp")  # hs, cs, ns, ms (T, B, H)
            return states[0], tuple(s[-1] for s in states)
        if self.backend == "reference":

            def step(x_t: Tensor, s: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
                new = slstm_step(x_t, sLSTMState(*s), weight_ih, weight_hh, bias, self.num_heads, self.forget_gate)
                return new.h, tuple(new)

            mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)
            return scan(step, x, state, mask)
        states = slstm_sequence(
            x, (state[0], state[1], state[2], state[3]), weight_ih, weight_hh, bias, self.num_heads, self.forget_gate
        )  # hs, cs, ns, ms (T, B, H)
        if lengths is None:
            return states[0], tuple(s[-1] for s in states)
        last = (lengths - 1).to(x.device)  # (B,) each sequence's last real step
        batch = torch.arange(x.shape[1], device=x.device)
        return states[0], tuple(s[last, batch] for s in states)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.backend == "fast" else f", backend={self.backend!r}")


class mLSTM(_xLSTMLayer):  # noqa: N801
    """mLSTM layer (seed 003, eqs. 19-27): per-head matrix memory, computed in one of three forms.

    Args (torch's order): input_size F, hidden_size H, num_layers, bias, batch_first, dropout,
    bidirectional; keyword-only ``num_heads`` (divides H; None: 4 if it divides H, else 1; head
    size d = H / NH), ``mode`` (``"chunkwise"``: linear time, the default; ``"parallel"``:
    quadratic; ``"recurrent"``: step by step — the same function, see
    :mod:`rnnkit.functional.mlstm`), ``chunk_size`` (steps per chunk, chunkwise only),
    ``forget_gate`` (``"sigmoid"`` or ``"exp"``). Calls with T = 1 always use the recurrent step
    (token-by-token generation).

    Parameters per layer and direction: ``weight_ih`` (4H + 2NH, F_k) and ``bias`` (4H + 2NH,),
    rows q, k, v, i, f, o (:mod:`rnnkit.cells.mlstm`).

    Call: ``output, state = mlstm(x, state=None, lengths=None)`` -> output (B, T, D*H),
    :class:`mLSTMState` (C (L*D, B, NH, d, d), n (L*D, B, NH, d), m (L*D, B, NH)). With
    ``lengths``, the steps past each length have input gate 0 and forget gate 1 (``i~ = -inf``,
    ``log f = 0``), so the memory at the end is the one at each true end.
    """

    cell: ClassVar[str] = "mlstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        num_heads: int | None = None,
        mode: str = "chunkwise",
        chunk_size: int = 64,
        forget_gate: str = "sigmoid",
    ) -> None:
        config = LayerConfig(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(config, num_heads, forget_gate)
        if mode not in MLSTM_FORMS:
            raise ValueError(f"mode must be one of {MLSTM_FORMS}, got {mode!r}")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive int (e.g. 64), got {chunk_size!r}")
        self.mode = mode
        self.chunk_size = chunk_size
        factory = {"device": device, "dtype": dtype}
        rows = projection_size(hidden_size, self.num_heads)
        for layer, suffix in self._suffixes():
            self.register_parameter(
                "weight_ih" + suffix, nn.Parameter(torch.empty(rows, self.layer_input_size(layer), **factory))
            )
            self.register_parameter("bias" + suffix, nn.Parameter(torch.empty(rows, **factory)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights U(-1/sqrt(H), 1/sqrt(H)); forget bias linspace(3, 6) over heads; i bias N(0, 0.1^2)."""
        for _, suffix in self._suffixes():
            init_mlstm_parameters(getattr(self, "weight_ih" + suffix), getattr(self, "bias" + suffix), self.num_heads)

    def _state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        NH, d = self.num_heads, self.head_size
        return (("C", (NH, d, d)), ("n", (NH, d)), ("m", (NH,)))

    def _pack_state(self, tensors: tuple[Tensor, ...]) -> mLSTMState:
        return mLSTMState(*tensors)

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        suffix = self._suffix(layer, reverse)
        p = mlstm_project(
            x.transpose(0, 1), getattr(self, "weight_ih" + suffix), getattr(self, "bias" + suffix),
            self.num_heads, self.forget_gate,
        )  # q, k, v (B, NH, T, d); i~, log f (B, NH, T); o (B, T, H)
        i_tilde, log_f = freeze_past_lengths(p.i_tilde, p.log_f, lengths)  # memory frozen past lengths
        # traced for export: the parallel form, whose ops hold for any length (a Python branch on
        # T or a loop over chunks would be recorded for the traced length only)
        form = "parallel" if tracing() else "recurrent" if x.shape[0] == 1 else self.mode
        h_tilde, final = mlstm_sequence(
            p.q, p.k, p.v, i_tilde, log_f, mLSTMState(*state), form=form, chunk_size=self.chunk_size
        )  # (B, NH, T, d)
        h = p.o * merge_heads(h_tilde)  # h_t = o_t * h~_t  (B, T, H)
        return h.transpose(0, 1), tuple(final)

    def extra_repr(self) -> str:
        extra = f"{super().extra_repr()}, mode={self.mode!r}"
        return extra + (f", chunk_size={self.chunk_size}" if self.mode == "chunkwise" else "")
