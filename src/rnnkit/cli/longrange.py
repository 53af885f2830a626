"""``rnnkit longrange``: can a cell bridge T steps? The adding and copy-memory tasks.

    rnnkit longrange --task adding|copy --T 100 --cell lstm [--steps 2000] [--batch-size 50]
                     [--lr 1e-3] [--hidden 128] [--clip 1.0] [--seed 0] [--forget-bias B]
                     [--out DIR]

Trains with the rnnkit engine on fresh sequences every step, then prints the test loss next to
the memoryless baseline and writes ``result.json`` (and the engine's ``metrics.csv``, the
training loss every 50 steps) into the run folder.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out
from rnnkit.models.validation import CELLS
from rnnkit.tasks.longrange import TASKS, LongRangeConfig, train_longrange


PARAMETER_FLAGS: dict[str, str] = {"forget_bias": "--forget-bias", "cell": "--cell"}

SOLVED_RATIO, LEARNED_RATIO, BELOW_RATIO = 0.1, 0.5, 0.9
"""Margins of the verdict, as fractions of the memoryless baseline's test loss: solved at 10% or
less, learned at half or less, partly learned at 90% or less; above that, not learned."""


def verdict(ratio: float) -> str:
    """The word for a test loss of ``ratio`` times the memoryless baseline's."""
    if ratio <= SOLVED_RATIO:
        return "solved"
    if ratio <= LEARNED_RATIO:
        return "learned"
    return "partly learned" if ratio <= BELOW_RATIO else "not learned"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "longrange",
        help=COMMANDS["longrange"],
        description=(
            "Long-range dependency tasks (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016). "
            "adding: sum the two marked values of a length-T sequence, baseline MSE 0.167. copy: "
            "recall 10 symbols after T blanks, baseline cross-entropy 10 ln 8 / (T + 20)."
        ),
    )
    parser.add_argument("--task", choices=TASKS, default="adding", help="which task (default: adding)")
    parser.add_argument("--T", type=int, default=100, help="sequence length / lag to bridge (default: 100)")
    parser.add_argument("--cell", choices=CELLS, default="lstm", help="recurrent cell (default: lstm)")
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps (default: 2000)")
    parser.add_argument("--batch-size", type=int, default=50, help="fresh sequences per step (default: 50)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden size (default: 128)")
    parser.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping, 0 = off (default: 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (default: 0)")
    parser.add_argument("--nonlinearity", choices=("tanh", "relu"), default=None,
                        help="the Elman RNN's nonlinearity (--cell rnn; default: tanh)")
    parser.add_argument("--init", choices=("default", "orthogonal", "xavier", "identity"), default=None,
                        help="weight initialization of rnn / lstm / gru (identity: the IRNN, with --nonlinearity relu)")
    parser.add_argument("--forget-bias", type=float, default=None,
                        help="initial LSTM forget-gate bias, e.g. 1 (default: torch's init; other cells ignore it)")
    parser.add_argument("--track-gradients", type=int, metavar="EVERY", default=None,
                        help="record the gradient norm against distance every EVERY steps during training "
                             "(gradient_flow.csv and gradient_flow.png)")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop training after this much time")
    add_output_options(parser, "longrange", resumable=True)
    parser.set_defaults(func=run)


def _from_settings(**settings: object) -> tuple[LongRangeConfig, int | None]:
    """An interrupted run's config and its --track-gradients, from the settings it kept."""
    track_every = settings.pop("track_every", None)
    return LongRangeConfig(**settings), track_every  # type: ignore[arg-type]


def _build(args: argparse.Namespace) -> tuple[LongRangeConfig, int | None]:
    cell_kwargs = {}
    if args.nonlinearity is not None:
        if args.cell != "rnn":
            raise ValueError(f"--nonlinearity applies to --cell rnn, not --cell {args.cell}")
        cell_kwargs["nonlinearity"] = args.nonlinearity
    if args.init is not None:
        if args.cell not in ("rnn", "lstm", "gru"):
            raise ValueError(f"--init applies to --cell rnn, lstm or gru, not --cell {args.cell}")
        cell_kwargs["init"] = args.init
    config = LongRangeConfig(
        task=args.task, T=args.T, cell=args.cell, hidden_size=args.hidden, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, clip_norm=args.clip or None, seed=args.seed,
        forget_bias=args.forget_bias, cell_kwargs=cell_kwargs, max_seconds=args.max_seconds, progress_bar="auto",
    )
    if args.track_gradients is not None and args.track_gradients < 1:
        raise ValueError(f"--track-gradients must be >= 1 (steps between measurements), got {args.track_gradients}")
    return config, args.track_gradients


def run(args: argparse.Namespace) -> int:
    (config, track_every), out, resume = config_and_out(args, "longrange", _from_settings, _build)
    result = train_longrange(config, out, track_every=track_every, overwrite=args.overwrite, resume=resume)
    cell_kwargs = config.cell_kwargs

    metric = "MSE" if config.task == "adding" else "cross-entropy / step"
    remedies = "".join(f", {k}={v}" for k, v in cell_kwargs.items())
    table = Table(title=f"{config.task}, T={config.T}, cell={config.cell}{remedies}")
    table.add_column("")
    table.add_column(metric, justify="right")
    table.add_row("before training", f"{result.initial_loss:.4f}")
    table.add_row("after training", f"{result.test_loss:.4f}")
    table.add_row("memoryless baseline", f"{result.baseline:.4f}")
    table.add_row("ratio to baseline", f"{result.ratio_to_baseline:.3f}")
    if result.test_accuracy is not None:
        table.add_row("recall accuracy", f"{result.test_accuracy:.3f}")
    table.add_row("training sequences", f"{result.sequences:,}")
    table.add_row("CPU minutes", f"{result.cpu_seconds / 60:.2f}")
    console = Console()
    console.print(table)
    ratio, word = result.ratio_to_baseline, verdict(result.ratio_to_baseline)
    said = {"solved": f"below the baseline {result.baseline:.4f}, under 10% of it: solved",
            "learned": f"below the baseline {result.baseline:.4f}, under half of it: learned, not solved",
            "partly learned": f"below the baseline {result.baseline:.4f} by more than 10% but not under half of it: "
                              "partly learned",
            "not learned": f"not below the baseline {result.baseline:.4f} by more than 10%: the network has not "
                           "learned the task"}[word]
    console.print(f"test {metric} {result.test_loss:.4f} (ratio {ratio:.3f}): {said}")
    console.print(f"result written to {out / 'result.json'}")
    if result.gradient_flow:
        first, last = _ends(result.gradient_flow)
        console.print(f"gradient norm from distance {config.T - 1} over distance 1: {first:.2e} at the start, "
                      f"{last:.2e} at the end of training (gradient_flow.csv, gradient_flow.png)")
    return 0


def _ends(rows: list[dict[str, float]]) -> tuple[float, float]:
    """g(T-1) / g(1) at the first and the last recorded step."""
    steps = sorted({row["step"] for row in rows})
    ratio = []
    for step in (steps[0], steps[-1]):
        norms = {row["distance"]: row["norm"] for row in rows if row["step"] == step}
        ratio.append(norms[max(norms)] / norms[1] if norms[1] > 0 else float("nan"))
    return ratio[0], ratio[1]
