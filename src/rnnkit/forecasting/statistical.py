"""The baselines a practitioner runs, from statsforecast (Nixtla, Apache-2.0), on the same frames.

``statistical_forecasts(train_df, h, season)`` fits each model of :data:`STAT_MODELS` on every
series and returns their forecasts in the long format (``unique_id, ds, <model>,
<model>-lo-80...``) with each model's seconds; ``statistical_cross_validation`` does the same from
the validation cutoffs of a :class:`~rnnkit.forecasting.global_model.GlobalForecaster`, so the
network and the baselines are compared on the same windows.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from rnnkit.data.series import Frequency

STAT_MODELS: tuple[str, ...] = ("SeasonalNaive", "Naive", "AutoETS", "AutoTheta", "DOTM", "AutoARIMA")
"""Models by the name of their forecast column ("DOTM": the dynamic optimized Theta method)."""

DEFAULT_STAT_MODELS: tuple[str, ...] = ("SeasonalNaive", "Naive", "AutoETS", "AutoTheta", "DOTM")
"""AutoARIMA is left out by default: it is the slowest by far."""


def _model(name: str, season: int) -> Any:
    from statsforecast.models import (
        AutoARIMA,
        AutoETS,
        AutoTheta,
        DynamicOptimizedTheta,
        Naive,
        SeasonalNaive,
    )

    builders = {
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
        "Naive": lambda: Naive(),
        "AutoETS": lambda: AutoETS(season_length=season),
        "AutoTheta": lambda: AutoTheta(season_length=season),
        "DOTM": lambda: DynamicOptimizedTheta(season_length=season, alias="DOTM"),
        "AutoARIMA": lambda: AutoARIMA(season_length=season),
    }
    if name not in builders:
        raise ValueError(f"unknown statistical model {name!r}; choose from {', '.join(STAT_MODELS)}")
    return builders[name]()


def statsforecast_freq(frequency: Frequency) -> Any:
    """The ``freq`` statsforecast wants: the pandas alias for dates, the integer step for numbers."""
    if frequency.offset is not None:
        return frequency.offset
    step = float(frequency.step)  # type: ignore[arg-type]
    return int(step) if step.is_integer() else step


def _fit_forecast(df: pd.DataFrame, h: int, name: str, season: int, freq: Any, levels: tuple[int, ...],
                  n_jobs: int) -> pd.DataFrame:
    import warnings

    from statsforecast import StatsForecast

    from statsforecast.models import Naive, SeasonalNaive

    # a series too short for the model (ETS on 14 quarters: "tiny datasets") gets the seasonal
    # naive forecast instead, as Nixtla's examples do, rather than failing the whole run
    fallback = SeasonalNaive(season_length=season) if season > 1 else Naive()
    sf = StatsForecast(models=[_model(name, season)], freq=freq, n_jobs=n_jobs, fallback_model=fallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sf.forecast(df=df[["unique_id", "ds", "y"]], h=h, level=list(levels) or None)
    return out.reset_index() if "unique_id" not in out.columns else out


def statistical_forecasts(
    df: pd.DataFrame,
    h: int,
    season: int,
    frequency: Frequency,
    models: tuple[str, ...] = DEFAULT_STAT_MODELS,
    levels: tuple[int, ...] = (80, 95),
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Forecasts of ``models`` for the ``h`` steps after every series of ``df``, and each model's seconds.

    A seasonal model whose season is 1 or longer than a series falls back the way statsforecast
    does (non-seasonal); a model that cannot fit a series at all (AutoETS on very short series)
    gives that series the seasonal naive forecast (naive when ``season == 1``). SeasonalNaive with
    ``season == 1`` is Naive again and is skipped.
    """
    freq = statsforecast_freq(frequency)
    merged: pd.DataFrame | None = None
    seconds: dict[str, float] = {}
    for name in models:
        if name == "SeasonalNaive" and season == 1:
            continue
        start = time.perf_counter()
        out = _fit_forecast(df, h, name, season, freq, levels, n_jobs)
        seconds[name] = time.perf_counter() - start
        out["unique_id"] = out["unique_id"].astype(str)
        merged = out if merged is None else merged.merge(out, on=["unique_id", "ds"])
    if merged is None:
        raise ValueError(f"no baseline left to run among stat_models={','.join(models) or 'none'} (SeasonalNaive "
                         "with season 1 is Naive); add another model, e.g. AutoETS")
    return merged, seconds


def statistical_at_cutoffs(
    df: pd.DataFrame,
    cutoffs: pd.DataFrame,
    h: int,
    season: int,
    frequency: Frequency,
    models: tuple[str, ...] = DEFAULT_STAT_MODELS,
    levels: tuple[int, ...] = (80, 95),
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Forecasts of ``models`` from given origins: ``cutoffs`` has unique_id and cutoff (the last
    known ds); each (series, cutoff) is fit on the values up to its cutoff. Columns: unique_id,
    ds, cutoff, and the models' forecasts."""
    pairs = cutoffs[["unique_id", "cutoff"]].drop_duplicates()
    pairs = pairs.assign(unique_id=pairs["unique_id"].astype(str))
    data = df.assign(unique_id=df["unique_id"].astype(str))
    frames = []
    for _, group in pairs.groupby(pairs.groupby("unique_id").cumcount()):  # one cutoff per series at a time
        part = data.merge(group, on="unique_id")
        part = part[part["ds"] <= part["cutoff"]].drop(columns="cutoff")
        forecast, _ = statistical_forecasts(part, h, season, frequency, models, levels, n_jobs)
        frames.append(forecast.merge(group, on="unique_id"))
    return pd.concat(frames, ignore_index=True)


def model_columns(frame: pd.DataFrame) -> list[str]:
    """The point-forecast columns of a long forecast frame (not ids, times, y or interval bounds)."""
    skip = {"unique_id", "ds", "cutoff", "y", "index"}
    return [c for c in frame.columns if c not in skip and "-lo-" not in c and "-hi-" not in c
            and np.issubdtype(frame[c].dtype, np.number)]
