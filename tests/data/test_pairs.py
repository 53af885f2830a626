"""TSV (source, target) pairs: loading, validation by line, held-out split."""

import pytest

from rnnkit.data.numbers import NumberPairsConfig, length_stratum, number_pairs
from rnnkit.data.pairs import hold_out_sources, load_pairs, split_pairs, validate_pairs
from rnnkit.errors import DataError


def test_load_pairs_reads_tabs_skips_blank_lines_and_strips(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("hola\thello\n\n  uno \t one\nadiós\tgoodbye\n", encoding="utf-8")
    assert load_pairs(path) == [("hola", "hello"), ("uno", "one"), ("adiós", "goodbye")]


@pytest.mark.parametrize(
    "text, match",
    [
        ("a\tb\nno tab here\n", r"line 2: expected 2 tab-separated fields \(source<TAB>target\), got 1"),
        ("a\tb\nc\td\te\n", "line 2: expected 2 tab-separated fields .* got 3"),
        ("a\tb\n\t x\n", "line 2: empty source text"),
        ("a\tb\nc\td\ne\t  \n", "line 3: empty target text"),
        ("\n\n", "no \\(source, target\\) lines found"),
    ],
)
def test_malformed_tsv_names_the_line(tmp_path, text, match):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        load_pairs(path)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pairs(tmp_path / "nope.tsv")
    path = tmp_path / "latin1.tsv"
    path.write_bytes("año\tyear\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_pairs(path)


def test_validate_pairs_messages():
    assert validate_pairs([(" a ", "b")]) == [("a", "b")]
    with pytest.raises(DataError, match="item 1: empty target text"):
        validate_pairs([("a", "b"), ("c", "")])
    with pytest.raises(DataError, match=r"item 0 is \(int, str\), expected \(str, str\)"):
        validate_pairs([(1, "b")])
    with pytest.raises(DataError, match="no \\(source, target\\) pairs"):
        validate_pairs([])


def test_split_keeps_sources_disjoint_and_all_pairs():
    pairs = [(f"s{i % 30}", f"t{i}") for i in range(90)]  # each source has 3 targets
    split = split_pairs(pairs, test_fraction=0.2, seed=4)
    train_sources = {s for s, _ in split.train}
    test_sources = {s for s, _ in split.test}
    assert not train_sources & test_sources
    assert len(test_sources) == 6
    assert sorted(split.train + split.test) == sorted(pairs)


def test_split_refuses_bad_fraction_and_single_source():
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\), got 1.5"):
        split_pairs([("a", "b"), ("c", "d")], test_fraction=1.5)
    with pytest.raises(DataError, match="1 distinct source text"):
        split_pairs([("a", "b"), ("a", "c")])


def test_hold_out_by_stratum_takes_a_fraction_of_each_and_never_the_unheld():
    pairs = [(str(n), f"w{n}") for n in list(range(10)) * 3 + list(range(10, 400))]   # short ones repeated
    stratum = length_stratum("to-words")
    kept, held = hold_out_sources(pairs, 0.1, seed=3, stratum=stratum)
    assert sorted(kept + held) == sorted(pairs)
    held_numbers = {int(s) for s, _ in held}
    assert not held_numbers & {int(s) for s, _ in kept}              # sources disjoint
    by_length = {d: {n for n in held_numbers if len(str(n)) == d} for d in (1, 2, 3)}
    assert [len(by_length[d]) for d in (1, 2, 3)] == [1, 9, 30]        # round(0.1 n), at least one
    assert not held_numbers & {0, 100}                                 # their words occur nowhere else
    assert hold_out_sources(pairs, 0.1, seed=3, stratum=stratum) == (kept, held)
    assert hold_out_sources(pairs, 0.1, seed=4, stratum=stratum) != (kept, held)


def test_hold_out_without_strata_is_the_test_split():
    pairs = [(f"s{i % 30}", f"t{i}") for i in range(90)]
    split = split_pairs(pairs, test_fraction=0.2, seed=4)
    assert hold_out_sources(pairs, 0.2, seed=4) == (split.train, split.test)


def test_to_digits_pairs_are_stratified_by_their_target_number():
    split = number_pairs(NumberPairsConfig(high=10_000, n_train=600, n_test=60, direction="to-digits"))
    kept, held = hold_out_sources(split.train, 0.05, stratum=length_stratum("to-digits"))
    assert {len(t) for _, t in held} == {1, 2, 3, 4}
    assert not {s for s, _ in held} & {s for s, _ in kept}
