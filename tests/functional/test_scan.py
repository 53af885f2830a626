"""The single time loop and the padded-batch helpers."""

from __future__ import annotations

import torch

from rnnkit.functional import length_mask, reverse_within_lengths, scan


def test_length_mask():
    mask = length_mask(torch.tensor([3, 1]), 4, torch.device("cpu"))
    assert mask.tolist() == [[True, True], [True, False], [True, False], [False, False]]


def test_reverse_within_lengths_keeps_padding_in_place_and_is_an_involution():
    x = torch.arange(8.0).view(4, 2, 1)  # (T=4, B=2, 1): column b holds 2t + b
    lengths = torch.tensor([4, 2])
    rev = reverse_within_lengths(x, lengths)
    assert rev[:, 0, 0].tolist() == [6.0, 4.0, 2.0, 0.0]
    assert rev[:, 1, 0].tolist() == [3.0, 1.0, 5.0, 7.0]  # steps 2, 3 are padding: untouched
    assert torch.equal(reverse_within_lengths(rev, lengths), x)
    assert torch.equal(reverse_within_lengths(x, None), x.flip(0))


def test_scan_runs_the_step_in_order_and_freezes_state_past_lengths():
    xs = torch.arange(1.0, 5.0).view(4, 1, 1).expand(4, 2, 1)  # x_t = t + 1 for both sequences

    def step(x_t, state):
        total = state[0] * 10 + x_t  # a running number that records the order of the steps
        return total, (total,)

    ys, (final,) = scan(step, xs, (torch.zeros(2, 1),))
    assert ys[:, 0, 0].tolist() == [1.0, 12.0, 123.0, 1234.0] and final[0, 0] == 1234.0
    mask = length_mask(torch.tensor([4, 2]), 4, torch.device("cpu"))
    ys, (final,) = scan(step, xs, (torch.zeros(2, 1),), mask)
    assert ys[:, 1, 0].tolist() == [1.0, 12.0, 0.0, 0.0]  # zero output past the length
    assert final[:, 0].tolist() == [1234.0, 12.0]  # state at each sequence's true end
