"""Character and word tokenizers: splitting rules, round trips, (de)serialization, bad input."""

import pytest

from rnnkit.data.tokenizers import (
    WORD_PATTERN,
    CharTokenizer,
    WordTokenizer,
    get_tokenizer,
    tokenizer_from_dict,
)


def test_char_tokenizer_splits_every_character_and_round_trips():
    tok = CharTokenizer()
    text = "hello, Wörld!\n\ttab 😀"
    tokens = tok.tokenize(text)
    assert tokens[:5] == ["h", "e", "l", "l", "o"]
    assert len(tokens) == len(text)
    assert tok.detokenize(tokens) == text


def test_char_tokenizer_lowercase_option():
    assert CharTokenizer(lowercase=True).tokenize("HeLLo") == list("hello")
    assert CharTokenizer().tokenize("HeLLo") == list("HeLLo")


def test_word_tokenizer_regex_words_apostrophes_punctuation():
    tok = WordTokenizer()
    assert tok.tokenize("Don't panic, Arthur!  It’s 42.") == [
        "don't", "panic", ",", "arthur", "!", "it’s", "42", "."
    ]
    assert WordTokenizer(lowercase=False).tokenize("The END") == ["The", "END"]
    assert tok.tokenize("café naïve") == ["café", "naïve"]
    assert tok.tokenize("   \n ") == []


def test_word_detokenize_round_trips_tokens_and_normal_form_text():
    tok = WordTokenizer()
    text = "it was (really) the best film, wasn't it? yes: 100%!"
    assert tok.detokenize(tok.tokenize(text)) == text
    odd = ["(", "(", "a", ")", ",", ",", "b", "'", "c", "-", "-"]
    assert tok.tokenize(tok.detokenize(odd)) == odd


def test_custom_pattern_and_serialization_round_trip():
    tok = WordTokenizer(lowercase=False, pattern=r"[a-z]+")
    assert tok.tokenize("ab1cd E") == ["ab", "cd"]
    again = tokenizer_from_dict(tok.to_dict())
    assert again == tok and again.tokenize("ab1cd E") == ["ab", "cd"]
    assert tokenizer_from_dict(CharTokenizer(lowercase=True).to_dict()) == CharTokenizer(lowercase=True)
    assert WordTokenizer().pattern == WORD_PATTERN


def test_get_tokenizer_levels_and_defaults():
    assert get_tokenizer("char") == CharTokenizer(lowercase=False)
    assert get_tokenizer("word") == WordTokenizer(lowercase=True)
    assert get_tokenizer("word", lowercase=False).lowercase is False


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: get_tokenizer("byte"), r"level must be one of char, word, got 'byte'"),
        (lambda: WordTokenizer(pattern="(ab"), r"not a valid regular expression.*WORD_PATTERN"),
        (lambda: WordTokenizer(pattern=r"(\w)+"), r"capturing group.*non-capturing"),
        (lambda: WordTokenizer(pattern=r"\w*"), r"matches the empty string"),
        (lambda: CharTokenizer(lowercase="yes"), r"lowercase must be a bool, got str 'yes'"),
        (lambda: CharTokenizer().tokenize(b"abc"), r"text must be a str, got bytes; decode"),
        (lambda: tokenizer_from_dict({"level": "x"}), r"needs 'level' in"),
        (lambda: tokenizer_from_dict({"level": "char", "colour": 1}), r"bad tokenizer description"),
    ],
)
def test_bad_input_messages(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
