"""Sequence to sequence (seed 003: "many to one" encoder + "one to many" decoder), with attention.

The encoder (any cell, deep, bidirectional) reads the source; its summary (each direction's final
hidden output) is bridged into the decoder's initial state (or fed at every step for mLSTM); the
decoder (any cell) optionally attends over the encoder outputs with padding masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rnnkit.data.vocab import BOS_ID, EOS_ID, PAD_ID
from rnnkit.models.attention import ATTENTION_KINDS
from rnnkit.models.decoder import CONDITIONINGS, DecoderState, RecurrentDecoder, reorder_state, resolve_conditioning
from rnnkit.models.decoding import METHODS, Hypotheses, decode
from rnnkit.models.encoder import SequenceEncoder, check_lengths, length_mask, pool
from rnnkit.models.validation import (
    check_cell,
    check_cell_kwargs,
    check_choice,
    check_fraction,
    check_int,
    check_optional_int,
)


@dataclass
class Seq2SeqConfig:
    """Configuration of :class:`Seq2Seq`.

    Attributes:
        source_vocab_size, target_vocab_size: vocabularies of the two sides.
        cell: encoder cell; decoder_cell: decoder cell (None: same as ``cell``).
        embedding_dim, hidden_size: sizes for both sides.
        num_layers: encoder layers; decoder_layers: decoder layers (None: same).
        bidirectional: bidirectional encoder.
        dropout: embeddings, between layers, before the output layer.
        attention: None, "additive" (Bahdanau) or "multiplicative" (Luong); attention_size: the
            additive scorer's hidden size.
        conditioning: how the encoder summary reaches the decoder ("auto", "init", "input",
            "both"; see :mod:`rnnkit.models.decoder`).
        teacher_forcing: probability of feeding the true previous token in training (1.0 =
            always; lower = scheduled sampling of the model's own predictions).
        max_length, beam_size, length_penalty: decoding defaults (length_penalty is the alpha of
            Wu et al. 2016; 0 ranks hypotheses by plain log-likelihood).
        pad_id, bos_id, eos_id: special ids of the target vocabulary (pad_id also pads sources).
        cell_kwargs, decoder_cell_kwargs: extra cell arguments (decoder: None = same as encoder
            when the cells match, else none).
    """

    source_vocab_size: int
    target_vocab_size: int
    cell: str = "lstm"
    decoder_cell: str | None = None
    embedding_dim: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    decoder_layers: int | None = None
    bidirectional: bool = False
    dropout: float = 0.0
    attention: str | None = None
    attention_size: int = 64
    conditioning: str = "auto"
    teacher_forcing: float = 1.0
    max_length: int = 50
    beam_size: int = 1
    length_penalty: float = 0.0
    pad_id: int = PAD_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    decoder_cell_kwargs: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        check_int("source_vocab_size", self.source_vocab_size, 1)
        check_int("target_vocab_size", self.target_vocab_size, 1)
        check_cell("cell", self.cell)
        if self.decoder_cell is not None:
            check_cell("decoder_cell", self.decoder_cell)
        check_int("embedding_dim", self.embedding_dim, 1)
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_optional_int("decoder_layers", self.decoder_layers, 1)
        check_fraction("dropout", self.dropout)
        if self.attention is not None:
            check_choice("attention", self.attention, ATTENTION_KINDS)
        check_int("attention_size", self.attention_size, 1)
        check_choice("conditioning", self.conditioning, CONDITIONINGS)
        resolve_conditioning(self.conditioning, self.target_cell)
        check_fraction("teacher_forcing", self.teacher_forcing, high_inclusive=True)
        check_int("max_length", self.max_length, 1)
        check_int("beam_size", self.beam_size, 1)
        if isinstance(self.length_penalty, bool) or not isinstance(self.length_penalty, (int, float)):
            raise TypeError(f"length_penalty must be a float, got {self.length_penalty!r}")
        for name in ("pad_id", "bos_id", "eos_id"):
            check_int(name, getattr(self, name), 0)
            if getattr(self, name) >= self.target_vocab_size:
                raise ValueError(f"{name} must be < target_vocab_size={self.target_vocab_size}, got {getattr(self, name)}")
        check_cell_kwargs("cell_kwargs", self.cell_kwargs)
        if self.decoder_cell_kwargs is not None:
            check_cell_kwargs("decoder_cell_kwargs", self.decoder_cell_kwargs)

    @property
    def target_cell(self) -> str:
        """The decoder's cell."""
        return self.decoder_cell or self.cell


class Seq2Seq(nn.Module):
    """Encoder-decoder: source ids (B, S) -> target logits (B, T, V_tgt).

    ``forward(src, src_lengths, tgt_in, teacher_forcing=None) -> (logits, attention)``:
    ``tgt_in`` (B, T) is the target shifted right (BOS first); ``attention`` (B, T, S) holds the
    weights over source positions (0 on padding; None without attention). ``teacher_forcing``
    defaults to the config's ratio in training mode and 1.0 in eval mode. ``generate`` decodes.
    """

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = SequenceEncoder(
            config.cell, config.hidden_size, num_layers=config.num_layers,
            bidirectional=config.bidirectional, dropout=config.dropout,
            vocab_size=config.source_vocab_size, embedding_dim=config.embedding_dim,
            padding_idx=config.pad_id, cell_kwargs=config.cell_kwargs,
        )
        decoder_kwargs = config.decoder_cell_kwargs
        if decoder_kwargs is None:
            decoder_kwargs = config.cell_kwargs if config.target_cell == config.cell else {}
        self.decoder = RecurrentDecoder(
            config.target_cell, config.target_vocab_size, config.embedding_dim, config.hidden_size,
            num_layers=config.decoder_layers or config.num_layers, dropout=config.dropout,
            padding_idx=config.pad_id, context_size=self.encoder.output_size,
            conditioning=config.conditioning, attention=config.attention,
            memory_size=self.encoder.output_size, attention_size=config.attention_size,
            cell_kwargs=decoder_kwargs,
        )

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor | None = None) -> DecoderState:
        """Run the encoder; return the decoder's initial state (summary bridged, memory, mask)."""
        if not isinstance(src, torch.Tensor) or src.dim() != 2:
            raise ValueError(f"src must be an int64 tensor of source ids (B, S), got {getattr(src, 'shape', src)!r}")
        lengths = check_lengths(src_lengths, src.size(0), src.size(1))
        memory, _ = self.encoder(src, lengths)  # h_j: (B, S, D*H)
        summary = pool(memory, lengths, "last", bidirectional=self.config.bidirectional)  # (B, D*H)
        mask = length_mask(lengths, src.size(0), src.size(1), src.device)  # (B, S)
        return self.decoder.start(src.size(0), context=summary, memory=memory, mask=mask)

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor | None,
        tgt_in: torch.Tensor,
        teacher_forcing: float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if teacher_forcing is None:
            teacher_forcing = self.config.teacher_forcing if self.training else 1.0
        state = self.encode(src, src_lengths)
        logits, _, attention = self.decoder(tgt_in, state, teacher_forcing)  # (B, T, V), (B, T, S)
        return logits, attention

    @torch.no_grad()
    def generate(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor | None = None,
        method: str = "greedy",
        *,
        max_length: int | None = None,
        beam_size: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Hypotheses:
        """Decode each source: ``method`` "greedy", "beam" or "sample" (eval mode).

        Returns :class:`~rnnkit.models.decoding.Hypotheses` (tokens (B, L) without BOS, EOS
        included then ``pad_id``; lengths; scores = log-likelihood / length penalty). Get the
        attention weights of a result with :meth:`attention_weights`.
        """
        check_choice("method", method, METHODS)
        beam = self.config.beam_size if beam_size is None else beam_size
        check_int("beam_size", beam, 1)
        was_training = self.training
        self.eval()
        try:
            state = self.encode(src, src_lengths)
            start = torch.full((src.size(0),), self.config.bos_id, dtype=torch.long, device=src.device)
            return decode(
                method, self.decoder.step, reorder_state, state, start, max_length or self.config.max_length,
                beam_size=beam, temperature=temperature, top_k=top_k, top_p=top_p, generator=generator,
                eos_id=self.config.eos_id, pad_id=self.config.pad_id,
                length_penalty_alpha=float(self.config.length_penalty),
            )
        finally:
            self.train(was_training)

    @torch.no_grad()
    def attention_weights(
        self, src: torch.Tensor, src_lengths: torch.Tensor | None, tokens: torch.Tensor
    ) -> torch.Tensor:
        """Attention (B, L, S) of the decoder while it produces ``tokens`` (B, L) (no BOS), e.g.
        the output of :meth:`generate`: row t is where the model looked to emit ``tokens[:, t]``."""
        if self.config.attention is None:
            raise ValueError("this model has no attention (config.attention is None); build it with attention='additive' or 'multiplicative'")
        was_training = self.training
        self.eval()
        try:
            bos = torch.full((tokens.size(0), 1), self.config.bos_id, dtype=torch.long, device=tokens.device)
            _, attention = self(src, src_lengths, torch.cat([bos, tokens[:, :-1]], dim=1), teacher_forcing=1.0)
        finally:
            self.train(was_training)
        return attention  # type: ignore[return-value]
