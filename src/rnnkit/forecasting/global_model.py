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
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from rnnkit.data.series import Frequency
from rnnkit.errors import CheckpointError, DataError
from rnnkit.forecasting.conformal import conformal_quantile, conformity_scores, widen
from rnnkit.forecasting.networks import (
    NETWORKS,
    GlobalNetConfig,
    build_global_net,
    smape_loss,
)
from rnnkit.forecasting.panel import (
    ID,
    TIME,
    Panel,
    WindowDataset,
    WindowSpec,
    batch_as_is,
    column_stats,
    make_windows,
    panel_from_frame,
    panel_to_frame,
    training_cutoffs,
)
from rnnkit.forecasting.seasonality import positions, seasonal_indices
from rnnkit.models.validation import check_choice, check_int, check_optional_int
from rnnkit.training.objectives import Objective, StepOutput

logger = logging.getLogger(__name__)

LOSSES: tuple[str, ...] = ("mae", "smape")
TRANSFORMS: tuple[str, ...] = ("scale", "log")
SHORT_SERIES: tuple[str, ...] = ("pad", "skip", "error")
_WINDOW_KEYS = ("z", "mask", "hist", "futr", "stat")
SEASON_CYCLES = 5
"""Seasonal cycles before the origin that the seasonal indices are estimated from (when available)."""


@dataclass
class GlobalForecastConfig:
    """Settings of a :class:`GlobalForecaster`.

    Model
        horizon: H, steps forecast from each origin.
        network: "direct" (MQ-RNN: all H steps at once, point forecast trained on ``loss``) or
            "deepar" (autoregressive, Student-t/normal likelihood, sample paths).
        cell, hidden_size, num_layers, dropout, context_size, cell_kwargs, likelihood: the
            network (:class:`~rnnkit.forecasting.networks.GlobalNetConfig`).
        skip: what the direct network's output adds to: "last", "season" or "none".
        loss: direct network: "mae" of the scaled values (|y - f| / s) or "smape".
        num_samples: sample paths per series (deepar).
        transform: what the network sees of a window: "scale" (y / s) or "log" (log(y / s), for
            positive data with multiplicative seasonality and noise: errors become relative, and
            the forecast s * exp(f) is never negative).
        deseasonalize: divide each window by the multiplicative seasonal indices of the last five
            cycles before its origin (fewer where the series is shorter) when they pass the Theta
            method's seasonality test (:mod:`rnnkit.forecasting.seasonality`); the forecast is
            multiplied back. Positive data only.
    Windows
        lookback: L, past values each window shows (None: 2 seasons, at least 2 H).
        lookbacks: an ensemble over several lookbacks (overrides ``lookback``).
        ensemble: members (seeds) per lookback; the forecast is the median of all members.
        season: season length m (None: from the frequency: 12 monthly, 4 quarterly, 1 yearly...).
        scale_window: last observed values whose mean |y| scales a window (None: m).
        min_context: fewest observed values a training window shows (None: the scale window).
        max_windows_per_series: train on each series' latest windows only (None: all).
        short_series: a series shorter than L + H is left-padded ("pad"), dropped with a count
            ("skip") or refused ("error").
        val_windows: validation origins per series, 1 step apart, at the end of each series
            (None: enough for 50 calibration windows in all, at most H).
        levels: interval levels in % (conformal, calibrated on the validation windows).
        refit: after validation, train every member again from scratch on all windows (the
            validation part included) for its best epoch count; the intervals keep the
            calibration of the first fit. Twice the training time; the network then learns
            from the most recent values too.
    Covariates (columns of the frame; static ones in ``static_df``)
        hist_exog, futr_exog, stat_exog.
    Training (:class:`~rnnkit.training.TrainConfig`)
        epochs, batch_size, lr, weight_decay, clip_norm, patience (early stopping on the
        validation windows, in epochs), max_seconds (per member), seed, progress_bar.
    alias: the forecast column's name (None: "MQ-<CELL>" or "DeepAR-<CELL>").
    """

    horizon: int = 12
    network: str = "direct"
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0
    context_size: int = 32
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    likelihood: str = "studentt"
    skip: str = "last"
    loss: str = "mae"
    num_samples: int = 100
    transform: str = "scale"
    deseasonalize: bool = False
    lookback: int | None = None
    lookbacks: tuple[int, ...] = ()
    ensemble: int = 1
    season: int | None = None
    scale_window: int | None = None
    min_context: int | None = None
    max_windows_per_series: int | None = None
    short_series: str = "pad"
    val_windows: int | None = None
    levels: tuple[int, ...] = (80, 95)
    refit: bool = False
    hist_exog: tuple[str, ...] = ()
    futr_exog: tuple[str, ...] = ()
    stat_exog: tuple[str, ...] = ()
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    patience: int | None = 5
    max_seconds: float | None = None
    seed: int = 0
    progress_bar: str = "off"
    alias: str | None = None

    def __post_init__(self) -> None:
        for name in ("lookbacks", "levels", "hist_exog", "futr_exog", "stat_exog"):
            setattr(self, name, tuple(getattr(self, name)))
        check_int("horizon", self.horizon, 1)
        check_choice("network", self.network, NETWORKS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("short_series", self.short_series, SHORT_SERIES)
        check_choice("transform", self.transform, TRANSFORMS)
        for name in ("num_samples", "ensemble", "epochs", "batch_size"):
            check_int(name, getattr(self, name), 1)
        for name in ("lookback", "season", "scale_window", "min_context", "max_windows_per_series", "val_windows",
                     "patience"):
            check_optional_int(name, getattr(self, name), 1)
        for value in self.lookbacks:
            check_int("lookbacks", value, 1)
        for level in self.levels:
            if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 100:
                raise ValueError(f"levels must be percentages in (0, 100), e.g. (80, 95); got {level!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0, got {self.lr!r}")
        self.net_config(season=1)  # validates the network's fields

    @property
    def model_name(self) -> str:
        """The forecast column: ``alias`` or "MQ-LSTM" / "DeepAR-GRU"..."""
        prefix = "MQ" if self.network == "direct" else "DeepAR"
        return self.alias or f"{prefix}-{self.cell.upper()}"

    def net_config(self, *, season: int) -> GlobalNetConfig:
        return GlobalNetConfig(
            network=self.network, horizon=self.horizon, cell=self.cell, hidden_size=self.hidden_size,
            num_layers=self.num_layers, dropout=self.dropout, cell_kwargs=dict(self.cell_kwargs),
            num_hist=len(self.hist_exog), num_futr=len(self.futr_exog), num_stat=len(self.stat_exog),
            context_size=self.context_size, skip=self.skip, season=season, likelihood=self.likelihood,
        )


@dataclass
class GlobalEnsembleConfig:
    """The members of a :class:`GlobalEnsemble`: one network config, one lookback per member."""

    net: GlobalNetConfig
    lookbacks: tuple[int, ...]


class GlobalEnsemble(nn.Module):
    """The trained networks of a :class:`GlobalForecaster` (``members[i]`` reads ``lookbacks[i]`` values)."""

    def __init__(self, config: GlobalEnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(build_global_net(config.net) for _ in config.lookbacks)


class GlobalObjective(Objective):
    """Loss of a global network on a batch of windows.

    direct: ``loss`` ("mae" of the scaled values, or "smape") of the H-step forecast.
    deepar: negative log-likelihood of every observed step of the window (context and target)
    given the steps before it, the true values fed back.
    """

    def __init__(self, loss: str) -> None:
        self.loss = loss

    def step(self, model: nn.Module, batch: Any, state: Any = None) -> StepOutput:
        z, mask, target = batch["z"], batch["mask"], batch["target"]
        if model.config.network == "deepar":
            full_z = torch.cat([z, target], dim=1)  # (B, L + H)
            full_mask = torch.cat([mask, torch.ones_like(target)], dim=1)
            hist = torch.cat([batch["hist"], batch["target_hist"]], dim=1)
            dist = model.distribution(full_z, full_mask, hist, batch["futr"], batch["stat"])
            weight = full_mask[:, 1:]  # (B, L + H - 1)
            loss = -(dist.log_prob(full_z[:, 1:]) * weight).sum() / weight.sum().clamp_min(1.0)
            return StepOutput(loss, {}, int(z.shape[0]))
        forecast = model(z, mask, batch["hist"], batch["futr"], batch["stat"])  # (B, H)
        mae = torch.mean(torch.abs(forecast - target))
        loss = mae if self.loss == "mae" else smape_loss(forecast, target)
        return StepOutput(loss, {"mae": mae.detach()}, int(z.shape[0]))


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


class GlobalForecaster:
    """A global recurrent forecaster over many series (see the module docstring).

    After :meth:`fit`: ``validation_`` holds the forecasts of the validation windows (unique_id,
    ds, cutoff, y, <model>) so baselines can be compared on the same windows, and ``summary_`` the
    :class:`FitSummary`.
    """

    def __init__(self, config: GlobalForecastConfig) -> None:
        if not isinstance(config, GlobalForecastConfig):
            raise TypeError(f"config must be a GlobalForecastConfig, got {type(config).__name__}")
        self.config = config
        self.model: GlobalEnsemble | None = None
        self.panel: Panel | None = None
        self.validation_: pd.DataFrame | None = None
        self.summary_: FitSummary | None = None
        self._state: dict[str, Any] = {}

    # ------------------------------------------------------------------ settings derived from the data
    @property
    def season(self) -> int:
        return int(self._state["season"])

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
        return w

    def _to_data_units(self, scaled: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
        """Network outputs (..., N, H) back to the data's units: undo the log, the window's level
        s (N,) and its seasonal indices (N, H)."""
        values = np.exp(scaled) if self.config.transform == "log" else scaled
        values = values * w["scale"][:, None]
        return values * w["season"] if "season" in w else values

    def _check_positive(self, panel: Panel) -> None:
        c = self.config
        if c.transform != "log" and not c.deseasonalize:
            return
        option = "transform='log'" if c.transform == "log" else "deseasonalize=True"
        for name, y in zip(panel.ids, panel.y):
            if np.any(y <= 0):
                raise DataError(f"{option} needs every y > 0, but series {name!r} has a value <= 0; "
                                "use transform='scale' and deseasonalize=False")

    # ------------------------------------------------------------------ training
    def fit(self, df: pd.DataFrame, static_df: pd.DataFrame | None = None) -> GlobalForecaster:
        """Train on every series of ``df`` (long format); returns ``self``."""
        start = time.perf_counter()
        c = self.config
        panel = self._panel(df, static_df, "df")
        self._check_positive(panel)
        season = c.season or panel.frequency.season_length
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
            result = self._train(member, train, val, c.epochs, c.seed + index)
            epochs.append(_best_epoch(result.history))
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
                self._train(member, train, None, epochs[index], c.seed + index)
            self.model = fresh
        self.summary_ = FitSummary(time.perf_counter() - start, n_train, n_valw, len(lookbacks), skipped, epochs)
        return self

    def _train(self, member: nn.Module, train: WindowDataset, val: WindowDataset | None, epochs: int,
               seed: int) -> Any:
        from rnnkit.training import TrainConfig, fit

        c = self.config
        config = TrainConfig(
            optimizer="adamw" if c.weight_decay else "adam", lr=c.lr, weight_decay=c.weight_decay,
            clip_norm=c.clip_norm, max_epochs=epochs, max_seconds=c.max_seconds, batch_size=c.batch_size,
            shuffle=True, seed=seed, early_stopping_patience=c.patience if val is not None else None,
            restore_best=val is not None, progress_bar=c.progress_bar, log_dir=None, quiet=True,
        )
        with torch.random.fork_rng(devices=[]):  # training draws leave the caller's generator alone
            return fit(member, GlobalObjective(c.loss), train, val, config, collate_fn=batch_as_is)

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
        saved = Frequency.from_dict(self._state["frequency"])
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

    # ------------------------------------------------------------------ saving
    def save(self, directory: str | Path) -> Path:
        """Write the networks (safetensors) and everything needed to forecast into ``directory``."""
        from rnnkit.training import save_model

        self._check_fitted()
        extras = {"global_forecast": {"config": asdict(self.config), "state": self._state}}
        return Path(save_model(directory, self.model, extras=extras))

    @classmethod
    def load(cls, directory: str | Path) -> GlobalForecaster:
        """A saved forecaster; call :meth:`predict` with the series to forecast."""
        from rnnkit.training import load_model

        model, extras = load_model(directory)
        if not isinstance(model, GlobalEnsemble) or "global_forecast" not in extras:
            raise CheckpointError(f"{str(directory)!r} holds a {type(model).__name__}, not a global forecaster "
                                  "saved by GlobalForecaster.save")
        saved = extras["global_forecast"]
        config = GlobalForecastConfig(**saved["config"])
        forecaster = cls(config)
        forecaster.model, forecaster._state = model, saved["state"]
        return forecaster


def _best_epoch(history: list[dict[str, float]]) -> int:
    """Epochs up to and including the one with the lowest validation loss (all of them without one)."""
    losses = [row.get("val_loss", math.inf) for row in history]
    return int(np.argmin(losses)) + 1 if losses and min(losses) < math.inf else max(1, len(history))


def _chunked(fn: Any, inputs: list[Tensor], size: int = 4096) -> Tensor:
    """``fn`` over row chunks of the inputs, concatenated (bounds the memory of big panels)."""
    n = inputs[0].shape[0]
    return torch.cat([fn(*(t[i : i + size] for t in inputs)) for i in range(0, n, size)])
