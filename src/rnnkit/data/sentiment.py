"""Rotten Tomatoes review snippets (fresh / rotten), the default sentiment data set.

Shipped as ``rnnkit/data/files/rotten_tomatoes.csv.bz2`` (source and licence in the README there):
columns ``category`` (``fresh`` or ``rotten``) and ``text``, 12,808 snippets, 57.8% fresh and
42.2% rotten (so always answering "fresh" scores 57.8%).
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.corpora import shipped_file
from rnnkit.data.text import read_labeled_csv

ROTTEN_TOMATOES_FILE = "rotten_tomatoes.csv.bz2"
TEXT_COLUMN = "text"
LABEL_COLUMN = "category"


def rotten_tomatoes_path() -> Path:
    """Path of the Rotten Tomatoes CSV shipped with rnnkit."""
    return shipped_file(ROTTEN_TOMATOES_FILE)


def load_rotten_tomatoes() -> tuple[list[str], list[str]]:
    """``(texts, labels)`` of the review snippets; labels are ``"fresh"`` or ``"rotten"``."""
    return read_labeled_csv(rotten_tomatoes_path(), TEXT_COLUMN, LABEL_COLUMN)
