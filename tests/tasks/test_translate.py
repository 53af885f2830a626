"""Translation task: a small seq2seq learns to reverse digit strings; decoding, attention,
saving and every bad input through the task API."""

import random

import numpy as np
import pytest
import torch

from rnnkit.data.pairs import PairSplit
from rnnkit.data.vocab import EOS_ID
from rnnkit.errors import DataError
from rnnkit.tasks.translate import (
    TranslateConfig,
    Translator,
    evaluate_translator,
    load_translation_pairs,
    train_translator,
    validation_split,
    write_attention_map,
)


def reversal_split(n_train=1500, n_test=200, seed=0):
    """Distinct digit strings of 3-7 digits paired with their reverse (train/test disjoint)."""
    rng = random.Random(seed)
    strings = set()
    while len(strings) < n_train + n_test:
        strings.add("".join(rng.choice("0123456789") for _ in range(rng.randint(3, 7))))
    strings = sorted(strings)
    rng.shuffle(strings)
    pairs = [(s, s[::-1]) for s in strings]
    return PairSplit(pairs[:n_train], pairs[n_train:], "reversed digit strings")


@pytest.fixture(scope="module")
def reverser():
    torch.manual_seed(0)
    config = TranslateConfig(dataset="file", path="reverse.tsv", level="char", cell="lstm",
                             attention="multiplicative", hidden_size=64, embedding_dim=16,
                             epochs=7, batch_size=32, lr=5e-3)
    return train_translator(config, split=reversal_split())


def test_small_seq2seq_learns_to_reverse_digit_strings(reverser):
    # stated target: >= 95% exact match on 200 held-out strings never seen in training
    assert reverser.scores.n == 200
    assert reverser.scores.exact_match >= 0.95
    assert reverser.scores.chrf >= 97.0
    translator = reverser.translator
    assert translator.translate(["12345", "9070"]) == ["54321", "0709"]


def test_scores_agree_with_outputs(reverser):
    test = reversal_split().test
    scores, outputs = evaluate_translator(reverser.translator, test)
    assert scores.exact_match == pytest.approx(np.mean([o == t for o, (_, t) in zip(outputs, test)]))
    assert scores == reverser.scores


def test_attention_sums_to_one_and_ignores_padding(reverser):
    translator = reverser.translator
    src, lengths = translator.encode_sources(["123", "4567890", "55"])
    assert src.shape == (3, 8) and lengths.tolist() == [4, 8, 3]            # each source ends with <eos>
    assert src[torch.arange(3), lengths - 1].tolist() == [EOS_ID] * 3
    hyps = translator.model.generate(src, lengths, max_length=10)
    alpha = translator.model.attention_weights(src, lengths, hyps.tokens)  # (B, L, S)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:2]))
    pad = torch.arange(8)[None, :] >= lengths[:, None]  # (B, S)
    assert torch.all(alpha.masked_select(pad[:, None, :].expand_as(alpha)) == 0)
    amap = translator.attention_map("4567")
    assert amap.source_tokens == [*"4567", "<eos>"] and amap.output_tokens[-1] == "<eos>"
    np.testing.assert_allclose(amap.weights.sum(axis=1), 1.0, atol=1e-6)
    # reversing: the first output digit attends most to the last source digit
    assert amap.weights[0].argmax() == 3


def test_beam_one_is_greedy_and_beam_never_scores_worse(reverser):
    translator = reverser.translator
    sources = [s for s, _ in reversal_split().test[:64]]
    src, lengths = translator.encode_sources(sources)
    greedy = translator.model.generate(src, lengths, "greedy", max_length=12)
    beam1 = translator.model.generate(src, lengths, "beam", beam_size=1, max_length=12)
    assert torch.equal(greedy.tokens, beam1.tokens)
    beam4 = translator.model.generate(src, lengths, "beam", beam_size=4, max_length=12)
    assert torch.all(beam4.scores >= greedy.scores - 1e-5)
    assert translator.translate(sources, beam=1) == translator.translate(sources)


def test_save_and_load_translate_the_same(reverser, tmp_path):
    reverser.translator.save(tmp_path / "model")
    loaded = Translator.load(tmp_path / "model")
    sources = ["314159", "2718"]
    assert loaded.translate(sources, beam=3) == reverser.translator.translate(sources, beam=3)
    assert loaded.max_source_tokens == 7 and loaded.description == "reversed digit strings"
    assert loaded.source_eos


def test_a_translator_saved_before_sources_ended_with_eos_reads_them_alone(reverser):
    parts = reverser.translator.to_parts()
    del parts["translator"]["source_eos"]                       # as in a model saved before
    older = Translator.from_parts(reverser.translator.model, parts)
    src, lengths = older.encode_sources(["123"])
    assert not older.source_eos and lengths.tolist() == [3] and EOS_ID not in src.tolist()[0]


def test_attention_map_png(reverser, tmp_path):
    path = tmp_path / "att.png"
    write_attention_map(reverser.translator.attention_map("90210"), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="give a path ending in .png, got"):
        write_attention_map(reverser.translator.attention_map("1"), tmp_path / "att.jpg")


@pytest.mark.parametrize(
    "text, match",
    [
        ("12a4", r"unknown character\(s\) 'a' in input '12a4': the model knows only"),
        ("12345678", r"has 8 characters, more than the longest training source \(7\); such inputs "
                     r"are refused, not truncated"),
        ("   ", "empty input"),
    ],
)
def test_bad_prediction_inputs_are_refused(reverser, text, match):
    with pytest.raises(DataError, match=match):
        reverser.translator.translate([text])


def test_bad_beam_is_refused(reverser):
    with pytest.raises(ValueError, match="beam size must be >= 1, got 0; use 1 for greedy"):
        reverser.translator.translate(["123"], beam=0)
    with pytest.raises(ValueError, match="beam size must be >= 1, got -2"):
        reverser.translator.attention_map("123", beam=-2)


def test_additive_attention_also_sums_to_one_and_ignores_padding():
    config = TranslateConfig(dataset="file", path="r.tsv", level="char", attention="additive",
                             hidden_size=8, embedding_dim=4, epochs=1)
    translator = train_translator(config, split=reversal_split(40, 10)).translator
    src, lengths = translator.encode_sources(["1234567", "12", "345"])
    hyps = translator.model.generate(src, lengths, max_length=6)
    alpha = translator.model.attention_weights(src, lengths, hyps.tokens)  # (B, L, S)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:2]))
    pad = torch.arange(8)[None, :] >= lengths[:, None]  # (B, S)
    assert torch.all(alpha.masked_select(pad[:, None, :].expand_as(alpha)) == 0)
    assert torch.all(alpha.masked_select(~pad[:, None, :].expand_as(alpha)) > 0)


def test_model_without_attention_has_no_map():
    config = TranslateConfig(dataset="file", path="r.tsv", level="char", attention="none",
                             hidden_size=8, embedding_dim=4, epochs=1)
    result = train_translator(config, split=reversal_split(40, 10))
    with pytest.raises(ValueError, match="trained with attention='none', so it has no attention"):
        result.translator.attention_map("123")


def test_loading_a_non_translator_is_refused(tmp_path):
    from rnnkit.errors import CheckpointError
    from rnnkit.models import ConditionalGenerator, ConditionalGeneratorConfig
    from rnnkit.training import save_model

    save_model(tmp_path / "gen", ConditionalGenerator(ConditionalGeneratorConfig(vocab_size=6, condition_size=3)))
    with pytest.raises(CheckpointError, match="not a translator"):
        Translator.load(tmp_path / "gen")


def test_builtin_pairs_and_tokenizer_sides():
    numbers = load_translation_pairs(TranslateConfig(n_train=30, n_test=10, max_number=1000))
    assert len(numbers.train) == 30 and numbers.train[0][0].isdigit()
    dates = load_translation_pairs(TranslateConfig(dataset="dates", direction="to-digits",
                                                   n_train=30, n_test=10))
    source, target = dates.test[0]
    assert " de " in source and target[4] == "-"
    assert TranslateConfig().text_level == "word" and TranslateConfig(dataset="dates").text_level == "char"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dataset="wiki"), "dataset must be one of 'numbers', 'dates', 'file'; got 'wiki'"),
        (dict(dataset="file"), "dataset='file' needs path="),
        (dict(path="a.tsv"), "only read with dataset='file'"),
        (dict(attention="dot"), "attention must be one of 'none', 'additive', 'multiplicative'; got 'dot'"),
        (dict(cell="transformer"), "cell must be one of rnn, lstm, gru, slstm, mlstm"),
        (dict(level="byte"), "level must be one of 'char', 'word'"),
        (dict(eval_beam=0), "eval_beam must be >= 1, got 0"),
        (dict(hidden_size=-4), "hidden_size must be >= 1, got -4"),
        (dict(validation_fraction=1.0), r"validation_fraction must be in \(0, 1\)"),
        (dict(lr=0), "lr must be a finite number > 0, got 0"),
        (dict(max_seconds=-1.0), "max_seconds must be a finite number > 0, got -1.0"),
    ],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TranslateConfig(**kwargs)


def test_numbers_are_validated_and_tested_on_every_length_never_trained_on():
    config = TranslateConfig(n_train=400, n_test=40, max_number=10_000, hidden_size=16, embedding_dim=8,
                             epochs=1, validation_fraction=0.1)
    result = train_translator(config)
    assert set(result.by_digits) == set(result.validation_by_digits) == {1, 2, 3, 4}
    train, val = validation_split(load_translation_pairs(config).train, config)
    assert not {s for s, _ in train} & {s for s, _ in val}
    assert sum(total for _, total in result.validation_by_digits.values()) == len({s for s, _ in val})
