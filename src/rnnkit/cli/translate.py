"""``rnnkit translate``: train a sequence-to-sequence translator, or translate with a saved one.

    rnnkit translate train [FILE] [--dataset numbers|dates] [--direction to-words|to-digits]
                           [--cell lstm] [--attention additive] [--level char|word] [--out DIR]
    rnnkit translate predict MODEL_DIR "text" [...] [--beam K] [--attention-map out.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out
from rnnkit.models.validation import CELLS
from rnnkit.tasks.translate import (
    ATTENTIONS,
    DATASETS,
    TranslateConfig,
    Translator,
    run_translate,
    write_attention_map,
)

# Library parameter -> the flag that sets it, where it differs from rnnkit.cli.common.COMMON_FLAGS.
PARAMETER_FLAGS: dict[str, str] = {"embedding_dim": "--embedding", "n_train": "--train-size", "n_test": "--test-size",
                                   "max_number": "--max-number", "eval_beam": "--beam", "direction": "--direction"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "translate",
        help=COMMANDS["translate"],
        description="Train an encoder-decoder translator, or translate with a saved one.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train on numbers/dates or a TSV of source<TAB>target lines, report held-out scores",
        description=(
            "Train a translator and report exact match, chrF and BLEU on held-out pairs. Without "
            "FILE the pairs are generated offline: numbers in digits <-> Spanish words "
            "(num2words) or ISO dates <-> Spanish long dates (Babel)."
        ),
    )
    train.add_argument("file", nargs="?", help="TSV file of source<TAB>target lines (optional)")
    train.add_argument("--dataset", choices=DATASETS[:-1], default=None,
                       help="built-in pairs when no FILE is given (default: numbers)")
    train.add_argument("--direction", choices=("to-words", "to-digits"), default="to-words",
                       help="built-in pairs: digits -> words (default) or words -> digits")
    train.add_argument("--level", choices=("char", "word"), default=None,
                       help="tokens of the text side (built-in data) or of both sides (FILE); "
                            "default: word for numbers, char for dates and files")
    train.add_argument("--cell", choices=CELLS, default="lstm", help="encoder/decoder cell")
    train.add_argument("--attention", choices=ATTENTIONS, default="additive",
                       help="attention over the encoder outputs (default: additive)")
    train.add_argument("--hidden", type=int, default=128, help="hidden size (default: 128)")
    train.add_argument("--embedding", type=int, default=64, help="token embedding size")
    train.add_argument("--train-size", type=int, default=20_000, help="built-in training pairs")
    train.add_argument("--test-size", type=int, default=1_000, help="built-in held-out pairs")
    train.add_argument("--max-number", type=int, default=1_000_000,
                       help="numbers dataset: draw numbers below this (default: one million)")
    train.add_argument("--test-fraction", type=float, default=0.1,
                       help="FILE: fraction of distinct sources held out (default: 0.1)")
    train.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    train.add_argument("--max-seconds", type=float, default=None, help="stop training after this much time")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    train.add_argument("--beam", type=int, default=1, help="beam size for the held-out evaluation")
    train.add_argument("--seed", type=int, default=0)
    add_output_options(train, "translate", resumable=True)
    train.set_defaults(func=run_train)

    predict = actions.add_parser(
        "predict",
        help="translate texts with a saved model",
        description="Translate each TEXT with a model saved by 'rnnkit translate train'. Inputs "
                    "longer than the longest training source are refused (not truncated).",
    )
    predict.add_argument("model_dir", help="model folder written by 'translate train'")
    predict.add_argument("texts", nargs="+", metavar="TEXT", help="text(s) to translate")
    predict.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy, default)")
    predict.add_argument("--attention-map", metavar="PNG",
                         help="write the attention heat map of the first TEXT to this PNG")
    predict.set_defaults(func=run_predict)


def _build_config(args: argparse.Namespace) -> TranslateConfig:
    return TranslateConfig(
        dataset="file" if args.file else (args.dataset or "numbers"),
        path=args.file,
        direction=args.direction,
        level=args.level,
        cell=args.cell,
        attention=args.attention,
        hidden_size=args.hidden,
        embedding_dim=args.embedding,
        n_train=args.train_size,
        n_test=args.test_size,
        max_number=args.max_number,
        test_fraction=args.test_fraction,
        epochs=args.epochs,
        max_seconds=args.max_seconds,
        batch_size=args.batch_size,
        lr=args.lr,
        eval_beam=args.beam,
        seed=args.seed,
        progress_bar="auto",
    )


def run_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # small models, sequential steps: more threads only add contention
    if args.file and args.dataset:
        raise ValueError(f"got both FILE {args.file!r} and --dataset {args.dataset}; give one of them")
    config, out, resume = config_and_out(args, "translate", TranslateConfig, _build_config)
    result = run_translate(config, out, overwrite=args.overwrite, resume=resume)
    model_dir = out / "model"
    print(result.data_description)
    print(f"trained {config.cell} encoder/decoder, attention {config.attention}, "
          f"in {result.train_seconds:.1f} s")
    scores = result.scores
    print(f"held-out ({scores.n} pairs): exact match {100 * scores.exact_match:.1f}%  "
          f"chrF {scores.chrf:.1f}  BLEU {scores.bleu:.1f}")
    if result.by_digits:
        print("exact match by length in digits: " + ", ".join(
            f"{d}: {right}/{total} ({100 * right / total:.1f}%)" for d, (right, total) in result.by_digits.items()))
        weak = [d for d, (right, total) in result.by_digits.items() if right < 0.98 * total]
        if weak:
            print(f"below 98% on numbers of {', '.join(map(str, weak))} digit(s): train longer (--epochs) or on more "
                  "pairs (--train-size)")
    for source, target, output in result.examples:
        mark = "ok" if output == target else "xx"
        print(f"  [{mark}] {source}  ->  {output}" + ("" if output == target else f"   (want: {target})"))
    print(f"model saved to {model_dir}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # small models, sequential steps: more threads only add contention
    translator = Translator.load(args.model_dir)
    outputs = translator.translate(args.texts, beam=args.beam)
    for text, output in zip(args.texts, outputs):
        print(f"{text}\t{output}")
    if args.attention_map:
        amap = translator.attention_map(args.texts[0], beam=args.beam)
        write_attention_map(amap, Path(args.attention_map))
        print(f"attention map written to {args.attention_map}")
    return 0
