"""``rnnkit forecast``: train a recurrent forecaster, compare it with the baselines, forecast ahead.

    rnnkit forecast                                   # AirPassengers, last 12 months held out
    rnnkit forecast --dataset sunspots
    rnnkit forecast sales.csv --time date --target units [--id store] [--covariates price]
                    [--horizon 12] [--window 24] [--cell lstm] [--mode direct|recursive]
                    [--fill ffill|interpolate|zero] [--log] [--epochs 300] [--ar-lags L]
                    [--ensemble N] [--out DIR]
    rnnkit forecast --model DIR sales.csv             # forecast with a saved model

Values are parsed here rather than by argparse so that every mistake is one line on stderr.
Nothing is written before the options and the data have been checked.
"""

from __future__ import annotations

import argparse
import math

import torch
from rich.console import Console
from rich.table import Table

from rnnkit.cli.common import new_run_dir
from rnnkit.data.datasets import DATASETS, dataset_info, load_dataset
from rnnkit.data.series import FILL_METHODS, SeriesColumns, SeriesSet, load_series, read_table
from rnnkit.forecasting.baselines import BASELINES
from rnnkit.forecasting.metrics import METRICS
from rnnkit.models.forecaster import MODES
from rnnkit.tasks.forecast import (
    DEFAULT_BASELINES,
    REFERENCES,
    ForecastConfig,
    ForecastRun,
    ForecastTask,
    run_forecast,
    run_saved,
)

CELLS = ("rnn", "lstm", "gru", "slstm", "mlstm")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forecast",
        help="forecast a time series with an RNN/LSTM/GRU/xLSTM, scored against classical baselines",
        description=(
            "Train a recurrent forecaster on a CSV/Parquet series (or a bundled dataset; default "
            "AirPassengers), hold out the last steps, print the metrics of the network and of the "
            "baselines on them, and write forecast.csv, holdout.csv, metrics.csv, forecast.png and "
            "the saved model into the output folder. With --model, forecast new data with a saved model."
        ),
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="CSV or Parquet file, one row per time step")
    parser.add_argument("--dataset", help=f"bundled series when no FILE: {', '.join(DATASETS)} (default: airpassengers)")
    parser.add_argument("--time", help="time column of FILE (dates or numbers)")
    parser.add_argument("--target", help="value column of FILE to forecast")
    parser.add_argument("--id", help="series id column (several series, one global model)")
    parser.add_argument("--covariates", metavar="A,B", help="comma-separated past covariate columns")
    parser.add_argument("--fill", help=f"fill missing values and skipped steps: {', '.join(FILL_METHODS)}")
    parser.add_argument("--horizon", metavar="H", help="steps to forecast (default: the season length)")
    parser.add_argument("--window", metavar="W", help="past steps the network reads (default: 2 x horizon)")
    parser.add_argument("--cell", default="lstm", help=f"recurrent cell: {', '.join(CELLS)} (default: lstm)")
    parser.add_argument("--mode", default="direct", help="direct (H outputs) or recursive (feed back) (default: direct)")
    parser.add_argument("--hidden", metavar="N", help="hidden size (default: 32, or the dataset's validated setting)")
    parser.add_argument("--layers", default="1", metavar="N", help="stacked recurrent layers (default: 1)")
    parser.add_argument("--dropout", default="0", help="dropout between layers and before the head (default: 0)")
    parser.add_argument("--ar-lags", default="0", metavar="L",
                        help="direct mode: also map the last L values linearly to the forecast (default: 0, none)")
    parser.add_argument("--ensemble", default="1", metavar="N",
                        help="train N networks side by side and average their forecasts (default: 1)")
    log = parser.add_mutually_exclusive_group()
    log.add_argument("--log", dest="log", action="store_true", default=None, help="model the log of the target")
    log.add_argument("--no-log", dest="log", action="store_false", help="model the target itself")
    parser.add_argument("--scaler", default="standard", help="standard, minmax or none (default: standard)")
    parser.add_argument("--calendar", action="store_true",
                        help="feed the month of year / day of week of each step as a known-future covariate")
    parser.add_argument("--reference",
                        help="what the network's outputs are added to: season (seasonal naive), last (naive), "
                             "none, or a classical model the network learns to correct: ets, sarima, ar, drift "
                             "(default: season; ets for airpassengers)")
    parser.add_argument("--quantiles", default="0.1,0.5,0.9", help="quantiles for intervals, or 'none' (default: 0.1,0.5,0.9)")
    parser.add_argument("--test", metavar="N", help="steps held out at the end and scored (default: horizon)")
    parser.add_argument("--val", default="0", metavar="N", help="validation steps before them, for early stopping (default: 0)")
    parser.add_argument("--backtest-step", metavar="N", help="steps between held-out forecast origins (default: horizon)")
    parser.add_argument("--baselines", default=",".join(DEFAULT_BASELINES), metavar="LIST",
                        help=f"baselines to score, among {', '.join(BASELINES)}, or 'none'")
    parser.add_argument("--season", metavar="M", help="season length (default: from the frequency, e.g. 12 monthly)")
    parser.add_argument("--epochs", help="training epochs (default: 400, or the dataset's validated setting)")
    parser.add_argument("--lr", help="learning rate (default: 0.003, or the dataset's validated setting)")
    parser.add_argument("--weight-decay", metavar="WD",
                        help="AdamW weight decay (default: 0, or the dataset's validated setting)")
    parser.add_argument("--batch", default="128", metavar="B", help="batch size (default: 128)")
    parser.add_argument("--seed", default="0", help="random seed (default: 0)")
    parser.add_argument("--model", metavar="DIR", help="forecast FILE (or --dataset) with this saved model")
    parser.add_argument("--out", help="output folder (default: a new rnnkit-runs/forecast-<time>)")
    parser.set_defaults(func=run)


def _int(flag: str, text: str | None, minimum: int, default: int | None = None) -> int | None:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {value}")
    return value


def _float(flag: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{flag} must be a number in [{low:g}, {high:g}), got {text!r}") from None
    if not (math.isfinite(value) and low <= value < high):
        raise ValueError(f"{flag} must be a number in [{low:g}, {high:g}), got {text}")
    return value


def _list(text: str | None) -> tuple[str, ...]:
    if text is None or text.strip().lower() == "none":
        return ()
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _choice(flag: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise ValueError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _load_data(args: argparse.Namespace, columns: SeriesColumns | None = None) -> tuple[SeriesSet, str]:
    """The series to work on and a label for them."""
    fill = _choice("--fill", args.fill, FILL_METHODS) if args.fill is not None else None
    if args.file is None:
        name = args.dataset or "airpassengers"
        dataset_info(name)
        for flag in ("time", "target", "id", "covariates"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag} applies to a FILE, but none was given; add the file or drop --{flag}")
        return load_dataset(name), name
    if args.dataset is not None:
        raise ValueError(f"give either FILE ({args.file}) or --dataset ({args.dataset}), not both")
    if columns is None:
        if args.time is None or args.target is None:
            available = ", ".join(map(str, read_table(args.file).columns))
            raise ValueError(
                f"FILE needs --time and --target (the time and value columns); its columns are: {available}"
            )
        columns = SeriesColumns(args.time, args.target, args.id, _list(args.covariates))
    return load_series(args.file, columns, fill=fill), args.file


def build_config(args: argparse.Namespace, data: SeriesSet, label: str) -> ForecastConfig:
    """Turn the parsed options into a ForecastConfig (dataset defaults where an option is absent)."""
    info = DATASETS.get(label) if args.file is None else None
    season = _int("--season", args.season, 1)
    cycle = season or data.frequency.season_length
    horizon = _int("--horizon", args.horizon, 1, info.horizon if info else max(cycle, 1))
    window = _int("--window", args.window, 1, info.window if info else max(2 * horizon, cycle))
    positive = all((s.values > 0).all() for s in data)
    log = args.log if args.log is not None else (info.log if info else False)
    if log and not positive:
        raise ValueError("--log needs every target value > 0, but the data has values <= 0; drop --log")
    quantiles = tuple(_float("--quantiles", q, 0.0, 1.0) for q in _list(args.quantiles))
    baselines = _list(args.baselines)
    for name in baselines:
        _choice("--baselines", name, list(BASELINES))
    options = {  # None where the option is absent: then the dataset's validated setting, else the default
        "hidden_size": _int("--hidden", args.hidden, 1),
        "reference": None if args.reference is None else _choice("--reference", args.reference, REFERENCES),
        "epochs": _int("--epochs", args.epochs, 1),
        "lr": None if args.lr is None else _float("--lr", args.lr, 1e-8, 10.0),
        "weight_decay": None if args.weight_decay is None else _float("--weight-decay", args.weight_decay, 0.0, 10.0),
    }
    settings = {**(info.settings if info else {}), **{k: v for k, v in options.items() if v is not None}}
    return ForecastConfig(
        **settings,
        horizon=horizon,
        window=window,
        cell=_choice("--cell", args.cell, CELLS),
        num_layers=_int("--layers", args.layers, 1),
        dropout=_float("--dropout", args.dropout, 0.0, 1.0),
        ar_lags=_int("--ar-lags", args.ar_lags, 0),
        ensemble=_int("--ensemble", args.ensemble, 1),
        mode=_choice("--mode", args.mode, MODES),
        quantiles=quantiles,
        scaler=_choice("--scaler", args.scaler, ("standard", "minmax", "none")),
        log=log,
        calendar=args.calendar,
        test=_int("--test", args.test, 0),
        val=_int("--val", args.val, 0),
        backtest_step=_int("--backtest-step", args.backtest_step, 1),
        baselines=baselines,
        season=season,
        batch_size=_int("--batch", args.batch, 1),
        seed=_int("--seed", args.seed, 0),
        progress_bar="auto",
    )


def _fmt(value: float, name: str) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}%" if name in ("MAPE", "sMAPE") else f"{value:.3f}" if name == "MASE" else f"{value:.2f}"


def _print_report(console: Console, result: ForecastRun, label: str) -> None:
    task = result.task
    if result.report is not None:
        table = Table(title=f"{label}: held-out last {task.split.test} steps, horizon {task.config.horizon}")
        table.add_column("method")
        for name in METRICS:
            table.add_column(name, justify="right")
        metrics = result.report.metrics
        best = metrics["MAPE"].idxmin() if metrics["MAPE"].notna().any() else metrics["RMSE"].idxmin()
        for method, row in metrics.iterrows():
            style = "bold green" if method == best else None
            table.add_row(str(method), *(_fmt(row[m], m) for m in METRICS), style=style)
        console.print(table)
    for kind, path in result.files.items():
        console.print(f"{kind:>9}: {path}")


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(1)  # tiny sequential steps: a second thread only adds contention on a busy CPU
    console = Console()
    if args.model is not None:
        columns = ForecastTask.saved_columns(args.model) if args.file is not None else None
        data, label = _load_data(args, columns)
        out = new_run_dir("forecast", args.out)
        result = run_saved(args.model, data, out)
        console.print(f"forecast of {label} with the saved model {args.model}:")
    else:
        data, label = _load_data(args)
        config = build_config(args, data, label)
        task = ForecastTask(config, data)  # checks the lengths before anything is written
        out = new_run_dir("forecast", args.out)
        result = run_forecast(task, out)
        seconds = result.task.train_seconds
        hybrid = f", correcting the {config.reference.upper()} forecast," if config.hybrid else ""
        console.print(f"trained a {config.mode} {config.cell}{hybrid} on {label} in {seconds:.1f} s")
    _print_report(console, result, label)
    return 0
