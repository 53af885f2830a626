"""Objectives, batch handling, state pytrees, StreamDataset and the sampler, against direct computations."""

from collections import namedtuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.training import (
    ClassificationObjective,
    RegressionObjective,
    SequenceCrossEntropyObjective,
    StreamDataset,
    StreamingLMObjective,
    detach_state,
)
from rnnkit.training.loaders import EpochSampler
from rnnkit.training.objectives import call_model, unpack_batch
from rnnkit.training.tbptt import map_state, shard_rows


class Echo(nn.Module):
    """Returns its input (optionally with a state) so the loss is computed on known numbers."""

    def __init__(self, stateful=False):
        super().__init__()
        self.stateful = stateful
        self.lengths_seen = None

    def forward(self, x, lengths=None, state=None):
        self.lengths_seen = lengths
        return (x, "new-state") if self.stateful else x


def test_regression_masks_padded_steps_and_counts_them():
    pred = torch.randn(3, 4, 2, dtype=torch.float64)
    target = torch.randn(3, 4, 2, dtype=torch.float64)
    lengths = torch.tensor([4, 2, 1])
    out = RegressionObjective().step(Echo(), (pred, target, lengths))
    valid = [(b, t) for b in range(3) for t in range(int(lengths[b]))]
    diffs = torch.stack([pred[b, t] - target[b, t] for b, t in valid])       # (7, 2)
    torch.testing.assert_close(out.loss, diffs.square().mean())
    torch.testing.assert_close(out.metrics["mae"], diffs.abs().mean())
    assert out.count == 7 and out.state is None


def test_regression_unmasked_counts_and_shape_error():
    pred, target = torch.randn(5, 3), torch.randn(5, 3)
    out = RegressionObjective().step(Echo(), (pred, target))
    torch.testing.assert_close(out.loss, F.mse_loss(pred, target))
    torch.testing.assert_close(out.metrics["mae"], (pred - target).abs().mean())
    assert out.count == 5 and not out.metrics["mae"].requires_grad
    with pytest.raises(ValueError, match=r"predicts shape \(5, 3\) but the targets have shape \(5, 2\); make"):
        RegressionObjective().step(Echo(), (pred, target[:, :2]))


def test_classification_matches_torch_cross_entropy_and_accuracy():
    logits = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    out = ClassificationObjective(label_smoothing=0.1).step(Echo(), (logits, labels))
    torch.testing.assert_close(out.loss, F.cross_entropy(logits, labels, label_smoothing=0.1))
    torch.testing.assert_close(out.metrics["accuracy"], (logits.argmax(1) == labels).float().mean())
    assert out.count == 6
    with pytest.raises(ValueError, match=r"expects logits \(B, C\) and labels \(B,\), got logits \(6, 2, 2\)"):
        ClassificationObjective().step(Echo(), (logits.reshape(6, 2, 2), labels))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\) \(got 1.0\)"):
        ClassificationObjective(label_smoothing=1.0)


def test_sequence_cross_entropy_ignores_padding_label_and_steps_past_lengths():
    logits = torch.randn(2, 5, 3, dtype=torch.float64)
    labels = torch.tensor([[0, 1, 2, -100, 1], [2, 2, 0, 1, 1]])
    lengths = torch.tensor([5, 3])
    out = SequenceCrossEntropyObjective().step(Echo(), (logits, labels, lengths))
    valid = [(0, 0), (0, 1), (0, 2), (0, 4), (1, 0), (1, 1), (1, 2)]
    losses = torch.stack([F.cross_entropy(logits[b, t][None], labels[b, t][None]) for b, t in valid])
    torch.testing.assert_close(out.loss, losses.mean())
    correct = sum(int(logits[b, t].argmax() == labels[b, t]) for b, t in valid)
    torch.testing.assert_close(out.metrics["accuracy"].double(), torch.tensor(correct / 7, dtype=torch.float64))
    assert out.count == 7


def test_all_padding_batch_counts_zero_with_a_zero_loss():
    logits = torch.randn(1, 2, 3, requires_grad=True)
    out = SequenceCrossEntropyObjective(ignore_index=0).step(Echo(), (logits, torch.zeros(1, 2, dtype=torch.long)))
    assert out.count == 0 and out.loss.item() == 0.0
    out.loss.backward()                                      # still differentiable (zero gradient)
    assert logits.grad.abs().sum() == 0


def test_streaming_objective_is_stateful_and_passes_the_state():
    objective = StreamingLMObjective()
    assert objective.stateful and objective.streaming
    out = objective.step(Echo(stateful=True), (torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)), "old")
    assert out.state == "new-state"
    with pytest.raises(TypeError, match=r"Echo is used with a stateful objective .* must return \(output, state\)"):
        objective.step(Echo(stateful=False), (torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)))


def test_unpack_batch_layouts_and_errors():
    x, y, n = torch.zeros(2, 3), torch.zeros(2), torch.tensor([3, 2])
    assert unpack_batch((x, y))[2] is None
    assert unpack_batch([x, y, n])[2] is n
    assert unpack_batch({"inputs": x, "targets": y})[1] is y
    assert unpack_batch((x,), need_targets=False)[1] is None
    with pytest.raises(ValueError, match=r"a batch mapping needs the key 'inputs' \(got keys \['x', 'y'\]\)"):
        unpack_batch({"x": x, "y": y})
    with pytest.raises(ValueError, match=r"a batch must be \(inputs, targets\).*of length 4"):
        unpack_batch((x, y, n, n))
    with pytest.raises(ValueError, match=r"this batch has no targets"):
        unpack_batch((x,))


def test_call_model_passes_lengths_and_takes_the_first_output():
    model = Echo()
    x, lengths = torch.randn(2, 3, 1), torch.tensor([3, 1])
    prediction, state = call_model(model, x, lengths=lengths)
    assert prediction is x and state is None and model.lengths_seen is lengths


def test_split_time_gives_consecutive_chunks_and_refuses_what_it_cannot_split():
    x, y = torch.arange(2 * 7).reshape(2, 7, 1).float(), torch.arange(2 * 7).reshape(2, 7)
    chunks = RegressionObjective(stateful=True).split_time((x, y), 3)
    assert [c[0].shape[1] for c in chunks] == [3, 3, 1]
    torch.testing.assert_close(torch.cat([c[0] for c in chunks], dim=1), x)
    torch.testing.assert_close(torch.cat([c[1] for c in chunks], dim=1), y)
    with pytest.raises(ValueError, match=r"one target per time step: inputs \(2, 7, 1\) and targets \(2,\)"):
        RegressionObjective().split_time((x, y[:, 0]), 3)
    with pytest.raises(ValueError, match=r"truncated BPTT runs over unpadded streams, but this batch has lengths"):
        RegressionObjective().split_time((x, y, torch.tensor([7, 5])), 3)


def test_shard_rows_gives_each_process_its_block_of_streams():
    batch = torch.arange(8).reshape(4, 2)
    assert shard_rows(batch, 1, 2).tolist() == [[4, 5], [6, 7]]
    with pytest.raises(ValueError, match=r"a streaming batch of 4 streams cannot be shared equally by 3 processes"):
        shard_rows(batch, 0, 3)


def test_detach_state_keeps_structure_and_cuts_gradients():
    Pair = namedtuple("Pair", "h c")
    leaf = torch.ones(2, requires_grad=True)
    state = {"a": Pair(leaf * 2, [leaf * 3, (leaf * 4,)]), "b": None}
    detached = detach_state(state)
    assert isinstance(detached["a"], Pair) and isinstance(detached["a"].c, list)
    assert isinstance(detached["a"].c[1], tuple) and detached["b"] is None
    assert not detached["a"].h.requires_grad and detached["a"].c[1][0].tolist() == [4.0, 4.0]
    with pytest.raises(TypeError, match=r"a recurrent state must be a tensor or a tuple/list/dict of tensors \(got str\)"):
        map_state(torch.neg, "h")


def test_stream_dataset_batches_continue_each_other_row_by_row():
    sequence = torch.arange(23)
    stream = StreamDataset(sequence, num_streams=2, seq_len=4)
    # (23 - 1) // 2 = 11 steps per stream: stream 0 = inputs 0..10, stream 1 = inputs 11..21; chunks of 4, 4, 3.
    assert stream.steps_per_stream == 11 and len(stream) == 6
    batches = [torch.stack([stream[2 * c + b][0] for b in range(2)]) for c in range(3)]
    rows = torch.cat(batches, dim=1)                                    # (2, 11)
    assert rows.tolist() == [list(range(0, 11)), list(range(11, 22))]
    x, y = stream[5]
    assert x.tolist() == [19, 20, 21] and y.tolist() == [20, 21, 22]
    with pytest.raises(ValueError, match=r"too short for 30 streams; use fewer streams or more data"):
        StreamDataset(sequence, num_streams=30, seq_len=4)
    with pytest.raises(ValueError, match=r"seq_len must be an integer >= 1 \(got 0\)"):
        StreamDataset(sequence, num_streams=2, seq_len=0)
    with pytest.raises(ValueError, match=r"targets have 5 steps but the sequence has 23"):
        StreamDataset(sequence, num_streams=2, seq_len=4, targets=torch.zeros(5))


def test_epoch_sampler_shards_a_shared_permutation_and_resumes():
    single = EpochSampler(16, shuffle=True, seed=3)
    ranks = [EpochSampler(16, shuffle=True, seed=3, rank=r, world_size=2) for r in range(2)]
    for epoch in (0, 1):
        for sampler in (single, *ranks):
            sampler.set_epoch(epoch)
        order = list(single)
        assert order == _order(16, 3, epoch)                            # randperm seeded with seed + epoch
        per_rank = [list(s) for s in ranks]
        # Global batch k of 4 (single process) == union of the processes' batches k of 2.
        for k in range(4):
            assert sorted(order[4 * k:4 * k + 4]) == sorted(per_rank[0][2 * k:2 * k + 2] + per_rank[1][2 * k:2 * k + 2])
    single.set_epoch(0)
    epoch0 = list(single)
    single.set_epoch(1)
    assert list(single) != epoch0                                        # a new order each epoch
    single.resume(1, 5)
    assert list(single) == _order(16, 3, 1)[5:]
    assert len(list(single)) == 16                                       # the skip applies once
    padded = [list(EpochSampler(5, shuffle=False, seed=0, rank=r, world_size=2)) for r in range(2)]
    assert padded == [[0, 2, 4], [1, 3, 0]]


def _order(n, seed, epoch):
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
