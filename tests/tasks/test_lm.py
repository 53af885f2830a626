"""Language-model task: the seed's "hello" example, learning on real text, generation, bad input."""

import math

import pytest
import torch

from rnnkit.data.corpora import load_corpus
from rnnkit.data.vocab import Vocab
from rnnkit.errors import DataError
from rnnkit.tasks.lm import GenerateConfig, LMTrainConfig, TextGenerator, train_lm

TINY = dict(embedding_dim=16, hidden_size=64, batch_size=16, bptt=32, epochs=None, lr=1e-2, progress_bar="off")


@pytest.fixture(scope="module")
def hamlet_lm(tmp_path_factory):
    """A small char LSTM trained for 120 updates on the first 20k characters of Hamlet."""
    root = tmp_path_factory.mktemp("hamlet")
    source = root / "hamlet20k.txt"
    source.write_text(load_corpus("hamlet")[:20000], encoding="utf-8")
    torch.manual_seed(0)
    report = train_lm(LMTrainConfig(source=str(source), cell="lstm", max_steps=120, val_fraction=0.1,
                                    test_fraction=0.1, **TINY), root / "run")
    return report


def test_seed_hello_model_predicts_e_l_l_o(tmp_path):
    source = tmp_path / "hello.txt"
    source.write_text("hello " * 300)
    config = LMTrainConfig(source=str(source), cell="rnn", embedding_dim=8, hidden_size=16, batch_size=4,
                           bptt=12, epochs=None, max_steps=150, lr=1e-2, progress_bar="off")
    report = train_lm(config, tmp_path / "run")
    lm = TextGenerator.load(report.model_dir)
    model, vocab = lm.model, lm.vocab
    assert sorted(vocab.tokens[4:]) == [" ", "e", "h", "l", "o"]
    x = torch.tensor([vocab.encode(list(" hell"))])  # after the space (a word boundary)
    logits, _ = model(x)  # (1, 5, V)
    predicted = vocab.decode(logits.argmax(-1)[0])
    assert predicted[1:] == ["e", "l", "l", "o"]  # h -> e, e -> l, l -> l, l -> o
    assert TextGenerator.load(report.model_dir).generate(GenerateConfig(prime="h", length=4, temperature=0)).text == "hello"
    assert report.bits_per_char < 0.2


def test_tiny_lm_lowers_test_bits_per_char_by_a_factor(hamlet_lm):
    # an untrained model is near log2(V) ~ 6 bits/char; 120 updates bring it below 3.6 (factor > 1.6)
    assert hamlet_lm.initial_bits_per_char > 5.5
    assert hamlet_lm.bits_per_char < 3.6
    assert hamlet_lm.initial_bits_per_char / hamlet_lm.bits_per_char > 1.6
    assert hamlet_lm.bits_per_char == pytest.approx(hamlet_lm.test_loss / math.log(2))
    assert hamlet_lm.perplexity == pytest.approx(math.exp(hamlet_lm.test_loss))
    assert hamlet_lm.steps == 120


def test_the_kneser_ney_baseline_is_scored_on_the_same_test_tail(hamlet_lm):
    # Hamlet at char level: an n-gram of order 4-7 reaches ~2.3-2.6 bits/char, chosen on the training tail;
    # 120 updates of a tiny LSTM are far from it, and the report says so in numbers
    ngram = hamlet_lm.ngram
    assert ngram is not None and 3 <= ngram.order <= 7 and set(ngram.dev_cross_entropy) == set(range(1, 8))
    assert ngram.dev_cross_entropy[ngram.order] == min(ngram.dev_cross_entropy.values())
    assert 1.8 < hamlet_lm.ngram_bits_per_char < 3.0 < hamlet_lm.bits_per_char
    assert hamlet_lm.ngram_bits_per_char == pytest.approx(ngram.cross_entropy / math.log(2))


def test_saved_model_dir_holds_vocab_tokenizer_metrics(hamlet_lm):
    lm = TextGenerator.load(hamlet_lm.model_dir)
    model, vocab, tokenizer, metrics = lm.model, lm.vocab, lm.tokenizer, lm.info["metrics"]
    assert isinstance(vocab, Vocab) and len(vocab) == hamlet_lm.vocab_size
    assert tokenizer.level == "char" and vocab.encode(list("the"))[0] != vocab.unk_id
    assert metrics["bits_per_char"] == pytest.approx(hamlet_lm.bits_per_char)
    assert model.config.vocab_size == len(vocab)


def test_generation_is_reproducible_and_temperature_zero_is_greedy(hamlet_lm):
    def gen(**kw):
        return TextGenerator.load(hamlet_lm.model_dir).generate(GenerateConfig(prime="To be", length=60, **kw)).text

    assert gen(seed=1) == gen(seed=1)
    assert gen(seed=1) != gen(seed=2)
    greedy = gen(temperature=0)
    assert greedy.startswith("To be") and len(greedy) == 65
    assert gen(temperature=1e-4, seed=5) == greedy  # temperature -> 0 equals greedy
    assert gen(top_k=1, seed=7) == greedy  # top-1 sampling is greedy too
    assert gen(top_p=1e-6, seed=7) == greedy  # so is the smallest nucleus


def test_word_level_lm_reports_bits_per_character_over_characters(tmp_path):
    source = tmp_path / "words.txt"
    source.write_text("the cat sat on the mat. the dog sat on the log.\n" * 80)
    config = LMTrainConfig(source=str(source), level="word", embedding_dim=8, hidden_size=32, batch_size=4,
                           bptt=8, epochs=None, max_steps=60, lr=1e-2, progress_bar="off")
    report = train_lm(config, tmp_path / "run")
    assert report.level == "word" and report.vocab_size == 4 + 8
    assert report.chars_per_token == pytest.approx(48 / 14)  # 48 characters per line, 14 tokens
    assert report.bits_per_char == pytest.approx(report.test_loss / math.log(2) / report.chars_per_token)
    assert report.bits_per_char < report.initial_bits_per_char / 3
    text = TextGenerator.load(report.model_dir).generate(GenerateConfig(prime="The cat", length=5, temperature=0)).text
    assert text.startswith("the cat sat on the")


@pytest.mark.parametrize(
    ("prime", "match"),
    [
        ("Ωmega😀", r"the prime text has characters outside the model's vocabulary: 'Ω', '😀'; use only characters seen in training"),
        ("", r"the prime text '' has no char token; give at least one character"),
    ],
)
def test_prime_errors(hamlet_lm, prime, match):
    with pytest.raises(DataError, match=match):
        TextGenerator.load(hamlet_lm.model_dir).generate(GenerateConfig(prime=prime, length=5))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(level="byte"), ValueError, r"level must be one of char, word, got 'byte'"),
        (dict(cell="transformer"), ValueError, r"cell must be one of rnn, lstm, gru, slstm, mlstm"),
        (dict(val_fraction=0.7), ValueError, r"val_fraction must be in \(0, 0.5\), got 0.7"),
        (dict(bptt=0), ValueError, r"bptt must be a positive integer, got 0"),
        (dict(lr=-1.0), ValueError, r"lr must be a finite number > 0"),
    ],
)
def test_config_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        LMTrainConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(length=0), r"length must be a positive integer, got 0"),
        (dict(temperature=-1.0), r"temperature must be a number >= 0 \(0 = greedy\), got -1.0"),
        (dict(top_k=0), r"top_k must be a positive integer or None, got 0"),
        (dict(top_p=1.5), r"top_p must be in \(0, 1\] or None, got 1.5"),
    ],
)
def test_generate_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GenerateConfig(**kwargs)


def test_text_shorter_than_one_chunk(tmp_path):
    source = tmp_path / "short.txt"
    source.write_text("a short text " * 10)  # 130 chars: 6 validation, 6 test, 118 for training
    config = LMTrainConfig(source=str(source), batch_size=8, bptt=16, progress_bar="off")
    with pytest.raises(DataError, match=r"the training text has 118 tokens, shorter than one training chunk of 8 streams x 16 steps \+ 1 = 129 tokens"):
        train_lm(config, tmp_path / "run")
