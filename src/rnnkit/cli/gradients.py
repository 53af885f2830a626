"""``rnnkit gradients``: vanishing and exploding gradients, measured and explained.

    rnnkit gradients [--out DIR] [--T 200] [--hidden 64] [--cells rnn,lstm,gru]
                     [--forget-bias 0,1,3] [--seed 0] [--batch 8]

Values are parsed here rather than by argparse so that every mistake is one line on stderr.
"""

from __future__ import annotations

import argparse

import torch
from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, run_dir_path
from rnnkit.cli.longrange import verdict
from rnnkit.tasks.gradients import GradientsConfig, GradientsReport, run_gradients


PARAMETER_FLAGS: dict[str, str] = {"train_steps": "--train-steps", "track_every": "--track-every",
                                   "rnn_remedies": "--rnn-remedies"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradients",
        help=COMMANDS["gradients"],
        description=(
            "Run the scalar experiment h_t = tanh(w h_{t-1}) of seed 003 over w in [-4, 4], and "
            "measure in freshly initialised layers how the gradient norm of the last output "
            "falls with the distance T - t. Writes scalar_sweep.{csv,png} and "
            "gradient_flow.{csv,png}, prints a table and one line per curve."
        ),
    )
    add_output_options(parser, "gradients")
    parser.add_argument("--T", dest="steps", default="200", metavar="T",
                        help="largest distance T - t measured (default: 200)")
    parser.add_argument("--hidden", default="64", metavar="H", help="hidden size (default: 64)")
    parser.add_argument("--cells", default="rnn,lstm,gru", metavar="LIST",
                        help="comma-separated cells among those rnnkit.build_layer knows "
                             "(rnn, lstm, gru, slstm, mlstm; default: rnn,lstm,gru)")
    parser.add_argument("--forget-bias", default=None, metavar="LIST",
                        help="comma-separated LSTM forget-gate biases, each an extra LSTM curve "
                             "(default: 0,1,3 when lstm is measured; 'none' for no extra curve)")
    parser.add_argument("--seed", default="0", help="seed of inputs and weights (default: 0)")
    parser.add_argument("--batch", default="8", metavar="B",
                        help="sequences averaged over (default: 8)")
    parser.add_argument("--rnn-remedies", default=None, metavar="LIST",
                        help="extra plain-RNN curves with seed 004's remedies: irnn (ReLU + identity), "
                             "orthogonal, xavier")
    parser.add_argument("--train-steps", default="0", metavar="N",
                        help="also train each curve's layer for N steps on the adding problem of length T and "
                             "measure its gradient flow during training (default: 0, initialisation only)")
    parser.add_argument("--track-every", default=None, metavar="N",
                        help="steps between the measurements during training (default: 10 per run)")
    parser.add_argument("--max-seconds", default=None, metavar="S",
                        help="time budget of each curve's training (with --train-steps)")
    parser.set_defaults(func=run)


def _int_option(flag: str, text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {value}")
    return value


def _list_option(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _forget_biases(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    values = []
    for item in _list_option(text):
        try:
            values.append(float(item))
        except ValueError:
            raise ValueError(
                f"--forget-bias must be comma-separated numbers such as 0,1,3, got {item!r}"
            ) from None
    return tuple(values)


def build_config(args: argparse.Namespace) -> GradientsConfig:
    """Turn the parsed options into a GradientsConfig."""
    steps = _int_option("--T", args.steps, 1)
    hidden = _int_option("--hidden", args.hidden, 1)
    seed = _int_option("--seed", args.seed, 0)
    batch = _int_option("--batch", args.batch, 1)
    biases = _forget_biases(args.forget_bias)
    train_steps = _int_option("--train-steps", args.train_steps, 0)
    every = None if args.track_every is None else _int_option("--track-every", args.track_every, 1)
    budget = None if args.max_seconds is None else _seconds(args.max_seconds)
    return GradientsConfig(cells=tuple(_list_option(args.cells)), steps=steps, hidden_size=hidden, batch_size=batch,
                           seed=seed, forget_biases=biases, train_steps=train_steps, track_every=every,
                           max_seconds=budget, rnn_remedies=tuple(_list_option(args.rnn_remedies or "")))


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--max-seconds must be a number of seconds > 0, got {text!r}") from None


def print_report(report: GradientsReport, console: Console) -> None:
    """Print the table of gradient norms, one explanation line per curve, and the files."""
    distances = report.config.report_distances
    table = Table(title="gradient norm ||dL/ds_t|| at distance T - t (at initialisation)")
    table.add_column("curve")
    for distance in distances:
        table.add_column(f"d={distance}", justify="right")
    for summary in report.summaries:
        table.add_row(summary.label, *(f"{summary.norms[d]:.2e}" for d in distances))
    console.print(table)
    console.print(report.scalar_explanation, highlight=False, soft_wrap=True)
    for summary in report.summaries:
        console.print(summary.explanation, highlight=False, soft_wrap=True)
    if report.training:
        _print_training(report, console)
    console.print("wrote:", highlight=False)
    for path in report.files.values():
        console.print(f"  {path}", highlight=False, soft_wrap=True)


def _print_training(report: GradientsReport, console: Console) -> None:
    config = report.config
    steps = sorted({step for curve in report.training for step in curve.ratios})
    shown = sorted({steps[0], steps[len(steps) // 2], steps[-1]})  # first, middle and last measurement
    table = Table(title=f"trained {config.train_steps} steps on the adding problem (T={config.steps}): "
                        f"g({config.steps - 1}) / g(1) during training, and the test MSE")
    table.add_column("curve")
    for step in shown:
        table.add_column(f"step {step}", justify="right")
    table.add_column("test MSE / baseline", justify="right")
    for curve in report.training:
        ratio = curve.test_mse / curve.baseline
        table.add_row(curve.label, *(f"{curve.ratios.get(s, float('nan')):.1e}" for s in shown),
                      f"{ratio:.3f} ({verdict(ratio)})")
    console.print(table)


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    # Hundreds of tiny sequential steps: synchronising intra-op threads costs more than it
    # saves (measured 5-10x slower with 2 threads on a busy 2-core CPU), so use one.
    torch.set_num_threads(1)
    report = run_gradients(config, run_dir_path("gradients", args.out), overwrite=args.overwrite)
    print_report(report, Console())
    return 0
