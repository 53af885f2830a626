"""Scores for generated text against references: exact match, chrF and BLEU (sacrebleu).

All three take a list of hypotheses and a list of references of the same length (one reference
per hypothesis) and return corpus-level figures:

* exact match: fraction of hypotheses equal to their reference after stripping outer spaces;
* chrF: sacrebleu's chrF2 (character 6-grams, beta = 2), 0..100;
* BLEU: sacrebleu's corpus BLEU-4, 0..100, with the tokenization given (``"13a"`` for words,
  ``"char"`` to score character n-grams, which suits outputs such as digit strings that are a
  single word).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sacrebleu.metrics import BLEU, CHRF

BLEU_TOKENIZERS: tuple[str, ...] = ("13a", "char", "intl", "none")


@dataclass(frozen=True)
class TextScores:
    """Corpus-level scores of ``n`` hypotheses.

    Attributes:
        exact_match: fraction in [0, 1].
        chrf: chrF2 in [0, 100].
        bleu: BLEU-4 in [0, 100].
        n: number of scored examples.
    """

    exact_match: float
    chrf: float
    bleu: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Fraction of hypotheses equal to their reference (outer spaces ignored)."""
    _check(hypotheses, references)
    hits = sum(h.strip() == r.strip() for h, r in zip(hypotheses, references))
    return hits / len(references)


def chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF2 (sacrebleu defaults), 0..100."""
    _check(hypotheses, references)
    return float(CHRF().corpus_score(list(hypotheses), [list(references)]).score)


def bleu(hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU-4 (sacrebleu), 0..100, tokenized with ``tokenize`` (see module doc)."""
    _check(hypotheses, references)
    if tokenize not in BLEU_TOKENIZERS:
        raise ValueError(f"tokenize must be one of {', '.join(BLEU_TOKENIZERS)}, got {tokenize!r}")
    return float(BLEU(tokenize=tokenize).corpus_score(list(hypotheses), [list(references)]).score)


def text_scores(hypotheses: Sequence[str], references: Sequence[str],
                bleu_tokenize: str = "13a") -> TextScores:
    """Exact match, chrF and BLEU of ``hypotheses`` against ``references``."""
    return TextScores(
        exact_match=exact_match(hypotheses, references),
        chrf=chrf(hypotheses, references),
        bleu=bleu(hypotheses, references, tokenize=bleu_tokenize),
        n=len(references),
    )


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"got {len(hypotheses)} hypotheses but {len(references)} references; "
            f"give one reference per hypothesis"
        )
    if len(references) == 0:
        raise ValueError("no hypotheses to score; give at least one (hypothesis, reference)")
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"{name} must be strings, got a {type(bad).__name__}: {bad!r}")
