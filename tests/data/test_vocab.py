"""Vocab: reserved ids, frequency ordering, limits, unknowns, one-hot, encode/decode, JSON."""

import json

import pytest
import torch

from rnnkit.data.tokenizers import WordTokenizer
from rnnkit.data.vocab import BOS_ID, EOS_ID, PAD_ID, SPECIALS, UNK_ID, Vocab
from rnnkit.errors import DataError


def test_reserved_ids_and_seed_hello_vocabulary():
    v = Vocab.build([list("hello")])
    assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
    assert v.tokens[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    # decreasing frequency, ties in order of first appearance
    assert v.tokens[4:] == ["l", "h", "e", "o"]
    assert v.counts == [0, 0, 0, 0, 2, 1, 1, 1]
    assert v.encode(list("hello")) == [5, 6, 4, 4, 7]


def test_one_hot_is_the_seed_encoding():
    v = Vocab(list("helo"))
    x = v.one_hot(v.encode(list("hell")))
    assert x.shape == (4, 8) and x.dtype == torch.float32
    assert torch.equal(x.sum(-1), torch.ones(4))
    assert torch.equal(x.argmax(-1), torch.tensor([4, 5, 6, 6]))
    batch = v.one_hot(torch.tensor([[4, 5], [0, 7]]), dtype=torch.float64)
    assert batch.shape == (2, 2, 8) and batch[1, 0, PAD_ID] == 1.0


def test_encode_decode_round_trip_with_framing():
    tok = WordTokenizer()
    texts = ["the cat sat on the mat.", "the dog sat!"]
    v = Vocab.build(tok.tokenize(t) for t in texts)
    for text in texts:
        ids = v.encode(tok.tokenize(text), add_bos=True, add_eos=True)
        assert ids[0] == BOS_ID and ids[-1] == EOS_ID
        assert tok.detokenize(v.decode(ids)) == text
        assert v.decode(torch.tensor(ids), skip_special=False)[0] == "<bos>"


def test_unknown_tokens_map_to_unk_and_never_crash():
    v = Vocab.build([["a", "b", "a"]])
    assert v["zzz"] == UNK_ID
    assert v.encode(["a", "zzz", "b", "<unk>"]) == [4, UNK_ID, 5, UNK_ID]
    assert v.decode([4, UNK_ID]) == ["a", "<unk>"]
    assert v.missing(["a", "q", "r", "q"]) == ["q", "r"]
    assert "a" in v and "q" not in v


def test_min_freq_and_max_size():
    texts = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert Vocab.build(texts, min_freq=2).tokens[4:] == ["a", "b", "c"]
    assert Vocab.build(texts, max_size=6).tokens[4:] == ["a", "b"]
    assert len(Vocab.build(texts, max_size=6)) == 6
    assert Vocab.build(texts, min_freq=3, max_size=100).tokens[4:] == ["a", "b"]


def test_special_tokens_in_text_are_not_duplicated():
    v = Vocab.build([["<pad>", "x", "<eos>", "x"]])
    assert v.tokens == list(SPECIALS) + ["x"]


def test_json_and_file_round_trip(tmp_path):
    v = Vocab.build([list("ñandú 😀 hello")])
    again = Vocab.from_json(v.to_json())
    assert again == v and again.counts == v.counts
    assert "ñ" in v.to_json()  # stored unescaped
    path = tmp_path / "sub" / "vocab.json"
    v.save(path)
    assert Vocab.load(path) == v
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"][0] == " "
    assert not list(path.parent.glob(".*tmp"))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Vocab.build([["a"]], min_freq=0), ValueError, r"min_freq must be an integer >= 1, got 0"),
        (lambda: Vocab.build([["a"]], max_size=4), ValueError, r"max_size must be an integer > 4.*got 4"),
        (lambda: Vocab.build("hello"), TypeError, r"got a single str"),
        (lambda: Vocab.build(["hello"]), TypeError, r"each text must be a list of tokens"),
        (lambda: Vocab(["a", "a"]), ValueError, r"token 'a' appears twice"),
        (lambda: Vocab(["a", ""]), TypeError, r"non-empty strings, got '' at position 1"),
        (lambda: Vocab(["a"], counts=[1, 2]), ValueError, r"counts has 2 entries but tokens has 1"),
        (lambda: Vocab(["a"]).encode("ab"), TypeError, r"encode takes a list of tokens"),
        (lambda: Vocab(["a"]).token(9), IndexError, r"id 9 is outside this vocabulary \(valid ids: 0..4\)"),
        (lambda: Vocab(["a"]).one_hot([5]), IndexError, r"ids must lie in 0..4"),
        (lambda: Vocab(["a"]).decode(torch.zeros(2, 2)), ValueError, r"decode each row separately"),
        (lambda: Vocab.from_json("{oops"), DataError, r"not valid JSON"),
        (lambda: Vocab.from_json('{"tokens": []}'), DataError, r"not an rnnkit vocabulary"),
        (
            lambda: Vocab.from_json(Vocab(["a"]).to_json().replace('"version": 1', '"version": 9')),
            DataError,
            r"version 9 is not supported",
        ),
        (
            lambda: Vocab.from_json(Vocab(["a"]).to_json().replace('["a"]', '["a", "a"]').replace("[0]", "[0, 0]")),
            DataError,
            r"corrupt vocabulary: token 'a' appears twice",
        ),
    ],
)
def test_bad_input_messages(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_load_missing_file_message(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"vocab.json' does not exist; check the path"):
        Vocab.load(tmp_path / "vocab.json")
