import json
from dataclasses import asdict

import pytest
import torch

from rnnkit.models import (
    ConditionalGenerator,
    ConditionalGeneratorConfig,
    LanguageModel,
    LanguageModelConfig,
    Seq2Seq,
    Seq2SeqConfig,
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceTagger,
    SequenceTaggerConfig,
)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: SequenceClassifierConfig(2, cell="transformer", input_size=3), ValueError,
         r"cell must be one of rnn, lstm, gru, slstm, mlstm, lnlstm, lngru; got 'transformer'"),
        (lambda: SequenceClassifierConfig(2, hidden_size=-4, input_size=3), ValueError, r"hidden_size must be >= 1, got -4"),
        (lambda: SequenceClassifierConfig(0, input_size=3), ValueError, r"num_outputs must be >= 1, got 0"),
        (lambda: SequenceClassifierConfig(2, input_size=3, pooling="sum"), ValueError,
         r"pooling must be one of 'last', 'mean', 'max'; got 'sum'"),
        (lambda: SequenceClassifierConfig(2, input_size=3, vocab_size=5, embedding_dim=3), ValueError,
         r"give exactly one input kind: vocab_size \(token ids, with embedding_dim\) or input_size"),
        (lambda: SequenceClassifierConfig(2, vocab_size=5), ValueError, r"embedding_dim is required with vocab_size"),
        (lambda: SequenceClassifierConfig(2, input_size=3, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
        (lambda: SequenceClassifierConfig(2, input_size=3, num_layers=2.5), TypeError, r"num_layers must be an int, got float 2.5"),
        (lambda: SequenceTaggerConfig(2, input_size=0), ValueError, r"input_size must be >= 1, got 0"),
        (lambda: SequenceTaggerConfig(2, input_size=3, cell_kwargs="relu"), TypeError, r"cell_kwargs must be a dict"),
        (lambda: LanguageModelConfig(vocab_size=0), ValueError, r"vocab_size must be >= 1, got 0"),
        (lambda: LanguageModelConfig(vocab_size=5, cell="LSTM"), ValueError, r"cell must be one of .*; got 'LSTM'"),
        (lambda: ConditionalGeneratorConfig(10, 4, beam_size=0), ValueError, r"beam_size must be >= 1, got 0"),
        (lambda: ConditionalGeneratorConfig(10, 4, cell="mlstm", conditioning="init"), ValueError,
         r"conditioning='init' needs a hidden state to initialize, but the mlstm state has none; use conditioning='input'"),
        (lambda: ConditionalGeneratorConfig(10, 4, image_channels=1), ValueError, r"image_channels and image_size go together"),
        (lambda: ConditionalGeneratorConfig(10, 4, image_channels=1, image_size=3), ValueError,
         r"image_size 3 is too small for 2 CNN blocks \(each halves it\); use image_size >= 4"),
        (lambda: ConditionalGeneratorConfig(10, 4, eos_id=10), ValueError, r"eos_id must be < vocab_size=10, got 10"),
        (lambda: Seq2SeqConfig(10, 10, beam_size=0), ValueError, r"beam_size must be >= 1, got 0"),
        (lambda: Seq2SeqConfig(10, 10, attention="dot"), ValueError,
         r"attention must be one of 'additive', 'multiplicative'; got 'dot'"),
        (lambda: Seq2SeqConfig(10, 10, teacher_forcing=1.5), ValueError, r"teacher_forcing must be in \[0, 1\], got 1.5"),
        (lambda: Seq2SeqConfig(10, 10, decoder_cell="elman"), ValueError, r"decoder_cell must be one of .*; got 'elman'"),
        (lambda: Seq2SeqConfig(-1, 10), ValueError, r"source_vocab_size must be >= 1, got -1"),
    ],
)
def test_bad_configuration_values_are_rejected_by_message(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("model_cls", "config"),
    [
        (SequenceClassifier, SequenceClassifierConfig(3, cell="gru", vocab_size=9, embedding_dim=4, bidirectional=True)),
        (SequenceTagger, SequenceTaggerConfig(2, input_size=3, cell_kwargs={"nonlinearity": "relu"}, cell="rnn")),
        (LanguageModel, LanguageModelConfig(12, tie_weights=True)),
        (ConditionalGenerator, ConditionalGeneratorConfig(10, 6, image_channels=1, image_size=8)),
        (Seq2Seq, Seq2SeqConfig(9, 11, attention="additive", decoder_cell="gru")),
    ],
)
def test_configs_are_json_round_trippable_and_rebuild_the_same_model(model_cls, config):
    model = model_cls(config)
    assert model.config is config
    data = json.loads(json.dumps(asdict(config)))
    rebuilt = model_cls(type(config)(**data))
    assert rebuilt.config == config
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    rebuilt.load_state_dict(model.state_dict())


def test_unknown_decoding_method_and_bad_beam_size_at_call_time():
    model = Seq2Seq(Seq2SeqConfig(9, 8))
    src = torch.randint(4, 9, (2, 3))
    with pytest.raises(ValueError, match=r"method must be one of 'greedy', 'sample', 'beam'; got 'nucleus'"):
        model.generate(src, method="nucleus")
    with pytest.raises(ValueError, match=r"beam_size must be >= 1, got 0"):
        model.generate(src, method="beam", beam_size=0)
    with pytest.raises(ValueError, match=r"this model has no attention"):
        model.attention_weights(src, None, torch.ones(2, 3, dtype=torch.long))


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        (SequenceClassifier(SequenceClassifierConfig(3, cell="slstm", vocab_size=9, embedding_dim=4, hidden_size=8)),
         (torch.randint(1, 9, (2, 5)),)),
        (SequenceTagger(SequenceTaggerConfig(2, cell="mlstm", input_size=3, hidden_size=8)), (torch.randn(2, 5, 3),)),
        (LanguageModel(LanguageModelConfig(12, cell="gru", embedding_dim=6, hidden_size=8, tie_weights=True)),
         (torch.randint(0, 12, (2, 5)),)),
        (ConditionalGenerator(ConditionalGeneratorConfig(10, 6, image_channels=1, image_size=8)),
         (torch.randn(2, 1, 8, 8), torch.randint(0, 10, (2, 4)))),
        (Seq2Seq(Seq2SeqConfig(9, 11, attention="additive", decoder_cell="gru", bidirectional=True)),
         (torch.randint(4, 9, (2, 5)), torch.tensor([5, 3]), torch.randint(0, 11, (2, 4)))),
    ],
)
def test_models_survive_the_engines_save_and_load(tmp_path, model, inputs):
    from rnnkit.training import load_model, save_model

    model.eval()
    save_model(tmp_path / "saved", model)
    loaded, _ = load_model(tmp_path / "saved")
    assert type(loaded) is type(model) and loaded.config == model.config
    expected, got = model(*inputs), loaded(*inputs)
    expected = expected[0] if isinstance(expected, tuple) else expected
    got = got[0] if isinstance(got, tuple) else got
    torch.testing.assert_close(got, expected)
