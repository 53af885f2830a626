"""Vocabulary: token strings <-> integer ids, and the one-hot vectors of seeds 001-003.

Ids 0-3 are reserved, always in this order:

====  ========  =====================================================
id    token     use
====  ========  =====================================================
0     ``<pad>``  padding in batches of unequal length (embedding row 0)
1     ``<unk>``  every token not in the vocabulary (never an error)
2     ``<bos>``  begin of sequence (optional, ``encode(add_bos=True)``)
3     ``<eos>``  end of sequence (optional, ``encode(add_eos=True)``)
====  ========  =====================================================

The other tokens follow by decreasing frequency; ties keep the order of first appearance, so a
vocabulary built from the same text is always the same.

Example (the seed's next-character vocabulary h, e, l, o)::

    >>> v = Vocab.build([list("hello")])
    >>> v.tokens
    ['<pad>', '<unk>', '<bos>', '<eos>', 'l', 'h', 'e', 'o']
    >>> v.encode(list("hello"))
    [5, 6, 4, 4, 7]
    >>> v.one_hot(v.encode(list("hello"))).shape    # x_t in {0, 1}^|V|
    torch.Size([5, 8])
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.errors import DataError
from rnnkit.io import atomic_write_text

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3

_FORMAT = "rnnkit.vocab"
_VERSION = 1


class Vocab:
    """A bijection between tokens and ids ``0 .. len(vocab) - 1`` with reserved ids 0-3.

    Build one with :meth:`Vocab.build` from tokenized texts, or directly from a token list with
    ``Vocab(tokens)`` (the reserved tokens are put first if missing).

    Args:
        tokens: the non-reserved tokens in id order (reserved tokens, if present, are skipped).
        counts: optional training frequency of each token in ``tokens`` (kept for inspection and
            saved with the vocabulary).
    """

    def __init__(self, tokens: Iterable[str], counts: Sequence[int] | None = None) -> None:
        tokens = list(tokens)
        if counts is not None and len(counts) != len(tokens):
            raise ValueError(
                f"counts has {len(counts)} entries but tokens has {len(tokens)}; give one count "
                f"per token or none"
            )
        self._itos: list[str] = list(SPECIALS)
        self._counts: list[int] = [0] * len(SPECIALS)
        self._stoi: dict[str, int] = {tok: i for i, tok in enumerate(SPECIALS)}
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or token == "":
                raise TypeError(f"tokens must be non-empty strings, got {token!r} at position {i}")
            if token in SPECIALS:
                continue
            if token in self._stoi:
                raise ValueError(f"token {token!r} appears twice (position {i}); tokens must be unique")
            self._stoi[token] = len(self._itos)
            self._itos.append(token)
            self._counts.append(int(counts[i]) if counts is not None else 0)

    # ----------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        texts: Iterable[Sequence[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens over tokenized ``texts`` and keep the frequent ones.

        Args:
            texts: an iterable of token sequences (e.g. ``[tokenizer.tokenize(t) for t in docs]``).
            min_freq: keep tokens seen at least this many times (>= 1).
            max_size: at most this many ids in total, the 4 reserved ones included (>= 5);
                ``None`` for no limit. The most frequent tokens are kept.
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        if max_size is not None and (
            isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= len(SPECIALS)
        ):
            raise ValueError(
                f"max_size must be an integer > {len(SPECIALS)} (it counts the {len(SPECIALS)} "
                f"reserved tokens), or None for no limit; got {max_size!r}"
            )
        if isinstance(texts, str):
            raise TypeError(
                "texts must be an iterable of token lists, got a single str; pass "
                "[tokenizer.tokenize(text)] instead"
            )
        counter: Counter[str] = Counter()
        for tokens in texts:
            if isinstance(tokens, str) and len(tokens) > 1:
                raise TypeError(
                    f"each text must be a list of tokens, got the str {tokens[:20]!r}; tokenize it "
                    f"first (e.g. list(text) or WordTokenizer().tokenize(text))"
                )
            counter.update(tokens)
        for special in SPECIALS:
            counter.pop(special, None)
        # Counter keeps first-appearance order; sorted() is stable, so ties keep that order.
        ranked = sorted(
            (item for item in counter.items() if item[1] >= min_freq), key=lambda kv: -kv[1]
        )
        if not ranked:
            if not counter:
                raise DataError("the texts have no tokens to build a vocabulary from; give non-empty texts")
            raise DataError(f"min_freq={min_freq} leaves only the reserved tokens in the vocabulary (the most frequent "
                            f"token occurs {max(counter.values())} times); lower min_freq")
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls([tok for tok, _ in ranked], counts=[c for _, c in ranked])

    # ----------------------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        """Id of ``token``, or ``unk_id`` when it is not in the vocabulary."""
        return self._stoi.get(token, UNK_ID)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    def __repr__(self) -> str:
        preview = ", ".join(repr(t) for t in self._itos[len(SPECIALS) : len(SPECIALS) + 8])
        return f"Vocab(size={len(self)}, tokens=[{preview}{', ...' if len(self) > 12 else ''}])"

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._itos)

    @property
    def counts(self) -> list[int]:
        """Training frequency of each token in id order (0 for reserved tokens)."""
        return list(self._counts)

    pad_id = PAD_ID
    unk_id = UNK_ID
    bos_id = BOS_ID
    eos_id = EOS_ID

    def token(self, index: int) -> str:
        """Token of id ``index``; raises ``IndexError`` naming the valid range."""
        if not 0 <= int(index) < len(self._itos):
            raise IndexError(f"id {index} is outside this vocabulary (valid ids: 0..{len(self) - 1})")
        return self._itos[int(index)]

    def missing(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens of ``tokens`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(t for t in tokens if t not in self._stoi))

    # ----------------------------------------------------------------------------- encode/decode
    def encode(
        self, tokens: Iterable[str], *, add_bos: bool = False, add_eos: bool = False
    ) -> list[int]:
        """Ids of ``tokens`` (unknown ones become ``unk_id``), optionally framed by bos/eos."""
        if isinstance(tokens, str) and len(tokens) > 1:
            raise TypeError(
                f"encode takes a list of tokens, got the str {tokens[:20]!r}; tokenize it first"
            )
        ids = [self._stoi.get(t, UNK_ID) for t in tokens]
        return ([BOS_ID] if add_bos else []) + ids + ([EOS_ID] if add_eos else [])

    def decode(self, ids: Iterable[int] | torch.Tensor, *, skip_special: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``skip_special`` the pad/bos/eos ids are dropped (``<unk>`` kept)."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() > 1:
                raise ValueError(
                    f"decode takes one sequence of ids (1-D), got a tensor of shape "
                    f"{tuple(ids.shape)}; decode each row separately"
                )
            ids = ids.tolist()
        dropped = {PAD_ID, BOS_ID, EOS_ID} if skip_special else set()
        return [self.token(i) for i in ids if int(i) not in dropped]

    def one_hot(self, ids: Sequence[int] | torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """One-hot vectors of ``ids``: shape ``(*ids.shape, len(vocab))``, exactly one 1 per row."""
        index = torch.as_tensor(ids, dtype=torch.long)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= len(self)):
            raise IndexError(
                f"ids must lie in 0..{len(self) - 1} for this vocabulary, got values in "
                f"{int(index.min())}..{int(index.max())}"
            )
        return torch.nn.functional.one_hot(index, num_classes=len(self)).to(dtype)

    # ----------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (also what ``save_model(..., extras={"vocab": vocab.to_dict()})`` stores)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "specials": list(SPECIALS),
            "tokens": self._itos[len(SPECIALS) :],
            "counts": self._counts[len(SPECIALS) :],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Rebuild a vocabulary from :meth:`to_dict` output; bad data raises ``DataError``."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DataError(
                f"not an rnnkit vocabulary (expected a JSON object with \"format\": \"{_FORMAT}\"); "
                f"create it with Vocab.save or Vocab.to_json"
            )
        if data.get("version") != _VERSION:
            raise DataError(
                f"vocabulary format version {data.get('version')!r} is not supported (this rnnkit "
                f"reads version {_VERSION}); rebuild the vocabulary with this rnnkit"
            )
        if data.get("specials") != list(SPECIALS):
            raise DataError(
                f"vocabulary reserved tokens are {data.get('specials')!r}, expected "
                f"{list(SPECIALS)}; the file was not written by this rnnkit"
            )
        tokens, counts = data.get("tokens"), data.get("counts")
        if not isinstance(tokens, list) or not isinstance(counts, list):
            raise DataError("vocabulary JSON needs lists \"tokens\" and \"counts\"; the file is corrupt")
        try:
            return cls(tokens, counts=counts)
        except (TypeError, ValueError) as err:
            raise DataError(f"corrupt vocabulary: {err}") from None

    def to_json(self) -> str:
        """The vocabulary as a JSON string (UTF-8 safe, tokens unescaped)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        """Parse :meth:`to_json` output; invalid JSON raises ``DataError``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(f"vocabulary is not valid JSON ({err}); the file is corrupt") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary to ``path`` as JSON, atomically."""
        atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"vocabulary file {str(path)!r} does not exist; check the path")
        return cls.from_json(path.read_text(encoding="utf-8"))
