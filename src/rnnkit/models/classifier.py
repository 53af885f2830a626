"""Many-to-one: a whole sequence -> one label (classification) or value(s) (regression)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rnnkit.models.encoder import POOLINGS, SequenceEncoder, pool
from rnnkit.models.validation import (
    check_cell,
    check_cell_kwargs,
    check_choice,
    check_fraction,
    check_int,
    check_optional_int,
    check_token_input,
)

TASKS: tuple[str, ...] = ("classification", "regression")


@dataclass
class SequenceClassifierConfig:
    """Configuration of :class:`SequenceClassifier`.

    Attributes:
        num_outputs: classes (classification) or regression targets per sequence.
        cell: "rnn", "lstm", "gru", "slstm" or "mlstm".
        hidden_size: H, features per direction of each recurrent layer.
        vocab_size, embedding_dim: read token ids through an embedding; or
        input_size: read float features (B, T, F). Give exactly one of vocab_size / input_size.
        num_layers, bidirectional, dropout: the recurrent stack (dropout also before the head).
        pooling: "last" (final hidden state), "mean" or "max" over the valid steps.
        task: "classification" (logits) or "regression" (values).
        padding_idx: embedding row of the pad token (kept at zero), or None.
        freeze_embedding: keep the (pretrained) embedding fixed.
        cell_kwargs: extra cell arguments, e.g. {"nonlinearity": "relu"} or {"num_heads": 2}.
    """

    num_outputs: int
    cell: str = "lstm"
    hidden_size: int = 64
    vocab_size: int | None = None
    embedding_dim: int | None = None
    input_size: int | None = None
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    pooling: str = "last"
    task: str = "classification"
    padding_idx: int | None = 0
    freeze_embedding: bool = False
    cell_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("num_outputs", self.num_outputs, 1)
        check_cell("cell", self.cell)
        check_int("hidden_size", self.hidden_size, 1)
        check_token_input(self.vocab_size, self.embedding_dim, self.input_size)
        check_int("num_layers", self.num_layers, 1)
        check_fraction("dropout", self.dropout)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("task", self.task, TASKS)
        check_optional_int("padding_idx", self.padding_idx, 0)
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)


class SequenceClassifier(nn.Module):
    """Encoder -> pooling -> linear head: ``x`` (B, T) ids or (B, T, F) -> (B, num_outputs).

    ``forward(x, lengths=None)`` returns class logits (classification) or predicted values
    (regression). Padded steps (past ``lengths``) never change the result.

    Args:
        config: the :class:`SequenceClassifierConfig`.
        embedding_weights: optional pretrained (vocab_size, embedding_dim) vectors.
    """

    def __init__(self, config: SequenceClassifierConfig, embedding_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(
            config.cell, config.hidden_size, num_layers=config.num_layers,
            bidirectional=config.bidirectional, dropout=config.dropout, vocab_size=config.vocab_size,
            embedding_dim=config.embedding_dim, input_size=config.input_size,
            padding_idx=config.padding_idx, embedding_weights=embedding_weights,
            freeze_embedding=config.freeze_embedding, cell_kwargs=config.cell_kwargs,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(self.encoder.output_size, config.num_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outputs, _ = self.encoder(x, lengths)  # (B, T, D*H)
        summary = pool(outputs, lengths, self.config.pooling, bidirectional=self.config.bidirectional)  # (B, D*H)
        return self.head(self.dropout(summary))  # (B, num_outputs)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Class ids (B,) for classification, values (B, num_outputs) for regression (eval mode)."""
        was_training = self.training
        self.eval()
        out = self(x, lengths)
        self.train(was_training)
        return out.argmax(dim=-1) if self.config.task == "classification" else out
