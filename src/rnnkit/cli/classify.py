"""``rnnkit classify``: train a text classifier (sentiment by default) and classify new texts.

    rnnkit classify train [FILE --text-col C --label-col L] [--cell lstm] [--embeddings glove|PATH]
                          [--epochs 6] [--limit N] [--out DIR]
    rnnkit classify predict MODEL_DIR "some text" ["another text" ...]

Without FILE it trains on the Rotten Tomatoes review snippets (fresh / rotten).
"""

from __future__ import annotations

import argparse
import logging

from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out
from rnnkit.data.embeddings import VECTOR_FORMATS
from rnnkit.models.encoder import POOLINGS
from rnnkit.models.validation import CELLS
from rnnkit.tasks.classify import ClassifyReport, ClassifyTrainConfig, TextClassifier, train_classifier
PARAMETER_FLAGS: dict[str, str] = {
    "vectors_format": "--vectors-format", "freeze_embeddings": "--freeze-embeddings", "embeddings": "--embeddings",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify", help=COMMANDS["classify"],
        description="Many-to-one text classification (seed 002: the sentiment of a review). "
                    "Reports accuracy, macro-F1 and the confusion matrix on a held-out split.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="train a classifier and report held-out metrics")
    train.add_argument("file", nargs="?", help="CSV file with a text and a label column "
                                               "(default: Rotten Tomatoes snippets)")
    train.add_argument("--text-col", default=None, help="text column of FILE (default: text)")
    train.add_argument("--label-col", default=None, help="label column of FILE (default: label)")
    train.add_argument("--encoding", default="utf-8", help="encoding of FILE (default: utf-8)")
    train.add_argument("--limit", type=int, default=None, help="use a stratified sample of N examples")
    train.add_argument("--test-fraction", type=float, default=0.2, help="held-out test share (default: 0.2)")
    train.add_argument("--val-fraction", type=float, default=0.1, help="validation share (default: 0.1)")
    train.add_argument("--keep-case", action="store_true", help="do not lowercase the text")
    train.add_argument("--min-freq", type=int, default=2, help="rarer words become <unk> (default: 2)")
    train.add_argument("--max-len", type=int, default=64, help="tokens kept per text (default: 64)")
    train.add_argument("--cell", default="lstm", choices=CELLS, help="recurrent cell (default: lstm)")
    train.add_argument("--hidden", type=int, default=128, help="hidden size per direction (default: 128)")
    train.add_argument("--layers", type=int, default=1, help="stacked layers (default: 1)")
    train.add_argument("--heads", type=int, default=None, help="heads of an slstm/mlstm cell")
    train.add_argument("--unidirectional", action="store_true", help="read left to right only")
    train.add_argument("--dropout", type=float, default=0.3, help="dropout (default: 0.3)")
    train.add_argument("--pooling", default="max", choices=POOLINGS, help="sequence summary (default: max)")
    train.add_argument("--embedding-dim", type=int, default=100,
                       help="embedding size without pretrained vectors (default: 100)")
    train.add_argument("--embeddings", default=None,
                       help="pretrained vectors: 'glove' (optional extra) or a word2vec/fastText/GloVe file")
    train.add_argument("--vectors-format", default="auto", choices=VECTOR_FORMATS,
                       help="format of the --embeddings file (default: auto)")
    train.add_argument("--freeze-embeddings", action="store_true", help="keep pretrained vectors fixed")
    train.add_argument("--epochs", type=int, default=6, help="maximum epochs (default: 6)")
    train.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    train.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default: 2e-3)")
    train.add_argument("--patience", type=int, default=2,
                       help="stop after N epochs without a better validation loss (default: 2)")
    train.add_argument("--max-seconds", type=float, default=None, help="stop training after this much time")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--no-baseline", action="store_true",
                       help="skip the TF-IDF + logistic regression baseline on the same split")
    add_output_options(train, "classify", resumable=True)
    train.set_defaults(func=run_train)

    pred = sub.add_parser("predict", help="label and probability of one or more texts")
    pred.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder written by 'classify train'")
    pred.add_argument("texts", nargs="+", metavar="TEXT", help="text(s) to classify")
    pred.set_defaults(func=run_predict)


def build_train_config(args: argparse.Namespace) -> ClassifyTrainConfig:
    cell_kwargs = {}
    if args.heads is not None:
        if args.cell not in ("slstm", "mlstm"):
            raise ValueError(f"--heads applies to the slstm and mlstm cells, not --cell {args.cell}")
        cell_kwargs["num_heads"] = args.heads
    return ClassifyTrainConfig(
        data=args.file, text_col=args.text_col, label_col=args.label_col, encoding=args.encoding,
        limit=args.limit, test_fraction=args.test_fraction, val_fraction=args.val_fraction,
        lowercase=not args.keep_case, min_freq=args.min_freq, max_len=args.max_len, cell=args.cell,
        embedding_dim=args.embedding_dim, hidden_size=args.hidden, num_layers=args.layers,
        bidirectional=not args.unidirectional, dropout=args.dropout, pooling=args.pooling,
        cell_kwargs=cell_kwargs, embeddings=args.embeddings, vectors_format=args.vectors_format,
        freeze_embeddings=args.freeze_embeddings, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, patience=args.patience if args.patience > 0 else None,
        max_seconds=args.max_seconds, seed=args.seed, baseline=not args.no_baseline,
    )


def print_report(report: ClassifyReport, console: Console) -> None:
    table = Table(title=f"held-out test split ({report.n_test} texts)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("accuracy", f"{report.accuracy:.1%}")
    table.add_row("macro-F1", f"{report.macro_f1:.3f}")
    table.add_row("majority class accuracy", f"{report.majority_accuracy:.1%}")
    baseline = report.baseline
    if baseline is not None:
        table.add_row(f"TF-IDF + logistic regression accuracy (C={baseline.C:g})", f"{baseline.accuracy:.1%}")
        table.add_row("TF-IDF + logistic regression macro-F1", f"{baseline.macro_f1:.3f}")
    console.print(table)
    if report.accuracy <= report.majority_accuracy:
        console.print(f"The recurrent classifier does no better than always answering the majority class "
                      f"({report.accuracy:.1%} vs {report.majority_accuracy:.1%}): it has not learned from the text.",
                      highlight=False)
    if baseline is not None:
        if baseline.accuracy > report.accuracy:
            console.print(f"The bag-of-words baseline beats the recurrent classifier on this split "
                          f"({baseline.accuracy:.1%} vs {report.accuracy:.1%}): for this data the simpler model is the "
                          "better choice (pretrained --embeddings may close the gap).", highlight=False)
        else:
            console.print(f"The recurrent classifier beats the bag-of-words baseline on this split "
                          f"({report.accuracy:.1%} vs {baseline.accuracy:.1%}).", highlight=False)
    console.print("confusion matrix (rows: true label, columns: predicted label):", highlight=False)
    confusion = Table()
    confusion.add_column("true \\ predicted")
    for label in report.labels:
        confusion.add_column(label, justify="right")
    for label, row in zip(report.labels, report.confusion):
        confusion.add_row(label, *(str(n) for n in row))
    console.print(confusion)
    coverage = "" if report.embedding_coverage is None else (
        f", pretrained vectors for {report.embedding_coverage:.1%} of the vocabulary")
    console.print(
        f"{report.n_train} training / {report.n_val} validation texts, vocabulary {report.vocab_size}"
        f"{coverage}, {report.parameters} parameters, {report.epochs} epoch(s) in {report.seconds:.1f} s",
        highlight=False,
    )


def run_train(args: argparse.Namespace) -> int:
    logging.getLogger("gensim").setLevel(logging.WARNING)
    config, out, resume = config_and_out(args, "classify", ClassifyTrainConfig, build_train_config)
    report = train_classifier(config, out, overwrite=args.overwrite, resume=resume)
    console = Console()
    print_report(report, console)
    console.print(f"model: {report.model_dir}", highlight=False, soft_wrap=True)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    for prediction in TextClassifier.load(args.model_dir).predict(args.texts):
        print(f"{prediction.label}\t{prediction.probability:.3f}\t{prediction.text}")
    return 0
