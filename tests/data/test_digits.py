"""load_digits images captioned with number words."""

import pytest
import torch

from rnnkit.data.digits import caption_for, load_digit_captions, split_digit_captions


def test_captions_are_number_words_of_labels():
    es = load_digit_captions()
    en = load_digit_captions("en")
    assert es.images.shape == (1797, 1, 8, 8) and es.images.dtype == torch.float32
    assert 0.0 <= float(es.images.min()) and float(es.images.max()) == 1.0
    spanish = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
    english = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for i in range(0, 1797, 97):
        assert es.captions[i] == spanish[int(es.labels[i])]
        assert en.captions[i] == english[int(en.labels[i])]
    assert torch.equal(es.labels, en.labels)


def test_split_is_stratified_disjoint_and_complete():
    data = load_digit_captions()
    train, test = split_digit_captions(data, test_fraction=0.25, seed=0)
    assert len(train) + len(test) == len(data)
    counts = torch.bincount(test.labels, minlength=10)
    totals = torch.bincount(data.labels, minlength=10)
    assert torch.all((counts - 0.25 * totals).abs() <= 1)
    # a partition: the (image, label) rows of train + test are exactly those of data
    key = torch.rand(64, dtype=torch.float64)

    def keys(part):
        return torch.sort(part.images.flatten(1).double() @ key + 100 * part.labels).values

    assert torch.allclose(keys(data), torch.sort(torch.cat([keys(train), keys(test)])).values)
    assert test.captions == [caption_for(int(d)) for d in test.labels]


def test_bad_lang_label_and_fraction():
    with pytest.raises(ValueError, match="lang must be one of es, en, got 'de'"):
        load_digit_captions("de")
    with pytest.raises(ValueError, match="label must be an int digit 0..9, got 12"):
        caption_for(12)
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\), got 0"):
        split_digit_captions(load_digit_captions(), test_fraction=0)
