"""``rnnkit.RNN``, ``rnnkit.LSTM``, ``rnnkit.GRU``: drop-in replacements for ``torch.nn``'s layers.

Same constructor arguments (and positional order), parameter names and shapes
(``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``,
``_reverse`` for the backward direction), gate order (LSTM i, f, g, o; GRU r, z, n), init and
outputs as torch, so ``load_state_dict`` works both ways. Added: ``lengths=`` for padded batches,
``backend=`` and, for GRU, ``reset_after``.

Backends:

- ``"fast"`` (default): torch's fused kernels where the math is identical (RNN, LSTM, GRU with
  ``reset_after=True``); for the seeds' GRU (``reset_after=False``) the whole-sequence autograd
  function :class:`rnnkit.functional.SeedGRUSequence`.
- ``"reference"``: the cells' step functions (:mod:`rnnkit.cells`) driven by the single time loop
  :func:`rnnkit.functional.scan`; readable and slow, tested equal to the fast path.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from rnnkit.cells.elman import check_nonlinearity, elman_step
from rnnkit.cells.gru import gru_step
from rnnkit.cells.lstm import lstm_step
from rnnkit.functional.export_loops import scripted, tracing
from rnnkit.functional.kernels import fused_recurrence
from rnnkit.functional.scan import length_mask, scan
from rnnkit.functional.seed_gru import seed_gru_sequence
from rnnkit.layers.base import LayerConfig, RecurrentLayer

BACKENDS = ("fast", "reference")
INITS = ("default", "orthogonal", "xavier", "identity")
"""Initializations of the classic layers (seed 004's remedies for vanishing / exploding gradients):

- "default": torch's, every parameter U(-1/sqrt(H), 1/sqrt(H)).
- "orthogonal": each gate's recurrent block W_hh orthogonal (its singular values are all 1, so
  it neither shrinks nor grows a gradient passing through it); W_ih Xavier-uniform per gate; biases 0
  (the LSTM's forget-gate bias 1, Jozefowicz et al. 2015).
- "xavier": W_ih and W_hh Xavier-uniform (Glorot & Bengio 2010) per gate; biases 0 (forget 1).
- "identity": the IRNN of Le et al. (2015), for the Elman RNN: W_hh = I, W_ih ~ N(0, 0.001^2),
  biases 0; with ``nonlinearity="relu"`` the state is carried unchanged when the input is 0.
"""

Weights = tuple[Tensor, Tensor, Tensor | None, Tensor | None]


class ClassicLayer(RecurrentLayer):
    """Shared parameter layout and backends of RNN, LSTM and GRU (``num_gates`` blocks of H rows)."""

    num_gates: ClassVar[int] = 1

    def __init__(
        self,
        config: LayerConfig,
        *,
        proj_size: int = 0,
        backend: str = "fast",
        init: str = "default",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(config)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'fast' or 'reference', got {backend!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
        if init == "identity" and self.num_gates != 1:
            raise ValueError("init='identity' is the IRNN initialization of the Elman RNN (cell 'rnn'); for "
                             f"a gated cell use init='orthogonal', got it with {type(self).__name__}")
        self.init = init
        if isinstance(proj_size, bool) or not isinstance(proj_size, int):
            raise TypeError(f"proj_size must be an int, got {proj_size!r}")
        if not 0 <= proj_size < config.hidden_size:
            raise ValueError(
                f"proj_size must be 0 (no projection) or between 1 and hidden_size-1={config.hidden_size - 1}, got {proj_size}"
            )
        self.backend = backend
        self.proj_size = proj_size
        factory = {"device": device, "dtype": dtype}
        gates = self.num_gates * config.hidden_size
        self._weight_names: list[list[str]] = []
        for layer in range(config.num_layers):
            for direction in range(config.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gates, self.layer_input_size(layer))), ("weight_hh", (gates, self.direction_size))]
                if config.bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, config.hidden_size)))
                names = []
                for stem, shape in shapes:
                    setattr(self, stem + suffix, nn.Parameter(torch.empty(shape, **factory)))
                    names.append(stem + suffix)
                self._weight_names.append(names)
        self.reset_parameters()

    @property
    def direction_size(self) -> int:
        return self.proj_size if self.proj_size else self.hidden_size

    def reset_parameters(self) -> None:
        """torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every parameter, in torch's order; then the
        layer's ``init`` (:data:`INITS`) where it is not "default"."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        if self.init != "default":
            with torch.no_grad():
                for layer in range(self.num_layers):
                    for reverse in (False, True)[: self.num_directions]:
                        self._init_direction(*self._weights(layer, reverse))

    def _init_direction(self, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
                        bias_hh: Tensor | None) -> None:
        """Apply ``init`` to one layer and direction, gate block by gate block (H rows each)."""
        H = self.hidden_size
        for gate in range(self.num_gates):
            rows = slice(gate * H, (gate + 1) * H)
            if self.init == "identity":
                nn.init.normal_(weight_ih[rows], 0.0, 0.001)
                nn.init.eye_(weight_hh[rows])
            elif self.init == "orthogonal":
                nn.init.xavier_uniform_(weight_ih[rows])
                nn.init.orthogonal_(weight_hh[rows])
            else:
                nn.init.xavier_uniform_(weight_ih[rows])
                nn.init.xavier_uniform_(weight_hh[rows])
        for bias in (bias_ih, bias_hh):
            if bias is not None:
                bias.zero_()
        if self.num_gates == 4 and bias_ih is not None:
            bias_ih[H : 2 * H] = 1.0  # forget gate open: the cell state is carried at the start

    def flatten_parameters(self) -> None:
        """Kept for torch.nn compatibility: parameters are used in place, nothing to flatten."""

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Parameters per layer and direction, in torch's order (as ``torch.nn.RNNBase.all_weights``)."""
        return [[getattr(self, name) for name in names] for names in self._weight_names]

    def _weights(self, layer: int, reverse: bool) -> Weights:
        """(weight_ih, weight_hh, bias_ih or None, bias_hh or None) of one layer and direction."""
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        if self.bias:
            return (
                getattr(self, "weight_ih" + suffix),
                getattr(self, "weight_hh" + suffix),
                getattr(self, "bias_ih" + suffix),
                getattr(self, "bias_hh" + suffix),
            )
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), None, None

    def _state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return (("h_0", (self.direction_size,)),)

    def _kernel(self) -> str | None:
        """Name of torch's fused kernel with exactly this layer's math, or None."""
        return None

    def _forward_all(
        self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        # while traced for export, the fused kernel (one op, any length) also stands in for the
        # reference loop, whose Python steps would be recorded for one length only
        kernel = self._kernel() if self.backend == "fast" or tracing() else None
        if kernel is None:
            return super()._forward_all(x, state, lengths)
        return fused_recurrence(
            kernel,
            x,
            tuple(s.contiguous() for s in state),
            [w for names in self._weight_names for w in (getattr(self, n) for n in names)],
            has_bias=self.bias,
            num_layers=self.num_layers,
            dropout=self.dropout,
            training=self.training,
            bidirectional=self.bidirectional,
            lengths=lengths,
        )

    def extra_repr(self) -> str:
        extra = [super().extra_repr()]
        if self.proj_size:
            extra.append(f"proj_size={self.proj_size}")
        if self.backend != "fast":
            extra.append(f"backend={self.backend!r}")
        if self.init != "default":
            extra.append(f"init={self.init!r}")
        return ", ".join(extra)


class RNN(ClassicLayer):
    """Elman RNN, drop-in for ``torch.nn.RNN``: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Args (torch's order): input_size F, hidden_size H, num_layers, nonlinearity ``"tanh"`` or
    ``"relu"``, bias, batch_first, dropout, bidirectional; keyword-only ``backend``.
    Call: ``output, h_n = rnn(x, h_0=None, lengths=None)`` with x (B, T, F) if batch_first else
    (T, B, F), h_0 / h_n (L*D, B, H); output (B, T, D*H).
    """

    cell: ClassVar[str] = "rnn"
    num_gates: ClassVar[int] = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        backend: str = "fast",
        init: str = "default",
    ) -> None:
        check_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        config = LayerConfig(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(config, backend=backend, init=init, device=device, dtype=dtype)

    def _kernel(self) -> str | None:
        return f"rnn_{self.nonlinearity}"

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        weights = self._weights(layer, reverse)

        def step(x_t: Tensor, s: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
            h = elman_step(x_t, s[0], *weights, self.nonlinearity)  # (B, H)
            return h, (h,)

        mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)
        return scan(step, x, state, mask)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.nonlinearity == "tanh" else ", nonlinearity='relu'")


class LSTM(ClassicLayer):
    """LSTM, drop-in for ``torch.nn.LSTM`` (gates i, f, g, o; optional ``proj_size``).

    Args (torch's order): input_size F, hidden_size H, num_layers, bias, batch_first, dropout,
    bidirectional, proj_size P (0: none); keyword-only ``backend``.
    Call: ``output, (h_n, c_n) = lstm(x, (h_0, c_0)=None, lengths=None)`` with h (L*D, B, P or H),
    c (L*D, B, H); output (B, T, D*(P or H)).
    """

    cell: ClassVar[str] = "lstm"
    num_gates: ClassVar[int] = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        backend: str = "fast",
        init: str = "default",
    ) -> None:
        config = LayerConfig(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(config, proj_size=proj_size, backend=backend, init=init, device=device, dtype=dtype)

    def _state_spec(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        return (("h_0", (self.direction_size,)), ("c_0", (self.hidden_size,)))

    def _kernel(self) -> str | None:
        return "lstm"

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        weights = self._weights(layer, reverse)
        weight_hr = None
        if self.proj_size:
            weight_hr = getattr(self, f"weight_hr_l{layer}" + ("_reverse" if reverse else ""))

        def step(x_t: Tensor, s: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
            h, c = lstm_step(x_t, (s[0], s[1]), *weights, weight_hr)  # (B, P), (B, H)
            return h, (h, c)

        mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)
        return scan(step, x, state, mask)


class GRU(ClassicLayer):
    """GRU, drop-in for ``torch.nn.GRU`` (gates r, z, n) with the choice of candidate form.

    Args (torch's order): input_size F, hidden_size H, num_layers, bias, batch_first, dropout,
    bidirectional; keyword-only ``reset_after`` (True: torch's ``n = tanh(W_in x + b_in + r *
    (W_hn h + b_hn))``; False: the seeds' ``n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)``, same
    parameters, different model) and ``backend``.
    Call: ``output, h_n = gru(x, h_0=None, lengths=None)`` with h (L*D, B, H); output (B, T, D*H).
    """

    cell: ClassVar[str] = "gru"
    num_gates: ClassVar[int] = 3

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
        reset_after: bool = True,
        backend: str = "fast",
        init: str = "default",
    ) -> None:
        if not isinstance(reset_after, bool):
            raise TypeError(f"reset_after must be True or False, got {reset_after!r}")
        self.reset_after = reset_after
        config = LayerConfig(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        super().__init__(config, backend=backend, init=init, device=device, dtype=dtype)

    def _kernel(self) -> str | None:
        return "gru" if self.reset_after else None

    def _run_direction(
        self, layer: int, reverse: bool, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        weights = self._weights(layer, reverse)
        if tracing() and lengths is None:  # exported: a scripted loop, right at every length
            hs = scripted("seed_gru_loop")(x, state[0], *weights)  # (T, B, H)
            return hs, (hs[-1],)
        mask = None if lengths is None else length_mask(lengths, x.shape[0], x.device)
        if self.backend == "fast":  # only the seeds' form gets here on the fast backend
            hs = seed_gru_sequence(x, state[0], *weights, mask=mask)  # (T, B, H)
            return hs, (hs[-1],)

        def step(x_t: Tensor, s: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
            h = gru_step(x_t, s[0], *weights, self.reset_after)  # (B, H)
            return h, (h,)

        return scan(step, x, state, mask)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")
