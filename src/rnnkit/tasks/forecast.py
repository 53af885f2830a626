"""The ``forecast`` task: a global recurrent forecaster over one or many series, scored beside
statsforecast's baselines on data it never trained on.

    config = ForecastConfig(model=GlobalForecastConfig(horizon=8))
    report = run(config, bundled_data("tourism-quarterly"), "runs/tq")

What ``run`` does, in order:

1. **Split.** A competition subset keeps its own test part; other data holds out the last
   ``test_windows`` horizons of every series (origins one horizon apart).
2. **Fit** the :class:`~rnnkit.forecasting.global_model.GlobalForecaster` on what precedes the
   held-out part. Its validation windows (the end of that part) drive early stopping and
   calibrate the intervals.
3. **Validate**: the statsforecast models forecast the same validation windows, so the report can
   say, before looking at the test, whether a baseline beats the network on this data.
4. **Test**: the network and the baselines forecast the held-out part; sMAPE, MAPE, MASE and the
   intervals' coverage per model.
5. **Forecast ahead** from the end of all the data and write the run folder (assembled in a
   temporary folder and moved into place when complete): ``metrics.csv``, ``validation.csv``,
   ``holdout.csv``, ``forecast.csv`` (long format: unique_id, ds, <model>, <model>-lo-80...),
   ``forecast.png`` and ``model/``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rnnkit.data.series import Frequency, read_table
from rnnkit.errors import DataError
from rnnkit.forecasting.accuracy import score
from rnnkit.forecasting.combination import HOW, Combination
from rnnkit.forecasting import GlobalForecastConfig, GlobalForecaster
from rnnkit.forecasting.panel import ID, TARGET, TIME, panel_from_frame, panel_to_frame
from rnnkit.forecasting.statistical import (
    DEFAULT_STAT_MODELS,
    STAT_MODELS,
    statistical_at_cutoffs,
    statistical_forecasts,
)
from rnnkit.io import (CHECKPOINTS, atomic_write_with, check_resumable_run_folder, check_run_folder,
                       interrupted_settings, resumable_run_folder, run_folder)
from rnnkit.models.validation import check_choice, check_int

logger = logging.getLogger(__name__)

DEFAULT_COMBINE: tuple[str, ...] = ("AutoETS", "DOTM")
"""The baselines the network is combined with by default (chosen on the competitions' validation
splits: docs/benchmarks.md)."""

RUN_KIND = "forecast"
COMBINATION = "combination"
"""The saved forecaster's ``info`` entry (``model/combination.json``) holding the chosen combination,
when the run combines the network with baselines."""


@dataclass
class ForecastData:
    """What to forecast: a long frame (``unique_id, ds, y`` + covariates) and how to score it.

    Attributes:
        df: every known value (the history the forecast ahead starts from).
        label: how reports name the data.
        test_df: a given test part after ``df`` (competitions); ``None`` = hold out the end of ``df``.
        static_df: static covariates, one row per unique_id.
        futr_df: the known-future covariates for the horizon after ``df`` (unique_id, ds, columns).
        season: season length (``None``: from the frequency).
    """

    df: pd.DataFrame
    label: str
    test_df: pd.DataFrame | None = None
    static_df: pd.DataFrame | None = None
    futr_df: pd.DataFrame | None = None
    season: int | None = None


@dataclass
class ForecastConfig:
    """Settings of a forecasting run.

    Attributes:
        model: the :class:`~rnnkit.forecasting.config.GlobalForecastConfig`.
        stat_models: statsforecast baselines scored beside the network (:data:`STAT_MODELS`).
        test_windows: horizons held out at the end of each series and scored (ignored when the
            data has its own test part); 0 = score nothing, train on everything.
        validate_baselines: also run the baselines on the network's validation windows (the
            report then says whether one beats the network before the test is read).
        combine: baselines (of ``stat_models``) averaged with the network into one more forecast,
            "<network>+<baseline>+..." (:mod:`rnnkit.forecasting.combination`); its intervals are
            calibrated on the validation windows. None: those of :data:`DEFAULT_COMBINE` among
            ``stat_models`` (when baselines are validated); () = no combination.
        combine_how: "mean" or "median" of the network and the ``combine`` baselines.
        plot_series: series shown in ``forecast.png``.
        n_jobs: processes statsforecast may use.
    """

    model: GlobalForecastConfig = field(default_factory=GlobalForecastConfig)
    stat_models: tuple[str, ...] = DEFAULT_STAT_MODELS
    test_windows: int = 1
    validate_baselines: bool = True
    combine: tuple[str, ...] | None = None
    combine_how: str = "mean"
    plot_series: int = 4
    n_jobs: int = 1

    def __post_init__(self) -> None:
        self.stat_models = tuple(self.stat_models)
        if self.combine is None:
            chosen = self.validate_baselines and all(m in self.stat_models for m in DEFAULT_COMBINE)
            self.combine = DEFAULT_COMBINE if chosen else ()
        self.combine = tuple(self.combine)
        for name in self.stat_models:
            check_choice("stat_models", name, STAT_MODELS)
        for name in self.combine:
            if name not in self.stat_models:
                raise ValueError(f"combine={name} is not among stat_models ({', '.join(self.stat_models) or 'none'}); "
                                 "add it there or combine fewer models")
        if self.combine and not self.validate_baselines:
            raise ValueError("combine needs validate_baselines=True: the combination's intervals are calibrated "
                             "on the validation windows")
        check_choice("combine_how", self.combine_how, HOW)
        if not self.combine and self.combine_how != "mean":
            raise ValueError(f"combine_how={self.combine_how!r} has no effect when no baseline is combined; name the "
                             "baselines to combine, or drop it")
        check_int("test_windows", self.test_windows, 0)
        check_int("plot_series", self.plot_series, 1)
        check_int("n_jobs", self.n_jobs, 1)


@dataclass
class ForecastReport:
    """What :func:`run` measured and wrote.

    ``metrics``: the held-out scores, one row per model (network first); ``validation``: the same
    on the network's validation windows (``None`` without baselines); ``verdict``: plain sentences
    on who wins; ``seconds``: fit (and forecast) seconds per model; ``files``: what was written;
    ``primary``: the metric the verdict uses; ``combination``: the combined forecast's column, if any.
    """

    label: str
    model_name: str
    num_series: int
    horizon: int
    season: int
    metrics: pd.DataFrame | None
    validation: pd.DataFrame | None
    verdict: list[str]
    seconds: dict[str, float]
    files: dict[str, Path]
    primary: str
    combination: str | None = None


# ------------------------------------------------------------------------------------ data
def frame_from_file(path: str | Path, *, id_col: str | None, time_col: str, target_col: str,
                    exog: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV/Parquet file into the long format (``unique_id, ds, y`` + ``exog`` columns)."""
    table = read_table(path)
    wanted = {"time_col": time_col, "target_col": target_col, **({"id_col": id_col} if id_col else {})}
    for parameter, column in wanted.items():
        if column not in table.columns:
            raise DataError(f"column {column!r} ({parameter}) is not in {Path(path).name}; its columns are: "
                            f"{', '.join(map(str, table.columns))}")
    frame = pd.DataFrame({
        ID: table[id_col].astype(str) if id_col else Path(path).stem,
        TIME: table[time_col],
        TARGET: table[target_col],
    })
    for column in exog:
        if column not in table.columns:
            raise DataError(f"covariate column {column!r} is not in {Path(path).name}")
        frame[column] = table[column]
    return frame


def bundled_data(name: str) -> ForecastData:
    """A competition subset (``m3-monthly``, ``tourism-quarterly``...) or a bundled single series
    (``airpassengers``, ``sunspots``, ``co2``) as :class:`ForecastData`."""
    from rnnkit.data.datasets import DATASETS, dataset_info, load_dataset
    from rnnkit.forecasting.competitions import COMPETITIONS, load_competition

    if name in COMPETITIONS:
        comp = load_competition(name)
        return ForecastData(comp.train, name, test_df=comp.test, season=comp.season)
    if name not in DATASETS:
        choices = ", ".join([*COMPETITIONS, *DATASETS])
        raise DataError(f"unknown dataset {name!r}; choose from {choices}")
    series = load_dataset(dataset_info(name).name).series[0]
    return ForecastData(pd.DataFrame({ID: name, TIME: series.time, TARGET: series.values}), name)


# ------------------------------------------------------------------------------------ run
def _split(data: ForecastData, config: ForecastConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The part the network may learn from, and the held-out part (None when nothing is scored)."""
    if data.test_df is not None:
        return data.df, data.test_df
    if config.test_windows == 0:
        return data.df, None
    held = config.test_windows * config.model.horizon
    order = data.df.groupby(ID, sort=False).cumcount(ascending=False)  # 0 = last value of its series
    return data.df[order >= held].reset_index(drop=True), data.df[order < held].reset_index(drop=True)


def _normalized(data: ForecastData, config: GlobalForecastConfig) -> ForecastData:
    """The frames validated and rebuilt: ds parsed (dates or numbers), each series sorted on its grid."""
    exog = {"hist_exog": config.hist_exog, "futr_exog": config.futr_exog}
    frame = lambda df, source: panel_to_frame(panel_from_frame(df, **exog, source=source), **exog)  # noqa: E731
    test = None if data.test_df is None else frame(data.test_df, f"the test part of {data.label}")
    futr = data.futr_df
    if futr is not None and TIME in futr.columns:
        futr = futr.assign(**{TIME: pd.to_datetime(futr[TIME]) if not pd.api.types.is_numeric_dtype(futr[TIME])
                              else futr[TIME]})
    return ForecastData(frame(data.df, data.label), data.label, test, data.static_df, futr, data.season)


def _test_cutoffs(train: pd.DataFrame, test: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """unique_id, cutoff (the last known ds) of every held-out origin, one horizon apart."""
    last = train.groupby(ID, sort=False)[TIME].last()
    out = []
    for uid, group in test.groupby(ID, sort=False):
        times = group[TIME].to_numpy()
        cut = [last[uid]] + [times[s - 1] for s in range(horizon, len(times), horizon)]
        out.append(pd.DataFrame({ID: str(uid), "cutoff": cut}))
    return pd.concat(out, ignore_index=True)


def _primary_metric(frame: pd.DataFrame) -> str:
    """sMAPE when every value is positive (as the competitions score), else MASE."""
    return "sMAPE" if (frame[TARGET] > 0).all() else "MASE"


def _verdict(table: pd.DataFrame, ours: list[str], metric: str, where: str) -> str:
    """One sentence: which of ``ours`` (the network, the combination) or the baselines wins on ``metric``."""
    scores = table[metric].dropna()
    mine = [m for m in ours if m in scores]
    others = scores.drop(mine)
    if not mine or others.empty:
        return ""
    best, rival = scores.idxmin(), others.idxmin()
    if best in mine:
        return (f"On {where}, {best} is the best on {metric} ({scores[best]:.2f}; best baseline {rival} "
                f"{others[rival]:.2f}).")
    ranked = " and ".join(f"{m} ({scores[m]:.2f})" for m in mine)
    return (f"On {where}, {best} beats {ranked} on {metric} ({others[best]:.2f}): for this data the simpler "
            "model is the better choice.")


def config_from_dict(settings: dict[str, Any]) -> ForecastConfig:
    """The :class:`ForecastConfig` of ``dataclasses.asdict(config)`` (what a run folder keeps)."""
    rest = {k: v for k, v in settings.items() if k != "model"}
    return ForecastConfig(model=GlobalForecastConfig(**settings.get("model", {})), **rest)


def data_fingerprint(data: ForecastData) -> str:
    """A hash of every frame of ``data`` and its season: a resumed run must see the same data."""
    digest = hashlib.sha256(repr(data.season).encode())
    for frame in (data.df, data.test_df, data.static_df, data.futr_df):
        if frame is not None:
            digest.update(repr(list(frame.columns)).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _check_same_run(out_dir: str | Path, config: ForecastConfig, data: ForecastData) -> None:
    saved = interrupted_settings(out_dir, RUN_KIND)
    if saved.get("data") != data_fingerprint(data):
        raise DataError(f"the interrupted forecast run at out_dir {str(out_dir)!r} was started on other data than "
                        f"{data.label}; resume it with the same data (file, columns and options)")
    if config_from_dict(saved.get("config", {})) != config:
        raise ValueError(f"the interrupted forecast run at out_dir {str(out_dir)!r} was started with other settings; "
                         "resume it with its own (config_from_dict of its run.json settings)")


def run(config: ForecastConfig, data: ForecastData, out_dir: str | Path, *, overwrite: bool = False,
        resume: bool = False) -> ForecastReport:
    """Fit, validate, test and forecast (see the module docstring); write the run folder ``out_dir``
    (new or empty, or an earlier forecast run with ``overwrite``; it appears only when complete).

    A run stopped by Ctrl-C or killed keeps its trained members; ``resume=True`` with the same
    config and data continues it (members already trained are loaded, the interrupted one goes on
    from its last epoch) and gives the result of an unbroken run.
    """
    out = check_resumable_run_folder(out_dir, RUN_KIND, overwrite=overwrite, resume=resume)  # before any work
    if resume:
        _check_same_run(out, config, data)
    settings = {"config": asdict(config), "data": data_fingerprint(data)}
    with resumable_run_folder(out, RUN_KIND, settings, overwrite=overwrite, resume=resume) as tmp:
        return _run(config, data, tmp, out)


def _run(config: ForecastConfig, data: ForecastData, tmp: Path, out: Path) -> ForecastReport:
    model_config = config.model
    data = _normalized(data, model_config)
    train, test = _split(data, config)
    season = data.season or model_config.season or panel_from_frame(
        data.df.groupby(ID, sort=False).head(3), source=data.label).frequency.season_length
    if model_config.season is None:
        model_config = GlobalForecastConfig(**{**model_config.__dict__, "season": season})
    forecaster = GlobalForecaster(model_config)
    name, h = model_config.model_name, model_config.horizon
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    forecaster.fit(train, data.static_df, checkpoint_dir=tmp / CHECKPOINTS)
    seconds[name] = time.perf_counter() - start
    assert forecaster.panel is not None and forecaster.validation_ is not None
    frequency = forecaster.panel.frequency
    primary = _primary_metric(train)
    verdict: list[str] = []

    validation, combination = None, None
    if config.stat_models and config.validate_baselines:
        val = forecaster.validation_
        baselines = statistical_at_cutoffs(train, val, h, season, frequency, config.stat_models,
                                           model_config.levels, config.n_jobs)
        merged = val.merge(baselines, on=[ID, TIME, "cutoff"])
        models = [name, *_present(config.stat_models, merged)]
        if config.combine:
            combination = Combination(f"{name}+{'+'.join(config.combine)}", (name, *config.combine),
                                      config.combine_how, scale_window=season)
            merged = combination.calibrate(merged, train, model_config.levels).apply(merged, train)
            models.append(combination.name)
        validation = score(merged, merged, train, season, models, model_config.levels)
        where = "the validation windows (the end of the training part)"
        verdict.append(_verdict(validation, models_of(name, combination), primary, where))

    metrics, holdout, stat = None, None, None
    if test is not None:
        cutoffs = _test_cutoffs(train, test, h)
        full = pd.concat([train, test], ignore_index=True)
        known = full if data.test_df is None else train
        net = _network_at(forecaster, known, cutoffs, data.static_df)
        holdout = net
        if config.stat_models:
            stat, stat_seconds = _stat_at(full, cutoffs, h, season, frequency, config)
            seconds.update(stat_seconds)
            holdout = net.merge(stat, on=[ID, TIME, "cutoff"], how="left")
        models = [name, *_present(config.stat_models, holdout)]
        if combination is not None:
            holdout = combination.apply(holdout, full)
            models.append(combination.name)
        truth = test[[ID, TIME, TARGET]].assign(**{ID: test[ID].astype(str)})
        holdout = holdout.merge(truth, on=[ID, TIME], how="inner")
        metrics = score(holdout, holdout, train, season, models, model_config.levels)
        verdict.append(_verdict(metrics, models_of(name, combination), primary, "the held-out test part"))

    history = data.df if data.test_df is None else train  # what the forecast ahead starts from
    future = forecaster.predict(df=data.df if data.test_df is None else None, static_df=data.static_df,
                                futr_df=data.futr_df)
    if combination is not None:
        if data.test_df is not None and stat is not None:  # a competition's forecast ahead is its test forecast
            ahead = stat[[ID, TIME, *config.combine]]
        else:
            ahead, _ = statistical_forecasts(history, h, season, frequency, config.combine, model_config.levels,
                                             config.n_jobs)
        future = combination.apply(future.merge(ahead[[ID, TIME, *config.combine]], on=[ID, TIME], how="left"),
                                   history)
    written = {"forecast": _csv(future, tmp / "forecast.csv")}
    if metrics is not None:
        written["metrics"] = _csv(metrics.rename_axis("model").reset_index(), tmp / "metrics.csv")
        written["holdout"] = _csv(holdout, tmp / "holdout.csv")
    if validation is not None:
        written["validation"] = _csv(validation.rename_axis("model").reset_index(), tmp / "validation.csv")
    written["plot"] = tmp / "forecast.png"
    shown = future if data.test_df is None else None  # a competition's forecast ahead is its test forecast
    plot_forecasts(history, holdout, shown, name, written["plot"], config.plot_series, model_config.levels,
                   combination.name if combination else None)
    if combination is not None:
        forecaster.info[COMBINATION] = combination.to_dict()
    written["model"] = forecaster.save(tmp / "model")
    files = {key: out / path.relative_to(tmp) for key, path in written.items()}
    return ForecastReport(data.label, name, len(forecaster.panel), h, season, metrics, validation,
                          [v for v in verdict if v], seconds, files, primary,
                          combination.name if combination else None)


def models_of(name: str, combination: Combination | None) -> list[str]:
    """The run's own forecasts: the network's, then the combination's."""
    return [name] + ([combination.name] if combination is not None else [])


def _present(models: tuple[str, ...], frame: pd.DataFrame) -> list[str]:
    return [m for m in models if m in frame.columns]


def _network_at(forecaster: GlobalForecaster, known: pd.DataFrame, cutoffs: pd.DataFrame,
                static_df: pd.DataFrame | None) -> pd.DataFrame:
    """The network's forecasts from every (unique_id, cutoff), reading the values up to each cutoff."""
    frames = []
    keyed = cutoffs.assign(**{ID: cutoffs[ID].astype(str)})
    data = known.assign(**{ID: known[ID].astype(str)})
    for _, group in keyed.groupby(keyed.groupby(ID).cumcount()):  # one origin per series at a time
        part = data.merge(group, on=ID)
        part = part[part[TIME] <= part["cutoff"]].drop(columns="cutoff")
        futr = known if forecaster.config.futr_exog else None  # the covariates after each cutoff
        forecast = forecaster.predict(df=part, static_df=static_df, futr_df=futr)
        frames.append(forecast.merge(group, on=ID))
    return pd.concat(frames, ignore_index=True)


def _stat_at(full: pd.DataFrame, cutoffs: pd.DataFrame, h: int, season: int, frequency: Frequency,
             config: ForecastConfig) -> tuple[pd.DataFrame, dict[str, float]]:
    start = time.perf_counter()
    if cutoffs.groupby(ID).size().max() == 1:  # one origin per series: fit each model once, timed
        last = cutoffs.assign(**{ID: cutoffs[ID].astype(str)})
        data = full.assign(**{ID: full[ID].astype(str)}).merge(last, on=ID)
        data = data[data[TIME] <= data["cutoff"]].drop(columns="cutoff")
        forecast, seconds = statistical_forecasts(data, h, season, frequency, config.stat_models,
                                                  config.model.levels, config.n_jobs)
        return forecast.merge(last, on=ID), seconds
    forecast = statistical_at_cutoffs(full, cutoffs, h, season, frequency, config.stat_models, config.model.levels,
                                      config.n_jobs)
    return forecast, {"baselines (all)": time.perf_counter() - start}


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    atomic_write_with(path, lambda tmp: frame.to_csv(tmp, index=False))
    return path


def plot_forecasts(history: pd.DataFrame, holdout: pd.DataFrame | None, future: pd.DataFrame | None, name: str,
                   path: Path, max_series: int, levels: tuple[int, ...], combination: str | None = None) -> None:
    """One panel per series (the first ``max_series``): the history, the held-out truth and the
    forecasts of the network (with its widest interval), the combination (when given) and AutoETS
    and SeasonalNaive, then the forecast ahead (when given; the combination's when there is one);
    axes labelled with the ds and y columns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = list(dict.fromkeys(history[ID].astype(str)))[:max_series]
    fig, axes = plt.subplots(len(ids), 1, figsize=(10, 2.8 * len(ids)), squeeze=False)
    widest = f"{max(levels):g}" if levels else None
    for ax, uid in zip(axes[:, 0], ids, strict=True):
        past = history[history[ID].astype(str) == uid]
        ax.plot(past[TIME], past[TARGET], color="black", lw=1.2, label="history")
        if holdout is not None:
            held = holdout[holdout[ID].astype(str) == uid]
            ax.plot(held[TIME], held[TARGET], color="black", lw=1.2, ls="--", label="held-out truth")
            ax.plot(held[TIME], held[name], color="tab:blue", lw=1.5, label=f"{name} (held out)")
            for baseline, color in ((combination, "tab:purple"), ("AutoETS", "tab:green"),
                                    ("SeasonalNaive", "tab:gray")):
                if baseline and baseline in held.columns:
                    ax.plot(held[TIME], held[baseline], color=color, lw=1.0, label=baseline)
            if widest:
                ax.fill_between(held[TIME], held[f"{name}-lo-{widest}"], held[f"{name}-hi-{widest}"],
                                color="tab:blue", alpha=0.15, lw=0, label=f"{widest}% interval (held out)")
        if future is not None:
            ahead = future[future[ID].astype(str) == uid]
            shown = combination if combination and combination in ahead.columns else name
            ax.plot(ahead[TIME], ahead[shown], color="tab:red", lw=1.5, label=f"{shown} forecast")
            if widest and f"{shown}-lo-{widest}" in ahead.columns:
                ax.fill_between(ahead[TIME], ahead[f"{shown}-lo-{widest}"], ahead[f"{shown}-hi-{widest}"],
                                color="tab:red", alpha=0.2, lw=0, label=f"{widest}% interval")
        ax.set_title(str(uid))
        ax.set_xlabel(TIME)
        ax.set_ylabel(TARGET)
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)


def predict_saved(model_dir: str | Path, df: pd.DataFrame, out_dir: str | Path, *, overwrite: bool = False,
                  static_df: pd.DataFrame | None = None, futr_df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Forecast ``df``'s series with a saved forecaster (and its combination with baselines, when
    the run that saved it had one: the baselines are fit on ``df``); writes ``forecast.csv`` and
    ``forecast.png``."""
    check_run_folder(out_dir, "forecast-predict", overwrite=overwrite)
    forecaster = GlobalForecaster.load(model_dir)
    config = forecaster.config
    df = _normalized(ForecastData(df, "df"), config).df
    future = forecaster.predict(df=df, static_df=static_df, futr_df=futr_df)
    combination = None
    if COMBINATION in forecaster.info:
        combination = Combination.from_dict(forecaster.info[COMBINATION])
        members = tuple(m for m in combination.members if m != config.model_name)
        ahead, _ = statistical_forecasts(df, config.horizon, forecaster.season, forecaster.frequency, members,
                                         config.levels)
        future = combination.apply(future.merge(ahead[[ID, TIME, *members]], on=[ID, TIME], how="left"), df)
    out = Path(out_dir)
    with run_folder(out, "forecast-predict", overwrite=overwrite) as tmp:
        _csv(future, tmp / "forecast.csv")
        plot_forecasts(df, None, future, config.model_name, tmp / "forecast.png", 4, config.levels,
                       combination.name if combination else None)
    return {"forecast": future, "files": {"forecast": out / "forecast.csv", "plot": out / "forecast.png"},
            "model_name": forecaster.config.model_name, "num_series": int(future[ID].nunique())}


__all__ = ["ForecastConfig", "ForecastData", "ForecastReport", "bundled_data", "frame_from_file", "predict_saved",
           "run"]
