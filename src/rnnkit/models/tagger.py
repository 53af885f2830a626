"""Many-to-many, aligned: one prediction per input step (tagging, next-step prediction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rnnkit.models.encoder import SequenceEncoder, length_mask
from rnnkit.models.validation import (
    check_cell,
    check_cell_kwargs,
    check_fraction,
    check_int,
    check_optional_int,
    check_token_input,
)


@dataclass
class SequenceTaggerConfig:
    """Configuration of :class:`SequenceTagger`.

    Attributes:
        num_outputs: tags (logits per step) or values per step.
        cell, hidden_size, vocab_size, embedding_dim, input_size, num_layers, bidirectional,
        dropout, padding_idx, freeze_embedding, cell_kwargs: as in
        :class:`~rnnkit.models.classifier.SequenceClassifierConfig`. A bidirectional tagger
        sees the future: do not use one for next-step prediction.
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
        check_optional_int("padding_idx", self.padding_idx, 0)
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)


class SequenceTagger(nn.Module):
    """Encoder -> linear head at every step: ``x`` (B, T) or (B, T, F) -> (B, T, num_outputs).

    ``forward(x, lengths=None, state=None)`` returns ``(outputs, state)``: per-step logits or values,
    zero on padded steps, and the final recurrent state (pass it back to continue a stream).
    """

    def __init__(self, config: SequenceTaggerConfig, embedding_weights: torch.Tensor | None = None) -> None:
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

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        outputs, state = self.encoder(x, lengths, state)  # (B, T, D*H)
        y = self.head(self.dropout(outputs))  # (B, T, num_outputs)
        if lengths is not None:
            valid = length_mask(lengths, y.size(0), y.size(1), y.device)  # (B, T)
            y = y.masked_fill(~valid.unsqueeze(-1), 0.0)
        return y, state
