"""Character and word tokenizers: text -> list of token strings -> text.

Two tokenizers, both small frozen dataclasses so they can be saved with a model as JSON
(``tokenizer.to_dict()`` / ``tokenizer_from_dict(d)``):

* :class:`CharTokenizer` — every Unicode character is a token (seed 002's next-character
  example: ``"hello"`` -> ``["h", "e", "l", "l", "o"]``). ``detokenize`` is ``"".join``, so the
  round trip ``detokenize(tokenize(s)) == s`` is exact (after optional lowercasing).
* :class:`WordTokenizer` — a word is a run of letters/digits/underscores, optionally followed by
  apostrophe parts (``don't``, ``rock'n'roll``); every other non-space character is a token of
  its own (punctuation). That is the regex :data:`WORD_PATTERN`::

      \\w+(?:['\u2019]\\w+)*|[^\\w\\s]

  Whitespace only separates tokens. ``detokenize`` joins tokens with single spaces, without a
  space before closing punctuation (``. , ! ? ; : % ) ] }``) nor after opening brackets
  (``( [ {``), so ``tokenize(detokenize(tokens)) == tokens`` always holds, and
  ``detokenize(tokenize(s)) == s`` holds for text written in that normal form.

Example::

    >>> WordTokenizer(lowercase=True).tokenize("Don't panic, Arthur!")
    ["don't", 'panic', ',', 'arthur', '!']
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

WORD_PATTERN = r"\w+(?:['\u2019]\w+)*|[^\w\s]"
"""Default word regex: words (with inner apostrophes) or single punctuation characters."""

_NO_SPACE_BEFORE = frozenset(".,!?;:%)]}\u2019")
_NO_SPACE_AFTER = frozenset("([{")

LEVELS: tuple[str, ...] = ("char", "word")


@dataclass(frozen=True)
class CharTokenizer:
    """Split text into single characters.

    Args:
        lowercase: lowercase the text before splitting.
    """

    lowercase: bool = False
    level: str = field(default="char", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.lowercase, bool):
            raise TypeError(
                f"lowercase must be a bool, got {type(self.lowercase).__name__} "
                f"{self.lowercase!r}; pass True or False"
            )

    def tokenize(self, text: str) -> list[str]:
        """Return the characters of ``text`` (lowercased if asked), one token each."""
        _check_text(text)
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: list[str]) -> str:
        """Concatenate character tokens back into text."""
        return "".join(tokens)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description; rebuild with :func:`tokenizer_from_dict`."""
        return asdict(self)


@dataclass(frozen=True)
class WordTokenizer:
    """Split text into words and punctuation with a regular expression.

    Args:
        lowercase: lowercase the text before splitting (default True: "The" and "the" are one
            word, which matters for small corpora and for lowercase pretrained vectors such as
            GloVe).
        pattern: the token regex (``re.findall`` semantics, no capturing groups); default
            :data:`WORD_PATTERN`.
    """

    lowercase: bool = True
    pattern: str = WORD_PATTERN
    level: str = field(default="word", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.lowercase, bool):
            raise TypeError(
                f"lowercase must be a bool, got {type(self.lowercase).__name__} "
                f"{self.lowercase!r}; pass True or False"
            )
        try:
            compiled = re.compile(self.pattern)
        except re.error as err:
            raise ValueError(
                f"pattern {self.pattern!r} is not a valid regular expression ({err}); "
                f"fix it or use the default WORD_PATTERN {WORD_PATTERN!r}"
            ) from None
        if compiled.groups:
            raise ValueError(
                f"pattern {self.pattern!r} has {compiled.groups} capturing group(s), so "
                f"re.findall would return groups instead of tokens; use non-capturing groups (?:...)"
            )
        if compiled.match(""):
            raise ValueError(
                f"pattern {self.pattern!r} matches the empty string, which would yield empty "
                f"tokens; make it match at least one character (e.g. use + instead of *)"
            )

    def tokenize(self, text: str) -> list[str]:
        """Return the words and punctuation marks of ``text`` in order."""
        _check_text(text)
        return re.findall(self.pattern, text.lower() if self.lowercase else text)

    def detokenize(self, tokens: list[str]) -> str:
        """Join tokens with spaces, attaching punctuation to its neighbour (see module doc)."""
        pieces: list[str] = []
        for token in tokens:
            attach = not pieces or token in _NO_SPACE_BEFORE or pieces[-1] in _NO_SPACE_AFTER
            if not attach:
                pieces.append(" ")
            pieces.append(token)
        return "".join(pieces)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description; rebuild with :func:`tokenizer_from_dict`."""
        return asdict(self)


Tokenizer = CharTokenizer | WordTokenizer


def get_tokenizer(level: str, *, lowercase: bool | None = None) -> Tokenizer:
    """Return the tokenizer for ``level`` ("char" or "word").

    ``lowercase=None`` keeps each tokenizer's default (char: False, word: True).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    kwargs = {} if lowercase is None else {"lowercase": lowercase}
    return CharTokenizer(**kwargs) if level == "char" else WordTokenizer(**kwargs)


def tokenizer_from_dict(data: dict[str, Any]) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`CharTokenizer.to_dict` / :meth:`WordTokenizer.to_dict`."""
    if not isinstance(data, dict) or data.get("level") not in LEVELS:
        raise ValueError(
            f"a tokenizer description needs 'level' in {LEVELS}, got {data!r}; "
            f"create it with tokenizer.to_dict()"
        )
    options = {k: v for k, v in data.items() if k != "level"}
    cls = CharTokenizer if data["level"] == "char" else WordTokenizer
    try:
        return cls(**options)
    except TypeError as err:
        raise ValueError(f"bad tokenizer description {data!r}: {err}") from None


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(
            f"text must be a str, got {type(text).__name__}; decode bytes first "
            f"(e.g. data.decode('utf-8'))"
        )
