"""Forecasting benchmark: rnnkit forecasters (each cell) against classical baselines.

Protocol (issue 7):

- AirPassengers: train 1949-01..1959-12, forecast the 12 months of 1960 in one shot; RMSE, MAPE.
  The networks run with the dataset's validated settings (``DATASETS["airpassengers"].settings``,
  the same as ``rnnkit forecast``): they correct the Holt-Winters (ETS) forecast. Two more rows
  per cell: the same with the squared error instead of quantiles (``AIR_POINT``), and the
  network alone on the seasonal-naive reference (``AIR_SEASON``, the previous setting).
- Yearly sunspots (statsmodels, 1700-2008): train up to 1978, forecast 1979-2008 in one shot
  (horizon 30), and 1 step ahead over the same 30 years feeding the true history (a horizon-1
  model, 30 rolling origins); RMSE, MAE.

Each network runs with 3 seeds (mean +/- sd) and its fit time in seconds (training loop only);
baselines are deterministic and fit once. Hyperparameters were chosen on validation periods
inside the training data, never on the test years: three folds each (AirPassengers 1957, 1958,
1959; sunspots 1889-1918, 1919-1948, 1949-1978), each trained on what precedes it;
``--holdout val`` scores the last fold (see docs/benchmarks.md for the table of that search).

    .venv/bin/python benchmarks/forecast.py                      # full table (markdown on stdout)
    .venv/bin/python benchmarks/forecast.py --cells lstm --seeds 1 --holdout val
    .venv/bin/python benchmarks/forecast.py --only sunspots-rolling   # without the slow one-shot networks
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from rnnkit.data.datasets import DATASETS, load_dataset
from rnnkit.data.series import SeriesSet
from rnnkit.forecasting.backtest import backtest, baseline_forecaster, rolling_origins
from rnnkit.forecasting.baselines import AR, ETS, SARIMA, Baseline, Drift, Naive, SeasonalNaive
from rnnkit.layers import LAYER_BUILDERS
from rnnkit.tasks.forecast import ForecastConfig, ForecastTask

AIR = ForecastConfig(
    horizon=12, window=24, log=True, batch_size=128, quantiles=(0.1, 0.5, 0.9), baselines=(), patience=None,
    **DATASETS["airpassengers"].settings,
)
AIR_POINT = replace(AIR, quantiles=(), lr=3e-3, epochs=400)
AIR_SEASON = ForecastConfig(
    horizon=12, window=24, log=True, reference="season", ar_lags=24, hidden_size=32, epochs=400, batch_size=128,
    lr=3e-3, quantiles=(0.1, 0.5, 0.9), baselines=(), patience=None,
)
SUN_ONE_SHOT = ForecastConfig(
    horizon=30, window=60, mode="recursive", reference="none", hidden_size=32, epochs=300, batch_size=256,
    lr=3e-3, quantiles=(0.1, 0.5, 0.9), baselines=(), patience=None,
)
SUN_ROLLING = replace(SUN_ONE_SHOT, horizon=1, window=22, test=30, backtest_step=1, mode="direct", reference="last")


def _mean_sd(values: list[float]) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.2f} ± {sd:.2f}"


def _network(config: ForecastConfig, data: SeriesSet, seeds: list[int], metrics: tuple[str, ...]) -> dict[str, str]:
    scores: dict[str, list[float]] = {m: [] for m in metrics}
    seconds = []
    for seed in seeds:
        task = ForecastTask(replace(config, seed=seed), data).fit()
        seconds.append(task.train_seconds)
        result = task.evaluate().metrics.iloc[0]
        for m in metrics:
            scores[m].append(float(result[m]))
    return {**{m: _mean_sd(v) for m, v in scores.items()}, "fit s": _mean_sd(seconds)}


def _baseline(make: Callable[[], Baseline], data: SeriesSet, test: int, horizon: int, metrics: tuple[str, ...]) -> dict[str, str]:
    n = len(data.series[0])
    start = time.perf_counter()
    forecaster = baseline_forecaster(make, data, [n - test])
    seconds = time.perf_counter() - start
    origins = rolling_origins([n], [n - test], horizon, step=horizon if horizon == test else 1)
    result = backtest(forecaster, data, origins, horizon, [n - test], make().season)
    return {**{m: f"{result.metrics[m]:.2f}" for m in metrics}, "fit s": f"{seconds:.2f}"}


def _table(title: str, rows: dict[str, dict[str, str]], columns: tuple[str, ...]) -> str:
    lines = [f"**{title}**", "", "| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(row.get(c, "") for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default=",".join(c for c in ("rnn", "lstm", "gru", "slstm", "mlstm") if c in LAYER_BUILDERS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--holdout", choices=("test", "val"), default="test",
                        help="score on the test years (default) or on the validation years before them (tuning)")
    parser.add_argument("--only", choices=("air", "sunspots", "sunspots-rolling", "all"), default="all",
                        help="one dataset; sunspots-rolling leaves out the (slow) one-shot sunspot networks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    seeds = list(range(args.seeds))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, cells {cells}, seeds {seeds}, holdout {args.holdout}\n")

    if args.only in ("air", "all"):
        air = load_dataset("airpassengers")
        if args.holdout == "val":
            air = air.drop_last(12)
        metrics = ("MAPE", "RMSE")
        rows = {}
        for label, config in (("on ETS", AIR), ("on ETS, squared error", AIR_POINT), ("on seasonal naive", AIR_SEASON)):
            for cell in cells:
                rows[f"rnnkit {cell}, {label}"] = _network(replace(config, cell=cell), air, seeds, metrics)
        for make in (Naive, lambda: SeasonalNaive(12), lambda: ETS(12), lambda: SARIMA(12), lambda: AR(12)):
            rows[make().name] = _baseline(make, air, 12, 12, metrics)
        print(_table("AirPassengers, 12 months one shot", rows, (*metrics, "fit s")), "\n", flush=True)

    if args.only in ("sunspots", "sunspots-rolling", "all"):
        sun = load_dataset("sunspots")
        if args.holdout == "val":
            sun = sun.drop_last(30)
        metrics = ("RMSE", "MAE")
        rows = {}
        for cell in cells:
            one_shot = args.only != "sunspots-rolling"
            one = _network(replace(SUN_ONE_SHOT, cell=cell), sun, seeds, metrics) if one_shot else {}
            roll = _network(replace(SUN_ROLLING, cell=cell), sun, seeds, metrics)
            rows[f"rnnkit {cell}"] = {
                "one-shot RMSE": one.get("RMSE", ""), "one-shot MAE": one.get("MAE", ""),
                "one-shot fit s": one.get("fit s", ""),
                "rolling RMSE": roll["RMSE"], "rolling MAE": roll["MAE"], "rolling fit s": roll["fit s"],
            }
        for name, make in (("naive", Naive), ("drift", Drift), ("AR(9)", lambda: AR(lags=9)), ("SARIMA", SARIMA),
                           ("ETS", ETS)):
            one = _baseline(make, sun, 30, 30, metrics)
            roll = _baseline(make, sun, 30, 1, metrics)
            rows[name] = {"one-shot RMSE": one["RMSE"], "one-shot MAE": one["MAE"], "one-shot fit s": one["fit s"],
                          "rolling RMSE": roll["RMSE"], "rolling MAE": roll["MAE"], "rolling fit s": roll["fit s"]}
        columns = ("one-shot RMSE", "one-shot MAE", "one-shot fit s", "rolling RMSE", "rolling MAE", "rolling fit s")
        print(_table("Yearly sunspots, 1979-2008", rows, columns), flush=True)


if __name__ == "__main__":
    main()
