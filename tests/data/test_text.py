"""Reading text/CSV files (with the bad-input messages), TBPTT stream layout, corpora, sentiment data."""

import bz2

import pytest
import torch

from rnnkit.data import corpora
from rnnkit.data.corpora import cache_dir, clean_wiki_markup, corpus_path, load_corpus
from rnnkit.data.sentiment import load_rotten_tomatoes
from rnnkit.data.text import read_labeled_csv, read_text, require_stream_length, split_stream
from rnnkit.errors import DataError


def test_read_text_utf8_and_bom(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffÑandú, 😀\nline two\n".encode("utf-8"))
    assert read_text(path) == "Ñandú, 😀\nline two\n"


def test_read_text_wrong_encoding_says_which_byte_and_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("first line\ncaf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8 \(byte 0xe9 at offset 14, line 2\).*encoding='latin-1'"):
        read_text(path)
    assert read_text(path, encoding="latin-1").startswith("first line\ncafé")


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (b"", DataError, r"is empty \(0 bytes\)"),
        (b"  \n\t \n", DataError, r"contains only whitespace"),
        (b"PK\x03\x04\x00\x00binary", DataError, r"looks binary \(it contains a NUL byte at offset 4\)"),
    ],
)
def test_read_text_bad_files(tmp_path, content, error, match):
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        read_text(path)


def test_read_text_missing_folder_and_bad_encoding_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope.txt' does not exist"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(IsADirectoryError, match=r"is a folder"):
        read_text(tmp_path)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"unknown encoding 'klingon'"):
        read_text(tmp_path / "x.txt", encoding="klingon")


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_labeled_csv_reads_columns_and_drops_empty_rows(tmp_path):
    path = _csv(tmp_path, 'review,stars,x\n"good, fine",pos,1\nbad,neg,2\n,pos,3\nmeh,,4\nplot text,plot,5\n')
    texts, labels = read_labeled_csv(path, "review", "stars", exclude_labels=("plot",))
    assert texts == ["good, fine", "bad"] and labels == ["pos", "neg"]


def test_read_labeled_csv_compressed(tmp_path):
    path = tmp_path / "d.csv.bz2"
    path.write_bytes(bz2.compress(b"t,l\na,x\nb,y\n"))
    assert read_labeled_csv(path, "t", "l") == (["a", "b"], ["x", "y"])


@pytest.mark.parametrize(
    ("content", "cols", "match"),
    [
        ("text,label\na,1\n", ("txt", "label"), r"text column 'txt' is not in .*its columns are 'text', 'label' \(choose one with text_col\)"),
        ("text,label\na,1\n", ("text", "lbl"), r"label column 'lbl' is not in .*with label_col"),
        ("text,label\na,pos\nb,pos\n", ("text", "label"), r"has a single class 'pos'; a classifier needs at least two"),
        ("text,label\n,pos\n", ("text", "label"), r"has no row with both a 'text' text and a 'label' label"),
        ('text,label\n"unclosed,1\n', ("text", "label"), r"is not a readable CSV file"),
    ],
)
def test_read_labeled_csv_bad_input(tmp_path, content, cols, match):
    with pytest.raises(DataError, match=match):
        read_labeled_csv(_csv(tmp_path, content), *cols)


def test_read_labeled_csv_wrong_encoding(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("text,label\ncaf\u00e9,a\nb,c\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8 \(byte 0xe9"):
        read_labeled_csv(path, "text", "label")
    assert read_labeled_csv(path, "text", "label", encoding="latin-1")[0] == ["café", "b"]


def test_require_stream_length_message():
    require_stream_length(11, 2, 5)  # exactly one chunk: 2 streams x 5 steps + 1 target
    with pytest.raises(DataError, match=r"the validation text has 10 tokens, shorter than one training chunk of 2 streams x 5 steps \+ 1 = 11 tokens; give more text or lower batch_size / bptt"):
        require_stream_length(10, 2, 5, what="validation text")
    with pytest.raises(ValueError, match=r"seq_len must be a positive integer, got 0"):
        require_stream_length(10, 2, 0)


def test_split_stream_tail_is_validation():
    train, val = split_stream(torch.arange(100), 0.1)
    assert torch.equal(train, torch.arange(90)) and torch.equal(val, torch.arange(90, 100))
    with pytest.raises(ValueError, match=r"val_fraction must be between 0 and 1"):
        split_stream(torch.arange(10), 1.0)


def test_cache_dir_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "rnnkit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir().parts[-2:] == (".cache", "rnnkit")


def test_hamlet_corpus_and_unknown_name():
    text = load_corpus("hamlet")
    assert "To be, or not to be" in text and len(text) > 150_000
    with pytest.raises(ValueError, match=r"unknown corpus 'moby'; available corpora: hamlet, wiki"):
        corpus_path("moby")


_DUMP = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">
<page><title>Frog</title><ns>0</ns><id>1</id><revision><id>5</id><text>'''Frogs''' are [[amphibian]]s.{{cite web|x=y}}

== Habitat ==
{| class="wikitable"
|-
| a || b
|}
They live near [[water|ponds]].
[[Category:Animals]]</text></revision></page>
<page><title>Froggy</title><ns>0</ns><id>2</id><revision><id>6</id><text>#REDIRECT [[Frog]]</text></revision></page>
</mediawiki>"""


def test_wiki_extraction_cleans_markup_and_caches(monkeypatch, tmp_path):
    source = tmp_path / "dump.xml.bz2"
    source.write_bytes(bz2.compress(_DUMP.encode()))
    monkeypatch.setattr(corpora, "_wiki_source", lambda: source)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = corpus_path("wiki")
    assert path == tmp_path / "cache" / "rnnkit" / "corpora" / "wiki.txt"
    assert path.read_text() == "Frog\n\nFrogs are amphibians.\n\nHabitat\n\nThey live near ponds.\n"
    source.unlink()  # the second call reads the cache
    assert load_corpus("wiki").startswith("Frog\n")
    assert clean_wiki_markup("''x'' [[a|b]]\n\n\n\ny") == "x b\n\ny"


def test_rotten_tomatoes_reviews():
    texts, labels = load_rotten_tomatoes()
    assert len(texts) == 12808 and set(labels) == {"fresh", "rotten"}
    assert labels.count("fresh") == 7403
    assert texts[0] == "A three-hour cinema master class."
