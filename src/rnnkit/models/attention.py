"""Attention over encoder outputs, with padded positions masked out.

Two scoring functions (the decoder decides where the query comes from):

- additive (Bahdanau et al. 2015): ``e_j = v^T tanh(W_q s + W_k h_j)``
- multiplicative (Luong et al. 2015, "general"): ``e_j = s^T W_a h_j``

``alpha = softmax(e)`` over the valid source positions (exactly zero on padding) and the context
is ``c = sum_j alpha_j h_j``.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnkit.models.validation import check_choice, check_int

ATTENTION_KINDS: tuple[str, ...] = ("additive", "multiplicative")


class Attention(nn.Module):
    """Score a query against a memory (encoder outputs) and return the context.

    Args:
        kind: ``"additive"`` or ``"multiplicative"``.
        query_size: size Q of the decoder query ``s``.
        memory_size: size E of each encoder output ``h_j``.
        attention_size: size A of the additive scorer's hidden layer (ignored by multiplicative).
    """

    def __init__(self, kind: str, query_size: int, memory_size: int, attention_size: int = 64) -> None:
        super().__init__()
        check_choice("attention", kind, ATTENTION_KINDS)
        check_int("query_size", query_size, 1)
        check_int("memory_size", memory_size, 1)
        check_int("attention_size", attention_size, 1)
        self.kind = kind
        if kind == "additive":
            self.query_proj = nn.Linear(query_size, attention_size, bias=False)  # W_q
            self.memory_proj = nn.Linear(memory_size, attention_size)  # W_k
            self.v = nn.Linear(attention_size, 1, bias=False)  # v
        else:
            self.W_a = nn.Linear(memory_size, query_size, bias=False)  # W_a

    def forward(
        self, query: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``query`` (B, T, Q) over ``memory`` (B, S, E).

        ``mask`` (B, S) is True on valid source positions. Returns the context (B, T, E) and the
        weights ``alpha`` (B, T, S), which sum to 1 over S and are 0 on masked positions.
        """
        if self.kind == "additive":
            keys = self.memory_proj(memory)  # W_k h_j: (B, S, A)
            queries = self.query_proj(query)  # W_q s: (B, T, A)
            e = self.v(torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)  # (B, T, S)
        else:
            e = torch.bmm(query, self.W_a(memory).transpose(1, 2))  # s^T W_a h_j: (B, T, S)
        if mask is not None:
            e = e.masked_fill(~mask.unsqueeze(1), float("-inf"))  # (B, T, S)
        alpha = torch.softmax(e, dim=-1)  # (B, T, S)
        context = torch.bmm(alpha, memory)  # c = sum_j alpha_j h_j: (B, T, E)
        return context, alpha
