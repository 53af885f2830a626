"""``GlobalForecaster``: one recurrent network trained across many series, in the long format of
StatsForecast and NeuralForecast.

    from rnnkit.forecasting import GlobalForecaster, GlobalForecastConfig

    model = GlobalForecaster(GlobalForecastConfig(horizon=18, cell="lstm"))
    model.fit(train_df)                      # unique_id, ds, y (+ covariate columns)
    forecast = model.predict()               # unique_id, ds, MQ-LSTM, MQ-LSTM-lo-80, -hi-80, -lo-95, -hi-95
    cv = model.cross_validation(df, n_windows=3, step_size=18)   # + cutoff, y

How it fits (data -> model -> training -> evaluation):

1. The frame is validated into a :class:`~rnnkit.forecasting.panel.Panel`.
2. The last ``horizon + val_windows - 1`` values of every series are the validation part: the
   windows whose targets lie there drive early stopping and calibrate the intervals; the network
   trains on the windows whose targets end before it (it still reads those values as context when
   it forecasts).
3. Each member of the ensemble (``ensemble`` seeds for every lookback of ``lookbacks``) is a
   :class:`~rnnkit.forecasting.networks.DirectForecastNet` or ``DeepARNet`` trained with
   :func:`rnnkit.training.fit` (Lightning) on windows sampled across all series.
4. The forecast is the median of the members; the intervals are conformal
   (:mod:`rnnkit.forecasting.conformal`), calibrated on the validation windows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnnkit.data.series import Frequency
from rnnkit.errors import DataError
from rnnkit.forecasting.conformal import conformal_quantile, conformity_scores, widen
from rnnkit.forecasting.config import GlobalForecastConfig
from rnnkit.forecasting.panel import (
    ID,
    TIME,
    Panel,
    WindowDataset,
    WindowSpec,
    column_stats,
    make_windows,
    panel_from_frame,
    panel_to_frame,
    training_cutoffs,
)
from rnnkit.forecasting.seasonality import positions, seasonal_indices
from rnnkit.forecasting.training import GlobalEnsemble, GlobalEnsembleConfig, train_member
from rnnkit.models.validation import check_int
from rnnkit.tasks.predictor import Predictor

logger = logging.getLogger(__name__)

_WINDOW_KEYS = ("z", "mask", "hist", "futr", "stat")
SEASON_CYCLES = 5
"""Seasonal cycles before the origin that the seasonal indices are estimated from (when available)."""


@dataclass
class FitSummary:
    """What :meth:`GlobalForecaster.fit` measured: seconds, windows, members, series left out."""

    seconds: float
    train_windows: int
    val_windows: int
    members: int
    skipped_series: int
    epochs: list[int]
    """Best epoch of each member on the validation windows."""


class GlobalForecaster(Predictor):
    """A global recurrent forecaster over many series (see the module docstring).

    After :meth:`fit`: ``validation_`` holds the forecasts of the validation windows (unique_id,
    ds, cutoff, y, <model>) so baselines can be compared on the same windows, and ``summary_`` the
    :class:`FitSummary`. A fitted forecaster is a :class:`~rnnkit.tasks.predictor.Predictor`:
    :meth:`save` writes the networks (safetensors) and everything needed to forecast, ``info`` what
    a run keeps beside them (``rnnkit forecast`` keeps its combination with the baselines there).
    """

    model_class = GlobalEnsemble
    parts = ("global_forecast",)
    what, command = "a global forecaster", "forecast"

    def __init__(self, config: GlobalForecastConfig, info: dict[str, Any] | None = None) -> None:
        if not isinstance(config, GlobalForecastConfig):
            raise TypeError(f"config must be a GlobalForecastConfig, got {type(config).__name__}")
        self.config = config
        self.model: GlobalEnsemble | None = None
        self.panel: Panel | None = None
        self.validation_: pd.DataFrame | None = None
        self.summary_: FitSummary | None = None
        self._state: dict[str, Any] = {}
        self.info = dict(info or {})

    # ------------------------------------------------------------------ settings derived from the data
    @property
    def season(self) -> int:
        """The season length m the model was fit with."""
        return int(self._state["season"])

    @property
    def frequency(self) -> Frequency:
        """The step of the series the model was fit on."""
        return Frequency.from_dict(self._state["frequency"])

    def _lookbacks(self, season: int) -> tuple[int, ...]:
        c = self.config
        base = c.lookbacks or (c.lookback or max(2 * season, 2 * c.horizon),)
        return tuple(lb for lb in base for _ in range(c.ensemble))

    def _spec(self, lookback: int) -> WindowSpec:
        return WindowSpec(lookback, self.config.horizon, min(self._state["scale_window"], lookback))

    def _stats(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {k: (np.asarray(v[0], dtype=np.float64), np.asarray(v[1], dtype=np.float64))
                for k, v in self._state["stats"].items()}

    # ------------------------------------------------------------------ data
    def _panel(self, df: pd.DataFrame, static_df: pd.DataFrame | None, source: str) -> Panel:
        c = self.config
        return panel_from_frame(df, hist_exog=c.hist_exog, futr_exog=c.futr_exog, static_df=static_df,
                                stat_exog=c.stat_exog, source=source)

    def _windows(self, panel: Panel, cutoffs: list[np.ndarray], lookback: int, with_target: bool) -> dict[str, np.ndarray]:
        stats = self._stats()
        w = make_windows(panel, cutoffs, self._spec(lookback), with_target=with_target,
                         hist_stats=stats["hist"], futr_stats=stats["futr"], stat_stats=stats["stat"])
        if self.config.deseasonalize and self.season > 1:  # z / I on the context, target / I ahead
            history = max(lookback, SEASON_CYCLES * self.season)  # indices from up to 5 cycles
            long = w if history == lookback else make_windows(
                panel, cutoffs, replace(self._spec(lookback), lookback=history), with_target=False,
                hist_stats=stats["hist"], futr_stats=stats["futr"], stat_stats=stats["stat"])
            index = seasonal_indices(long["z"], long["mask"], self.season)
            w["season"] = positions(index, lookback, self.config.horizon, lookback)  # (N, H)
            w["z"] = (w["z"] / positions(index, 0, lookback, lookback)).astype(np.float32)
            if with_target:
                w["target"] = (w["target"] / w["season"]).astype(np.float32)
        if self.config.transform == "log":  # z -> log z on observed steps (the padding stays 0)
            w["z"] = np.where(w["mask"] > 0, np.log(np.maximum(w["z"], 1e-8)), 0.0).astype(np.float32)
            if with_target:
                w["target"] = np.log(np.maximum(w["target"], 1e-8)).astype(np.float32)
        elif self.config.transform == "log1p":  # z -> log(1 + z): zeros allowed
            w["z"] = np.where(w["mask"] > 0, np.log1p(np.maximum(w["z"], 0.0)), 0.0).astype(np.float32)
            if with_target:
                w["target"] = np.log1p(np.maximum(w["target"], 0.0)).astype(np.float32)
        return w

    def _to_data_units(self, scaled: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
        """Network outputs (..., N, H) back to the data's units: undo the log, the window's level
        s (N,) and its seasonal indices (N, H)."""
        inverse = {"log": np.exp, "log1p": lambda v: np.maximum(np.expm1(v), 0.0)}.get(self.config.transform)
        values = scaled if inverse is None else inverse(scaled)
        values = values * w["scale"][:, None]
        return values * w["season"] if "season" in w else values

    def _check_positive(self, panel: Panel) -> None:
        transform = self.config.transform
        if transform == "scale":
            return
        for name, y in zip(panel.ids, panel.y):
            if np.any(y <= 0) if transform == "log" else np.any(y < 0):
                what = "y > 0" if transform == "log" else "y >= 0"
                fix = "transform='log1p' (zeros allowed) or 'scale'" if transform == "log" else "transform='scale'"
                raise DataError(f"transform={transform!r} needs every {what}, but series {name!r} has a value "
                                f"{'<= 0' if transform == 'log' else '< 0'}; use {fix}")

    # ------------------------------------------------------------------ training
    def fit(self, df: pd.DataFrame, static_df: pd.DataFrame | None = None, *,
            checkpoint_dir: str | Path | None = None) -> GlobalForecaster:
        """Train on every series of ``df`` (long format); returns ``self``.

        ``checkpoint_dir``: keep each member's training checkpoints and, once trained, its weights
        there (one subfolder per member). Fitting again on the same data and config with the same
        folder, after the process was stopped or killed, loads the members already trained,
        continues the interrupted one from its last epoch and gives the forecaster an unbroken fit
        would have given.
        """
        start = time.perf_counter()
        c = self.config
        panel = self._panel(df, static_df, "df")
        self._check_positive(panel)
        season = c.season or panel.frequency.season_length
        if c.deseasonalize and season == 1:
            raise ValueError("deseasonalize=True has no effect with season length 1 (no seasonal cycle in data "
                             f"of step {panel.frequency.label()}); drop it, or give the season length (season=12 for "
                             "monthly data)")
        lookbacks = self._lookbacks(season)
        scale_window = c.scale_window or season
        min_context = c.min_context or min(scale_window, min(lookbacks))
        if c.skip == "season" and c.network == "direct":
            min_context = max(min_context, season)
        panel, skipped = self._drop_short(panel, max(lookbacks))
        n_val = c.val_windows or max(1, min(c.horizon, -(-50 // len(panel))))
        lengths = panel.lengths
        train_end = lengths - c.horizon - (n_val - 1)
        if not np.any(train_end >= min_context + c.horizon):
            raise DataError(
                f"no series is long enough to train on: each needs {min_context + 2 * c.horizon + n_val - 1} values "
                f"({min_context} of context, {c.horizon} to train on, {c.horizon + n_val - 1} to validate); "
                f"the longest has {lengths.max()}; use a shorter horizon"
            )
        self._state = {
            "season": season, "scale_window": scale_window, "frequency": panel.frequency.to_dict(),
            "stats": {"hist": column_stats(panel.hist), "futr": column_stats(panel.futr),
                      "stat": column_stats(list(panel.stat))},
        }
        self._state["stats"] = {k: (v[0].tolist(), v[1].tolist()) for k, v in self._state["stats"].items()}
        net = c.net_config(season=season)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self.model = GlobalEnsemble(GlobalEnsembleConfig(net, lookbacks))
        val_cutoffs = [np.arange(max(1, n - c.horizon - n_val + 1), n - c.horizon + 1) for n in lengths]
        train_cutoffs = training_cutoffs(lengths, train_end, c.horizon, min_context, c.max_windows_per_series)
        keys = _WINDOW_KEYS + ("target", "target_hist")
        epochs, n_train, n_valw = [], 0, 0
        for index, (member, lookback) in enumerate(zip(self.model.members, lookbacks, strict=True)):
            train = WindowDataset(self._windows(panel, train_cutoffs, lookback, True), keys)
            val = WindowDataset(self._windows(panel, val_cutoffs, lookback, True), keys)
            n_train, n_valw = len(train), len(val)
            logger.info("member %d/%d: %s %s, lookback %d, %d training windows from %d series",
                        index + 1, len(lookbacks), c.network, c.cell, lookback, n_train, len(panel))
            epochs.append(train_member(member, train, val, c, c.epochs, c.seed + index,
                                       _member_dir(checkpoint_dir, "member", index)))
        self.panel = panel
        self._calibrate(panel, val_cutoffs)
        if c.refit:
            all_cutoffs = training_cutoffs(lengths, lengths, c.horizon, min_context, c.max_windows_per_series)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(c.seed + 1)
                fresh = GlobalEnsemble(GlobalEnsembleConfig(net, lookbacks))
            for index, (member, lookback) in enumerate(zip(fresh.members, lookbacks, strict=True)):
                train = WindowDataset(self._windows(panel, all_cutoffs, lookback, True), keys)
                logger.info("refit of member %d/%d on %d windows for %d epochs", index + 1, len(lookbacks), len(train),
                            epochs[index])
                train_member(member, train, None, c, epochs[index], c.seed + index,
                             _member_dir(checkpoint_dir, "refit", index))
            self.model = fresh
        self.summary_ = FitSummary(time.perf_counter() - start, n_train, n_valw, len(lookbacks), skipped, epochs)
        return self

    def _drop_short(self, panel: Panel, lookback: int) -> tuple[Panel, int]:
        need = lookback + self.config.horizon
        short = panel.lengths < need
        if not short.any() or self.config.short_series == "pad":
            return panel, 0
        if self.config.short_series == "error":
            first = panel.ids[int(np.flatnonzero(short)[0])]
            raise DataError(
                f"{int(short.sum())} series are shorter than lookback + horizon = {need} (first: {first!r}); "
                f"pad them (short_series='pad'), skip them (short_series='skip') or use a shorter lookback"
            )
        if short.all():
            raise DataError(f"every series is shorter than lookback + horizon = {need}; use a shorter lookback")
        logger.info("skipping %d series shorter than lookback + horizon = %d", int(short.sum()), need)
        return panel.subset(~short), int(short.sum())

    # ------------------------------------------------------------------ forecasting
    def _forecast(self, panel: Panel, cutoffs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Point forecasts and the model's own intervals at the cutoffs, in the data's units.

        Returns point (N, H), lo / hi per level (N, H), scale (N,) of the first member's window, and
        series (N,).
        """
        assert self.model is not None
        c = self.config
        points, samples, scale, series = [], [], None, None
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(c.seed)  # sample paths are reproducible
        try:
            for member, lookback in zip(self.model.members, self.model.config.lookbacks, strict=True):
                w = self._windows(panel, cutoffs, lookback, False)
                member.eval()
                with torch.no_grad():
                    inputs = [torch.as_tensor(w[k]) for k in _WINDOW_KEYS]
                    if c.network == "deepar":
                        paths = _chunked(lambda *t: member.sample(*t, c.num_samples).transpose(0, 1), inputs)
                        draws = self._to_data_units(paths.transpose(0, 1).double().numpy(), w)  # (S, N, H)
                        samples.append(draws)
                        points.append(np.median(draws, axis=0))
                    else:
                        points.append(self._to_data_units(_chunked(member, inputs).double().numpy(), w))
                if scale is None:
                    scale, series = w["scale"], w["series"]
        finally:
            torch.random.set_rng_state(generator_state)
        out: dict[str, Any] = {"scale": scale, "series": series}
        if samples:
            pooled = np.concatenate(samples, axis=0)
            out["point"] = np.median(pooled, axis=0)
            for level in c.levels:
                out[f"lo-{level:g}"] = np.quantile(pooled, (1 - level / 100) / 2, axis=0)
                out[f"hi-{level:g}"] = np.quantile(pooled, 1 - (1 - level / 100) / 2, axis=0)
        else:
            out["point"] = np.median(np.stack(points), axis=0)
            for level in c.levels:
                out[f"lo-{level:g}"] = out[f"hi-{level:g}"] = out["point"]
        return out

    def _calibrate(self, panel: Panel, cutoffs: list[np.ndarray]) -> None:
        """Conformal widths from the validation windows; keeps their forecasts in ``validation_``."""
        c = self.config
        f = self._forecast(panel, cutoffs)
        truth = np.stack([panel.y[i][cut : cut + c.horizon] for i, cuts in enumerate(cutoffs) for cut in cuts])
        widths = {}
        for level in c.levels:
            scores = conformity_scores(truth, f[f"lo-{level:g}"], f[f"hi-{level:g}"], f["scale"])
            widths[f"{level:g}"] = conformal_quantile(scores, level / 100).tolist()
        self._state["conformal"] = widths
        self.validation_ = self._frame(panel, cutoffs, self._calibrated(f), truth)

    def _calibrated(self, f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The conformal intervals; a wider level's interval always contains a narrower one's."""
        out = {"point": f["point"], "series": f["series"]}
        lo_bound, hi_bound = f["point"], f["point"]
        for level in sorted(self.config.levels):
            q = np.asarray(self._state["conformal"][f"{level:g}"])
            lo, hi = widen(f["point"], f[f"lo-{level:g}"], f[f"hi-{level:g}"], f["scale"], q)
            lo_bound, hi_bound = np.minimum(lo, lo_bound), np.maximum(hi, hi_bound)
            out[f"lo-{level:g}"], out[f"hi-{level:g}"] = lo_bound, hi_bound
        return out

    def _frame(self, panel: Panel, cutoffs: list[np.ndarray], f: dict[str, np.ndarray],
               truth: np.ndarray | None = None) -> pd.DataFrame:
        """Long output: unique_id, ds, [cutoff, y,] <model>, <model>-lo-<level>, <model>-hi-<level>."""
        h, name = self.config.horizon, self.config.model_name
        frequency = panel.frequency
        ids, ds, cut_ds = [], [], []
        for i, cuts in enumerate(cutoffs):
            for cut in cuts:
                last = panel.times[i][cut - 1]
                ids.extend([panel.ids[i]] * h)
                ds.extend(frequency.future(last, h))
                cut_ds.extend([last] * h)
        out = pd.DataFrame({ID: ids, TIME: ds})
        if truth is not None:
            out["cutoff"] = cut_ds
            out["y"] = truth.reshape(-1)
        out[name] = f["point"].reshape(-1)
        for level in self.config.levels:
            out[f"{name}-lo-{level:g}"] = f[f"lo-{level:g}"].reshape(-1)
            out[f"{name}-hi-{level:g}"] = f[f"hi-{level:g}"].reshape(-1)
        return out

    def _check_fitted(self) -> None:
        if self.model is None:
            raise RuntimeError("the forecaster is not fitted; call fit(df) first (or GlobalForecaster.load)")

    def predict(self, df: pd.DataFrame | None = None, futr_df: pd.DataFrame | None = None,
                static_df: pd.DataFrame | None = None, h: int | None = None) -> pd.DataFrame:
        """Forecast ``h`` (default and at most ``horizon``) steps past the end of every series.

        Args:
            df: series to forecast (default: the series ``fit`` saw); a global model forecasts any
                series of the same frequency, seen or not.
            futr_df: the known-future covariates for the H steps (unique_id, ds, columns), needed
                when the model has ``futr_exog``.
            static_df: static covariates of ``df``'s series (when the model has ``stat_exog``).
        """
        self._check_fitted()
        c = self.config
        h = c.horizon if h is None else h
        check_int("h", h, 1)
        if h > c.horizon:
            raise ValueError(f"h={h} exceeds the model's horizon {c.horizon}; train with horizon >= {h}")
        panel = self.panel if df is None else self._panel(df, static_df, "df")
        assert panel is not None
        self._check_frequency(panel)
        self._check_positive(panel)
        if c.futr_exog:
            panel = self._with_future(panel, futr_df)
        out = self._frame(panel, [np.array([n]) for n in panel.lengths], self._calibrated(self._forecast(
            panel, [np.array([n]) for n in panel.lengths])))
        return out.groupby(ID, sort=False).head(h).reset_index(drop=True) if h < c.horizon else out

    def _check_frequency(self, panel: Panel) -> None:
        saved = self.frequency
        if panel.frequency != saved:
            raise DataError(f"the model was trained on step {saved.label()} but this data has step "
                            f"{panel.frequency.label()}; give data of the training frequency")

    def _with_future(self, panel: Panel, futr_df: pd.DataFrame | None) -> Panel:
        c = self.config
        if futr_df is None:
            raise DataError(f"the model reads known-future covariates ({', '.join(c.futr_exog)}); pass futr_df with "
                            f"their values for the {c.horizon} steps after each series")
        missing = [col for col in (ID, TIME, *c.futr_exog) if col not in futr_df.columns]
        if missing:
            raise DataError(f"futr_df has no column {missing[0]!r}; it needs unique_id, ds and {', '.join(c.futr_exog)}")
        table = futr_df.assign(**{ID: futr_df[ID].astype(str)}).set_index([ID, TIME])
        futr = []
        for i, name in enumerate(panel.ids):
            times = panel.frequency.future(panel.times[i][-1], c.horizon)
            try:
                rows = table.loc[[(name, t) for t in times], list(c.futr_exog)].to_numpy(dtype=np.float64)
            except KeyError:
                raise DataError(f"futr_df lacks future values of series {name!r} (it needs {c.horizon} rows from "
                                f"{times[0]} on); give every future step of every series") from None
            if np.isnan(rows).any():
                raise DataError(f"futr_df has missing values for series {name!r}; give every future value")
            futr.append(np.concatenate([panel.futr[i], rows]))
        return replace(panel, futr=futr)

    def cross_validation(self, df: pd.DataFrame, n_windows: int = 1, step_size: int | None = None,
                         h: int | None = None, static_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Fit on each series without its last ``H + (n_windows - 1) step_size`` values, then forecast
        from ``n_windows`` origins ``step_size`` apart (default H) at the end: unique_id, ds, cutoff,
        y, <model> and its intervals, as StatsForecast's and NeuralForecast's ``cross_validation``.
        ``h`` (at most the model's horizon) keeps the first steps of each window."""
        c = self.config
        check_int("n_windows", n_windows, 1)
        step = c.horizon if step_size is None else step_size
        check_int("step_size", step, 1)
        h = c.horizon if h is None else h
        check_int("h", h, 1)
        if h > c.horizon:
            raise ValueError(f"h={h} exceeds the model's horizon {c.horizon}; train with horizon >= {h}")
        panel = self._panel(df, static_df, "df")
        held = c.horizon + (n_windows - 1) * step
        train = panel.head(held)
        self.fit(panel_to_frame(train, c.hist_exog, c.futr_exog), static_df)
        assert self.panel is not None
        panel = panel.subset(np.isin(panel.ids, self.panel.ids))
        cutoffs = [np.array([n - held + k * step for k in range(n_windows)]) for n in panel.lengths]
        truth = np.stack([panel.y[i][cut : cut + c.horizon] for i, cuts in enumerate(cutoffs) for cut in cuts])
        out = self._frame(panel, cutoffs, self._calibrated(self._forecast(panel, cutoffs)), truth)
        return out[out.groupby(["unique_id", "cutoff"]).cumcount() < h].reset_index(drop=True)

    # ------------------------------------------------------------------ saving (Predictor)
    def to_parts(self) -> dict[str, Any]:
        self._check_fitted()
        return {"global_forecast": {"config": asdict(self.config), "state": self._state}}

    @classmethod
    def from_parts(cls, model: torch.nn.Module, parts: dict[str, Any]) -> GlobalForecaster:
        saved = parts["global_forecast"]
        forecaster = cls(GlobalForecastConfig(**saved["config"]))
        forecaster.model, forecaster._state = model, saved["state"]
        return forecaster


def _member_dir(checkpoint_dir: str | Path | None, stage: str, index: int) -> Path | None:
    return None if checkpoint_dir is None else Path(checkpoint_dir) / f"{stage}-{index}"


def _chunked(fn: Any, inputs: list[Tensor], size: int = 4096) -> Tensor:
    """``fn`` over row chunks of the inputs, concatenated (bounds the memory of big panels)."""
    n = inputs[0].shape[0]
    return torch.cat([fn(*(t[i : i + size] for t in inputs)) for i in range(0, n, size)])
