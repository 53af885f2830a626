import itertools
import math

import pytest
import torch

from rnnkit.models import Attention, Seq2Seq, Seq2SeqConfig
from rnnkit.models.decoder import reorder_state
from rnnkit.models.decoding import beam_search, filter_logits, greedy_search, sample

CELLS = ("rnn", "lstm", "gru", "slstm", "mlstm")


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_attention_sums_to_one_and_is_zero_on_pads(kind):
    att = Attention(kind, query_size=4, memory_size=6, attention_size=5).double()
    query = torch.randn(3, 2, 4, dtype=torch.float64)
    memory = torch.randn(3, 7, 6, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 1])
    mask = torch.arange(7) < lengths.unsqueeze(1)
    context, alpha = att(query, memory, mask)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3, 2, dtype=torch.float64))
    assert torch.all(alpha[1, :, 3:] == 0) and torch.all(alpha[2, :, 1:] == 0)
    torch.testing.assert_close(context[2], memory[2, 0].expand(2, 6))  # one valid position: all weight
    # garbage in padded memory positions changes nothing
    noisy = memory.clone()
    noisy[1, 3:] = 1e3
    torch.testing.assert_close(att(query, noisy, mask)[0], context)


def test_attention_scores_match_the_equations_in_float64():
    q = torch.randn(2, 1, 3, dtype=torch.float64)
    h = torch.randn(2, 4, 5, dtype=torch.float64)
    add = Attention("additive", 3, 5, 6).double()
    e = torch.stack([
        torch.stack([add.v.weight[0] @ torch.tanh(add.query_proj.weight @ q[b, 0] + add.memory_proj.weight @ h[b, j] + add.memory_proj.bias) for j in range(4)])
        for b in range(2)
    ])  # e_j = v^T tanh(W_q s + W_k h_j)
    torch.testing.assert_close(add(q, h)[1][:, 0], torch.softmax(e, -1))
    mul = Attention("multiplicative", 3, 5).double()
    e = torch.stack([torch.stack([q[b, 0] @ mul.W_a.weight @ h[b, j] for j in range(4)]) for b in range(2)])  # s^T W_a h_j
    alpha = torch.softmax(e, -1)
    context, got = mul(q, h)
    torch.testing.assert_close(got[:, 0], alpha)
    torch.testing.assert_close(context[:, 0], torch.einsum("bj,bje->be", alpha, h))


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[True, True, False, False, False]]
    # nucleus: smallest prefix with mass >= 0.8 is {0.5, 0.2, 0.15}
    assert torch.isfinite(filter_logits(logits, top_p=0.8)).tolist() == [[True, True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.3)).tolist() == [[True, False, False, False, False]]
    with pytest.raises(ValueError, match=r"top_p must be in \(0, 1\] or None, got 1.5"):
        filter_logits(logits, top_p=1.5)


class ToyChain:
    """A fixed random Markov model: next-token logits depend on the last token and the step."""

    def __init__(self, vocab=4, steps=6, seed=0, scale=2.0):
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(steps + 1, vocab, vocab, generator=g) * scale  # (t, prev, next)

    def step(self, tokens, state):
        t = state  # (N,) step counters
        return self.table[t, tokens], t + 1

    @staticmethod
    def reorder(state, index):
        return state.index_select(0, index)

    def log_likelihood(self, start, seq):
        total, prev = 0.0, start
        for t, tok in enumerate(seq):
            total += torch.log_softmax(self.table[t, prev], -1)[tok].item()
            prev = tok
        return total


def test_sampling_follows_softmax_with_temperature_and_seeded_generator():
    chain = ToyChain(vocab=3, steps=1)
    start = torch.zeros(20000, dtype=torch.long)
    out = sample(chain.step, torch.zeros(20000, dtype=torch.long), start, 1, temperature=2.0, generator=torch.Generator().manual_seed(1))
    freq = torch.bincount(out.tokens[:, 0], minlength=3).double() / 20000
    torch.testing.assert_close(freq, torch.softmax(chain.table[0, 0].double() / 2.0, -1), atol=0.015, rtol=0)
    again = sample(chain.step, torch.zeros(20000, dtype=torch.long), start, 1, temperature=2.0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out.tokens, again.tokens)
    cold = sample(chain.step, torch.zeros(5, dtype=torch.long), start[:5], 1, temperature=1e-30, generator=torch.Generator())
    assert torch.all(cold.tokens[:, 0] == chain.table[0, 0].argmax())


def test_beam_equals_exhaustive_search_when_wide_enough():
    vocab, steps = 3, 4
    chain = ToyChain(vocab, steps, seed=3)
    start = torch.tensor([0, 1])
    exact = beam_search(chain.step, chain.reorder, torch.zeros(2, dtype=torch.long), start, steps, vocab ** (steps - 1), include_greedy=False)
    for b, s in enumerate(start.tolist()):
        best = max(itertools.product(range(vocab), repeat=steps), key=lambda seq: chain.log_likelihood(s, seq))
        assert exact.tokens[b].tolist() == list(best)
        assert exact.scores[b].item() == pytest.approx(chain.log_likelihood(s, best), abs=1e-5)


def test_beam_of_one_is_greedy_and_beam_is_never_worse_than_greedy():
    for seed in range(30):
        chain = ToyChain(5, 6, seed=seed)
        start = torch.arange(5)
        state = torch.zeros(5, dtype=torch.long)
        greedy = greedy_search(chain.step, state, start, 6)
        one = beam_search(chain.step, chain.reorder, state, start, 6, 1, include_greedy=False)
        assert torch.equal(one.tokens, greedy.tokens)
        torch.testing.assert_close(one.scores, greedy.scores)
        beam = beam_search(chain.step, chain.reorder, state, start, 6, 2)
        assert torch.all(beam.scores >= greedy.scores - 1e-6)
        for b in range(5):  # the scores are the model's log-likelihood of the tokens
            assert beam.scores[b].item() == pytest.approx(chain.log_likelihood(b, beam.tokens[b].tolist()), abs=1e-4)


def test_the_greedy_safeguard_on_a_case_where_pure_beam_search_loses():
    chain = ToyChain(3, 3)
    log = lambda *p: torch.log(torch.tensor(p))  # noqa: E731
    chain.table[0, 0] = log(0.4, 0.31, 0.29)  # greedy takes token 0, the beam keeps 0 and 1
    chain.table[1, 0] = log(1 / 3, 1 / 3, 1 / 3)  # after 0: flat (prefix 0.133)
    chain.table[1, 1] = log(0.01, 0.5, 0.49)  # after 1: two prefixes 0.155 and 0.152 > 0.133
    chain.table[1, 2] = log(1 / 3, 1 / 3, 1 / 3)
    chain.table[2, 0] = log(0.98, 0.01, 0.01)  # the pruned greedy prefix ends well ...
    chain.table[2, 1] = chain.table[2, 2] = log(1 / 3, 1 / 3, 1 / 3)  # ... the kept ones do not
    state, start = torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)
    greedy = greedy_search(chain.step, state, start, 3)
    raw = beam_search(chain.step, chain.reorder, state, start, 3, 2, include_greedy=False)
    safe = beam_search(chain.step, chain.reorder, state, start, 3, 2)
    assert greedy.tokens.tolist() == [[0, 0, 0]]
    assert raw.scores.item() < greedy.scores.item() - 0.5  # pure beam search is worse here
    assert safe.tokens.tolist() == greedy.tokens.tolist()
    assert safe.scores.item() == pytest.approx(math.log(0.4 / 3 * 0.98), abs=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("attention", [None, "additive", "multiplicative"])
def test_seq2seq_beam_scores_are_teacher_forced_log_likelihoods(cell, attention):
    config = Seq2SeqConfig(9, 8, cell=cell, attention=attention, bidirectional=True, hidden_size=8, embedding_dim=5, max_length=5)
    model = Seq2Seq(config).eval()
    src = torch.randint(4, 9, (3, 6))
    lengths = torch.tensor([6, 4, 2])
    greedy = model.generate(src, lengths)
    one = model.generate(src, lengths, "beam", beam_size=1)
    assert torch.equal(one.tokens, greedy.tokens)
    beam = model.generate(src, lengths, "beam", beam_size=4)
    assert torch.all(beam.scores >= greedy.scores - 1e-5)
    for hyp in (greedy, beam):
        tokens = hyp.tokens
        bos = torch.full((3, 1), config.bos_id)
        logits, _ = model(src, lengths, torch.cat([bos, tokens[:, :-1]], 1))
        logp = torch.log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        valid = torch.arange(tokens.size(1)) < hyp.lengths.unsqueeze(1)
        torch.testing.assert_close((logp * valid).sum(1), hyp.scores, atol=1e-4, rtol=1e-4)


def test_reorder_state_selects_batch_rows_of_every_leaf():
    model = Seq2Seq(Seq2SeqConfig(9, 8, cell="lstm", attention="additive", num_layers=2))
    state = model.encode(torch.randint(4, 9, (3, 5)), torch.tensor([5, 2, 3]))
    index = torch.tensor([2, 2, 0])
    picked = reorder_state(state, index)
    torch.testing.assert_close(picked.rnn[0], state.rnn[0][:, index])
    torch.testing.assert_close(picked.rnn[1], state.rnn[1][:, index])
    torch.testing.assert_close(picked.memory, state.memory[index])
    assert torch.equal(picked.mask, state.mask[index])
