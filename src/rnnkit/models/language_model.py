"""Many-to-many, next token: a recurrent language model with streaming state and sampling.

Seed 002's next-character model: ``h_t = f_W(h_{t-1}, x_t)``, ``y_t = softmax(W_hy h_t)`` gives
``p(x_{t+1} | x_<=t)``; trained with cross-entropy ``E_t = -y_t log y^_t`` (seed 003).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.models.decoding import sample
from rnnkit.models.encoder import SequenceEncoder, length_mask
from rnnkit.models.validation import (
    check_cell,
    check_cell_kwargs,
    check_fraction,
    check_int,
    check_optional_int,
)


def _scalar(value: float | torch.Tensor) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def perplexity(nll: float | torch.Tensor) -> float:
    """Perplexity ``exp(nll)`` from a mean negative log-likelihood per token in nats."""
    return math.exp(_scalar(nll))


def bits_per_character(nll: float | torch.Tensor) -> float:
    """Bits per character (or token) ``nll / ln 2`` from a mean NLL per character in nats."""
    return _scalar(nll) / math.log(2.0)


@dataclass
class LanguageModelConfig:
    """Configuration of :class:`LanguageModel`.

    Attributes:
        vocab_size: V, tokens in the vocabulary.
        cell: "rnn", "lstm", "gru", "slstm" or "mlstm".
        embedding_dim: E, size of the token embeddings.
        hidden_size: H, features of each recurrent layer.
        num_layers: stacked recurrent layers.
        dropout: on the embeddings, between layers and before the output layer.
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017); when
            H != E a linear projection H -> E is added before the tied output.
        padding_idx: embedding row of the pad token (kept at zero), or None.
        cell_kwargs: extra cell arguments, e.g. {"nonlinearity": "relu"}.
    """

    vocab_size: int
    cell: str = "lstm"
    embedding_dim: int = 64
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = False
    padding_idx: int | None = 0
    cell_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, 1)
        check_cell("cell", self.cell)
        check_int("embedding_dim", self.embedding_dim, 1)
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_fraction("dropout", self.dropout)
        check_optional_int("padding_idx", self.padding_idx, 0)
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)


class LanguageModel(nn.Module):
    """Embedding -> recurrent stack -> softmax over the vocabulary at every step.

    ``forward(ids, state=None, lengths=None) -> (logits, state)`` with ``ids`` (B, T) int64,
    ``logits`` (B, T, V) (the prediction of token t+1 at step t) and the final state; pass the
    state back with the next chunk of a stream for truncated BPTT (detach it between chunks).
    """

    def __init__(self, config: LanguageModelConfig, embedding_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(
            config.cell, config.hidden_size, num_layers=config.num_layers, dropout=config.dropout,
            vocab_size=config.vocab_size, embedding_dim=config.embedding_dim,
            padding_idx=config.padding_idx, embedding_weights=embedding_weights,
            cell_kwargs=config.cell_kwargs,
        )
        self.dropout = nn.Dropout(config.dropout)
        out_features = config.hidden_size
        self.projection: nn.Linear | None = None
        if config.tie_weights and config.hidden_size != config.embedding_dim:
            self.projection = nn.Linear(config.hidden_size, config.embedding_dim)
            out_features = config.embedding_dim
        self.decoder = nn.Linear(out_features, config.vocab_size)  # W_hy
        if config.tie_weights:
            self.decoder.weight = self.encoder.embedding.weight  # type: ignore[union-attr]

    def forward(
        self, ids: torch.Tensor, state: Any = None, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, Any]:
        x = self.dropout(self.encoder.embed(ids))  # x_t: (B, T, E)
        h, state = self.encoder.rnn(x, state=state, lengths=lengths)  # h_t: (B, T, H)
        h = self.dropout(h)
        if self.projection is not None:
            h = self.projection(h)  # (B, T, E)
        return self.decoder(h), state  # y_t = W_hy h_t: (B, T, V)

    def step(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Feed one token per sequence ``tokens`` (B,) -> next-token logits (B, V) and the state."""
        logits, state = self(tokens.unsqueeze(1), state)  # (B, 1, V)
        return logits.squeeze(1), state

    def sequence_nll(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        state: Any = None,
        lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, Any]:
        """Mean negative log-likelihood per target token (nats) and the final state.

        ``inputs`` and ``targets`` (B, T): ``targets[:, t]`` is the token after ``inputs[:, t]``.
        Steps past ``lengths`` are not counted.
        """
        logits, state = self(inputs, state, lengths)  # (B, T, V)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
        valid = length_mask(lengths, nll.size(0), nll.size(1), nll.device)  # (B, T)
        return nll[valid].mean(), state

    @torch.no_grad()
    def generate(
        self,
        prime_ids: torch.Tensor,
        length: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue ``prime_ids`` (T0,) or (B, T0) by ``length`` sampled tokens -> (length,) or (B, length).

        Each token is drawn from ``softmax(logits / temperature)`` restricted to the ``top_k``
        most likely tokens and to the nucleus of probability ``top_p``; ``temperature=0`` takes
        the most likely token (greedy). Pass a seeded ``torch.Generator`` for reproducible text.
        Runs in eval mode (no dropout).
        """
        check_int("length", length, 1)
        if not isinstance(prime_ids, torch.Tensor) or prime_ids.is_floating_point():
            raise TypeError("prime_ids must be an int64 tensor of token ids (T0,) or (B, T0)")
        single = prime_ids.dim() == 1
        prime = prime_ids.unsqueeze(0) if single else prime_ids  # (B, T0)
        if prime.dim() != 2 or prime.size(1) == 0:
            raise ValueError(
                f"prime_ids must hold at least one token, shape (T0,) or (B, T0); got {tuple(prime_ids.shape)}"
            )
        was_training = self.training
        self.eval()
        try:
            state = None
            if prime.size(1) > 1:
                _, state = self(prime[:, :-1])
            out = sample(
                self.step, state, prime[:, -1], length, temperature=temperature, top_k=top_k,
                top_p=top_p, generator=generator,
            ).tokens  # (B, length)
        finally:
            self.train(was_training)
        return out.squeeze(0) if single else out
