"""What the Lightning engine costs: ``rnnkit.training.fit`` against a plain torch loop and against the
smallest Lightning program, same model, same batches, measured in one run.

    python benchmarks/engine.py --hidden 64 256 --epochs 3 --repeats 5

All three train a one-layer ``rnnkit.LSTM`` regressor (batch 32, T = 50, 8 inputs, 2048 sequences, no
shuffling, Adam 1e-3, gradient clipping at norm 1) on one intra-op thread:

* plain loop: what a user writes by hand: zero_grad, forward, MSE, backward, clip, step;
* bare Lightning: a four-method LightningModule (training_step returns the MSE, clipping in
  ``on_before_optimizer_step``) on a Trainer with no logger, checkpoint, progress bar or summary
  and the engine's do-nothing profiler, fed the same ready-made batches: the floor of Lightning's
  own loop, which ``fit`` runs on (``fit / bare`` is what rnnkit adds to it);
* ``fit``: no validation data, no loggers and no progress bar (its per-epoch history, epoch means and
  per-step loss checks stay on: they are part of what the engine does).

Each repeat runs the three back to back in a rotating order (so a slow spell of the machine does not
fall on one of them only); the table gives the median seconds per epoch of each over the repeats
and the ratios of those medians to the plain loop. After the run the plain loop's and ``fit``'s
weights are compared (the same batches in the same order give the same weights up to float rounding).
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
from torch import nn

import rnnkit
from rnnkit.training import RegressionObjective, TrainConfig, fit
from rnnkit.training.console import lightning_output
from rnnkit.training.engine import _NoProfiler

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


class BareModule(L.LightningModule):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return nn.functional.mse_loss(self.model(batch[0]), batch[1])

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=1e-3)


def bare_lightning(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> float:
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, EXAMPLES, BATCH)]
    loader = torch.utils.data.DataLoader(batches, batch_size=None)         # the ready batches, no collate
    with lightning_output(True):
        trainer = L.Trainer(accelerator="cpu", max_epochs=epochs, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, profiler=_NoProfiler())
        start = time.perf_counter()
        trainer.fit(BareModule(model), loader)
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
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = data()
    print("| hidden | plain loop s / epoch | bare Lightning s / epoch | rnnkit fit s / epoch | bare / plain "
          "| fit / plain | fit / bare | max weight difference |\n|---|---|---|---|---|---|---|---|")
    runners = {"plain": plain_loop, "bare": bare_lightning, "fit": engine}
    for hidden in args.hidden:
        times: dict[str, list[float]] = {name: [] for name in runners}
        models: dict[str, nn.Module] = {}
        names = list(runners)
        for repeat in range(args.repeats):
            for name in names[repeat % 3:] + names[: repeat % 3]:     # a rotating order
                torch.manual_seed(0)
                models[name] = Regressor(hidden)
                times[name].append(runners[name](models[name], x, y, args.epochs))
        difference = max((a - b).abs().max().item() for a, b in zip(models["plain"].state_dict().values(),
                                                                    models["fit"].state_dict().values(), strict=True))
        p, b, e = (statistics.median(times[name]) for name in names)
        print(f"| {hidden} | {p:.3f} | {b:.3f} | {e:.3f} | {b / p:.2f} | {e / p:.2f} | {e / b:.2f} | {difference:.1e} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
