"""Reading users' text and CSV files with clear errors, and cutting token streams for TBPTT.

* :func:`read_text` — a whole text file as ``str``. Missing, empty, binary or wrongly encoded
  files raise :class:`~rnnkit.errors.DataError` with one line saying which problem and what to do
  (for an encoding error: the byte, its offset and the line it is on).
* :func:`read_labeled_csv` — the ``(texts, labels)`` of a CSV with a text column and a label
  column (unknown column -> the available ones are listed; fewer than two classes -> error).
* :func:`split_stream` / :func:`require_stream_length` — a 1-D id stream split into
  train/validation parts, and the check that each part fills one truncated-BPTT chunk of every
  parallel stream (the chunking itself is ``rnnkit.training.StreamDataset``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from rnnkit.errors import DataError

log = logging.getLogger(__name__)

_SNIFF_BYTES = 8192


_COMPRESSED = frozenset({".bz2", ".gz", ".zip", ".xz"})


def _check_file(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist; check the path")
    if path.is_dir():
        raise IsADirectoryError(f"{what} {str(path)!r} is a folder; give a file inside it")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {str(path)!r} is empty (0 bytes); give a file with text in it")
    if path.suffix.lower() in _COMPRESSED:
        return path
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    nul = head.find(b"\x00")
    if nul >= 0 and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(
            f"{what} {str(path)!r} looks binary (it contains a NUL byte at offset {nul}); "
            f"give a plain text file"
        )
    return path


def read_text(path: str | os.PathLike[str], *, encoding: str = "utf-8") -> str:
    """Return the content of a text file, decoded with ``encoding``.

    Raises:
        FileNotFoundError / IsADirectoryError: no such file.
        DataError: the file is empty or only whitespace, is binary, or is not valid ``encoding``.
    """
    path = _check_file(path, "text file")
    data = path.read_bytes()
    text = _decode(data, encoding, path)
    if not text.strip():
        raise DataError(
            f"text file {str(path)!r} contains only whitespace ({len(data)} bytes); give a file "
            f"with text in it"
        )
    return text


def _decode(data: bytes, encoding: str, path: Path) -> str:
    try:
        text = data.decode(encoding)
    except LookupError:
        raise ValueError(
            f"unknown encoding {encoding!r}; use a Python codec name such as utf-8, latin-1, cp1252"
        ) from None
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        bad = data[err.start : err.start + 1].hex()
        raise DataError(
            f"{str(path)!r} is not valid {encoding} (byte 0x{bad} at offset {err.start}, line "
            f"{line}); convert the file to UTF-8 or pass its real encoding (e.g. encoding='latin-1')"
        ) from None
    return text.removeprefix("\ufeff")


def read_labeled_csv(
    path: str | os.PathLike[str],
    text_col: str,
    label_col: str,
    *,
    encoding: str = "utf-8",
    exclude_labels: tuple[str, ...] = (),
) -> tuple[list[str], list[str]]:
    """Read the text and label columns of a CSV file.

    Rows with an empty text or label are dropped (with a log message saying how many). Labels
    are returned as strings.

    Args:
        path: the CSV file (comma separated, header row; ``.bz2``/``.gz``/``.zip`` are read too).
        text_col / label_col: column names.
        encoding: file encoding.
        exclude_labels: drop rows whose label is one of these (e.g. ``("plot",)``).

    Raises:
        DataError: empty/binary/badly encoded file, unparsable CSV, unknown columns (the message
            lists the available ones), no usable rows, or fewer than two classes.
    """
    import pandas as pd

    path = _check_file(path, "CSV file")
    if path.suffix.lower() not in _COMPRESSED:
        _decode(path.read_bytes(), encoding, path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except UnicodeDecodeError as err:
        raise DataError(
            f"{str(path)!r} is not valid {encoding} ({err.reason} at offset {err.start}); convert "
            f"it to UTF-8 or pass its real encoding (e.g. encoding='latin-1')"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{str(path)!r} is not a readable CSV file ({first}); check its format") from None
    columns = [str(c) for c in frame.columns]
    for role, name in (("text", text_col), ("label", label_col)):
        if name not in frame.columns:
            raise DataError(
                f"{role} column {name!r} is not in {str(path)!r}; its columns are "
                f"{', '.join(repr(c) for c in columns)} (choose one with {role}_col)"
            )
    texts = frame[text_col].astype(str).str.strip()
    labels = frame[label_col].astype(str).str.strip()
    keep = (texts != "") & (labels != "")
    if exclude_labels:
        keep &= ~labels.isin(list(exclude_labels))
    dropped = int((~keep).sum())
    if dropped:
        log.debug("dropped %d of %d rows with an empty text/label or an excluded label", dropped, len(keep))
    texts, labels = texts[keep].tolist(), labels[keep].tolist()
    if not texts:
        raise DataError(
            f"{str(path)!r} has no row with both a {text_col!r} text and a {label_col!r} label; "
            f"check the column names and the file"
        )
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(
            f"column {label_col!r} of {str(path)!r} has a single class {classes[0]!r}; a "
            f"classifier needs at least two classes in its training data"
        )
    return texts, labels


def split_stream(ids: torch.Tensor, val_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a 1-D stream into its first ``1 - val_fraction`` (train) and the rest (validation).

    The validation part is the contiguous tail, so it is text the model never saw.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D stream of token ids, got shape {tuple(ids.shape)}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    n_val = max(1, int(round(len(ids) * val_fraction)))
    return ids[: len(ids) - n_val], ids[len(ids) - n_val :]


def require_stream_length(num_tokens: int, num_streams: int, seq_len: int, *, what: str = "text") -> None:
    """Check that a stream fills at least one truncated-BPTT chunk of every parallel stream.

    A language model trained on ``B = num_streams`` parallel streams in chunks of ``k = seq_len``
    steps (``rnnkit.training.StreamDataset``) needs ``B * k + 1`` tokens for one full chunk (the
    +1 is the target of the last input).

    Raises:
        DataError: the stream is shorter, with the numbers and the fix.
    """
    for name, value in (("num_streams", num_streams), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    need = num_streams * seq_len + 1
    if num_tokens < need:
        raise DataError(
            f"the {what} has {num_tokens} tokens, shorter than one training chunk of "
            f"{num_streams} streams x {seq_len} steps + 1 = {need} tokens; give more text or "
            f"lower batch_size / bptt"
        )
