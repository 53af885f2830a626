"""Speed of rnnkit's classic layers as ratios to torch.nn measured in the same run.

For RNN, LSTM and GRU (and the seeds' GRU, ``reset_after=False``, which torch has no kernel for,
against ``torch.nn.GRU`` of the same size) at batch 64, 100 steps, input = hidden = 128/256/512,
it times the forward pass (inference, under ``torch.no_grad``) and forward + backward (of
``output.sum()``, input and weight gradients) of torch.nn, rnnkit's fast path and rnnkit's
reference path. Variants are timed round-robin after a warm-up; the table gives torch.nn's time
in ms (median of the repeats, or min) and each rnnkit path's as a ratio to it (< 1: faster).

Usage: ``python benchmarks/layers.py [--quick] [--repeats N] [--threads N] [--sizes H ...]
[--stat median|min]`` (``--quick``: hidden 128 only, 3 repeats; prints a markdown table).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch

import rnnkit

BATCH, STEPS = 64, 100


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _forward(layer: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            layer(x)

    return run


def _forward_backward(layer: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        x.grad = None
        layer.zero_grad(set_to_none=True)
        out, _ = layer(x)
        out.sum().backward()

    return run


def _measure(
    variants: dict[str, torch.nn.Module], x: torch.Tensor, repeats: int, stat: Callable[[list[float]], float]
) -> dict[str, dict[str, float]]:
    """Seconds per pass and variant (``stat`` of the repeats): {"forward": {...}, "forward+backward": {...}}."""
    results: dict[str, dict[str, float]] = {}
    for mode, make in (("forward", _forward), ("forward+backward", _forward_backward)):
        runs = {name: make(layer, x) for name, layer in variants.items()}
        for run in runs.values():  # warm-up
            run()
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():  # round-robin: machine noise hits every variant alike
                samples[name].append(_time(run))
        results[mode] = {name: stat(values) for name, values in samples.items()}
    return results


def _variants(cell: str, hidden: int) -> tuple[str, dict[str, torch.nn.Module]]:
    """Label and {"torch": ..., "fast": ..., "reference": ...} with identical weights."""
    if cell == "gru_seeds":
        torch_layer: torch.nn.Module = torch.nn.GRU(hidden, hidden)
        make = lambda backend: rnnkit.GRU(hidden, hidden, reset_after=False, backend=backend)  # noqa: E731
        label = "GRU, seeds' form (reset_after=False) vs torch.nn.GRU"
    else:
        torch_cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        ours_cls = {"rnn": rnnkit.RNN, "lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[cell]
        torch_layer = torch_cls(hidden, hidden)
        make = lambda backend: ours_cls(hidden, hidden, backend=backend)  # noqa: E731
        label = {"rnn": "RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}[cell]
    variants = {"torch": torch_layer, "fast": make("fast"), "reference": make("reference")}
    for name in ("fast", "reference"):
        variants[name].load_state_dict(torch_layer.state_dict())
    return label, variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="hidden 128 only, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per variant (default 7, quick 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="hidden sizes (default 128 256 512)")
    parser.add_argument(
        "--stat", choices=("median", "min"), default="median", help="statistic of the repeats (min resists a busy machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    repeats = args.repeats or (3 if args.quick else 7)
    sizes = args.sizes or ([128] if args.quick else [128, 256, 512])
    stat = statistics.median if args.stat == "median" else min
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} thread(s), batch {BATCH}, {STEPS} steps, {args.stat} of {repeats} "
        "(ratio = rnnkit time / torch.nn time in the same run)\n"
    )
    print("| layer | hidden | pass | torch.nn (ms) | fast / torch.nn | reference / torch.nn |")
    print("|---|---|---|---|---|---|")
    for cell in ("lstm", "gru", "rnn", "gru_seeds"):
        for hidden in sizes:
            label, variants = _variants(cell, hidden)
            x = torch.randn(STEPS, BATCH, hidden, requires_grad=True)
            for mode, times in _measure(variants, x, repeats, stat).items():
                base = times["torch"]
                print(
                    f"| {label} | {hidden} | {mode} | {base * 1e3:.1f} | "
                    f"{times['fast'] / base:.2f} | {times['reference'] / base:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
