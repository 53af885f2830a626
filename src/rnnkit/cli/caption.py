"""``rnnkit caption``: one-to-many image captioning of the 8x8 ``load_digits`` images.

    rnnkit caption train [--lang es|en] [--cell lstm] [--out DIR]
    rnnkit caption predict MODEL_DIR [--out DIR] [--count N] [--beam K]
"""

from __future__ import annotations

import argparse

import torch

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out, run_dir_path
from rnnkit.io import run_folder
from rnnkit.models.validation import CELLS
from rnnkit.tasks.caption import (
    CaptionConfig,
    Captioner,
    caption_held_out,
    run_caption,
    write_caption_grid,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "caption",
        help=COMMANDS["caption"],
        description="Train a captioner on sklearn's load_digits images, or caption held-out images.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train a captioner and report held-out caption accuracy",
        description="Each image's caption is its digit's word (Spanish by default). The held-out "
                    "images are a stratified fraction of every digit, fixed by --seed.",
    )
    train.add_argument("--lang", choices=("es", "en"), default="es", help="caption language")
    train.add_argument("--cell", choices=CELLS, default="lstm", help="decoder cell")
    train.add_argument("--hidden", type=int, default=64, help="decoder hidden size (default: 64)")
    train.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    train.add_argument("--lr-schedule", choices=("cosine", "constant"), default="cosine",
                       help="cosine (default: down to 0 over the epochs) or constant")
    train.add_argument("--test-fraction", type=float, default=0.2, help="held-out fraction")
    train.add_argument("--max-seconds", type=float, default=None, help="stop training after this much time")
    train.add_argument("--seed", type=int, default=0)
    add_output_options(train, "caption", resumable=True)
    train.set_defaults(func=run_train)

    predict = actions.add_parser(
        "predict",
        help="caption the held-out images, print accuracy, write a PNG grid",
        description="Caption the held-out images of a model saved by 'rnnkit caption train'.",
    )
    predict.add_argument("model_dir", help="model folder written by 'caption train'")
    add_output_options(predict, "caption-predict", "folder for captions.png")
    predict.add_argument("--count", type=int, default=32, help="images in the grid (default: 32)")
    predict.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy, default)")
    predict.set_defaults(func=run_predict)


def _build_config(args: argparse.Namespace) -> CaptionConfig:
    return CaptionConfig(
        lang=args.lang,
        cell=args.cell,
        hidden_size=args.hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        test_fraction=args.test_fraction,
        max_seconds=args.max_seconds,
        seed=args.seed,
        progress_bar="auto",
    )


def run_train(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # small models, sequential steps: more threads only add contention
    config, out, resume = config_and_out(args, "caption", CaptionConfig, _build_config)
    result = run_caption(config, out, overwrite=args.overwrite, resume=resume)
    model_dir = out / "model"
    print(f"trained a CNN + {config.cell} captioner on {result.n_train} images "
          f"in {result.train_seconds:.1f} s")
    print(f"held-out caption accuracy: {100 * result.accuracy:.1f}% ({result.n_test} images)")
    print(f"model saved to {model_dir}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # small models, sequential steps: more threads only add contention
    captioner = Captioner.load(args.model_dir)
    held_out = caption_held_out(captioner, beam=args.beam)
    out = run_dir_path("caption-predict", args.out)
    png = out / "captions.png"
    with run_folder(out, "caption-predict", overwrite=args.overwrite) as tmp:
        write_caption_grid(held_out, tmp / png.name, count=args.count)
    print(f"held-out caption accuracy: {100 * held_out.accuracy:.1f}% ({len(held_out.captions)} images)")
    print(f"caption grid written to {png}")
    return 0
