"""What the Lightning engine costs: ``rnnkit.training.fit`` against a plain torch loop, same model,
same batches, measured in one run.

    python benchmarks/engine.py --hidden 64 256 --epochs 3 --repeats 3

Both train a one-layer ``rnnkit.LSTM`` regressor (batch 32, T = 50, 8 inputs, 2048 sequences, no
shuffling, Adam 1e-3, gradient clipping at norm 1) on one intra-op thread. The plain loop is what a
user would write by hand: zero_grad, forward, MSE, backward, clip, step. ``fit`` runs with no
validation data, no loggers and no progress bar (its per-epoch history and per-step loss checks
stay on: they are part of what the engine does). The table gives the median seconds per epoch of
each, alternated ``--repeats`` times, and their ratio; after the run the two models' weights are
compared (the same batches in the same order give the same weights up to float rounding).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import rnnkit
from rnnkit.training import RegressionObjective, TrainConfig, fit

EXAMPLES, BATCH, STEPS, FEATURES = 2048, 32, 50, 8


class Regressor(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.rnn = rnnkit.LSTM(FEATURES, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0][:, -1])


def data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(EXAMPLES, STEPS, FEATURES, generator=generator)
    return x, x[:, -5:].sum(dim=(1, 2)).unsqueeze(1)


def plain_loop(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(0, EXAMPLES, BATCH):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x[i : i + BATCH]), y[i : i + BATCH])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    return (time.perf_counter() - start) / epochs


def engine(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    config = TrainConfig(optimizer="adam", lr=1e-3, clip_norm=1.0, max_epochs=epochs, batch_size=BATCH, shuffle=False,
                         accelerator="cpu", progress_bar="off", seed=0)
    result = fit(model, RegressionObjective(), (x, y), config=config)
    return result.seconds / epochs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = data()
    print("| hidden | plain loop s / epoch | rnnkit fit s / epoch | ratio | max weight difference |\n|---|---|---|---|---|")
    for hidden in args.hidden:
        plain_times, engine_times = [], []
        for _ in range(args.repeats):
            torch.manual_seed(0)
            plain = Regressor(hidden)
            torch.manual_seed(0)
            ours = Regressor(hidden)
            plain_times.append(plain_loop(plain, x, y, args.epochs))
            engine_times.append(engine(ours, x, y, args.epochs))
        difference = max((a - b).abs().max().item() for a, b in zip(plain.state_dict().values(),
                                                                    ours.state_dict().values(), strict=True))
        p, e = statistics.median(plain_times), statistics.median(engine_times)
        print(f"| {hidden} | {p:.3f} | {e:.3f} | {e / p:.2f} | {difference:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
