"""``rnnkit forecast``: a global recurrent forecaster over one or many series, beside statsforecast.

    rnnkit forecast                                   # Tourism quarterly (427 series), its test split
    rnnkit forecast --dataset m3-monthly              # any M3 / Tourism subset, or airpassengers...
    rnnkit forecast sales.csv --id store --time date --target units --horizon 6
    rnnkit forecast --model DIR sales.csv --id store --time date --target units

A FILE is long (one row per series and time step: id, time, value columns; ``unique_id, ds, y``
by default) or a single series (no id column). Values are parsed here rather than by argparse so
every mistake is one line on stderr; nothing is written before the options and data are checked.
"""

from __future__ import annotations

import argparse
import math

from rich.console import Console
from rich.table import Table

from rnnkit.cli.commands import COMMANDS
from rnnkit.cli.common import add_output_options, config_and_out, run_dir_path
from rnnkit.data.series import FILL_METHODS
from rnnkit.forecasting.config import TRANSFORMS
from rnnkit.forecasting.networks import NETWORKS, SKIPS
from rnnkit.models.validation import CELLS

DEFAULT_DATASET = "tourism-quarterly"

# Library parameter -> the flag that sets it, so a library message reads in the user's terms.
PARAMETER_FLAGS: dict[str, str] = {
    "horizon": "--horizon", "lookback": "--lookback", "lookbacks": "--lookbacks", "ensemble": "--ensemble",
    "hidden_size": "--hidden", "num_layers": "--layers", "dropout": "--dropout", "epochs": "--epochs",
    "batch_size": "--batch", "lr": "--lr", "short_series": "--short-series", "val_windows": "--val-windows",
    "levels": "--levels", "stat_models": "--baselines", "test_windows": "--test-windows", "network": "--network",
    "cell": "--cell", "loss": "--loss", "skip": "--skip", "season": "--season", "max_seconds": "--max-seconds",
    "futr_df": "--futr-file", "combine_how": "--combine-how", "combine": "--combine", "transform": "--transform",
    "time_col": "--time", "target_col": "--target", "id_col": "--id", "deseasonalize": "--deseasonalize",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forecast",
        help=COMMANDS["forecast"],
        description=(
            "Train a global recurrent forecaster on every series of a long CSV/Parquet file (or a bundled "
            f"dataset; default {DEFAULT_DATASET}), score it and statsforecast's baselines on the validation "
            "windows and the held-out test part, and write metrics.csv, validation.csv, holdout.csv, "
            "forecast.csv (unique_id, ds, <model>, <model>-lo-80...), forecast.png and the saved model."
        ),
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="CSV or Parquet file (long: id, time, value)")
    parser.add_argument("--dataset", help="bundled data when no FILE: m3-yearly|quarterly|monthly|other, "
                        "tourism-yearly|quarterly|monthly, airpassengers, sunspots, co2 "
                        f"(default: {DEFAULT_DATASET})")
    parser.add_argument("--id", help="series id column of FILE (default: unique_id if present; none = one series)")
    parser.add_argument("--time", help="time column of FILE (default: ds)")
    parser.add_argument("--target", help="value column of FILE (default: y)")
    parser.add_argument("--hist-exog", metavar="A,B", help="historical covariate columns (known up to the origin)")
    parser.add_argument("--futr-exog", metavar="A,B", help="known-future covariate columns (their future values: --futr-file)")
    parser.add_argument("--futr-file", metavar="FILE", help="future values of --futr-exog (id, time, columns)")
    parser.add_argument("--fill", help=f"fill missing values and skipped steps: {', '.join(FILL_METHODS)}")
    parser.add_argument("--horizon", metavar="H", help="steps to forecast (default: the dataset's, else one season)")
    parser.add_argument("--season", metavar="M", help="season length (default: from the frequency)")
    parser.add_argument("--network", help=f"{' or '.join(NETWORKS)} (default: the dataset's setting, else direct, "
                        "MQ-RNN)")
    parser.add_argument("--cell", help=f"recurrent cell: {', '.join(CELLS)} (default: lstm)")
    parser.add_argument("--hidden", metavar="N", help="hidden size (default: 64)")
    parser.add_argument("--layers", metavar="N", help="stacked recurrent layers (default: 2)")
    parser.add_argument("--dropout", metavar="P", help="dropout between stacked layers (default: 0)")
    parser.add_argument("--lookback", metavar="L", help="past values each window shows (default: 2 seasons, >= 2 H)")
    parser.add_argument("--lookbacks", metavar="L1,L2", help="ensemble over these lookbacks")
    parser.add_argument("--ensemble", metavar="N", help="members (seeds) per lookback; median forecast (default: 1)")
    parser.add_argument("--loss", help="direct network loss: mae (scaled) or smape (default: mae)")
    parser.add_argument("--skip", help=f"what the direct network corrects: {', '.join(SKIPS)} (default: last)")
    parser.add_argument("--transform", help="what the network sees of a window: scale (y / level), log "
                        "(log(y / level), positive data) or log1p (log(1 + y / level), data with zeros) "
                        "(default: scale)")
    parser.add_argument("--deseasonalize", action="store_true", default=None,
                        help="divide each window by its seasonal indices (when Theta's seasonality test says so)")
    parser.add_argument("--short-series", help="series shorter than lookback + horizon: pad, skip or error "
                        "(default: pad)")
    parser.add_argument("--val-windows", metavar="N", help="validation origins per series (default: automatic)")
    parser.add_argument("--levels", metavar="80,95", help="interval levels in %% (default: 80,95)")
    parser.add_argument("--baselines", metavar="LIST", help="statsforecast models beside the network, or none "
                        "(default: SeasonalNaive,Naive,AutoETS,AutoTheta,DOTM; AutoARIMA also available)")
    parser.add_argument("--combine", metavar="LIST", help="baselines averaged with the network into one more forecast, "
                        "or none (default: AutoETS,DOTM when both are among --baselines)")
    parser.add_argument("--combine-how", help="mean or median of the combined forecasts (default: mean)")
    parser.add_argument("--test-windows", metavar="N", help="horizons held out at the end and scored, 0 = none "
                        "(default: 1; competitions keep their own test part)")
    parser.add_argument("--epochs", metavar="N", help="training epochs (default: the dataset's setting, else 30)")
    parser.add_argument("--lr", help="learning rate (default: 0.001)")
    parser.add_argument("--batch", metavar="B", help="windows per batch (default: 256)")
    parser.add_argument("--max-seconds", metavar="S", help="training time budget per member")
    parser.add_argument("--seed", default="0", help="random seed (default: 0)")
    parser.add_argument("--model", metavar="DIR", help="forecast FILE (or --dataset) with this saved model")
    add_output_options(parser, "forecast", resumable=True)
    parser.set_defaults(func=run)


def _int(flag: str, text: str | None, minimum: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {value}")
    return value


def _float(flag: str, text: str | None, low: float, high: float) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{flag} must be a number in [{low:g}, {high:g}), got {text!r}") from None
    if not (math.isfinite(value) and low <= value < high):
        raise ValueError(f"{flag} must be a number in [{low:g}, {high:g}), got {text}")
    return value


def _list(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _choice(flag: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is not None and value not in choices:
        raise ValueError(f"{flag} must be one of {', '.join(choices)}, got {value!r}")
    return value


def load_data(args: argparse.Namespace):  # -> ForecastData
    """The data to forecast, from FILE (with its columns) or --dataset."""
    from rnnkit.data.series import read_table
    from rnnkit.tasks.forecast import ForecastData, bundled_data, frame_from_file

    exog = (_list(args.hist_exog) or ()) + (_list(args.futr_exog) or ())
    if args.file is None:
        for flag in ("id", "time", "target", "hist_exog", "futr_exog", "fill", "futr_file"):
            if getattr(args, flag) is not None:
                option = "--" + flag.replace("_", "-")
                raise ValueError(f"{option} applies to a FILE, but none was given; add the file or drop {option}")
        return bundled_data(args.dataset or DEFAULT_DATASET)
    if args.dataset is not None:
        raise ValueError(f"give either FILE ({args.file}) or --dataset ({args.dataset}), not both")
    columns = list(read_table(args.file).columns)
    id_col = args.id or ("unique_id" if "unique_id" in columns else None)
    time_col, target_col = args.time or "ds", args.target or "y"
    for flag, column in (("--time", time_col), ("--target", target_col)):
        if column not in columns:
            raise ValueError(f"{args.file} has no column {column!r}; name its {flag[2:]} column with {flag} "
                             f"(columns: {', '.join(map(str, columns))})")
    frame = frame_from_file(args.file, id_col=id_col, time_col=time_col, target_col=target_col, exog=exog)
    if args.fill is not None:
        _choice("--fill", args.fill, FILL_METHODS)
        frame = _filled(frame, args.fill)
    futr_df = None
    if args.futr_file is not None and not args.futr_exog:
        raise ValueError("--futr-file gives future values of --futr-exog columns, but none were named; add "
                         "--futr-exog A,B or drop --futr-file")
    if args.futr_file is not None:
        future = read_table(args.futr_file)
        futr_df = future.rename(columns={c: n for c, n in ((id_col, "unique_id"), (time_col, "ds")) if c})
        if id_col is None:
            futr_df["unique_id"] = frame["unique_id"].iloc[0]
    return ForecastData(frame, args.file, futr_df=futr_df)


def _filled(frame, method: str):
    """Fill missing values and skipped steps per series (the checks then see a complete grid)."""
    import pandas as pd

    from rnnkit.data.series import SeriesColumns, series_from_frame

    data = series_from_frame(frame, SeriesColumns("ds", "y", "unique_id"), fill=method)
    return pd.concat([pd.DataFrame({"unique_id": s.name, "ds": s.time, "y": s.values}) for s in data],
                     ignore_index=True)


def build_config(args: argparse.Namespace, data):  # -> ForecastConfig
    """The ForecastConfig of the options: the dataset's validated settings where an option is absent."""
    from rnnkit.forecasting.config import GlobalForecastConfig
    from rnnkit.forecasting.settings import competition_settings
    from rnnkit.forecasting.combination import HOW
    from rnnkit.forecasting.statistical import DEFAULT_STAT_MODELS
    from rnnkit.tasks.forecast import ForecastConfig

    horizon = _int("--horizon", args.horizon, 1)
    if horizon is None:
        horizon = _dataset_horizon(data)
    levels = _list(args.levels)
    options = {
        "network": _choice("--network", args.network, NETWORKS),
        "cell": _choice("--cell", args.cell, CELLS),
        "hidden_size": _int("--hidden", args.hidden, 1),
        "num_layers": _int("--layers", args.layers, 1),
        "dropout": _float("--dropout", args.dropout, 0.0, 1.0),
        "lookback": _int("--lookback", args.lookback, 1),
        "lookbacks": None if args.lookbacks is None else tuple(_int("--lookbacks", v, 1) for v in _list(args.lookbacks)),
        "ensemble": _int("--ensemble", args.ensemble, 1),
        "loss": _choice("--loss", args.loss, ("mae", "smape")),
        "skip": _choice("--skip", args.skip, SKIPS),
        "transform": _choice("--transform", args.transform, TRANSFORMS),
        "deseasonalize": args.deseasonalize,
        "short_series": _choice("--short-series", args.short_series, ("pad", "skip", "error")),
        "val_windows": _int("--val-windows", args.val_windows, 1),
        "levels": None if levels is None else tuple(_float("--levels", v, 1.0, 100.0) for v in levels),
        "epochs": _int("--epochs", args.epochs, 1),
        "lr": _float("--lr", args.lr, 1e-8, 10.0),
        "batch_size": _int("--batch", args.batch, 1),
        "max_seconds": _float("--max-seconds", args.max_seconds, 1.0, math.inf),
        "season": _int("--season", args.season, 1) or data.season,
        "hist_exog": _list(args.hist_exog),
        "futr_exog": _list(args.futr_exog),
    }
    settings = competition_settings(data.label) if args.file is None else {}
    if options["lookback"] is not None or options["lookbacks"] is not None:  # the user's lookbacks replace the dataset's
        settings = {k: v for k, v in settings.items() if k not in ("lookback", "lookbacks")}
    model = GlobalForecastConfig(**{**settings, **{k: v for k, v in options.items() if v is not None},
                                    "horizon": horizon, "seed": _int("--seed", args.seed, 0),
                                    "progress_bar": "auto"})
    baselines = _list(args.baselines)
    stat_models = DEFAULT_STAT_MODELS if baselines is None else baselines
    test_windows = _int("--test-windows", args.test_windows, 0)
    return ForecastConfig(model=model, stat_models=stat_models, combine=_list(args.combine),
                          combine_how=_choice("--combine-how", args.combine_how, HOW) or "mean",
                          **({} if test_windows is None else {"test_windows": test_windows}))


def _dataset_horizon(data) -> int:
    """The competition's horizon for a competition subset, else one season (at least 1)."""
    from rnnkit.data.datasets import DATASETS
    from rnnkit.forecasting.panel import panel_from_frame

    if data.test_df is not None:
        return int(data.test_df.groupby("unique_id").size().iloc[0])
    if data.label in DATASETS:
        return DATASETS[data.label].horizon
    return data.season or panel_from_frame(data.df.groupby("unique_id", sort=False).head(3)).frequency.season_length


def _table(title: str, metrics, network: str, primary: str) -> Table:
    table = Table(title=title)
    table.add_column("model", no_wrap=True)  # a combination's name is long; it stays whole
    columns = [c for c in metrics.columns if c != "fit s"] + (["fit s"] if "fit s" in metrics.columns else [])
    for column in columns:
        table.add_column(column.replace("coverage-", "cov "), justify="right")
    best = metrics[primary].idxmin() if metrics[primary].notna().any() else None
    for model, row in metrics.iterrows():
        style = "bold green" if model == best else ("bold" if model == network else None)
        table.add_row(str(model), *("n/a" if row[c] != row[c] else f"{row[c]:.3f}" if c == "MASE" else f"{row[c]:.2f}"
                                    for c in columns), style=style)
    return table


def run(args: argparse.Namespace) -> int:
    console = Console()
    from rnnkit.tasks.forecast import config_from_dict, predict_saved, run as run_task

    data = load_data(args)
    if args.model is not None and args.resume is not None:
        raise ValueError("--model forecasts with a saved model and --resume continues a training run; give one")
    if args.model is not None:
        out = run_dir_path("forecast", args.out)
        result = predict_saved(args.model, data.df, out, overwrite=args.overwrite)
        console.print(f"forecast of {result['num_series']} series of {data.label} with the saved model {args.model}")
        for kind, path in result["files"].items():
            console.print(f"{kind:>10}: {path}")
        return 0
    config, out, resume = config_and_out(args, "forecast", lambda **saved: config_from_dict(saved.get("config", {})),
                                         lambda args: build_config(args, data))
    report = run_task(config, data, out, overwrite=args.overwrite, resume=resume)
    name = report.model_name
    console.print(f"trained {name} on {report.num_series} series of {report.label} (horizon {report.horizon}, "
                  f"season {report.season}) in {report.seconds[name]:.1f} s")
    if report.validation is not None:
        console.print(_table("validation windows (end of the training part)", report.validation, name, report.primary))
    if report.metrics is not None:
        metrics = report.metrics.assign(**{"fit s": [report.seconds.get(m, float("nan")) for m in report.metrics.index]})
        console.print(_table(f"held-out test: {report.label}", metrics, name, report.primary))
    for line in report.verdict:
        console.print(line)
    for kind, path in report.files.items():
        console.print(f"{kind:>10}: {path}")
    return 0
