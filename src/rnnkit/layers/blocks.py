"""xLSTM blocks and :class:`xLSTMStack`: residual stacks of mLSTM and sLSTM blocks.

Following the xLSTM paper (both blocks are pre-norm residual: ``x + block(LayerNorm(x))``):

- :class:`mLSTMBlock` ("pre up-projection"): up-project E -> 2 x inner (inner = ``up_factor``*E),
  one half ``x_m`` through a causal depthwise convolution (kernel ``conv_kernel``) and SiLU to give
  queries and keys, ``x_m`` itself gives values; the matrix memory
  (:mod:`rnnkit.functional.mlstm`, any of the three forms) per head, a per-head normalization, a
  learnable skip from the convolution, the SiLU of the other half as output gate, and a
  down-projection inner -> E.
- :class:`sLSTMBlock` ("post up-projection"): an :class:`rnnkit.sLSTM` layer with a per-head
  normalization, then a gated feed-forward network (GeLU gate, width ``ffn_factor``*E) in its own
  pre-norm residual branch.

Shapes: x (B, T, E) -> y (B, T, E); every block and the stack take ``state`` (None for fresh) and
``lengths`` (B,) like the layers, and return their final state, so a stack can run token by token
(T = 1 with the state) exactly as on the whole sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.cells.base import check_positive_int
from rnnkit.cells.slstm import sLSTMState
from rnnkit.functional.mlstm import MLSTM_FORMS, freeze_past_lengths, mLSTMState, mlstm_sequence
from rnnkit.layers.xlstm import sLSTM

BLOCK_KINDS = {"m": "mLSTM block", "s": "sLSTM block"}


@dataclass(frozen=True)
class xLSTMStackConfig:  # noqa: N801
    """Configuration of an :class:`xLSTMStack` and of its blocks.

    Attributes:
        embedding_dim: E, the width of the residual stream (input and output features).
        pattern: one letter per block, bottom to top: ``"m"`` mLSTM block, ``"s"`` sLSTM block
            (the paper's 7:1 ratio is ``"mmmmmmms"``).
        num_heads: heads of every memory; must divide E and the mLSTM inner width.
        conv_kernel: width of the mLSTM block's causal convolution.
        up_factor: the mLSTM block works at inner = round(up_factor * E) features.
        ffn_factor: the sLSTM block's feed-forward width is round(ffn_factor * E).
        mode: mLSTM form, ``"chunkwise"`` (linear time), ``"parallel"`` or ``"recurrent"``.
        chunk_size: steps per chunk in the chunkwise form.
        dropout: dropout on each block's residual branch (train mode only), in [0, 1).
    """

    embedding_dim: int
    pattern: str = "mmmmmmms"
    num_heads: int = 4
    conv_kernel: int = 4
    up_factor: float = 2.0
    ffn_factor: float = 4.0 / 3.0
    mode: str = "chunkwise"
    chunk_size: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("embedding_dim", self.embedding_dim)
        check_positive_int("num_heads", self.num_heads)
        check_positive_int("conv_kernel", self.conv_kernel)
        check_positive_int("chunk_size", self.chunk_size)
        if not isinstance(self.pattern, str) or not self.pattern or set(self.pattern) - set(BLOCK_KINDS):
            raise ValueError(
                f"pattern must be a non-empty string of 'm' (mLSTM block) and 's' (sLSTM block), "
                f"got {self.pattern!r}; e.g. 'mmmmmmms' for the paper's 7:1"
            )
        for name in ("up_factor", "ffn_factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.mode not in MLSTM_FORMS:
            raise ValueError(f"mode must be one of {MLSTM_FORMS}, got {self.mode!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a float in [0, 1), got {self.dropout!r}")
        for name, width in (("embedding_dim", self.embedding_dim), ("mLSTM inner width", self.inner_dim)):
            if width % self.num_heads:
                raise ValueError(
                    f"num_heads={self.num_heads} must divide the {name} ({width}); "
                    f"choose num_heads among the divisors of {width}"
                )

    @property
    def inner_dim(self) -> int:
        """Width inside an mLSTM block: round(up_factor * E)."""
        return max(1, round(self.up_factor * self.embedding_dim))

    @property
    def ffn_dim(self) -> int:
        """Width of the sLSTM block's feed-forward network: round(ffn_factor * E)."""
        return max(1, round(self.ffn_factor * self.embedding_dim))


class mLSTMBlockState(NamedTuple):  # noqa: N801
    """State of an :class:`mLSTMBlock`: the convolution's last inputs and the memory.

    conv: (B, conv_kernel - 1, inner) the last inputs of the causal convolution;
    C (B, NH, d, d), n (B, NH, d), m (B, NH): the :class:`mLSTMState` of the memory.
    """

    conv: Tensor
    C: Tensor
    n: Tensor
    m: Tensor


def head_norm(h: Tensor, num_heads: int, weight: Tensor) -> Tensor:
    """Per-head layer normalization (group norm with one group per head). h (B, T, W) -> (B, T, W)."""
    B, T, W = h.shape
    return F.group_norm(h.reshape(B * T, W), num_heads, weight).view(B, T, W)


def _last_steps(seq: Tensor, lengths: Tensor | None, count: int) -> Tensor:
    """The ``count`` steps of ``seq`` (B, P + T, W) that end at each true end (P = count prefix).

    Without lengths these are the last ``count`` steps; with lengths, steps
    ``[lengths, lengths + count)`` of the prefixed sequence.
    """
    if count == 0:
        return seq[:, :0]
    if lengths is None:
        return seq[:, -count:]
    index = lengths.to(seq.device)[:, None] + torch.arange(count, device=seq.device)  # (B, count)
    return seq.gather(1, index[..., None].expand(-1, -1, seq.shape[-1]))


class mLSTMBlock(nn.Module):  # noqa: N801
    """Pre-norm residual mLSTM block. x (B, T, E) -> x + down(h * SiLU(z)) (B, T, E).

    Call: ``y, state = block(x, state=None, lengths=None)`` with :class:`mLSTMBlockState`.
    """

    def __init__(self, config: xLSTMStackConfig) -> None:
        super().__init__()
        self.config = config
        E, inner, NH = config.embedding_dim, config.inner_dim, config.num_heads
        self.norm = nn.LayerNorm(E)
        self.up = nn.Linear(E, 2 * inner)  # x_m and the output gate z
        self.conv = nn.Conv1d(inner, inner, config.conv_kernel, groups=inner)  # depthwise, causal
        self.q = nn.Linear(inner, inner)
        self.k = nn.Linear(inner, inner)
        self.v = nn.Linear(inner, inner)
        self.gates = nn.Linear(3 * inner, 2 * NH)  # i~, f~ per head from (q, k, v)
        self.norm_weight = nn.Parameter(torch.ones(inner))  # per-head normalization scale
        self.skip = nn.Parameter(torch.ones(inner))  # learnable skip from the convolution
        self.down = nn.Linear(inner, E)
        self.dropout = nn.Dropout(config.dropout)
        with torch.no_grad():  # the paper's gate init: i~ ~ N(0, 0.1^2), forget open per head
            self.gates.weight.zero_()
            nn.init.normal_(self.gates.bias[:NH], mean=0.0, std=0.1)
            self.gates.bias[NH:] = torch.linspace(3.0, 6.0, NH)

    def fresh_state(self, batch: int, like: Tensor) -> mLSTMBlockState:
        """Zeros for the convolution and the memory, ``m = -inf``."""
        inner, NH = self.config.inner_dim, self.config.num_heads
        d = inner // NH
        zeros = like.new_zeros
        return mLSTMBlockState(
            zeros(batch, self.config.conv_kernel - 1, inner),
            zeros(batch, NH, d, d),
            zeros(batch, NH, d),
            like.new_full((batch, NH), -math.inf),
        )

    def forward(
        self, x: Tensor, state: mLSTMBlockState | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, mLSTMBlockState]:
        B, T, _ = x.shape
        inner, NH = self.config.inner_dim, self.config.num_heads
        d = inner // NH
        if state is None:
            state = self.fresh_state(B, x)
        x_m, z = self.up(self.norm(x)).chunk(2, dim=-1)  # (B, T, inner) each
        seq = torch.cat((state.conv, x_m), dim=1)  # (B, K - 1 + T, inner)
        x_c = F.silu(self.conv(seq.transpose(1, 2)).transpose(1, 2))  # causal conv + SiLU  (B, T, inner)
        q = self.q(x_c)  # (B, T, inner)
        k = self.k(x_c) / math.sqrt(d)  # keys scaled by 1/sqrt(d)
        v = self.v(x_m)
        i_tilde, f_tilde = self.gates(torch.cat((q, k, v), dim=-1)).transpose(1, 2).chunk(2, dim=1)  # (B, NH, T)
        i_tilde, log_f = freeze_past_lengths(i_tilde, F.logsigmoid(f_tilde), lengths)

        def heads(t: Tensor) -> Tensor:  # (B, T, inner) -> (B, NH, T, d)
            return t.view(B, T, NH, d).transpose(1, 2)

        form = "recurrent" if T == 1 else self.config.mode
        h_tilde, memory = mlstm_sequence(
            heads(q), heads(k), heads(v), i_tilde, log_f, mLSTMState(state.C, state.n, state.m),
            form=form, chunk_size=self.config.chunk_size,
        )  # (B, NH, T, d)
        h = h_tilde.transpose(1, 2).reshape(B, T, inner)
        h = head_norm(h, NH, self.norm_weight) + self.skip * x_c  # (B, T, inner)
        y = self.down(h * F.silu(z))  # output gate SiLU(z), down-projection  (B, T, E)
        conv_state = _last_steps(seq, lengths, self.config.conv_kernel - 1)
        return x + self.dropout(y), mLSTMBlockState(conv_state, *memory)


class sLSTMBlock(nn.Module):  # noqa: N801
    """Pre-norm residual sLSTM block with a gated feed-forward network after it (post up-projection).

    ``x = x + GroupNorm(sLSTM(LayerNorm(x)))``, then ``x = x + down(GeLU(g) * a)`` with
    ``(a, g) = up(LayerNorm(x))``. Call: ``y, state = block(x, state=None, lengths=None)`` with the
    :class:`sLSTMState` of its layer, each (1, B, E).
    """

    def __init__(self, config: xLSTMStackConfig) -> None:
        super().__init__()
        self.config = config
        E = config.embedding_dim
        self.norm = nn.LayerNorm(E)
        self.slstm = sLSTM(E, E, batch_first=True, num_heads=config.num_heads)
        self.norm_weight = nn.Parameter(torch.ones(E))
        self.ffn_norm = nn.LayerNorm(E)
        self.ffn_up = nn.Linear(E, 2 * config.ffn_dim)
        self.ffn_down = nn.Linear(config.ffn_dim, E)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: Tensor, state: sLSTMState | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, sLSTMState]:
        h, state = self.slstm(self.norm(x), state, lengths)  # (B, T, E)
        x = x + self.dropout(head_norm(h, self.config.num_heads, self.norm_weight))
        a, g = self.ffn_up(self.ffn_norm(x)).chunk(2, dim=-1)  # (B, T, ffn) each
        x = x + self.dropout(self.ffn_down(F.gelu(g) * a))  # gated feed-forward  (B, T, E)
        return x, state


class xLSTMStack(nn.Module):  # noqa: N801
    """A residual stack of mLSTM and sLSTM blocks with a final LayerNorm: the xLSTM backbone.

    Args: ``embedding_dim`` E and the options of :class:`xLSTMStackConfig` (``pattern`` e.g.
    ``"mmmmmmms"``, ``num_heads``, ``conv_kernel``, ``up_factor``, ``ffn_factor``, ``mode``,
    ``chunk_size``, ``dropout``), or ``config=`` a ready :class:`xLSTMStackConfig`.

    Call: ``y, state = stack(x, state=None, lengths=None)``: x (B, T, E) -> y (B, T, E), zero past
    each length; ``state`` a tuple with one state per block (:class:`mLSTMBlockState` or
    :class:`sLSTMState`). Passing it back continues the sequences (T = 1 steps for generation).
    """

    def __init__(self, embedding_dim: int | None = None, pattern: str = "mmmmmmms", *, config: xLSTMStackConfig | None = None, **options: object) -> None:
        super().__init__()
        if config is None:
            if embedding_dim is None:
                raise TypeError("xLSTMStack needs embedding_dim (or config=xLSTMStackConfig(...))")
            config = xLSTMStackConfig(embedding_dim, pattern, **options)  # type: ignore[arg-type]
        elif embedding_dim is not None or options:
            raise TypeError("pass either config= or embedding_dim and options to xLSTMStack, not both")
        self.config = config
        self.blocks = nn.ModuleList(mLSTMBlock(config) if kind == "m" else sLSTMBlock(config) for kind in config.pattern)
        self.final_norm = nn.LayerNorm(config.embedding_dim)

    @property
    def output_size(self) -> int:
        """Features of the output: E."""
        return self.config.embedding_dim

    def forward(
        self,
        x: Tensor,
        state: tuple[mLSTMBlockState | sLSTMState, ...] | None = None,
        lengths: Tensor | list[int] | None = None,
    ) -> tuple[Tensor, tuple[mLSTMBlockState | sLSTMState, ...]]:
        E = self.config.embedding_dim
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != E:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be (batch, time, embedding_dim={E}), got {got}")
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != len(self.blocks)):
            raise ValueError(
                f"state must be a tuple of {len(self.blocks)} block states (as returned by the stack) or None"
            )
        lengths_t = None
        if lengths is not None:
            lengths_t = torch.as_tensor(lengths, dtype=torch.int64).cpu()
            if lengths_t.shape != (x.shape[0],) or int(lengths_t.min()) < 1 or int(lengths_t.max()) > x.shape[1]:
                raise ValueError(
                    f"lengths must be ({x.shape[0]},) ints in [1, T={x.shape[1]}], got {lengths_t.tolist()}"
                )
        finals = []
        for index, block in enumerate(self.blocks):
            x, block_state = block(x, None if state is None else state[index], lengths_t)
            finals.append(block_state)
        y = self.final_norm(x)
        if lengths_t is not None:
            real = torch.arange(x.shape[1]) < lengths_t[:, None]  # (B, T)
            y = y * real.to(y.device, y.dtype).unsqueeze(-1)
        return y, tuple(finals)
