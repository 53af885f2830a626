"""Decoding strategies over a one-step model: greedy, sampling (temperature, top-k, top-p), beam.

Every strategy drives a ``step`` function ``step(tokens (N,), state) -> (logits (N, V), state)``
that feeds one token per sequence and returns the next-token logits. Beam search also needs
``reorder(state, index (N',)) -> state`` that selects (and repeats) batch rows of the state.

A hypothesis is scored by its log-likelihood under the model, ``sum_t log p(y_t | y_<t, x)``, up
to and including the end token, optionally divided by the length penalty of Wu et al. (2016),
``((5 + |y|) / 6) ** alpha``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]
ReorderFn = Callable[[Any, torch.Tensor], Any]


class Hypotheses(NamedTuple):
    """Decoded sequences: ``tokens`` (B, L) (after the end token: ``pad_id``), ``lengths`` (B,)
    (counting the end token), ``scores`` (B,) (length-penalized log-likelihood)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    scores: torch.Tensor


def length_penalty(lengths: torch.Tensor, alpha: float) -> torch.Tensor:
    """Wu et al. (2016): ``((5 + |y|) / 6) ** alpha`` (1 when ``alpha`` is 0)."""
    return ((5.0 + lengths.to(torch.float32)) / 6.0) ** alpha


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the ``top_k`` largest and outside the nucleus ``top_p``.

    The nucleus is the smallest set of tokens whose probability sums to at least ``top_p`` (the
    most likely token is always kept). ``logits`` (N, V) -> (N, V).
    """
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[..., -1:]  # (N, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1] or None, got {top_p}")
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (N, V)
        probs = torch.softmax(sorted_logits, dim=-1)  # (N, V)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # probability of the better tokens
        drop_sorted = mass_before >= top_p  # (N, V); the first token has mass_before 0: kept
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def _finish(
    tokens: torch.Tensor, log_likelihood: torch.Tensor, lengths: torch.Tensor, alpha: float
) -> Hypotheses:
    return Hypotheses(tokens, lengths, log_likelihood / length_penalty(lengths, alpha))


def sample(
    step: StepFn,
    state: Any,
    start: torch.Tensor,
    max_length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    pad_id: int = 0,
    length_penalty_alpha: float = 0.0,
) -> Hypotheses:
    """Sample up to ``max_length`` tokens after ``start`` (B,); ``temperature`` 0 is greedy.

    Each step draws from ``softmax(filter(logits) / temperature)``; with ``temperature == 0`` it
    takes the arg-max instead (``top_k``/``top_p`` then change nothing). Sequences stop after
    ``eos_id``. Scores are log-likelihoods under the unmodified model distribution.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    batch = start.size(0)
    tokens = start
    finished = torch.zeros(batch, dtype=torch.bool, device=start.device)
    lengths = torch.zeros(batch, dtype=torch.long, device=start.device)
    log_likelihood = torch.zeros(batch, device=start.device)
    out: list[torch.Tensor] = []
    for _ in range(max_length):
        logits, state = step(tokens, state)  # (B, V)
        logits = logits.float()
        if temperature == 0:
            choice = logits.argmax(dim=-1)  # (B,)
        else:
            kept = filter_logits(logits, top_k, top_p)  # (B, V)
            scaled = (kept - kept.amax(dim=-1, keepdim=True)) / temperature  # <= 0: no overflow
            probs = torch.softmax(scaled, dim=-1)  # (B, V)
            choice = torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)
        log_p = torch.log_softmax(logits, dim=-1).gather(-1, choice.unsqueeze(-1)).squeeze(-1)  # (B,)
        log_likelihood = log_likelihood + torch.where(finished, 0.0, log_p)
        lengths = lengths + (~finished).long()
        out.append(torch.where(finished, torch.full_like(choice, pad_id), choice))
        if eos_id is not None:
            finished = finished | (choice == eos_id)
            if bool(finished.all()):
                break
        tokens = choice
    return _finish(torch.stack(out, dim=1), log_likelihood, lengths, length_penalty_alpha)


def greedy_search(
    step: StepFn,
    state: Any,
    start: torch.Tensor,
    max_length: int,
    *,
    eos_id: int | None = None,
    pad_id: int = 0,
    length_penalty_alpha: float = 0.0,
) -> Hypotheses:
    """Take the most likely token at every step (``sample`` with temperature 0)."""
    return sample(
        step, state, start, max_length, temperature=0.0, eos_id=eos_id, pad_id=pad_id,
        length_penalty_alpha=length_penalty_alpha,
    )


def beam_search(
    step: StepFn,
    reorder: ReorderFn,
    state: Any,
    start: torch.Tensor,
    max_length: int,
    beam_size: int,
    *,
    eos_id: int | None = None,
    pad_id: int = 0,
    length_penalty_alpha: float = 0.0,
    include_greedy: bool = True,
) -> Hypotheses:
    """Keep the ``beam_size`` best prefixes at every step; return the best hypothesis per row.

    Finished hypotheses (ended by ``eos_id``) stay in the beam with a frozen score. Beam search
    can lose the greedy path (it is pruned when ``beam_size`` better prefixes exist, however its
    continuation goes), so with ``include_greedy`` (default) the greedy hypothesis is decoded too
    and returned where it scores higher: the result is then never worse than greedy under the
    model. With ``beam_size == 1`` the search is greedy decoding itself.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    batch, k, device = start.size(0), beam_size, start.device
    rows = torch.arange(batch, device=device)
    greedy_state = state
    state = reorder(state, rows.repeat_interleave(k))  # (B*K) rows
    tokens = start.repeat_interleave(k)  # (B*K,)
    scores = torch.full((batch, k), float("-inf"), device=device)  # (B, K)
    scores[:, 0] = 0.0  # all beams start as one prefix
    finished = torch.zeros(batch, k, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, k, dtype=torch.long, device=device)
    history = torch.zeros(batch, k, 0, dtype=torch.long, device=device)  # (B, K, t)
    for _ in range(max_length):
        logits, state = step(tokens, state)  # (B*K, V)
        vocab = logits.size(-1)  # beams beyond the candidates available keep a score of -inf
        log_p = torch.log_softmax(logits.float(), dim=-1).view(batch, k, vocab)  # (B, K, V)
        if eos_id is not None:
            frozen = torch.full((vocab,), float("-inf"), device=device)
            frozen[pad_id] = 0.0  # a finished hypothesis continues with pad at no cost
            log_p = torch.where(finished.unsqueeze(-1), frozen, log_p)
        candidates = (scores.unsqueeze(-1) + log_p).view(batch, k * vocab)  # (B, K*V)
        scores, flat = candidates.topk(k, dim=-1)  # (B, K)
        parent, choice = flat // vocab, flat % vocab  # (B, K)
        state = reorder(state, (rows.unsqueeze(1) * k + parent).view(-1))
        history = torch.cat([history.gather(1, parent.unsqueeze(-1).expand_as(history)), choice.unsqueeze(-1)], -1)
        finished, lengths = finished.gather(1, parent), lengths.gather(1, parent)
        lengths = lengths + (~finished).long()
        if eos_id is not None:
            finished = finished | (choice == eos_id)
            if bool(finished.all()):
                break
        tokens = choice.view(-1)
    normalized = scores / length_penalty(lengths, length_penalty_alpha)  # (B, K)
    best = normalized.argmax(dim=-1)  # (B,)
    result = Hypotheses(history[rows, best], lengths[rows, best], normalized[rows, best])
    if not include_greedy or k == 1:
        return result
    greedy = greedy_search(
        step, greedy_state, start, max_length, eos_id=eos_id, pad_id=pad_id,
        length_penalty_alpha=length_penalty_alpha,
    )
    return _better(result, greedy, pad_id)


def _better(a: Hypotheses, b: Hypotheses, pad_id: int) -> Hypotheses:
    """Row-wise the higher-scoring of two hypothesis sets (``a`` on ties)."""
    width = max(a.tokens.size(1), b.tokens.size(1))
    ta = torch.nn.functional.pad(a.tokens, (0, width - a.tokens.size(1)), value=pad_id)
    tb = torch.nn.functional.pad(b.tokens, (0, width - b.tokens.size(1)), value=pad_id)
    take_b = b.scores > a.scores  # (B,)
    return Hypotheses(
        torch.where(take_b.unsqueeze(1), tb, ta),
        torch.where(take_b, b.lengths, a.lengths),
        torch.where(take_b, b.scores, a.scores),
    )


METHODS: tuple[str, ...] = ("greedy", "sample", "beam")


def decode(
    method: str,
    step: StepFn,
    reorder: ReorderFn,
    state: Any,
    start: torch.Tensor,
    max_length: int,
    *,
    beam_size: int = 1,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    pad_id: int = 0,
    length_penalty_alpha: float = 0.0,
) -> Hypotheses:
    """Dispatch to :func:`greedy_search`, :func:`sample` or :func:`beam_search` by ``method``."""
    if method == "greedy":
        return greedy_search(
            step, state, start, max_length, eos_id=eos_id, pad_id=pad_id, length_penalty_alpha=length_penalty_alpha
        )
    if method == "sample":
        return sample(
            step, state, start, max_length, temperature=temperature, top_k=top_k, top_p=top_p,
            generator=generator, eos_id=eos_id, pad_id=pad_id, length_penalty_alpha=length_penalty_alpha,
        )
    if method == "beam":
        return beam_search(
            step, reorder, state, start, max_length, beam_size, eos_id=eos_id, pad_id=pad_id,
            length_penalty_alpha=length_penalty_alpha,
        )
    raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
