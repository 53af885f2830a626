"""``rnnkit music``: learn Bach's chorales (or your MIDI / MusicXML files) and continue a piece.

    rnnkit music train                                # music21's Bach chorales, an LSTM
    rnnkit music train my_midis/ --cell gru --epochs 60 --out runs/music
    rnnkit music generate runs/music/model --prime piece.mid --steps 96 --seed 3

``train`` prints the test pieces' negative log-likelihood per frame and frame accuracy beside two
baselines on the same frames (each pitch at its training frequency; the previous frame repeated,
smoothed), says which wins, and writes ``metrics.json``, ``model/``, ``sample.mid`` and
``sample.png`` (a continuation of a test piece's opening) into a new run folder.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out, run_dir_path
from rnnkit.models.validation import CELLS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("music", help=COMMANDS["music"], description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train on Bach's chorales or a folder of MIDI / MusicXML files")
    train.add_argument("folder", nargs="?", metavar="FOLDER", help="MIDI / MusicXML files (default: Bach chorales)")
    train.add_argument("--limit", type=int, help="use the first N chorales only")
    train.add_argument("--step", type=float, default=0.5, help="quarter notes per frame (default: 0.5, eighths)")
    train.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell (default: lstm)")
    train.add_argument("--hidden", type=int, default=128, help="hidden size (default: 128)")
    train.add_argument("--layers", type=int, default=1, help="stacked layers (default: 1)")
    train.add_argument("--epochs", type=int, default=40, help="maximum epochs (default: 40)")
    train.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 3e-3)")
    train.add_argument("--max-seconds", type=float, help="stop training after this much time")
    train.add_argument("--sample-steps", type=int, default=64, help="frames generated for sample.mid (default: 64)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_output_options(train, "music", resumable=True)
    train.set_defaults(func=run_train)

    gen = sub.add_parser("generate", help="continue a piece (or start from silence) with a trained model")
    gen.add_argument("model_dir", metavar="MODEL_DIR", help="the model folder written by 'music train'")
    gen.add_argument("--prime", help="a MIDI / MusicXML file whose opening is continued (default: silence)")
    gen.add_argument("--prime-steps", type=int, default=16, help="frames of the opening (default: 16)")
    gen.add_argument("--steps", type=int, default=64, help="frames to generate (default: 64)")
    gen.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    add_output_options(gen, "music-generate")
    gen.set_defaults(func=run_generate)


def run_train(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnnkit.tasks.music import MusicConfig, train_music

    def build(args: argparse.Namespace) -> MusicConfig:
        return MusicConfig(folder=args.folder, limit=args.limit, step=args.step, cell=args.cell,
                           hidden_size=args.hidden, num_layers=args.layers, epochs=args.epochs, lr=args.lr,
                           max_seconds=args.max_seconds, sample_steps=args.sample_steps, seed=args.seed)

    config, out, resume = config_and_out(args, "music", MusicConfig, build)
    report = train_music(config, out, overwrite=args.overwrite, resume=resume)
    table = Table(title=f"test pieces ({report.pieces['test']}; trained on {report.pieces['train']})")
    for column in ("model", "NLL per frame (nats)", "frame accuracy"):
        table.add_column(column, justify="left" if column == "model" else "right")
    rows = {config.cell: {"nll": report.nll, "frame_accuracy": report.frame_accuracy}}
    rows["each pitch at its training frequency"] = report.baselines["marginal"]
    eps = report.baselines["repeat"]["epsilon"]
    rows[f"previous frame repeated (smoothing {eps:g})"] = report.baselines["repeat"]
    for name, scores in rows.items():
        table.add_row(name, f"{scores['nll']:.3f}", f"{scores['frame_accuracy']:.3f}")
    console = Console(soft_wrap=True)
    console.print(table)
    best = min(rows, key=lambda name: rows[name]["nll"])
    if best == config.cell:
        console.print(f"The {config.cell} predicts the next frame better than both baselines "
                      f"({report.nll:.3f} nats per frame against {report.baselines['repeat']['nll']:.3f}).")
    else:
        console.print(f"The baseline '{best}' beats the {config.cell} on this split ({rows[best]['nll']:.3f} against "
                      f"{report.nll:.3f} nats per frame): train longer or a larger model.")
    console.print(f"{report.epochs} epoch(s) in {report.seconds:.1f} s")
    for name, path in report.files.items():
        console.print(f"{name:>12}: {path}")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from rnnkit.tasks.music import generate_music

    files = generate_music(args.model_dir, run_dir_path("music-generate", args.out), steps=args.steps, prime=args.prime,
                           prime_steps=args.prime_steps, seed=args.seed, overwrite=args.overwrite)
    console = Console(soft_wrap=True)
    for name, path in files.items():
        console.print(f"{name:>5}: {path}")
    return 0
