import pytest
import torch

from rnnkit.models import SequenceClassifier, SequenceClassifierConfig, SequenceTagger, SequenceTaggerConfig, pool
CELLS = ("rnn", "lstm", "gru", "slstm", "mlstm")


def test_pool_against_manual_computation():
    out = torch.randn(3, 5, 4, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 3])
    last = pool(out, lengths, "last")
    mean = pool(out, lengths, "mean")
    mx = pool(out, lengths, "max")
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(last[b], out[b, n - 1])
        torch.testing.assert_close(mean[b], out[b, :n].mean(0))
        torch.testing.assert_close(mx[b], out[b, :n].max(0).values)
    bi = pool(out, lengths, "last", bidirectional=True)
    torch.testing.assert_close(bi[1], torch.cat([out[1, 1, :2], out[1, 0, 2:]]))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_padding_never_leaks_into_the_classifier(cell, pooling):
    config = SequenceClassifierConfig(
        num_outputs=3, cell=cell, vocab_size=11, embedding_dim=4, hidden_size=6, num_layers=2,
        bidirectional=True, pooling=pooling,
    )
    model = SequenceClassifier(config).double().eval()
    lengths = torch.tensor([6, 2, 4])
    x = torch.randint(1, 11, (3, 6))
    x_noisy_pads = x.clone()
    for b, n in enumerate(lengths.tolist()):
        x_noisy_pads[b, n:] = torch.randint(1, 11, (6 - n,))  # garbage, not even the pad id
    batched = model(x_noisy_pads, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone = model(x[b : b + 1, :n])  # the sequence on its own, no padding at all
        torch.testing.assert_close(batched[b : b + 1], alone, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cell", CELLS)
def test_tagger_padding_and_per_step_outputs(cell):
    model = SequenceTagger(SequenceTaggerConfig(num_outputs=2, cell=cell, input_size=3, hidden_size=6, bidirectional=True)).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 3])
    y, _ = model(x, lengths)
    assert y.shape == (2, 5, 2)
    assert torch.all(y[1, 3:] == 0)
    alone, _ = model(x[1:, :3])
    torch.testing.assert_close(y[1:, :3], alone, rtol=1e-10, atol=1e-10)


def test_pretrained_frozen_embedding_is_used_and_not_trained():
    weights = torch.randn(7, 3)
    config = SequenceClassifierConfig(num_outputs=2, vocab_size=7, embedding_dim=3, hidden_size=4, freeze_embedding=True, padding_idx=None)
    model = SequenceClassifier(config, embedding_weights=weights)
    torch.testing.assert_close(model.encoder.embedding.weight, weights)
    model(torch.randint(0, 7, (2, 4))).sum().backward()
    assert model.encoder.embedding.weight.grad is None
    with pytest.raises(ValueError, match=r"embedding_weights must have shape \(vocab_size, embedding_dim\) = \(7, 3\), got \(7, 4\)"):
        SequenceClassifier(config, embedding_weights=torch.randn(7, 4))


def test_bad_inputs_are_named():
    model = SequenceClassifier(SequenceClassifierConfig(num_outputs=2, vocab_size=5, embedding_dim=3, hidden_size=4))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, vocab_size=5\), got min 0 and max 9"):
        model(torch.tensor([[0, 9]]))
    with pytest.raises(ValueError, match="this model reads token ids"):
        model(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"lengths must be in \[1, T=2\], got min 0"):
        model(torch.tensor([[1, 2], [3, 4]]), torch.tensor([0, 2]))
    feat = SequenceClassifier(SequenceClassifierConfig(num_outputs=2, input_size=3, hidden_size=4))
    with pytest.raises(ValueError, match=r"x must be a float tensor \(B, T, F=3\)"):
        feat(torch.randn(2, 3, 5))
