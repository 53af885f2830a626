import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.data.longrange import (
    COPY_DELIMITER,
    LongRangeDataset,
    adding_baseline_mse,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
)


def test_adding_layout_one_marker_per_half_and_sum_target():
    T = 31
    x, y = adding_problem(500, T, generator=torch.Generator().manual_seed(1))
    assert x.shape == (500, T, 2) and y.shape == (500, 1)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0 and values.max() <= 1
    assert torch.all(markers[:, : T // 2].sum(1) == 1)
    assert torch.all(markers[:, T // 2 :].sum(1) == 1)
    torch.testing.assert_close(y[:, 0], (values * markers).sum(1))
    # the marker positions cover both halves (not always the same step)
    assert markers[:, : T // 2].argmax(1).unique().numel() > T // 4


def test_adding_baseline_is_measured_mse_of_predicting_one():
    _, y = adding_problem(200_000, 10, generator=torch.Generator().manual_seed(2))
    measured = F.mse_loss(torch.ones_like(y), y).item()
    assert adding_baseline_mse() == pytest.approx(1 / 6)
    assert measured == pytest.approx(0.167, abs=0.002)


def test_copy_memory_layout():
    T = 7
    x, y = copy_memory(64, T, generator=torch.Generator().manual_seed(3))
    assert x.shape == y.shape == (64, T + 20) and x.dtype == torch.long
    data = x[:, :10]
    assert data.min() >= 1 and data.max() <= 8
    assert torch.all(x[:, 10 : T + 9] == 0)
    assert torch.all(x[:, T + 9] == COPY_DELIMITER)
    assert torch.all(x[:, T + 10 :] == 0)
    assert torch.all(y[:, : T + 10] == 0)
    assert torch.equal(y[:, -10:], data)


def test_copy_baseline_is_cross_entropy_of_the_memoryless_strategy():
    T = 50
    _, y = copy_memory(2000, T, generator=torch.Generator().manual_seed(4))
    logits = torch.full((T + 20, 10), -1e9)
    logits[: T + 10, 0] = 0.0  # blanks for sure
    logits[T + 10 :, 1:9] = 0.0  # then a uniform guess over the 8 data symbols
    ce = F.cross_entropy(logits.expand(2000, -1, -1).reshape(-1, 10), y.reshape(-1))
    assert ce.item() == pytest.approx(copy_memory_baseline(T), rel=1e-5)
    assert copy_memory_baseline(T) == pytest.approx(10 * math.log(8) / 70)


def test_dataset_items_are_seeded_fresh_and_match_the_generators():
    data = LongRangeDataset("adding", 12, 100, seed=5)
    x0, y0 = data[0]
    assert x0.shape == (12, 2) and y0.shape == (1,)
    assert torch.equal(data[0][0], x0) and torch.equal(LongRangeDataset("adding", 12, 100, seed=5)[0][0], x0)
    assert not torch.equal(data[1][0], x0) and not torch.equal(LongRangeDataset("adding", 12, 100, seed=6)[0][0], x0)
    torch.testing.assert_close(y0[0], (x0[:, 0] * x0[:, 1]).sum())
    copy = LongRangeDataset("copy", 5, 3)
    xc, yc = copy[2]
    assert xc.shape == yc.shape == (25,) and torch.equal(yc[-10:], xc[:10])
    assert len(copy) == 3
    with pytest.raises(IndexError, match="index 3 out of range for 3 sequences"):
        copy[3]


def test_bad_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="T must be >= 2, got 1"):
        adding_problem(3, 1)
    with pytest.raises(ValueError, match="num_sequences must be >= 1, got 0"):
        copy_memory(0, 5)
    with pytest.raises(TypeError, match="T must be an int, got float"):
        copy_memory(2, 5.0)
    with pytest.raises(ValueError, match=r"task must be one of \('adding', 'copy'\), got 'sort'"):
        LongRangeDataset("sort", 5, 2)
