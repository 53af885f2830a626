"""``rnnkit lm``: train a character- or word-level language model, and generate text with it.

    rnnkit lm train [FILE] [--corpus hamlet|wiki] [--level char|word] [--cell lstm] [--hidden 256]
                    [--bptt 64] [--batch-size 32] [--epochs 1] [--max-seconds S] [--out DIR]
    rnnkit lm generate MODEL_DIR --prime "To be" --length 200 --temperature 0.8
                       [--top-k K] [--top-p P] [--seed S]
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out
from rnnkit.data.corpora import CORPORA
from rnnkit.data.tokenizers import LEVELS
from rnnkit.models.validation import CELLS
from rnnkit.tasks.lm import (
    GenerateConfig,
    LMReport,
    LMTrainConfig,
    TextGenerator,
    train_lm,
)


PARAMETER_FLAGS: dict[str, str] = {"top_k": "--top-k", "top_p": "--top-p", "temperature": "--temperature"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lm", help=COMMANDS["lm"],
        description="Next-character / next-word language models (seed 002) trained with truncated "
                    "BPTT over the token stream; report validation loss, perplexity and bits per "
                    "character; generate with temperature, top-k and top-p sampling.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = sub.add_parser("train", help="train a language model on a text file or named corpus")
    train.add_argument("file", nargs="?", help="UTF-8 text file (default: the --corpus)")
    train.add_argument("--corpus", default="hamlet", choices=sorted(CORPORA),
                       help="named corpus when no FILE is given (default: hamlet, ~175k chars; "
                            "wiki: ~3M chars)")
    train.add_argument("--encoding", default="utf-8", help="encoding of FILE (default: utf-8)")
    train.add_argument("--level", default="char", choices=LEVELS, help="token level (default: char)")
    case = train.add_mutually_exclusive_group()
    case.add_argument("--lowercase", dest="lowercase", action="store_true", default=None,
                      help="lowercase the text (default: yes for word, no for char)")
    case.add_argument("--keep-case", dest="lowercase", action="store_false", help="do not lowercase")
    train.add_argument("--min-freq", type=int, default=1, help="rarer tokens become <unk> (default: 1)")
    train.add_argument("--max-vocab", type=int, default=None,
                       help="keep at most this many tokens, 4 reserved included (default: all)")
    train.add_argument("--val-fraction", type=float, default=0.05,
                       help="part of the text before the test part that picks the best epoch (default: 0.05)")
    train.add_argument("--test-fraction", type=float, default=0.05,
                       help="tail of the text the scores are reported on, never used for a choice (default: 0.05)")
    train.add_argument("--cell", default="lstm", choices=CELLS, help="recurrent cell (default: lstm)")
    train.add_argument("--embedding-dim", type=int, default=64, help="token embedding size (default: 64)")
    train.add_argument("--hidden", type=int, default=256, help="hidden size (default: 256)")
    train.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default: 1)")
    train.add_argument("--heads", type=int, default=None, help="heads of an slstm/mlstm cell")
    train.add_argument("--dropout", type=float, default=0.3, help="dropout (default: 0.3)")
    train.add_argument("--tie-weights", action="store_true", help="share embedding and output weights")
    train.add_argument("--batch-size", type=int, default=32, help="parallel streams (default: 32)")
    train.add_argument("--bptt", type=int, default=64, help="steps per truncated-BPTT chunk (default: 64)")
    train.add_argument("--epochs", type=int, default=30, help="passes over the text (default: 30: on Hamlet about 100 s, past the n-gram baseline)")
    train.add_argument("--max-steps", type=int, default=None, help="stop after this many updates")
    train.add_argument("--max-seconds", type=float, default=None, help="stop after this much time")
    train.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 3e-3)")
    train.add_argument("--clip", type=float, default=1.0, help="gradient norm clipping (default: 1.0)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--no-baseline", action="store_true",
                       help="skip the Kneser-Ney n-gram baseline on the same split")
    train.add_argument("--sample-length", type=int, default=200,
                       help="print a sample of this many tokens after training, 0 = none (default: 200)")
    add_output_options(train, "lm", resumable=True)
    train.set_defaults(func=run_train)

    gen = sub.add_parser("generate", help="generate text with a trained language model")
    gen.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder written by 'lm train'")
    gen.add_argument("--prime", default=None, help="text to continue (default: the most frequent token)")
    gen.add_argument("--length", type=int, default=200, help="tokens to generate (default: 200)")
    gen.add_argument("--temperature", type=float, default=1.0,
                     help="sampling temperature, 0 = greedy (default: 1.0)")
    gen.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens")
    gen.add_argument("--top-p", type=float, default=None, help="sample within probability mass p")
    gen.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    gen.set_defaults(func=run_generate)


def build_train_config(args: argparse.Namespace) -> LMTrainConfig:
    cell_kwargs = {}
    if args.heads is not None:
        if args.cell not in ("slstm", "mlstm"):
            raise ValueError(f"--heads applies to the slstm and mlstm cells, not --cell {args.cell}")
        cell_kwargs["num_heads"] = args.heads
    return LMTrainConfig(
        source=args.file or args.corpus, encoding=args.encoding, level=args.level,
        lowercase=args.lowercase, min_freq=args.min_freq, max_vocab=args.max_vocab,
        val_fraction=args.val_fraction, test_fraction=args.test_fraction, cell=args.cell, embedding_dim=args.embedding_dim,
        hidden_size=args.hidden, num_layers=args.layers, dropout=args.dropout,
        tie_weights=args.tie_weights, cell_kwargs=cell_kwargs, batch_size=args.batch_size,
        bptt=args.bptt, epochs=args.epochs, max_steps=args.max_steps, max_seconds=args.max_seconds,
        lr=args.lr, clip_norm=args.clip, seed=args.seed, baseline=not args.no_baseline,
    )


def print_report(report: LMReport, console: Console) -> None:
    unit = "char" if report.level == "char" else "word"
    table = Table(title=f"{report.level}-level language model, held-out test ({report.test_tokens} {unit}s)")
    table.add_column("metric")
    table.add_column("before training", justify="right")
    table.add_column("after training", justify="right")
    table.add_row("loss (nats/token)", f"{report.initial_test_loss:.4f}", f"{report.test_loss:.4f}")
    table.add_row("perplexity", f"{math.exp(report.initial_test_loss):.2f}", f"{report.perplexity:.2f}")
    table.add_row("bits per character", f"{report.initial_bits_per_char:.3f}", f"{report.bits_per_char:.3f}")
    if report.ngram is not None and report.ngram_bits_per_char is not None:
        table.add_row(f"Kneser-Ney {report.ngram.order}-gram, bits per character", "",
                      f"{report.ngram_bits_per_char:.3f}")
    console.print(table)
    if report.ngram_bits_per_char is not None:
        gap = report.ngram_bits_per_char - report.bits_per_char
        if gap > 0:
            console.print(f"The {report.ngram.order}-gram baseline is {gap:.3f} bits/char behind the recurrent model.",
                          highlight=False)
        else:
            console.print(f"The {report.ngram.order}-gram baseline beats the recurrent model by {-gap:.3f} bits/char "
                          "on this split: train longer (--epochs, --max-seconds) or a larger model.", highlight=False)
    console.print(
        f"vocabulary {report.vocab_size} tokens, {report.parameters} parameters, {report.steps} updates "
        f"in {report.epochs} epoch(s), {report.seconds:.1f} s, {report.tokens_per_second:.0f} {unit}s/s",
        highlight=False,
    )


def run_train(args: argparse.Namespace) -> int:
    if args.sample_length < 0:
        raise ValueError(f"--sample-length must be >= 0, got {args.sample_length}")
    config, out, resume = config_and_out(args, "lm", LMTrainConfig, build_train_config)
    report = train_lm(config, out, overwrite=args.overwrite, resume=resume)
    console = Console()
    print_report(report, console)
    if args.sample_length:
        sample = TextGenerator.load(report.model_dir).generate(
            GenerateConfig(length=args.sample_length, temperature=0.8, seed=args.seed))
        console.print("sample (temperature 0.8):", highlight=False)
        console.print(sample.text, highlight=False, markup=False, soft_wrap=True)
    console.print(f"model: {report.model_dir}", highlight=False, soft_wrap=True)
    return 0


def run_generate(args: argparse.Namespace) -> int:
    config = GenerateConfig(prime=args.prime, length=args.length, temperature=args.temperature,
                            top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    print(TextGenerator.load(args.model_dir).generate(config).text)
    return 0
