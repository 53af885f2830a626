"""The token decoder shared by :class:`ConditionalGenerator` and :class:`Seq2Seq`.

A recurrent stack reads the previous token ``y_{t-1}`` and emits logits for ``y_t``. It can be
conditioned on a vector ``v`` (image features, an encoder summary) in two ways:

- ``"init"``: a bridge sets the initial hidden state of every layer, ``h_0 = tanh(W_h v + b_h)``
  (and the LSTM cell ``c_0 = tanh(W_c v + b_c)``); the other state entries start fresh (sLSTM:
  c = n = 0, m = -inf).
  Possible for rnn, lstm, gru and slstm; mLSTM's state (C, n, m) has no h to initialize.
- ``"input"``: ``v`` is concatenated to the input at every step, ``x_t = [E y_{t-1}; v]``.
  Works for every cell; the only way for mLSTM.
- ``"both"``: both at once. ``"auto"`` resolves to ``"init"``, or ``"input"`` for mLSTM.

With a memory of encoder outputs ``h_j`` (B, S, E) the decoder can attend (padding masked):

- additive (Bahdanau et al. 2015): the query is the previous output ``s_{t-1}``, the context
  ``c_t`` joins the input ``x_t = [E y_{t-1}; c_t]``; one step at a time.
- multiplicative (Luong et al. 2015): the query is the current output ``s_t``; no input feeding,
  so a teacher-forced sequence runs through the stack in one call.

Both then combine ``s~_t = tanh(W_c [s_t; c_t])`` and predict ``y_t = W_out s~_t``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

from rnnkit.layers import build_layer
from rnnkit.models.attention import Attention
from rnnkit.models.validation import CELLS_WITH_HIDDEN_STATE, check_choice

CONDITIONINGS: tuple[str, ...] = ("auto", "init", "input", "both")


def resolve_conditioning(mode: str, cell: str) -> str:
    """The conditioning actually used: "auto" -> "init" ("input" for mLSTM); checks the cell."""
    check_choice("conditioning", mode, CONDITIONINGS)
    if mode == "auto":
        return "init" if cell in CELLS_WITH_HIDDEN_STATE else "input"
    if mode in ("init", "both") and cell not in CELLS_WITH_HIDDEN_STATE:
        raise ValueError(
            f"conditioning={mode!r} needs a hidden state to initialize, but the {cell} state has "
            "none; use conditioning='input' (the vector is fed at every step) or 'auto'"
        )
    return mode


class DecoderState(NamedTuple):
    """Everything the decoder carries between steps (batch size B).

    ``rnn``: the recurrent state (layer format, leaves (num_layers, B, ...)) or None for zeros;
    ``query``: previous top-layer output s_{t-1} (B, H) (additive attention) or None;
    ``context``: vector fed at every step (B, C) or None; ``memory``: encoder outputs (B, S, E) or
    None; ``mask``: (B, S) bool, True on valid source positions, or None.
    """

    rnn: Any
    query: torch.Tensor | None
    context: torch.Tensor | None
    memory: torch.Tensor | None
    mask: torch.Tensor | None


def reorder_state(state: DecoderState, index: torch.Tensor) -> DecoderState:
    """Select (and repeat) batch rows ``index`` of every tensor in ``state`` (for beam search)."""

    def rnn_rows(tree: Any) -> Any:
        if tree is None:
            return None
        if isinstance(tree, torch.Tensor):
            return tree.index_select(1, index)  # leaves are (num_layers, B, ...)
        leaves = [rnn_rows(leaf) for leaf in tree]
        return type(tree)(*leaves) if hasattr(tree, "_fields") else type(tree)(leaves)

    def rows(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t.index_select(0, index)

    return DecoderState(rnn_rows(state.rnn), rows(state.query), rows(state.context), rows(state.memory), rows(state.mask))


class RecurrentDecoder(nn.Module):
    """Previous tokens (B, T) -> next-token logits (B, T, V), optionally conditioned and attending.

    Args:
        cell: any of the five cells; hidden_size H; num_layers; dropout (embeddings, between
            layers, before the output layer); cell_kwargs for the cell.
        vocab_size V, embedding_dim E, padding_idx: the target vocabulary.
        context_size: size C of the conditioning vector (0: none).
        conditioning: "auto", "init", "input" or "both" (see the module docstring).
        attention: None, "additive" or "multiplicative"; memory_size: E_mem of the memory;
            attention_size: hidden size of the additive scorer.
    """

    def __init__(
        self,
        cell: str,
        vocab_size: int,
        embedding_dim: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        dropout: float = 0.0,
        padding_idx: int | None = None,
        context_size: int = 0,
        conditioning: str = "auto",
        attention: str | None = None,
        memory_size: int = 0,
        attention_size: int = 64,
        cell_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.cell, self.num_layers = cell, num_layers
        self.conditioning = resolve_conditioning(conditioning, cell) if context_size else "none"
        self.attention_kind = attention
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout)
        feeds_context = self.conditioning in ("input", "both")
        input_size = embedding_dim + (context_size if feeds_context else 0)
        input_size += memory_size if attention == "additive" else 0
        self.rnn = build_layer(
            cell, input_size, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,  # between stacked layers only
            **(cell_kwargs or {}),
        )
        self.bridges = nn.ModuleDict()  # W_h (and W_c for LSTM), one per state entry set from v
        if self.conditioning in ("init", "both"):
            for name, shape in self.rnn._state_spec():
                if name.startswith("h") or (cell == "lstm" and name.startswith("c")):
                    self.bridges[name] = nn.Linear(context_size, num_layers * math.prod(shape))
        out_size = self.rnn.output_size
        self.attention: Attention | None = None
        if attention is not None:
            self.attention = Attention(attention, out_size, memory_size, attention_size)
            self.combine = nn.Linear(out_size + memory_size, out_size)  # W_c [s; c]
            if context_size and attention == "additive":
                self.query_init = nn.Linear(context_size, out_size)  # s_0 = tanh(W_s v)
        self.out = nn.Linear(out_size, vocab_size)  # W_out

    # ------------------------------------------------------------------ state
    def start(
        self,
        batch_size: int,
        context: torch.Tensor | None = None,
        memory: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> DecoderState:
        """The state before the first token, from the conditioning vector ``context`` (B, C)."""
        rnn_state = None
        if context is not None and self.conditioning in ("init", "both"):
            rnn_state = self._bridge(context)
        query = None
        if self.attention_kind == "additive":
            if context is not None:
                query = torch.tanh(self.query_init(context))  # s_0: (B, H)
            else:
                query = self.out.weight.new_zeros(batch_size, self.out.in_features)
        fed = context if self.conditioning in ("input", "both") else None
        return DecoderState(rnn_state, query, fed, memory, mask)

    def _bridge(self, context: torch.Tensor) -> Any:
        """h_0 = tanh(W_h v + b_h) for every layer (and c_0 for LSTM); the other entries keep the
        layer's fresh-state values (zeros; sLSTM's stabilizer m starts at -inf)."""
        batch = context.size(0)
        probe = context.new_zeros(1, batch, self.rnn.input_size)  # (T=1, B, F): shapes only
        fresh = self.rnn._initial_state(None, probe, True)  # tuple of (L, B, ...) tensors
        parts = []
        for (name, shape), initial in zip(self.rnn._state_spec(), fresh, strict=True):
            if name in self.bridges:
                flat = torch.tanh(self.bridges[name](context))  # (B, L*H)
                parts.append(flat.view(batch, self.num_layers, *shape).transpose(0, 1).contiguous())  # (L, B, H)
            else:
                parts.append(initial)
        return parts[0] if len(parts) == 1 else tuple(parts)

    # ------------------------------------------------------------------ running
    def forward(
        self,
        tokens: torch.Tensor,
        state: DecoderState,
        teacher_forcing: float = 1.0,
    ) -> tuple[torch.Tensor, DecoderState, torch.Tensor | None]:
        """Decode ``tokens`` (B, T) (``tokens[:, t]`` is y_{t-1}, starting with BOS).

        With ``teacher_forcing`` < 1, each step after the first feeds, per sequence and with
        probability ``1 - teacher_forcing``, the model's own previous prediction (arg-max)
        instead of ``tokens[:, t]`` (scheduled sampling). Returns logits (B, T, V), the state
        and the attention weights (B, T, S) (None without attention).
        """
        if teacher_forcing >= 1.0 and self.attention_kind != "additive":
            return self._parallel(tokens, state)
        logits, alphas = [], []
        previous = tokens[:, 0]
        for t in range(tokens.size(1)):
            if t > 0 and teacher_forcing < 1.0:
                own = logits[-1].argmax(dim=-1)  # (B,)
                use_truth = torch.rand(tokens.size(0), device=tokens.device) < teacher_forcing
                previous = torch.where(use_truth, tokens[:, t], own)
            elif t > 0:
                previous = tokens[:, t]
            step_logits, state, alpha = self._one(previous.unsqueeze(1), state)
            logits.append(step_logits[:, 0])
            alphas.append(alpha)
        attention = torch.cat(alphas, dim=1) if self.attention is not None else None  # (B, T, S)
        return torch.stack(logits, dim=1), state, attention

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """One token per sequence (B,) -> logits (B, V) and the next state (for the decoders)."""
        logits, state, _ = self._one(tokens.unsqueeze(1), state)
        return logits[:, 0], state

    def _one(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState, torch.Tensor | None]:
        if self.attention_kind == "additive":
            return self._additive_step(tokens, state)
        return self._parallel(tokens, state)

    def _inputs(self, tokens: torch.Tensor, state: DecoderState) -> torch.Tensor:
        x = self.dropout(self.embedding(tokens))  # E y_{t-1}: (B, T, E)
        if state.context is not None:
            x = torch.cat([x, state.context.unsqueeze(1).expand(-1, x.size(1), -1)], dim=-1)  # [E y; v]
        return x

    def _parallel(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState, torch.Tensor | None]:
        s, rnn_state = self.rnn(self._inputs(tokens, state), state=state.rnn)  # s_t: (B, T, H)
        alpha = None
        if self.attention is not None:
            context, alpha = self.attention(s, state.memory, state.mask)  # c_t: (B, T, E), (B, T, S)
            s = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))  # s~_t: (B, T, H)
        logits = self.out(self.dropout(s))  # (B, T, V)
        return logits, state._replace(rnn=rnn_state), alpha

    def _additive_step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState, torch.Tensor]:
        assert self.attention is not None and state.query is not None
        context, alpha = self.attention(state.query.unsqueeze(1), state.memory, state.mask)  # (B, 1, E), (B, 1, S)
        x = torch.cat([self._inputs(tokens, state), context], dim=-1)  # [E y_{t-1}; c_t]: (B, 1, .)
        s, rnn_state = self.rnn(x, state=state.rnn)  # s_t: (B, 1, H)
        combined = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))  # s~_t: (B, 1, H)
        logits = self.out(self.dropout(combined))  # (B, 1, V)
        return logits, state._replace(rnn=rnn_state, query=s[:, 0]), alpha
