"""Evaluation metrics for generated text (exact match, chrF, BLEU)."""
