"""Seq2seq and captioning benchmark: held-out quality and training seconds on CPU.

Rows (each trained from scratch with the task API that ``rnnkit translate`` / ``rnnkit caption``
run):

* translation of numbers below one million (num2words, Spanish), train and test numbers
  disjoint: digits -> words ("to-words", words as tokens) and words -> digits ("to-digits",
  digits as characters), for each encoder/decoder cell, with and without attention; held-out
  exact match (also per length in digits: the draw is balanced over lengths) and chrF;
* captioning the held-out 8x8 ``load_digits`` images (20% of each digit) with a CNN + recurrent
  decoder; caption accuracy.

Usage (one intra-op thread; a few minutes per row on a 2-core machine)::

    .venv/bin/python benchmarks/seq2seq.py                      # every row
    .venv/bin/python benchmarks/seq2seq.py --cells lstm --attention additive --no-caption
    .venv/bin/python benchmarks/seq2seq.py --quick              # tiny sizes, to check it runs

Results are printed as a markdown table and, with ``--out``, written to a JSON file (rewritten
after every row so a long run keeps what it measured).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import time
from pathlib import Path

import torch

from rnnkit.io import atomic_write_text
from rnnkit.tasks.caption import CaptionConfig, train_captioner
from rnnkit.tasks.translate import TranslateConfig, train_translator


def translation_rows(args: argparse.Namespace):
    for direction in args.directions:
        for attention in args.attention:
            for cell in args.cells:
                config = TranslateConfig(
                    dataset="numbers", direction=direction, cell=cell, attention=attention,
                    n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                    hidden_size=args.hidden, embedding_dim=args.embedding, batch_size=64, lr=3e-3,
                    max_seconds=args.max_seconds, seed=0,
                )
                result = train_translator(config)
                row = {
                    "task": f"numbers {direction}", "cell": cell, "attention": attention,
                    "train_pairs": args.n_train, "epochs": args.epochs,
                    "train_seconds": round(result.train_seconds, 1),
                    "exact_match": round(100 * result.scores.exact_match, 2),
                    "chrf": round(result.scores.chrf, 2), "bleu": round(result.scores.bleu, 2),
                    "test_pairs": result.scores.n,
                    "by_digits": " ".join(f"{right}/{total}" for right, total in result.by_digits.values()),
                }
                print(format_row(row), flush=True)
                yield row


def caption_rows(args: argparse.Namespace):
    for cell, seed in itertools.product(args.caption_cells, args.caption_seeds):
        config = CaptionConfig(cell=cell, epochs=args.caption_epochs, seed=seed)
        result = train_captioner(config)
        row = {"task": f"digit captions (es), seed {seed}", "cell": cell, "attention": "-",
               "train_pairs": result.n_train, "epochs": args.caption_epochs,
               "train_seconds": round(result.train_seconds, 1),
               "exact_match": round(100 * result.accuracy, 2), "chrf": None, "bleu": None,
               "test_pairs": result.n_test, "by_digits": "-"}
        print(format_row(row), flush=True)
        yield row


HEADER = ("| task | cell | attention | train pairs | epochs | train s | exact match % | chrF | test | "
          "exact by digits 1-6 |\n|---|---|---|---|---|---|---|---|---|---|")


def format_row(row: dict) -> str:
    chrf = "-" if row["chrf"] is None else f"{row['chrf']:.1f}"
    return (f"| {row['task']} | {row['cell']} | {row['attention']} | {row['train_pairs']} | "
            f"{row['epochs']} | {row['train_seconds']:.0f} | {row['exact_match']:.1f} | {chrf} | "
            f"{row['test_pairs']} | {row['by_digits']} |")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["lstm", "gru", "slstm", "mlstm"])
    parser.add_argument("--attention", nargs="+", default=["additive", "none"])
    parser.add_argument("--directions", nargs="+", default=["to-words", "to-digits"])
    parser.add_argument("--n-train", type=int, default=16_000)
    parser.add_argument("--n-test", type=int, default=1_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--embedding", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="cap on each row's training")
    parser.add_argument("--caption-cells", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--caption-epochs", type=int, default=20)
    parser.add_argument("--caption-seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="one captioning row per seed (split and initialization)")
    parser.add_argument("--no-caption", action="store_true")
    parser.add_argument("--no-translation", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, only to check it runs")
    parser.add_argument("--out", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.cells, args.attention, args.directions = ["lstm"], ["additive"], ["to-words"]
        args.n_train, args.n_test, args.epochs, args.caption_epochs = 300, 50, 1, 1
        args.caption_cells, args.caption_seeds = ["lstm"], [0]
    torch.set_num_threads(1)
    machine = f"{cpu_name()} ({os.cpu_count()} cores), torch {torch.__version__}, 1 thread"
    print(f"# {machine}\n{HEADER}", flush=True)
    rows: list[dict] = []
    started = time.perf_counter()
    sources = ([] if args.no_translation else [translation_rows(args)]) + (
        [] if args.no_caption else [caption_rows(args)])
    for source in sources:
        for row in source:
            rows.append(row)
            if args.out:
                atomic_write_text(Path(args.out), json.dumps({"machine": machine, "rows": rows}, indent=1))
    print(f"# total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
