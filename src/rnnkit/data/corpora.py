"""Named text corpora that ship inside installed packages (no internet needed).

=========  ==========================================================  =============
name       source                                                      size
=========  ==========================================================  =============
hamlet     ``rnnkit/data/files/hamlet.txt`` (Shakespeare's *Hamlet*)    ~175 k chars
wiki       gensim's test data: the first English Wikipedia articles    ~3.0 M chars
           (``enwiki-latest-pages-articles1.xml-p000000010p000030302
           -shortened.bz2``), markup stripped
=========  ==========================================================  =============

``hamlet`` is the small default for a one-minute demo; ``wiki`` is the 1M+ character corpus for
real training. A corpus that needs extraction (``wiki``) is extracted once and cached as UTF-8
text under :func:`cache_dir` (``$XDG_CACHE_HOME/rnnkit`` or ``~/.cache/rnnkit``), written
atomically, so later runs read the cached file.

Wikipedia cleaning: redirect pages are skipped; tables (``{| ... |}``) are removed; gensim's
``filter_wiki`` removes templates, links and tags; then bold/italic quotes (``''``/``'''``) are removed, ``== Heading ==``
lines keep their text, lines of leftover markup (``|``, ``{``, ``!`` starts, ``File:``/
``Category:``) are dropped, and runs of blank lines collapse to one.
"""

from __future__ import annotations

import bz2
import importlib.util
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.text import read_text
from rnnkit.errors import DataError
from rnnkit.io import atomic_write_text

log = logging.getLogger(__name__)

_WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


@dataclass(frozen=True)
class CorpusInfo:
    """What a named corpus is and where it comes from."""

    name: str
    description: str
    package: str


CORPORA: dict[str, CorpusInfo] = {
    "hamlet": CorpusInfo("hamlet", "Shakespeare's Hamlet (~175k characters)", "rnnkit"),
    "wiki": CorpusInfo("wiki", "English Wikipedia sample, markup stripped (~3M characters)", "gensim"),
}


def cache_dir() -> Path:
    """rnnkit's cache folder: ``$XDG_CACHE_HOME/rnnkit`` if set, else ``~/.cache/rnnkit``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rnnkit"


def package_data_dir(package: str) -> Path:
    """The ``data`` folder of an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the package {package!r} that holds this data is not installed; pip install {package}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def shipped_file(name: str) -> Path:
    """A data file shipped inside rnnkit (``rnnkit/data/files``; sources and licences in its README)."""
    from importlib import resources

    return Path(str(resources.files("rnnkit.data").joinpath("files", name)))


def _hamlet_path() -> Path:
    return shipped_file("hamlet.txt")


def _wiki_source() -> Path:
    return package_data_dir("gensim") / "../test/test_data" / _WIKI_FILE


_TABLE = re.compile(r"^\{\|.*?^\|\}", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^\s*=+\s*(.*?)\s*=+\s*$")
_MARKUP_LINE = re.compile(r"^\s*(?:[|{}!]|(?:File|Image|Category):)", re.IGNORECASE)


def clean_wiki_markup(text: str) -> str:
    """Plain text of one Wikipedia article's wikitext (see the module doc for the rules)."""
    from gensim.corpora.wikicorpus import filter_wiki

    plain = filter_wiki(_TABLE.sub("", text)).replace("'''", "").replace("''", "")
    lines: list[str] = []
    for raw in plain.splitlines():
        heading = _HEADING.match(raw)
        line = heading.group(1) if heading else raw
        line = re.sub(r"[ \t]{2,}", " ", line).strip()
        if _MARKUP_LINE.match(line):
            continue
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    return "\n".join(lines).strip()


def _extract_wiki(source: Path) -> str:
    from gensim.corpora.wikicorpus import extract_pages

    articles = []
    with bz2.open(source, "rb") as fh:
        for title, wikitext, _pageid in extract_pages(fh):
            if wikitext.lstrip().lower().startswith("#redirect"):
                continue
            body = clean_wiki_markup(wikitext)
            if body:
                articles.append(f"{title}\n\n{body}")
    return "\n\n".join(articles) + "\n"


def corpus_path(name: str) -> Path:
    """Path of the named corpus as a UTF-8 text file (extracting and caching it if needed)."""
    if name not in CORPORA:
        raise ValueError(
            f"unknown corpus {name!r}; available corpora: {', '.join(sorted(CORPORA))} "
            f"(or give the path of a text file)"
        )
    if name == "hamlet":
        return _hamlet_path()
    target = cache_dir() / "corpora" / f"{name}.txt"
    if not target.is_file():
        source = _wiki_source().resolve()
        if not source.is_file():
            raise DataError(f"gensim's test data file {_WIKI_FILE} is missing; reinstall gensim")
        log.info("extracting the %s corpus into %s (once)", name, target)
        atomic_write_text(target, _extract_wiki(source))
    return target


def load_corpus(name: str) -> str:
    """The text of the named corpus."""
    return corpus_path(name).read_text(encoding="utf-8")


def load_source(source: str, encoding: str = "utf-8") -> str:
    """The text of a named corpus, or of the file ``source`` when it is not a corpus name."""
    if source in CORPORA:
        return load_corpus(source)
    return read_text(source, encoding=encoding)
