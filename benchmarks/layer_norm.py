"""Speed of the layer-normalized cells as ratios to the plain fused LSTM / GRU, in one run.

For hidden 64 and 256 (input = hidden, batch 32, 50 steps) it times forward + backward (of
``output.sum()``) of: rnnkit.LSTM / GRU (torch's fused kernel: the reference), the layer-normalized
cell's compiled whole-sequence loop (``CellLayer`` without lengths), and its step-by-step Python
loop (``CellLayer`` with lengths, all full). Variants alternate after a warm-up; medians.

    python benchmarks/layer_norm.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnkit.layers import build_layer

BATCH, STEPS = 32, 50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| cell | hidden | plain fused, ms | LN compiled loop / plain | LN step loop / plain |\n|---|---|---|---|---|")
    for plain, normed in (("lstm", "lnlstm"), ("gru", "lngru")):
        for hidden in (64, 256):
            torch.manual_seed(0)
            x = torch.randn(BATCH, STEPS, hidden)
            full = torch.full((BATCH,), STEPS)
            layers = {"plain": build_layer(plain, hidden, hidden), "compiled": build_layer(normed, hidden, hidden)}
            runs = {
                "plain": lambda: layers["plain"](x)[0].sum().backward(),
                "compiled": lambda: layers["compiled"](x)[0].sum().backward(),
                "step": lambda: layers["compiled"](x, lengths=full)[0].sum().backward(),
            }
            for run in runs.values():
                run()
            times: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.repeats):
                for name, run in runs.items():
                    start = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - start)
            median = {name: statistics.median(values) for name, values in times.items()}
            print(f"| {normed} | {hidden} | {1000 * median['plain']:.1f} | {median['compiled'] / median['plain']:.2f} "
                  f"| {median['step'] / median['plain']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
