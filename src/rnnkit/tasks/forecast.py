"""The ``forecast`` task: train a :class:`~rnnkit.models.forecaster.Forecaster` on series, score it
against the baselines on the held-out end, forecast past the data, save the model.

The split is chronological (:class:`~rnnkit.data.windows.ChronologicalSplit`): the last ``test``
steps of every series are held out, the ``val`` steps before them (if any) drive early stopping,
and the scalers and the network see only the training part. The held-out part is forecast from
origins ``backtest_step`` apart (one origin, a one-shot forecast, when ``test == horizon``), all
in one batched forward pass, and every metric is computed after the inverse transform, in the
data's units. The future forecast starts after the last value of each series.

Example::

    from rnnkit.data.datasets import load_dataset
    from rnnkit.tasks.forecast import ForecastConfig, ForecastTask

    task = ForecastTask(ForecastConfig(horizon=12, window=24, log=True), load_dataset("airpassengers"))
    task.fit()
    report = task.evaluate()          # metrics of the model and each baseline on 1960
    future = task.future()            # the 12 months after 1960-12
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from rnnkit.data.scalers import SCALER_KINDS, Scaler
from rnnkit.data.series import Frequency, SeriesColumns, SeriesSet
from rnnkit.data.windows import ChronologicalSplit, WindowSpec
from rnnkit.errors import CheckpointError, DataError
from rnnkit.forecasting.backtest import (
    BacktestResult,
    BatchForecaster,
    Forecast,
    Origin,
    backtest,
    baseline_forecaster,
    rolling_origins,
)
from rnnkit.forecasting.baselines import BASELINES, make_baseline
from rnnkit.models.forecaster import MODES, Forecaster, ForecasterConfig, build_forecaster
from rnnkit.training import TrainConfig, fit, load_model, save_model
from rnnkit.training.objectives import Objective, StepOutput

logger = logging.getLogger(__name__)

DEFAULT_BASELINES: tuple[str, ...] = ("naive", "snaive", "drift", "ar", "ets", "sarima")
CLASSICAL_REFERENCES: tuple[str, ...] = ("ets", "sarima", "ar", "drift")
"""Baselines that can serve as the network's reference: it then learns to correct their forecast."""
REFERENCES: tuple[str, ...] = ("season", "last", "none", *CLASSICAL_REFERENCES)


def _positive_int(name: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")


@dataclass
class ForecastConfig:
    """Settings of a forecasting run.

    Attributes:
        horizon: H, steps forecast from each origin.
        window: W, past steps the network reads (at least one seasonal cycle is a good start).
        cell, hidden_size, num_layers, dropout, mode, quantiles, cell_kwargs, ar_lags, ensemble:
            the :class:`~rnnkit.models.forecaster.ForecasterConfig` of the network (``ensemble``
            networks trained side by side and averaged).
        reference: what the network's outputs are added to: "season", "last" or "none" (computed
            from the window, see :class:`~rnnkit.models.forecaster.Forecaster`), or a classical
            model of :data:`CLASSICAL_REFERENCES` ("ets", "sarima", "ar", "drift"), fit on each
            series' training part, whose forecast from the same origin the network learns to
            correct (a hybrid).
        scaler: "standard", "minmax" or "none", per series, fit on the training part.
        log: take the log of the target first (multiplicative series such as AirPassengers).
        calendar: feed the position in the seasonal cycle (month of year...) as a known-future
            covariate (ignored for data without a calendar cycle). Off by default: with the
            seasonal reference it made the validation error worse on AirPassengers (see
            docs/benchmarks.md).
        series_embedding_dim: features of the series embedding when there are several series.
        stride: steps between training windows.
        test: steps held out at the end of each series and forecast for the metrics (None =
            ``horizon``; 0 = none, train on everything).
        val: steps before the held-out part used for validation (early stopping and best
            weights); 0 = none.
        backtest_step: steps between held-out forecast origins (None = ``horizon``).
        baselines: baselines scored beside the network (keys of ``BASELINES``).
        season: season length for the seasonal baselines and MASE (None = from the frequency).
        epochs, batch_size, lr, weight_decay, clip_norm, patience, seed, progress_bar,
        max_seconds: training (see :class:`~rnnkit.training.TrainConfig`); ``patience`` is the
            early-stopping patience in epochs when ``val`` > 0.
    """

    horizon: int = 12
    window: int = 24
    cell: str = "lstm"
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0
    mode: str = "direct"
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    reference: str = "season"
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    ar_lags: int = 0
    ensemble: int = 1
    scaler: str = "standard"
    log: bool = False
    calendar: bool = False
    series_embedding_dim: int = 4
    stride: int = 1
    test: int | None = None
    val: int = 0
    backtest_step: int | None = None
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    season: int | None = None
    epochs: int = 400
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.0
    clip_norm: float | None = 1.0
    patience: int | None = 30
    seed: int = 0
    progress_bar: str = "off"
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        self.quantiles = tuple(self.quantiles)
        self.baselines = tuple(self.baselines)
        _positive_int("horizon", self.horizon)
        _positive_int("window", self.window)
        _positive_int("stride", self.stride)
        if self.test is not None:
            _positive_int("test", self.test, 0)
        _positive_int("val", self.val, 0)
        if self.backtest_step is not None:
            _positive_int("backtest_step", self.backtest_step)
        if self.season is not None:
            _positive_int("season", self.season)
        _positive_int("epochs", self.epochs)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.reference not in REFERENCES:
            raise ValueError(f"reference must be one of {', '.join(REFERENCES)}, got {self.reference!r}")
        if self.scaler not in SCALER_KINDS:
            raise ValueError(f"scaler must be one of {', '.join(SCALER_KINDS)}, got {self.scaler!r}")
        for name in self.baselines:
            if name not in BASELINES:
                raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
        self.model_config(num_covariates=0, num_future_covariates=0, num_series=1)  # validates the network

    @property
    def hybrid(self) -> bool:
        """Whether the network corrects a classical model's forecast (``reference`` in :data:`CLASSICAL_REFERENCES`)."""
        return self.reference in CLASSICAL_REFERENCES

    @property
    def held_out(self) -> int:
        return self.horizon if self.test is None else self.test

    def model_config(
        self, *, num_covariates: int, num_future_covariates: int, num_series: int, season: int = 1
    ) -> ForecasterConfig:
        return ForecasterConfig(
            horizon=self.horizon,
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            dropout=self.dropout,
            mode=self.mode,
            num_covariates=num_covariates,
            num_future_covariates=num_future_covariates,
            num_series=num_series,
            series_embedding_dim=self.series_embedding_dim if num_series > 1 else 0,
            quantiles=self.quantiles,
            reference="given" if self.hybrid else self.reference,
            season=season,
            cell_kwargs=dict(self.cell_kwargs),
            ar_lags=self.ar_lags,
            ensemble=self.ensemble,
        )

    def train_config(self, has_validation: bool) -> TrainConfig:
        return TrainConfig(
            optimizer="adamw" if self.weight_decay else "adam",
            lr=self.lr,
            weight_decay=self.weight_decay,
            clip_norm=self.clip_norm,
            max_epochs=self.epochs,
            max_seconds=self.max_seconds,
            batch_size=self.batch_size,
            shuffle=True,
            seed=self.seed,
            early_stopping_patience=self.patience if has_validation else None,
            restore_best=has_validation,
            progress_bar=self.progress_bar,
            log_dir=None,
            quiet=True,
        )


class ForecastObjective(Objective):
    """Loss of a :class:`Forecaster` on a window batch (a mapping of tensors, see :meth:`ForecastTask.batch`).

    Recursive models are trained with teacher forcing (the true values fed back); the members of
    an ensemble each on their own loss. Metric: ``mae`` of the (averaged) point forecast in scaled
    units.
    """

    def step(self, model: nn.Module, batch: Any, state: Any = None) -> StepOutput:
        teacher = batch["target"] if model.config.mode == "recursive" else None
        members = model.member_forecasts(
            batch["context"], batch["covariates"], batch["future"], batch["series"],
            teacher=teacher, reference=batch.get("reference"),
        )  # (E, B, H, Q)
        loss = model.loss(members, batch["target"])  # each member on its own loss
        mae = torch.mean(torch.abs(model.point(members.mean(dim=0)) - batch["target"]))  # of the averaged forecast
        return StepOutput(loss, {"mae": mae.detach()}, int(batch["target"].shape[0]))

    def predict(self, model: nn.Module, batch: Any) -> Tensor:
        return model(
            batch["context"], batch["covariates"], batch["future"], batch["series"], reference=batch.get("reference")
        )


class _Windows(torch.utils.data.Dataset):
    """A mapping of equally long tensors, served one row (a dict) at a time."""

    def __init__(self, tensors: dict[str, Tensor]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return int(next(iter(self.tensors.values())).shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {name: t[index] for name, t in self.tensors.items()}


@dataclass
class ForecastReport:
    """The held-out evaluation: metrics per method (model first) and per-step forecasts."""

    metrics: pd.DataFrame
    holdout: pd.DataFrame
    results: dict[str, BacktestResult]


class ForecastTask:
    """Data preparation, training, evaluation, forecasting and saving for one run.

    Args:
        config: the :class:`ForecastConfig`.
        data: validated series (:func:`rnnkit.data.series.load_series` or a named dataset).
        model, target_scaler, covariate_scaler, series_names: given when rebuilding a saved
            model (:meth:`load`); otherwise fit on the training part here.
    """

    def __init__(
        self,
        config: ForecastConfig,
        data: SeriesSet,
        *,
        model: Forecaster | None = None,
        target_scaler: Scaler | None = None,
        covariate_scaler: Scaler | None = None,
        series_names: list[str] | None = None,
    ) -> None:
        self.config = config
        self.data = data
        self.spec = WindowSpec(config.window, config.horizon, stride=config.stride)
        self.split = ChronologicalSplit(val=config.val, test=config.held_out)
        self.season = config.season or data.frequency.season_length
        self.series_names = series_names or data.names
        self.series_index = self._series_index(data, self.series_names)
        self.num_future = data.frequency.calendar_size if config.calendar else 0
        if model is None:
            for s in data:
                self.split.check(len(s), self.spec, name=f"series {s.name!r}")
            train = [s.head(self.split.train_end(len(s))) for s in data]
            target_scaler = Scaler(config.scaler, log=config.log).fit([s.values for s in train])
            covariate_scaler = Scaler("standard", per_series=False).fit([s.covariates for s in train])
            if config.window < config.ar_lags:
                raise ValueError(
                    f"ar_lags={config.ar_lags} needs a window of at least {config.ar_lags} steps, got "
                    f"{config.window}; use a longer window or fewer lags"
                )
            if config.reference == "season" and config.window < self.season:
                raise ValueError(
                    f"reference='season' needs a window of at least one season ({self.season} steps), got "
                    f"{config.window}; use a longer window or reference='last'"
                )
            model_config = config.model_config(
                num_covariates=data.num_covariates,
                num_future_covariates=self.num_future,
                num_series=len(data),
                season=self.season,
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)  # the initial weights depend on the seed only
                model = build_forecaster(model_config)
        else:
            for s in data:
                if len(s) < config.window:
                    raise DataError(
                        f"series {s.name!r} has {len(s)} values, fewer than the model's window of "
                        f"{config.window}; give at least {config.window} past values"
                    )
        assert target_scaler is not None and covariate_scaler is not None
        self.model, self.target_scaler, self.covariate_scaler = model, target_scaler, covariate_scaler
        self.train_seconds = 0.0  # set by fit: the reference model's fit, the windows and the training loop
        self.reference_seconds = 0.0
        self.reference_model = self._fit_reference() if config.hybrid else None
        self._prepared = [self._prepare(s, i) for s, i in zip(data, self.series_index, strict=True)]

    def _fit_reference(self) -> BatchForecaster:
        """The classical reference model, fit on each series' training part (all of it for a loaded model)."""
        name, train_ends = self.config.reference, [self.split.train_end(len(s)) for s in self.data]
        start = time.perf_counter()
        try:
            forecaster = baseline_forecaster(lambda: make_baseline(name, self.season), self.data, train_ends)
        except (ValueError, np.linalg.LinAlgError) as err:
            raise DataError(
                f"the reference model {name!r} cannot be fit on this data ({err}); use --reference season or last"
            ) from err
        self.reference_seconds = time.perf_counter() - start
        return forecaster

    @staticmethod
    def _series_index(data: SeriesSet, names: list[str]) -> list[int]:
        index = {name: i for i, name in enumerate(names)}
        missing = [s.name for s in data if s.name not in index]
        if missing:
            raise DataError(
                f"series {missing[0]!r} was not among the series the model was trained on "
                f"({', '.join(names[:5])}{'...' if len(names) > 5 else ''}); a global model forecasts only its own series"
            )
        return [index[s.name] for s in data]

    def _prepare(self, series: Any, index: int) -> dict[str, np.ndarray]:
        """Scaled arrays of one series; the calendar runs ``horizon`` steps past its end."""
        times = series.time.append(self.data.frequency.future(series.time[-1], self.config.horizon))
        calendar = self.data.frequency.calendar(times) if self.num_future else np.zeros((len(times), 0))
        covariates = series.covariates  # (T, Cp)
        if covariates.shape[1]:
            covariates = self.covariate_scaler.transform(covariates, 0)
        return {"scaled": self.target_scaler.transform(series.values, index), "covariates": covariates, "calendar": calendar}

    # ----------------------------------------------------------------------------- windows
    def batch(self, origins: list[Origin], with_target: bool = True) -> dict[str, Tensor]:
        """Tensors of the windows ending at ``origins`` (each origin needs ``window`` past values).

        Keys: context (N, W), covariates (N, W, Cp), future (N, W + H, Cf), series (N,), with a
        classical reference its scaled forecast reference (N, H), and, with ``with_target``, target
        (N, H); all float32 except series (int64).
        """
        w, h = self.config.window, self.config.horizon
        rows: dict[str, list[np.ndarray]] = {"context": [], "covariates": [], "future": [], "series": [], "target": []}
        for o in origins:
            p = self._prepared[o.series]
            if o.index < w:
                raise DataError(f"a forecast from step {o.index} needs {w} past values (the window); start later")
            rows["context"].append(p["scaled"][o.index - w : o.index])
            rows["covariates"].append(p["covariates"][o.index - w : o.index])
            rows["future"].append(p["calendar"][o.index - w : o.index + h])
            rows["series"].append(np.asarray(self.series_index[o.series]))
            if with_target:
                rows["target"].append(p["scaled"][o.index : o.index + h])
        if not with_target:
            del rows["target"]
        out = {k: torch.as_tensor(np.stack(v), dtype=torch.float32) for k, v in rows.items() if k != "series"}
        out["series"] = torch.as_tensor(np.stack(rows["series"]), dtype=torch.int64)
        if self.reference_model is not None:
            out["reference"] = self._reference(origins, out["series"].numpy())
        return out

    def _reference(self, origins: list[Origin], ids: np.ndarray) -> Tensor:
        """The classical model's forecast from each origin, scaled like the target: (N, H)."""
        assert self.reference_model is not None
        forecast = self.reference_model(origins, self.config.horizon).point  # (N, H), data units
        if self.target_scaler.log and not np.all(forecast > 0):
            raise DataError(
                f"the {self.config.reference!r} reference forecasts a value <= 0, which the log transform "
                f"cannot take; use --no-log or another --reference"
            )
        return torch.as_tensor(self.target_scaler.transform(forecast, ids), dtype=torch.float32)

    def _origins(self, part: str) -> list[Origin]:
        out = []
        for s, series in enumerate(self.data):
            n = len(series)
            end = {"train": self.split.train_end(n), "val": self.split.val_end(n)}[part]
            first = 0 if part == "train" else self.split.train_end(n)
            starts = self.spec.starts(end, first_target=first, name=f"series {series.name!r}")
            out += [Origin(s, int(start) + self.config.window) for start in starts]
        return out

    def holdout_origins(self, step: int | None = None, horizon: int | None = None) -> list[Origin]:
        """Origins inside the held-out part, ``step`` apart (default ``backtest_step`` or H)."""
        h = horizon or self.config.horizon
        step = step or self.config.backtest_step or self.config.horizon
        return rolling_origins([len(s) for s in self.data], [self.split.val_end(len(s)) for s in self.data], h, step)

    # ---------------------------------------------------------------------------- training
    def fit(self) -> ForecastTask:
        """Train the network on the training windows (validation windows when ``val`` > 0)."""
        start = time.perf_counter()
        train = _Windows(self.batch(self._origins("train")))
        val = _Windows(self.batch(self._origins("val"))) if self.config.val else None
        logger.info(
            "training a %s %s forecaster on %d windows (%d series, window %d, horizon %d)",
            self.config.mode, self.config.cell, len(train), len(self.data), self.config.window, self.config.horizon,
        )
        fit(self.model, ForecastObjective(), train, val, config=self.config.train_config(val is not None))
        self.train_seconds = self.reference_seconds + time.perf_counter() - start
        return self

    # ---------------------------------------------------------------------------- forecasting
    def forecast(self, origins: list[Origin], horizon: int | None = None) -> Forecast:
        """Forecasts from ``origins`` in the data's units, in one batched pass: (N, h) and quantiles.

        ``horizon`` (at most the model's H) keeps the first steps only.
        """
        h = horizon or self.config.horizon
        if h > self.config.horizon:
            raise ValueError(f"horizon {h} exceeds the model's horizon {self.config.horizon}; train with a longer one")
        batch = self.batch(origins, with_target=False)
        scaled = self.model.predict(
            batch["context"], batch["covariates"], batch["future"], batch["series"], batch.get("reference")
        )
        scaled = scaled[:, :h].double().numpy()  # (N, h, Q)
        ids = batch["series"].numpy()
        values = self.target_scaler.inverse_transform(scaled.transpose(0, 2, 1), ids).transpose(0, 2, 1)  # (N, h, Q)
        point = values[..., self.model.config.point_index]
        quantiles = {q: values[..., i] for i, q in enumerate(self.model.config.quantiles) if q != 0.5}
        return Forecast(point, quantiles)

    def future(self) -> pd.DataFrame:
        """The H steps after the end of every series: columns series, step, time, forecast, q*."""
        origins = [Origin(s, len(series)) for s, series in enumerate(self.data)]
        result = self.forecast(origins)
        frames = []
        for n, series in enumerate(self.data):
            frame = {
                "series": series.name,
                "step": np.arange(1, self.config.horizon + 1),
                "time": self.data.frequency.future(series.time[-1], self.config.horizon),
                "forecast": result.point[n],
            }
            frame.update({f"q{q:g}": v[n] for q, v in result.quantiles.items()})
            frames.append(pd.DataFrame(frame))
        return pd.concat(frames, ignore_index=True)

    def evaluate(self, step: int | None = None, horizon: int | None = None) -> ForecastReport:
        """Score the network and every baseline on the held-out part (same origins for all)."""
        if self.split.test == 0:
            raise ValueError("nothing is held out (test=0), so there is nothing to score; set test >= horizon")
        h = horizon or self.config.horizon
        origins = self.holdout_origins(step, h)
        train_ends = [self.split.train_end(len(s)) for s in self.data]
        results = {"rnnkit " + self.config.cell: backtest(self.forecast, self.data, origins, h, train_ends, self.season)}
        for name in self.config.baselines:
            if name == "snaive" and self.season == 1:
                continue  # without a season it is the naive forecast again
            baseline = make_baseline(name, self.season)
            if min(train_ends) <= baseline.min_length:
                logger.info("skipping baseline %s: the training part is too short for it", name)
                continue
            label = baseline.name
            try:
                forecaster = baseline_forecaster(lambda n=name: make_baseline(n, self.season), self.data, train_ends)
                results[label] = backtest(forecaster, self.data, origins, h, train_ends, self.season)
            except (ValueError, np.linalg.LinAlgError) as err:
                logger.warning("baseline %s failed on this data and is left out: %s", label, err)
        metrics = pd.DataFrame({name: r.metrics for name, r in results.items()}).T
        holdout = results["rnnkit " + self.config.cell].forecasts.copy()
        for name, r in results.items():
            if not name.startswith("rnnkit"):
                holdout[name] = r.forecasts["forecast"].to_numpy()
        return ForecastReport(metrics, holdout, results)

    # ---------------------------------------------------------------------------- saving
    def save(self, directory: str | Path) -> Path:
        """Save the network with everything needed to forecast new data (scalers, columns, frequency)."""
        extras = {
            "forecast": {
                "config": asdict(self.config),
                "columns": asdict(self.data.columns),
                "frequency": self.data.frequency.to_dict(),
                "series_names": self.series_names,
            },
            "target_scaler": self.target_scaler.to_dict(),
            "covariate_scaler": self.covariate_scaler.to_dict(),
        }
        return Path(save_model(directory, self.model, extras=extras))

    @classmethod
    def load(cls, directory: str | Path, data: SeriesSet) -> ForecastTask:
        """Rebuild a saved task on new ``data`` (same columns and frequency) to forecast its future."""
        model, extras = load_model(directory)
        if not isinstance(model, Forecaster) or "forecast" not in extras:
            raise CheckpointError(
                f"{str(directory)!r} holds a {type(model).__name__}, not a forecaster saved by rnnkit forecast"
            )
        saved = extras["forecast"]
        config = ForecastConfig(**{**saved["config"], "test": 0})
        frequency = Frequency.from_dict(saved["frequency"])
        if frequency != data.frequency:
            raise DataError(
                f"the model was trained on data with step {frequency.label()} but this data has step "
                f"{data.frequency.label()}; give data with the training frequency"
            )
        return cls(
            config,
            data,
            model=model,
            target_scaler=Scaler.from_dict(extras["target_scaler"]),
            covariate_scaler=Scaler.from_dict(extras["covariate_scaler"]),
            series_names=list(saved["series_names"]),
        )

    @staticmethod
    def saved_columns(directory: str | Path) -> SeriesColumns:
        """The columns a saved forecaster reads (to load a new file the same way)."""
        path = Path(directory) / "forecast.json"
        if not path.exists():
            raise CheckpointError(f"{str(directory)!r} has no forecast.json; it was not saved by rnnkit forecast")
        columns = json.loads(path.read_text())["columns"]
        return SeriesColumns(columns["time"], columns["target"], columns["id"], tuple(columns["covariates"]))


# -------------------------------------------------------------------------------- outputs
def plot_forecast(
    task: ForecastTask, future: pd.DataFrame, report: ForecastReport | None, path: str | Path, max_series: int = 4
) -> None:
    """PNG of each series (at most ``max_series``): history, held-out truth, the network's held-out
    forecast and its future forecast, with the outer quantiles as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = task.data.series[:max_series]
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 3.2 * len(shown)), squeeze=False)
    levels = [q for q in task.model.config.quantiles if q != 0.5]
    band = (f"q{levels[0]:g}", f"q{levels[-1]:g}") if levels else None
    for ax, series in zip(axes[:, 0], shown, strict=False):
        end = task.split.val_end(len(series)) if report is not None else len(series)
        ax.plot(series.time[:end], series.values[:end], color="black", lw=1.2, label="history")
        if report is not None:
            ax.plot(series.time[end - 1 :], series.values[end - 1 :], color="black", lw=1.2, ls="--",
                    label="held-out truth")  # from the last training value on, so the line is unbroken
            held = report.holdout[report.holdout["series"] == series.name]
            for _, part in held.groupby("origin", sort=False):
                ax.plot(part["time"], part["forecast"], color="tab:blue", lw=1.5)
                if band:
                    ax.fill_between(part["time"], part[band[0]], part[band[1]], color="tab:blue", alpha=0.2, lw=0)
            ax.plot([], [], color="tab:blue", label="held-out forecast")
        ahead = future[future["series"] == series.name]
        ax.plot(ahead["time"], ahead["forecast"], color="tab:red", lw=1.5, label="forecast")
        if band:
            lo, hi = band
            ax.fill_between(ahead["time"], ahead[lo], ahead[hi], color="tab:red", alpha=0.2, lw=0,
                            label=f"{levels[0]:g}-{levels[-1]:g} quantiles")
        hybrid = f" correcting {task.config.reference.upper()}" if task.config.hybrid else ""
        ax.set_title(f"{series.name}: {task.config.mode} {task.config.cell}{hybrid}, horizon {task.config.horizon}")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    from rnnkit.io import atomic_write_with

    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


@dataclass
class ForecastRun:
    """What :func:`run_forecast` produced: the report (None without held-out data) and the files."""

    task: ForecastTask
    report: ForecastReport | None
    future: pd.DataFrame
    files: dict[str, Path]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    from rnnkit.io import atomic_write_with

    atomic_write_with(path, lambda tmp: frame.to_csv(tmp, index=False))


def run_forecast(task: ForecastTask, out_dir: str | Path) -> ForecastRun:
    """Train ``task``, score it on the held-out part, forecast the future and write into
    ``out_dir``: ``metrics.csv``, ``holdout.csv``, ``forecast.csv``, ``forecast.png`` and ``model/``."""
    out = Path(out_dir)
    task.fit()
    report = task.evaluate() if task.split.test else None
    future = task.future()
    files = {"forecast": out / "forecast.csv", "plot": out / "forecast.png", "model": out / "model"}
    if report is not None:
        files["metrics"], files["holdout"] = out / "metrics.csv", out / "holdout.csv"
        _write_csv(report.metrics.rename_axis("method").reset_index(), files["metrics"])
        _write_csv(report.holdout, files["holdout"])
    _write_csv(future, files["forecast"])
    plot_forecast(task, future, report, files["plot"])
    task.save(files["model"])
    return ForecastRun(task, report, future, files)


def run_saved(model_dir: str | Path, data: SeriesSet, out_dir: str | Path) -> ForecastRun:
    """Forecast the future of ``data`` with a saved forecaster; writes ``forecast.csv`` and ``forecast.png``."""
    out = Path(out_dir)
    task = ForecastTask.load(model_dir, data)
    future = task.future()
    files = {"forecast": out / "forecast.csv", "plot": out / "forecast.png"}
    _write_csv(future, files["forecast"])
    plot_forecast(task, future, None, files["plot"])
    return ForecastRun(task, None, future, files)
