"""8x8 handwritten digit images (``sklearn.datasets.load_digits``) captioned with their number word.

Each of the 1797 images shows one digit 0-9; its caption is that digit's word from
``num2words`` ("cero", "uno", ... "nueve" in Spanish, the default; "zero" ... "nine" with
``lang="en"``). :func:`split_digit_captions` holds out a stratified fraction of the images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits

from rnnkit.data.numbers import LANGS, number_to_words

PIXEL_MAX = 16.0
"""``load_digits`` pixels are integers 0..16; images are divided by this to lie in [0, 1]."""


@dataclass(frozen=True)
class DigitCaptions:
    """Images with their labels and captions.

    Attributes:
        images: (N, 1, 8, 8) float32 in [0, 1].
        labels: (N,) int64 digits 0..9.
        captions: N caption strings, ``caption_for(label, lang)``.
        lang: caption language, "es" or "en".
    """

    images: torch.Tensor
    labels: torch.Tensor
    captions: list[str]
    lang: str

    def __len__(self) -> int:
        return len(self.captions)

    def subset(self, index: torch.Tensor) -> DigitCaptions:
        """The examples at positions ``index`` ((M,) int64)."""
        return DigitCaptions(self.images[index], self.labels[index],
                             [self.captions[i] for i in index.tolist()], self.lang)


def caption_for(label: int, lang: str = "es") -> str:
    """The caption of an image of digit ``label`` (0..9): its number word in ``lang``."""
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ValueError(f"label must be an int digit 0..9, got {label!r}")
    return number_to_words(label, lang)


def load_digit_captions(lang: str = "es") -> DigitCaptions:
    """All 1797 ``load_digits`` images with captions in ``lang`` ("es" or "en")."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / PIXEL_MAX
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    words = [caption_for(digit, lang) for digit in range(10)]
    return DigitCaptions(images, labels, [words[int(d)] for d in labels], lang)


def split_digit_captions(data: DigitCaptions, test_fraction: float = 0.2,
                         seed: int = 0) -> tuple[DigitCaptions, DigitCaptions]:
    """Stratified split: ``test_fraction`` of each digit's images (at least one) is held out.

    Returns:
        (train, test), disjoint, together all of ``data``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}; e.g. 0.2")
    generator = torch.Generator().manual_seed(seed)
    train_index, test_index = [], []
    for digit in range(10):
        members = torch.nonzero(data.labels == digit).flatten()
        if len(members) < 2:
            raise ValueError(
                f"digit {digit} has {len(members)} image(s), need at least 2 to hold one out"
            )
        members = members[torch.randperm(len(members), generator=generator)]
        n_test = min(len(members) - 1, max(1, round(test_fraction * len(members))))
        test_index.append(members[:n_test])
        train_index.append(members[n_test:])
    train = torch.sort(torch.cat(train_index)).values
    test = torch.sort(torch.cat(test_index)).values
    return data.subset(train), data.subset(test)
