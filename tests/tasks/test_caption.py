"""Captioning task: a small CNN + LSTM captioner learns to caption held-out digit images."""

import pytest
import torch

from rnnkit.errors import CheckpointError
from rnnkit.tasks.caption import (
    CaptionConfig,
    Captioner,
    caption_accuracy,
    caption_held_out,
    train_captioner,
    write_caption_grid,
)

SPANISH = {"cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"}


@pytest.fixture(scope="module")
def trained():
    # a short run: a constant learning rate (the cosine default decays too fast in 10 epochs)
    return train_captioner(CaptionConfig(cell="lstm", epochs=10, lr_schedule="constant", seed=1))


def test_captioner_reaches_stated_held_out_accuracy(trained):
    # stated target: >= 90% of the 359 held-out images get exactly their digit's word
    assert trained.n_test == 359 and trained.n_train == 1438
    assert trained.accuracy >= 0.90
    held = caption_held_out(trained.captioner)
    assert held.accuracy == pytest.approx(trained.accuracy)
    assert set(held.captions) <= SPANISH  # the decoder spells real words, char by char


def test_beam_never_lowers_the_score_and_beam_one_is_greedy(trained):
    model = trained.captioner.model
    images = trained.captioner.held_out().images[:50]
    greedy = model.generate(images, "greedy", max_length=8)
    assert torch.equal(model.generate(images, "beam", beam_size=1, max_length=8).tokens, greedy.tokens)
    assert torch.all(model.generate(images, "beam", beam_size=3, max_length=8).scores >= greedy.scores - 1e-5)


def test_save_load_and_grid(trained, tmp_path):
    trained.captioner.save(tmp_path / "model")
    loaded = Captioner.load(tmp_path / "model")
    images = loaded.held_out().images[:20]
    assert loaded.caption(images, beam=2) == trained.captioner.caption(images, beam=2)
    held = caption_held_out(loaded)
    write_caption_grid(held, tmp_path / "grid.png", count=12)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_english_captions_and_mlstm_conditioning():
    result = train_captioner(CaptionConfig(lang="en", cell="mlstm", epochs=1, hidden_size=16))
    assert result.captioner.lang == "en"
    assert result.captioner.model.decoder.conditioning == "input"  # mLSTM has no h to initialize
    assert set(result.captioner.vocab.tokens[4:]) <= set("zeroneightwhufvsx")


def test_bad_inputs_are_refused(trained, tmp_path):
    with pytest.raises(ValueError, match="beam size must be >= 1, got 0"):
        trained.captioner.caption(trained.captioner.held_out().images[:2], beam=0)
    with pytest.raises(ValueError, match="count must be an int >= 1, got 0"):
        write_caption_grid(caption_held_out(trained.captioner), tmp_path / "g.png", count=0)
    with pytest.raises(ValueError, match="lang must be one of es, en, got 'fr'"):
        CaptionConfig(lang="fr")
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\), got 1.2"):
        CaptionConfig(test_fraction=1.2)
    with pytest.raises(ValueError, match="lr_schedule must be one of constant, cosine.*got 'warm'"):
        CaptionConfig(lr_schedule="warm")
    with pytest.raises(ValueError, match="got 2 captions for 1 references"):
        caption_accuracy(["uno", "dos"], ["uno"])


def test_loading_a_translator_as_captioner_is_refused(tmp_path):
    from rnnkit.models import Seq2Seq, Seq2SeqConfig
    from rnnkit.training import save_model

    save_model(tmp_path / "s2s", Seq2Seq(Seq2SeqConfig(source_vocab_size=6, target_vocab_size=6)))
    with pytest.raises(CheckpointError, match="not a captioner"):
        Captioner.load(tmp_path / "s2s")
