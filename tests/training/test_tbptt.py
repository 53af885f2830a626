"""Truncated BPTT through the engine vs full BPTT and vs hand-written truncated loops (float64)."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.training import (
    RegressionObjective,
    StreamDataset,
    StreamingLMObjective,
    TrainConfig,
    evaluate,
    fit,
)

FAST = dict(accelerator="cpu", precision="64-true", progress_bar="off", shuffle=False)


class StatefulRegressor(nn.Module):
    """(B, T, 2) -> (B, T, 1) with an LSTM whose (h, c) state is taken and returned."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(2, 5, batch_first=True)
        self.head = nn.Linear(5, 1)

    def forward(self, x, state=None):
        h, state = self.rnn(x, state)
        return self.head(h), state


class TinyLM(nn.Module):
    """ids (B, T) -> logits (B, T, 4), GRU state carried."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(4, 3)
        self.rnn = nn.GRU(3, 5, batch_first=True)
        self.out = nn.Linear(5, 4)

    def forward(self, ids, state=None):
        h, state = self.rnn(self.embed(ids), state)
        return self.out(h), state


def _series(n=8, steps=12):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(n, steps, 2, generator=g, dtype=torch.float64)
    return x, x.cumsum(dim=1)[..., :1] * 0.3


def _model(cls):
    torch.manual_seed(0)
    return cls().double()


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_one_tbptt_update_with_k_at_least_T_uses_the_full_bptt_gradient():
    x, y = _series()
    model = _model(StatefulRegressor)
    before = _params(model)
    reference = copy.deepcopy(model)
    loss = F.mse_loss(reference(x)[0], y)
    grads = dict(zip([n for n, _ in reference.named_parameters()], torch.autograd.grad(loss, list(reference.parameters()))))
    lr = 0.1
    fit(model, RegressionObjective(stateful=True), (x, y),
        config=TrainConfig(optimizer="sgd", lr=lr, tbptt_steps=20, max_steps=1, batch_size=8, **FAST))
    for name, param in model.named_parameters():
        implied_gradient = (before[name] - param.detach()) / lr
        torch.testing.assert_close(implied_gradient, grads[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k", [12, 30])
def test_tbptt_with_k_at_least_T_trains_exactly_like_full_bptt(k):
    x, y = _series()
    full, truncated = _model(StatefulRegressor), _model(StatefulRegressor)
    common = dict(optimizer="adam", lr=0.05, max_epochs=2, batch_size=4, clip_norm=1.0, **FAST)
    fit(full, RegressionObjective(stateful=True), (x, y), config=TrainConfig(**common))
    result = fit(truncated, RegressionObjective(stateful=True), (x, y), config=TrainConfig(tbptt_steps=k, **common))
    assert result.global_step == 4                          # one update per batch: 2 batches x 2 epochs
    for key, value in _params(full).items():
        torch.testing.assert_close(truncated.state_dict()[key], value, rtol=1e-10, atol=1e-12)


def test_tbptt_with_k_below_T_equals_a_hand_written_truncated_loop():
    x, y = _series()
    model = _model(StatefulRegressor)
    reference = copy.deepcopy(model)
    k, lr = 4, 0.05
    result = fit(model, RegressionObjective(stateful=True), (x, y),
                 config=TrainConfig(optimizer="sgd", lr=lr, tbptt_steps=k, max_epochs=2, batch_size=4, **FAST))
    assert result.global_step == 2 * 2 * 3                  # epochs x batches x chunks of 4 in 12 steps

    optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    for _ in range(2):
        for start in (0, 4):
            xb, yb = x[start:start + 4], y[start:start + 4]
            state = None
            for t in range(0, 12, k):
                out, state = reference(xb[:, t:t + k], state)
                loss = F.mse_loss(out, yb[:, t:t + k])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                state = tuple(s.detach() for s in state)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-10, atol=1e-12)
    # The truncation matters: full BPTT on the same data ends elsewhere.
    full = _model(StatefulRegressor)
    fit(full, RegressionObjective(stateful=True), (x, y),
        config=TrainConfig(optimizer="sgd", lr=lr, max_epochs=2, batch_size=4, **FAST))
    assert max((full.state_dict()[n] - v).abs().max() for n, v in reference.state_dict().items()) > 1e-4


def test_streaming_with_tbptt_carries_the_state_across_chunks_and_batches():
    tokens = torch.randint(0, 4, (2 * 12 + 1,), generator=torch.Generator().manual_seed(1))
    model = _model(TinyLM)
    reference = copy.deepcopy(model)
    lr = 0.3
    result = fit(model, StreamingLMObjective(), StreamDataset(tokens, num_streams=2, seq_len=6),
                 config=TrainConfig(optimizer="sgd", lr=lr, tbptt_steps=3, max_epochs=2, batch_size=2,
                                    accelerator="cpu", precision="64-true", progress_bar="off"))
    assert result.global_step == 2 * 4                     # 2 epochs x 12 steps / chunks of 3

    inputs, targets = tokens[:-1].reshape(2, 12), tokens[1:].reshape(2, 12)
    optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    for _ in range(2):
        state = None                                        # the carried state restarts every epoch
        for t in range(0, 12, 3):
            logits, state = reference(inputs[:, t:t + 3], state)
            loss = F.cross_entropy(logits.transpose(1, 2), targets[:, t:t + 3])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state = state.detach()
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=1e-10, atol=1e-12)


def test_chunked_streaming_evaluation_equals_one_forward_over_the_whole_stream():
    tokens = torch.randint(0, 4, (3 * 10 + 1,), generator=torch.Generator().manual_seed(2))
    model = _model(TinyLM)
    metrics = evaluate(model, StreamingLMObjective(), StreamDataset(tokens, num_streams=3, seq_len=4),
                       config=TrainConfig(batch_size=3, **{k: v for k, v in FAST.items() if k != "shuffle"}))
    with torch.no_grad():
        logits, _ = model(tokens[:-1].reshape(3, 10))      # each stream in one pass
        whole = F.cross_entropy(logits.transpose(1, 2), tokens[1:].reshape(3, 10))
    assert metrics["loss"] == pytest.approx(whole.item(), rel=1e-9)


def test_tbptt_refusals_name_the_fix():
    x, y = _series()
    config = TrainConfig(tbptt_steps=4, max_steps=1, **FAST)
    with pytest.raises(ValueError, match=r"tbptt_steps=4 needs a stateful objective .* use e.g. RegressionObjective\(stateful=True\)"):
        fit(_model(StatefulRegressor), RegressionObjective(), (x, y), config=config)
    with pytest.raises(ValueError, match=r"TrainConfig.shuffle=True would break a streaming objective"):
        fit(_model(TinyLM), StreamingLMObjective(), StreamDataset(torch.arange(9) % 4, 2, 2),
            config=TrainConfig(batch_size=2, shuffle=True, max_steps=1))
    with pytest.raises(ValueError, match=r"batch_size=3 must equal the StreamDataset's num_streams=2"):
        fit(_model(TinyLM), StreamingLMObjective(), StreamDataset(torch.arange(9) % 4, 2, 2),
            config=TrainConfig(batch_size=3, max_steps=1))
