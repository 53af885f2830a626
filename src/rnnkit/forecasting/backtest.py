"""Rolling-origin backtests: forecast from several cut-off points and score against the truth.

An *origin* is the index of the first forecast step: the forecaster sees ``values[:origin]`` and
predicts ``values[origin : origin + horizon]``. A backtest asks the forecaster for every origin in
one call (the network answers them in one batched forward pass), then scores the forecasts in
the data's units with :func:`rnnkit.forecasting.metrics.evaluate`: per series, averaged over the
series.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rnnkit.data.series import SeriesSet
from rnnkit.forecasting.baselines import Baseline
from rnnkit.forecasting.metrics import METRICS, evaluate


@dataclass(frozen=True)
class Origin:
    """Forecast series ``series`` (its index in the set) from step ``index`` on."""

    series: int
    index: int


@dataclass
class Forecast:
    """Forecasts in the data's units: the point forecast (N, H) and optional quantiles level -> (N, H)."""

    point: np.ndarray
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)


BatchForecaster = Callable[[list[Origin], int], Forecast]
"""``forecast(origins, horizon)`` -> the forecasts of every origin, (N, horizon)."""


def rolling_origins(lengths: Sequence[int], first: Sequence[int], horizon: int, step: int = 1) -> list[Origin]:
    """Origins ``first[s], first[s] + step, ...`` up to ``lengths[s] - horizon`` for each series s."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"backtest step must be an integer >= 1 (steps between origins), got {step!r}")
    origins = []
    for s, (length, start) in enumerate(zip(lengths, first, strict=True)):
        if start + horizon > length:
            raise ValueError(
                f"series {s} has {length} values, too few for one {horizon}-step forecast from index {start}; "
                f"hold out at least {horizon} steps"
            )
        origins += [Origin(s, o) for o in range(start, length - horizon + 1, step)]
    return origins


def baseline_forecaster(make: Callable[[], Baseline], data: SeriesSet, train_ends: Sequence[int]) -> BatchForecaster:
    """A :data:`BatchForecaster` from a baseline fit once per series on its first ``train_ends[s]`` values."""
    fitted = [make().fit(s.values[:end]) for s, end in zip(data.series, train_ends, strict=True)]

    def forecast(origins: list[Origin], horizon: int) -> Forecast:
        point = [fitted[o.series].forecast(data.series[o.series].values[: o.index], horizon) for o in origins]
        return Forecast(np.stack(point))

    return forecast


@dataclass
class BacktestResult:
    """Per-step forecasts (one row per origin and step) and the metrics averaged over series."""

    forecasts: pd.DataFrame
    metrics: dict[str, float]


def backtest(
    forecaster: BatchForecaster,
    data: SeriesSet,
    origins: list[Origin],
    horizon: int,
    train_ends: Sequence[int],
    season: int = 1,
) -> BacktestResult:
    """Forecast every origin in one call and score it.

    Args:
        forecaster: answers all ``origins`` at once (N forecasts of ``horizon`` steps).
        data: the series; origins index into them.
        origins: where forecasts start (see :func:`rolling_origins`).
        train_ends: per series, the training length (the MASE scale is computed on it).
        season: the season length for MASE.
    """
    if not origins:
        raise ValueError("a backtest needs at least one origin; hold out at least one horizon of data")
    result = forecaster(origins, horizon)
    if result.point.shape != (len(origins), horizon):
        raise ValueError(f"the forecaster returned {result.point.shape}, expected ({len(origins)}, {horizon})")
    rows = []
    for n, origin in enumerate(origins):
        series = data.series[origin.series]
        span = slice(origin.index, origin.index + horizon)
        row = {
            "series": series.name,
            "origin": series.time[origin.index - 1] if origin.index > 0 else None,
            "step": np.arange(1, horizon + 1),
            "time": series.time[span],
            "actual": series.values[span],
            "forecast": result.point[n],
        }
        row.update({f"q{level:g}": values[n] for level, values in result.quantiles.items()})
        rows.append(pd.DataFrame(row))
    table = pd.concat(rows, ignore_index=True)
    per_series = []
    for s, series in enumerate(data.series):
        picked = [n for n, o in enumerate(origins) if o.series == s]
        if not picked:
            continue
        actual = np.stack([series.values[origins[n].index : origins[n].index + horizon] for n in picked])
        m = season if train_ends[s] > season else 1  # too short a history for a seasonal scale
        per_series.append(evaluate(actual, result.point[picked], series.values[: train_ends[s]], m))
    metrics = {name: float(np.mean([m[name] for m in per_series])) for name in METRICS}
    return BacktestResult(table, metrics)
