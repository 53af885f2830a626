"""Pure tensor math: the single time loop, padded-batch helpers and the fused fast paths."""

from rnnkit.functional.kernels import fused_recurrence
from rnnkit.functional.scan import length_mask, reverse_within_lengths, scan
from rnnkit.functional.seed_gru import SeedGRUSequence, seed_gru_sequence

__all__ = [
    "scan",
    "length_mask",
    "reverse_within_lengths",
    "fused_recurrence",
    "seed_gru_sequence",
    "SeedGRUSequence",
]
