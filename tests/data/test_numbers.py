"""Numbers <-> words pairs (num2words) and ISO dates <-> Spanish long form (Babel)."""

import datetime as dt

import pytest

from rnnkit.data.dates import DatePairsConfig, date_pairs, date_to_words
from rnnkit.data.numbers import NumberPairsConfig, number_pairs, number_to_words


def test_number_words_match_num2words_examples():
    assert number_to_words(1999) == "mil novecientos noventa y nueve"
    assert number_to_words(0) == "cero"
    assert number_to_words(100) == "cien"
    assert number_to_words(101) == "ciento uno"
    assert number_to_words(7, "en") == "seven"
    assert number_to_words(1999, "en") == "one thousand, nine hundred and ninety-nine"


def test_train_and_test_numbers_are_disjoint_and_in_range():
    config = NumberPairsConfig(low=10, high=5000, n_train=3000, n_test=500, seed=3)
    split = number_pairs(config)
    train = {int(digits) for digits, _ in split.train}
    test = {int(digits) for digits, _ in split.test}
    assert len(split.train) == 3000 and len(test) == len(split.test) == 500  # test numbers are distinct
    assert not train & test
    assert min(train | test) >= 10 and max(train | test) < 5000
    assert "[10, 5000)" in split.description


def test_every_length_in_digits_gets_its_share_of_training_and_test_numbers():
    from collections import Counter

    split = number_pairs(NumberPairsConfig(n_train=20_000, n_test=1_000, seed=0))
    test = Counter(len(digits) for digits, _ in split.test)
    train = Counter(len(digits) for digits, _ in split.train)
    # at most a third of a length's numbers are held out: 3 of 0-9, 30 of 10-99; the rest share evenly
    assert dict(test) == {1: 3, 2: 30, 3: 242, 4: 242, 5: 242, 6: 241}
    # the short lengths repeat their training numbers (at most 20 times), the others share evenly
    assert dict(train) == {1: 140, 2: 1200, 3: 4665, 4: 4665, 5: 4665, 6: 4665}
    one_digit = Counter(digits for digits, _ in split.train if len(digits) == 1)
    assert len(one_digit) == 7 and set(one_digit.values()) == {20}
    assert not {d for d, _ in split.train} & {d for d, _ in split.test}
    assert "0" in one_digit and ("100", "cien") in split.train  # words no other number has: always trained


def test_pairs_round_trip_both_directions():
    config = NumberPairsConfig(high=1_000_000, n_train=200, n_test=50, seed=1)
    to_words = number_pairs(config)
    to_digits = number_pairs(NumberPairsConfig(high=1_000_000, n_train=200, n_test=50, seed=1,
                                               direction="to-digits"))
    for digits, words in to_words.train + to_words.test:
        assert words == number_to_words(int(digits))
        assert str(int(digits)) == digits  # no leading zeros
    assert to_digits.train == [(w, d) for d, w in to_words.train]
    assert to_digits.test == [(w, d) for d, w in to_words.test]
    # words -> digits is well posed: different numbers never share their words
    pairs = set(to_words.train + to_words.test)
    assert len({w for _, w in pairs}) == len({d for d, _ in pairs})


def test_same_seed_same_pairs_other_seed_other_pairs():
    a = number_pairs(NumberPairsConfig(n_train=20, n_test=5, seed=0))
    b = number_pairs(NumberPairsConfig(n_train=20, n_test=5, seed=0))
    c = number_pairs(NumberPairsConfig(n_train=20, n_test=5, seed=1))
    assert a == b and a.train != c.train


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(low=-1), "low must be >= 0, got -1"),
        (dict(low=5, high=5), r"high must be > low, got low=5, high=5"),
        (dict(high=100, n_train=90, n_test=20), r"110 distinct numbers do not fit in \[0, 100\)"),
        (dict(n_test=0), "n_train and n_test must be >= 1"),
        (dict(lang="fr"), "lang must be one of es, en, got 'fr'"),
        (dict(direction="sideways"), "direction must be one of to-words, to-digits, got 'sideways'"),
        (dict(n_train=2.5), "n_train must be an int, got float 2.5"),
    ],
)
def test_bad_number_config_is_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        NumberPairsConfig(**kwargs)


def test_negative_number_is_refused():
    with pytest.raises(ValueError, match="n must be >= 0, got -3"):
        number_to_words(-3)


def test_dates_match_babel_and_are_disjoint():
    assert date_to_words(dt.date(1999, 12, 31)) == "viernes, 31 de diciembre de 1999"
    config = DatePairsConfig(start=dt.date(2000, 1, 1), end=dt.date(2000, 12, 31),
                             n_train=300, n_test=60, seed=2)
    split = date_pairs(config)
    train = {iso for iso, _ in split.train}
    test = {iso for iso, _ in split.test}
    assert len(train) == 300 and len(test) == 60 and not train & test
    for iso, words in split.train + split.test:
        day = dt.date.fromisoformat(iso)
        assert config.start <= day <= config.end
        assert words == date_to_words(day)
    reverse = date_pairs(DatePairsConfig(start=config.start, end=config.end, n_train=300,
                                         n_test=60, seed=2, direction="to-digits"))
    assert reverse.test == [(w, d) for d, w in split.test]


def test_bad_date_config_is_refused():
    with pytest.raises(ValueError, match="end must not be before start"):
        DatePairsConfig(start=dt.date(2000, 1, 2), end=dt.date(2000, 1, 1))
    with pytest.raises(ValueError, match=r"400 distinct days do not fit .* \(366 days\)"):
        DatePairsConfig(start=dt.date(2000, 1, 1), end=dt.date(2000, 12, 31), n_train=300, n_test=100)
