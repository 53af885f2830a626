"""Exact match, chrF and BLEU, chrF checked against an independent re-computation."""

from collections import Counter

import pytest

from rnnkit.metrics.text import bleu, chrf, exact_match, text_scores


def reference_chrf(hyps, refs, order=6, beta=2.0):
    """chrF as in Popovic (2015) with sacrebleu's corpus statistics and effective order."""
    totals = [[0, 0, 0] for _ in range(order)]  # hyp n-grams, ref n-grams, matches
    for hyp, ref in zip(hyps, refs):
        h, r = hyp.replace(" ", ""), ref.replace(" ", "")
        for n in range(1, order + 1):
            hc = Counter(h[i:i + n] for i in range(len(h) - n + 1))
            rc = Counter(r[i:i + n] for i in range(len(r) - n + 1))
            totals[n - 1][0] += sum(hc.values())
            totals[n - 1][1] += sum(rc.values())
            totals[n - 1][2] += sum((hc & rc).values())
    precisions, recalls = [], []
    for n_hyp, n_ref, n_match in totals:
        if n_hyp and n_ref:
            precisions.append(n_match / n_hyp)
            recalls.append(n_match / n_ref)
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return 100 * (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def test_exact_match_counts_equal_strings():
    assert exact_match(["a b", " c", "d"], ["a b", "c ", "e"]) == pytest.approx(2 / 3)


def test_chrf_matches_independent_computation():
    hyps = ["mil novecientos noventa y nueve", "dos mil uno", "cien"]
    refs = ["mil novecientos noventa y ocho", "dos mil", "ciento uno"]
    assert chrf(hyps, refs) == pytest.approx(reference_chrf(hyps, refs), abs=1e-9)
    assert chrf(refs, refs) == pytest.approx(100.0)


def test_bleu_perfect_zero_and_char_level():
    refs = ["mil novecientos noventa y nueve", "dos mil uno"]
    assert bleu(refs, refs) == pytest.approx(100.0)
    assert bleu(["a b c d", "e f g h"], refs) == 0.0
    # a one-word output has no word 4-grams, but character BLEU still sees partial credit
    assert bleu(["1999"], ["1998"]) == 0.0
    assert 0.0 < bleu(["19999"], ["1999"], tokenize="char") < 100.0


def test_text_scores_bundle():
    scores = text_scores(["uno", "dos"], ["uno", "tres"])
    assert scores.exact_match == 0.5 and scores.n == 2
    assert scores.chrf == pytest.approx(chrf(["uno", "dos"], ["uno", "tres"]))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="got 2 hypotheses but 1 references"):
        exact_match(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no hypotheses to score"):
        chrf([], [])
    with pytest.raises(TypeError, match="hypotheses must be strings, got a int"):
        exact_match([1], ["a"])
    with pytest.raises(ValueError, match="tokenize must be one of 13a, char"):
        bleu(["a"], ["a"], tokenize="spaces")
