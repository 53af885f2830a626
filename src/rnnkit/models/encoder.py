"""The recurrent encoder every model shares: input (token ids or features) -> recurrent stack.

Also the pooling of a padded batch of outputs into one vector per sequence ("last", "mean",
"max"), which never lets padded positions leak into the result.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnkit.layers import build_layer
from rnnkit.models.validation import check_choice

POOLINGS: tuple[str, ...] = ("last", "mean", "max")


def length_mask(lengths: torch.Tensor | None, batch: int, steps: int, device: torch.device) -> torch.Tensor:
    """(B, T) bool, True on the valid positions ``t < lengths[b]`` (all True without lengths)."""
    if lengths is None:
        return torch.ones(batch, steps, dtype=torch.bool, device=device)
    return torch.arange(steps, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def pool(
    outputs: torch.Tensor, lengths: torch.Tensor | None, mode: str, *, bidirectional: bool = False
) -> torch.Tensor:
    """Pool recurrent ``outputs`` (B, T, D*H) into one vector per sequence (B, D*H).

    - ``"last"``: the output at each sequence's true end; for a bidirectional stack the forward
      half is taken at ``lengths - 1`` and the backward half at step 0 (where the backward
      direction ends), i.e. both directions' final hidden states.
    - ``"mean"``: the mean over the valid steps.
    - ``"max"``: the element-wise max over the valid steps.
    """
    check_choice("pooling", mode, POOLINGS)
    batch, steps, width = outputs.shape
    valid = length_mask(lengths, batch, steps, outputs.device)  # (B, T)
    if mode == "last":
        ends = valid.sum(dim=1) - 1  # (B,)
        rows = torch.arange(batch, device=outputs.device)
        last = outputs[rows, ends]  # (B, D*H)
        if not bidirectional:
            return last
        half = width // 2
        return torch.cat([last[:, :half], outputs[:, 0, half:]], dim=-1)  # (B, 2H)
    if mode == "mean":
        total = outputs.masked_fill(~valid.unsqueeze(-1), 0.0).sum(dim=1)  # (B, D*H)
        return total / valid.sum(dim=1, keepdim=True).to(outputs.dtype)
    return outputs.masked_fill(~valid.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, D*H)


def check_lengths(lengths: Any, batch: int, steps: int) -> torch.Tensor | None:
    """Validate ``lengths`` (B,) ints in [1, T]; return it as an int64 tensor (or None)."""
    if lengths is None:
        return None
    if isinstance(lengths, (list, tuple)):
        lengths = torch.tensor(lengths)
    if not isinstance(lengths, torch.Tensor) or lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise TypeError(f"lengths must be a 1-D integer tensor or a list of ints, got {lengths!r}")
    if lengths.dim() != 1 or lengths.numel() != batch:
        raise ValueError(f"lengths must have shape ({batch},) (one per sequence), got {tuple(lengths.shape)}")
    if int(lengths.min()) < 1 or int(lengths.max()) > steps:
        raise ValueError(
            f"lengths must be in [1, T={steps}], got min {int(lengths.min())} and max {int(lengths.max())}; "
            "pad the batch to its longest sequence and drop empty ones"
        )
    return lengths.long()


class SequenceEncoder(nn.Module):
    """Token ids or float features -> a deep (optionally bidirectional) recurrent stack.

    Args:
        cell: "rnn", "lstm", "gru", "slstm" or "mlstm" (passed to :func:`rnnkit.layers.build_layer`).
        hidden_size: H, features per direction.
        num_layers, bidirectional, dropout: as in ``build_layer`` (dropout between layers).
        vocab_size, embedding_dim: token input through an embedding (V, E); or
        input_size: F float features per step.
        padding_idx: embedding row kept at zero (the pad id) or None.
        embedding_weights: optional pretrained (V, E) weights copied into the embedding.
        freeze_embedding: keep the embedding fixed during training.
        cell_kwargs: extra keyword arguments for the cell (e.g. ``{"nonlinearity": "relu"}``).

    Call ``outputs, state = encoder(x, lengths=None, state=None)`` with ``x`` (B, T) int64 ids or
    (B, T, F) floats; ``outputs`` is (B, T, D*H), zero on padded steps, ``state`` the final state
    at each sequence's true end (layer format, leading dims (num_layers*D, B)).
    """

    def __init__(
        self,
        cell: str,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        input_size: int | None = None,
        padding_idx: int | None = None,
        embedding_weights: torch.Tensor | None = None,
        freeze_embedding: bool = False,
        cell_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if vocab_size is not None and embedding_dim is not None:
            self.embedding: nn.Embedding | None = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
            if embedding_weights is not None:
                if tuple(embedding_weights.shape) != (vocab_size, embedding_dim):
                    raise ValueError(
                        f"embedding_weights must have shape (vocab_size, embedding_dim) = "
                        f"({vocab_size}, {embedding_dim}), got {tuple(embedding_weights.shape)}"
                    )
                with torch.no_grad():
                    self.embedding.weight.copy_(embedding_weights)
            self.embedding.weight.requires_grad_(not freeze_embedding)
            layer_input = embedding_dim
        else:
            self.embedding = None
            layer_input = input_size
        self.input_size = layer_input
        self.bidirectional = bidirectional
        self.rnn = build_layer(
            cell, layer_input, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
            # between stacked layers only: a one-layer stack has nowhere to put it
            dropout=dropout if num_layers > 1 else 0.0, batch_first=True, **(cell_kwargs or {}),
        )
        self.output_size: int = self.rnn.output_size

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Check ``x`` and return the layer input (B, T, E or F)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if self.embedding is not None:
            if x.dim() != 2 or x.is_floating_point():
                raise ValueError(
                    f"this model reads token ids: x must be an int64 tensor (B, T), got {x.dtype} "
                    f"of shape {tuple(x.shape)}"
                )
            vocab = self.embedding.num_embeddings
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= vocab):
                raise ValueError(
                    f"token ids must be in [0, vocab_size={vocab}), got min {int(x.min())} and max "
                    f"{int(x.max())}; encode the text with the model's vocabulary"
                )
            return self.embedding(x)  # (B, T, E)
        if x.dim() != 3 or not x.is_floating_point() or x.size(-1) != self.input_size:
            raise ValueError(
                f"this model reads features: x must be a float tensor (B, T, F={self.input_size}), "
                f"got {x.dtype} of shape {tuple(x.shape)}"
            )
        return x

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        inputs = self.embed(x)  # (B, T, E)
        lengths = check_lengths(lengths, inputs.size(0), inputs.size(1))
        return self.rnn(inputs, state=state, lengths=lengths)  # (B, T, D*H), state
