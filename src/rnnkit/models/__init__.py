"""Task models for every sequence configuration (seeds 002-004), each accepting every cell.

=================  ======================  ==============================================
configuration      model                   input -> output
=================  ======================  ==============================================
many-to-one        SequenceClassifier      (B, T) ids or (B, T, F) -> (B, C)
many-to-many       SequenceTagger          (B, T) ids or (B, T, F) -> (B, T, C)
many-to-many       LanguageModel           (B, T) ids -> next-token logits (B, T, V)
one-to-many        ConditionalGenerator    vector (B, C) or image (B, C, S, S) -> tokens
seq2seq            Seq2Seq                 (B, S) ids -> (B, T) ids, with attention
=================  ======================  ==============================================

Each model is built from a typed configuration dataclass (``Model(config)``; ``model.config``
is JSON-able, so a saved model is rebuilt from it) with ``cell`` in
"rnn", "lstm", "gru", "slstm", "mlstm".
"""

from rnnkit.models.attention import Attention
from rnnkit.models.classifier import SequenceClassifier, SequenceClassifierConfig
from rnnkit.models.decoding import Hypotheses, beam_search, greedy_search, sample
from rnnkit.models.encoder import SequenceEncoder, pool
from rnnkit.models.generator import ConditionalGenerator, ConditionalGeneratorConfig, ImageEncoder
from rnnkit.models.language_model import LanguageModel, LanguageModelConfig, bits_per_character, perplexity
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.models.tagger import SequenceTagger, SequenceTaggerConfig

__all__ = [
    "Attention",
    "SequenceClassifier",
    "SequenceClassifierConfig",
    "SequenceTagger",
    "SequenceTaggerConfig",
    "LanguageModel",
    "LanguageModelConfig",
    "ConditionalGenerator",
    "ConditionalGeneratorConfig",
    "ImageEncoder",
    "Seq2Seq",
    "Seq2SeqConfig",
    "SequenceEncoder",
    "Hypotheses",
    "greedy_search",
    "sample",
    "beam_search",
    "pool",
    "perplexity",
    "bits_per_character",
]
