"""One-to-many: a vector (e.g. an image's features) -> a token sequence (captioning, seed 003)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rnnkit.data.vocab import BOS_ID, EOS_ID, PAD_ID
from rnnkit.models.decoder import CONDITIONINGS, RecurrentDecoder, reorder_state, resolve_conditioning
from rnnkit.models.decoding import METHODS, Hypotheses, decode
from rnnkit.models.validation import (
    check_cell,
    check_cell_kwargs,
    check_choice,
    check_fraction,
    check_int,
    check_optional_int,
)


class ImageEncoder(nn.Module):
    """A small CNN: images (B, C_in, S, S) -> feature vectors (B, out_features).

    Each entry of ``channels`` adds a block conv 3x3 (same padding) -> ReLU -> max-pool 2x2; a
    global average pool and a linear layer give the vector. ``image_size`` S must be at least
    ``2 ** len(channels)`` so every pooling has something to pool.
    """

    def __init__(self, in_channels: int, image_size: int, out_features: int, channels: tuple[int, ...] = (16, 32)) -> None:
        super().__init__()
        self.in_channels, self.image_size = in_channels, image_size
        blocks: list[nn.Module] = []
        previous = in_channels
        for width in channels:
            blocks += [nn.Conv2d(previous, width, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous = width
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.proj = nn.Linear(previous, out_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected or not images.is_floating_point():
            raise ValueError(
                f"images must be a float tensor (B, {expected[0]}, {expected[1]}, {expected[2]}) as "
                f"configured (image_channels, image_size), got {images.dtype} of shape {tuple(images.shape)}"
            )
        return self.proj(self.features(images))  # (B, out_features)


@dataclass
class ConditionalGeneratorConfig:
    """Configuration of :class:`ConditionalGenerator`.

    Attributes:
        vocab_size: V, output tokens (ids ``pad_id``, ``bos_id``, ``eos_id`` included).
        condition_size: C, size of the conditioning vector (the CNN's output when images are used).
        cell, embedding_dim, hidden_size, num_layers, dropout, cell_kwargs: the decoder stack.
        conditioning: "auto", "init" (the vector sets h_0, c_0), "input" (fed at every step) or
            "both". mLSTM has no hidden state to set: it needs "input" ("auto" picks it).
        image_channels, image_size: set both to include the CNN :class:`ImageEncoder`; the model
            then takes images (B, image_channels, image_size, image_size) instead of vectors.
        cnn_channels: output channels of each CNN block.
        max_length, beam_size: defaults for :meth:`ConditionalGenerator.generate`.
        pad_id, bos_id, eos_id: special token ids (rnnkit's Vocab: 0, 2, 3).
    """

    vocab_size: int
    condition_size: int
    cell: str = "lstm"
    embedding_dim: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.0
    conditioning: str = "auto"
    image_channels: int | None = None
    image_size: int | None = None
    cnn_channels: list[int] = field(default_factory=lambda: [16, 32])
    max_length: int = 20
    beam_size: int = 1
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    cell_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, 1)
        check_int("condition_size", self.condition_size, 1)
        check_cell("cell", self.cell)
        check_int("embedding_dim", self.embedding_dim, 1)
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_fraction("dropout", self.dropout)
        check_choice("conditioning", self.conditioning, CONDITIONINGS)
        resolve_conditioning(self.conditioning, self.cell)
        check_optional_int("image_channels", self.image_channels, 1)
        check_optional_int("image_size", self.image_size, 1)
        if (self.image_channels is None) != (self.image_size is None):
            raise ValueError(
                "image_channels and image_size go together: set both to use the CNN encoder, or "
                f"neither to pass vectors; got image_channels={self.image_channels}, image_size={self.image_size}"
            )
        if not self.cnn_channels:
            raise ValueError("cnn_channels must list at least one block width, e.g. [16, 32]")
        for width in self.cnn_channels:
            check_int("cnn_channels entries", width, 1)
        if self.image_size is not None and self.image_size < 2 ** len(self.cnn_channels):
            raise ValueError(
                f"image_size {self.image_size} is too small for {len(self.cnn_channels)} CNN blocks "
                f"(each halves it); use image_size >= {2 ** len(self.cnn_channels)} or fewer cnn_channels"
            )
        check_int("max_length", self.max_length, 1)
        check_int("beam_size", self.beam_size, 1)
        for name in ("pad_id", "bos_id", "eos_id"):
            check_int(name, getattr(self, name), 0)
            if getattr(self, name) >= self.vocab_size:
                raise ValueError(f"{name} must be < vocab_size={self.vocab_size}, got {getattr(self, name)}")
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)


class ConditionalGenerator(nn.Module):
    """Conditioning vector (or image) -> token sequence.

    ``forward(condition, tokens_in, teacher_forcing=1.0) -> logits (B, T, V)``: ``condition`` is
    (B, condition_size), or images (B, C, S, S) when the config has a CNN; ``tokens_in`` (B, T)
    starts with BOS (the targets shifted right). ``generate`` decodes greedy, by sampling or by
    beam search.
    """

    def __init__(self, config: ConditionalGeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.image_encoder: ImageEncoder | None = None
        if config.image_channels is not None and config.image_size is not None:
            self.image_encoder = ImageEncoder(
                config.image_channels, config.image_size, config.condition_size, tuple(config.cnn_channels)
            )
        self.decoder = RecurrentDecoder(
            config.cell, config.vocab_size, config.embedding_dim, config.hidden_size,
            num_layers=config.num_layers, dropout=config.dropout, padding_idx=config.pad_id,
            context_size=config.condition_size, conditioning=config.conditioning,
            cell_kwargs=config.cell_kwargs,
        )

    def encode(self, condition: torch.Tensor) -> torch.Tensor:
        """The conditioning vector v (B, condition_size) from a vector or an image batch."""
        if self.image_encoder is not None:
            return self.image_encoder(condition)
        if condition.dim() != 2 or condition.size(1) != self.config.condition_size or not condition.is_floating_point():
            raise ValueError(
                f"condition must be a float tensor (B, condition_size={self.config.condition_size}), "
                f"got {condition.dtype} of shape {tuple(condition.shape)}"
            )
        return condition

    def forward(self, condition: torch.Tensor, tokens_in: torch.Tensor, teacher_forcing: float = 1.0) -> torch.Tensor:
        v = self.encode(condition)  # (B, C)
        state = self.decoder.start(v.size(0), context=v)
        logits, _, _ = self.decoder(tokens_in, state, teacher_forcing)  # (B, T, V)
        return logits

    @torch.no_grad()
    def generate(
        self,
        condition: torch.Tensor,
        method: str = "greedy",
        *,
        max_length: int | None = None,
        beam_size: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Hypotheses:
        """Decode a sequence per condition: ``method`` "greedy", "sample" or "beam" (eval mode).

        Returns :class:`~rnnkit.models.decoding.Hypotheses`: tokens (B, L) without BOS (EOS
        included, then ``pad_id``), lengths (B,) and log-likelihood scores (B,).
        """
        check_choice("method", method, METHODS)
        beam = self.config.beam_size if beam_size is None else beam_size
        check_int("beam_size", beam, 1)
        was_training = self.training
        self.eval()
        try:
            v = self.encode(condition)  # (B, C)
            start = torch.full((v.size(0),), self.config.bos_id, dtype=torch.long, device=v.device)
            return decode(
                method, self.decoder.step, reorder_state, self.decoder.start(v.size(0), context=v), start,
                max_length or self.config.max_length, beam_size=beam, temperature=temperature,
                top_k=top_k, top_p=top_p, generator=generator, eos_id=self.config.eos_id,
                pad_id=self.config.pad_id,
            )
        finally:
            self.train(was_training)
