"""xLSTM blocks and xLSTMStack: causality, state passing, lengths, init, learning, config errors."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.layers.blocks import mLSTMBlock, mLSTMBlockState, sLSTMBlock, xLSTMStack, xLSTMStackConfig
from rnnkit.layers.xlstm import sLSTMState

E = 8


def make_stack(pattern="msm", dtype=torch.float64, **options):
    torch.manual_seed(0)
    return xLSTMStack(E, pattern, num_heads=2, chunk_size=3, **options).to(dtype)


def test_pattern_builds_the_blocks_in_order():
    stack = xLSTMStack(E, "mmmmmmms", num_heads=2)
    kinds = [type(block) for block in stack.blocks]
    assert kinds == [mLSTMBlock] * 7 + [sLSTMBlock]
    assert stack.output_size == E and rnnkit.xLSTMStack is xLSTMStack
    block = stack.blocks[0]
    assert block.up.out_features == 2 * 2 * E  # up-projection x2, two branches
    assert block.conv.kernel_size == (4,) and block.conv.groups == 2 * E  # depthwise causal conv, k=4
    assert torch.allclose(block.gates.bias[2:], torch.linspace(3.0, 6.0, 2))  # forget gate biased open


def test_stack_is_causal():
    stack = make_stack()
    x = torch.randn(2, 9, E, dtype=torch.float64)
    y, _ = stack(x)
    x2 = x.clone()
    x2[:, 5:] += torch.randn(2, 4, E, dtype=torch.float64)  # change only the future
    y2, _ = stack(x2)
    assert torch.allclose(y[:, :5], y2[:, :5], rtol=1e-12, atol=1e-14)
    assert not torch.allclose(y[:, 5:], y2[:, 5:])


@pytest.mark.parametrize("mode", ["chunkwise", "parallel"])
def test_token_by_token_equals_the_whole_sequence(mode):
    stack = make_stack(mode=mode)
    x = torch.randn(2, 9, E, dtype=torch.float64)
    y, state = stack(x)
    steps, step_state = [], None
    for t in range(x.shape[1]):
        y_t, step_state = stack(x[:, t : t + 1], step_state)
        steps.append(y_t)
    assert torch.allclose(torch.cat(steps, dim=1), y, rtol=1e-10, atol=1e-12)
    for block_state, block_state_ref in zip(step_state, state):
        for a, b in zip(block_state, block_state_ref):
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    assert isinstance(state[0], mLSTMBlockState) and isinstance(state[1], sLSTMState)


def test_split_sequence_state_passing():
    stack = make_stack()
    x = torch.randn(2, 10, E, dtype=torch.float64)
    y, _ = stack(x)
    y_a, state_a = stack(x[:, :2])  # shorter than the convolution's kernel
    y_b, _ = stack(x[:, 2:], state_a)
    assert torch.allclose(torch.cat((y_a, y_b), dim=1), y, rtol=1e-10, atol=1e-12)


def test_lengths_give_each_sequence_its_own_result():
    stack = make_stack()
    x = torch.randn(3, 8, E, dtype=torch.float64)
    lengths = [8, 5, 2]
    y, state = stack(x, lengths=lengths)
    for b, length in enumerate(lengths):
        y_b, state_b = stack(x[b : b + 1, :length])
        assert torch.allclose(y[b : b + 1, :length], y_b, rtol=1e-10, atol=1e-12)
        assert torch.count_nonzero(y[b, length:]) == 0
        for block_state, block_state_b in zip(state, state_b):
            for s, s_b in zip(block_state, block_state_b):
                batch_dim = 1 if isinstance(block_state, sLSTMState) else 0
                assert torch.allclose(s.select(batch_dim, b), s_b.select(batch_dim, 0), rtol=1e-10, atol=1e-12)


def test_every_parameter_gets_a_gradient_and_long_inputs_stay_finite():
    stack = make_stack(dtype=torch.float32)
    x = (torch.randn(2, 300, E) * 50).requires_grad_()
    y, state = stack(x)
    y.square().mean().backward()
    assert torch.isfinite(y).all() and torch.isfinite(x.grad).all()
    for name, param in stack.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    assert all(torch.isfinite(s).all() for block_state in state for s in block_state)


def test_stack_learns_to_recall_the_token_two_steps_back():
    """A small 'ms' stack learns y_t = x_{t-2} (needs memory); the loss falls by 10x."""
    torch.manual_seed(0)
    stack = xLSTMStack(E, "ms", num_heads=2, chunk_size=8)
    embed, head = torch.nn.Linear(1, E), torch.nn.Linear(E, 1)
    optimizer = torch.optim.Adam([*stack.parameters(), *embed.parameters(), *head.parameters()], lr=1e-2)
    losses = []
    for _ in range(100):
        x = torch.randn(16, 12, 1)
        target = torch.nn.functional.pad(x, (0, 0, 2, 0))[:, :12]
        y, _ = stack(embed(x))
        loss = torch.nn.functional.mse_loss(head(y)[:, 2:], target[:, 2:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.1 * sum(losses[:10]) / 10


def test_config_errors_are_named():
    with pytest.raises(ValueError, match=r"pattern must be a non-empty string of 'm' .* got 'mx'"):
        xLSTMStackConfig(E, "mx")
    with pytest.raises(ValueError, match=r"num_heads=3 must divide the embedding_dim \(8\)"):
        xLSTMStackConfig(E, num_heads=3)
    with pytest.raises(ValueError, match=r"mode must be one of .*got 'fast'"):
        xLSTMStackConfig(E, mode="fast")
    with pytest.raises(ValueError, match=r"up_factor must be a positive number, got 0"):
        xLSTMStackConfig(E, up_factor=0)
    with pytest.raises(TypeError, match=r"chunk_size must be a positive int"):
        xLSTMStackConfig(E, chunk_size=1.5)
    stack = make_stack()
    with pytest.raises(ValueError, match=r"x must be \(batch, time, embedding_dim=8\), got \(2, 5, 7\)"):
        stack(torch.randn(2, 5, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"state must be a tuple of 3 block states"):
        stack(torch.randn(2, 5, E, dtype=torch.float64), state=(None,))
    with pytest.raises(ValueError, match=r"lengths must be \(2,\) ints in \[1, T=5\], got \[0, 5\]"):
        stack(torch.randn(2, 5, E, dtype=torch.float64), lengths=[0, 5])
