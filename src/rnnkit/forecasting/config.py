"""The settings of a :class:`~rnnkit.forecasting.global_model.GlobalForecaster`, validated once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rnnkit.forecasting.networks import NETWORKS, GlobalNetConfig
from rnnkit.models.validation import check_choice, check_int, check_optional_int

LOSSES: tuple[str, ...] = ("mae", "smape")
TRANSFORMS: tuple[str, ...] = ("scale", "log", "log1p")
SHORT_SERIES: tuple[str, ...] = ("pad", "skip", "error")

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
        transform: what the network sees of a window: "scale" (y / s), "log" (log(y / s), for
            positive data with multiplicative seasonality and noise: errors become relative, and
            the forecast s * exp(f) is never negative) or "log1p" (log(1 + y / s): the same for
            data with zeros, such as counts; forecasts are never negative).
        deseasonalize: divide each window by the multiplicative seasonal indices of the last five
            cycles before its origin (fewer where the series is shorter) when they pass the Theta
            method's seasonality test (:mod:`rnnkit.forecasting.seasonality`); the forecast is
            multiplied back. A window with a value <= 0 in those cycles is left as it is.
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
        self._check_every_setting_has_an_effect()

    def _check_every_setting_has_an_effect(self) -> None:
        """A setting changed from its default where it changes nothing is a mistake: say so."""
        defaults = GlobalForecastConfig.__dataclass_fields__
        only = {"direct": ("loss", "skip", "context_size"), "deepar": ("likelihood", "num_samples")}
        for network, names in only.items():
            for name in names:
                if self.network != network and getattr(self, name) != defaults[name].default:
                    raise ValueError(f"{name}={getattr(self, name)!r} has no effect with network={self.network!r}: it "
                                     f"applies to network={network!r} only; drop it or use network={network!r}")
        if self.lookback is not None and self.lookbacks:
            raise ValueError(f"lookbacks={self.lookbacks} replaces lookback={self.lookback}; give one of them")
        if self.dropout > 0 and self.num_layers == 1:
            raise ValueError(f"dropout={self.dropout} has no effect with num_layers=1: it applies between stacked "
                             "layers; use num_layers=2 or more, or dropout=0")

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
