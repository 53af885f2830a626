"""The baselines a forecaster must beat: naive, seasonal naive, drift, AR, ETS and SARIMA.

Each baseline is fit once on a training series, then forecasts from the end of any history that
starts with that training series (the training series itself for a one-shot forecast, or the
training series plus the true values seen since, for rolling-origin backtests). With T the
history's length, y_T its last value, m the season length and h = 1..H:

    naive           f_{T+h} = y_T
    seasonal naive  f_{T+h} = y_{T+h-m*ceil(h/m)}             (the same month last year)
    drift           f_{T+h} = y_T + h (y_T - y_1) / (T - 1)
    AR(p)           f_t = c + sum_i phi_i f_{t-i}              (f_t = y_t inside the history)
    ETS             Holt-Winters, additive trend, multiplicative (y > 0) or additive season
    SARIMA          the airline model (0,1,1)x(0,1,1)_m on log y (y > 0), else on y
"""

from __future__ import annotations

import abc
import logging
import warnings
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)


def _one_blas_thread() -> threadpool_limits:
    """statsmodels on tiny matrices: one BLAS thread is ~10x faster than two on a busy CPU."""
    return threadpool_limits(limits=1)


def _check_history(history: np.ndarray, horizon: int, minimum: int, name: str) -> np.ndarray:
    values = np.asarray(history, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{name}: history must be 1-D (T,), got shape {values.shape}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1 (future steps), got {horizon!r}")
    if len(values) < minimum:
        raise ValueError(f"{name} needs at least {minimum} past values, got {len(values)}; give a longer history")
    return values


class Baseline(abc.ABC):
    """Interface: ``fit(train)`` once, then ``forecast(history, horizon)`` as often as needed."""

    name = "baseline"
    min_length = 1

    def __init__(self, season: int = 1) -> None:
        if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
            raise ValueError(f"season must be an integer >= 1 (steps in one cycle), got {season!r}")
        self.season = int(season)

    def fit(self, train: np.ndarray) -> Baseline:
        """Estimate the parameters on ``train`` (T,); returns self."""
        _check_history(train, 1, self.min_length, self.name)
        return self

    @abc.abstractmethod
    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        """Forecast the ``horizon`` steps after ``history`` (T,): (horizon,)."""

    def forecast_many(self, histories: list[np.ndarray], horizon: int) -> np.ndarray:
        """One forecast per history: (N, horizon)."""
        return np.stack([self.forecast(h, horizon) for h in histories])


class Naive(Baseline):
    """The last value, repeated."""

    name = "naive"

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        y = _check_history(history, horizon, 1, self.name)
        return np.full(horizon, y[-1])


class SeasonalNaive(Baseline):
    """The value one season earlier (the same month last year for monthly data)."""

    name = "seasonal naive"

    def __init__(self, season: int = 1) -> None:
        super().__init__(season)
        self.min_length = self.season

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        y = _check_history(history, horizon, self.season, self.name)
        last_cycle = y[len(y) - self.season :]  # (m,)
        return last_cycle[np.arange(horizon) % self.season]


class Drift(Baseline):
    """The line through the first and last values, extended."""

    name = "drift"
    min_length = 2

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        y = _check_history(history, horizon, 2, self.name)
        slope = (y[-1] - y[0]) / (len(y) - 1)
        return y[-1] + slope * np.arange(1, horizon + 1)


class AR(Baseline):
    """Autoregression with a constant, least squares (statsmodels ``AutoReg``).

    ``lags=None`` picks the order by AIC up to ``max(12, 2 * season)`` (at most a third of the
    training length).
    """

    name = "AR"

    def __init__(self, season: int = 1, lags: int | None = None) -> None:
        super().__init__(season)
        if lags is not None and (isinstance(lags, bool) or not isinstance(lags, int) or lags < 1):
            raise ValueError(f"AR lags must be an integer >= 1 or None (chosen by AIC), got {lags!r}")
        self.lags = lags
        self.min_length = (lags or 1) + 2
        self.const = 0.0
        self.phi = np.zeros(0)

    def fit(self, train: np.ndarray) -> AR:
        from statsmodels.tsa.ar_model import AutoReg, ar_select_order

        y = _check_history(train, 1, self.min_length, self.name)
        lags = self.lags
        if lags is None:
            maxlag = max(1, min(max(12, 2 * self.season), len(y) // 3))
            with _one_blas_thread():
                selected = ar_select_order(y, maxlag=maxlag, ic="aic", trend="c").ar_lags
            lags = max(selected) if selected else 1
        with _one_blas_thread():
            params = AutoReg(y, lags=lags, trend="c").fit().params
        self.const, self.phi = float(params[0]), np.asarray(params[1:], dtype=np.float64)
        self.min_length = len(self.phi)
        logger.debug("AR(%d) fit: c=%.4g", len(self.phi), self.const)
        return self

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        p = len(self.phi)
        if p == 0:
            raise RuntimeError("AR is not fitted; call fit(train) first")
        y = _check_history(history, horizon, p, self.name)
        values = np.concatenate([y[-p:], np.empty(horizon)])  # (p + H,)
        for t in range(p, p + horizon):
            lagged = values[t - p : t][::-1]  # (p,): f_{t-1}, ..., f_{t-p}
            values[t] = self.const + float(self.phi @ lagged)  # f_t = c + sum_i phi_i f_{t-i}
        return values[p:]


def _positive(y: np.ndarray) -> bool:
    return bool(np.all(y > 0))


class ETS(Baseline):
    """Holt-Winters exponential smoothing (statsmodels), refiltered with fixed parameters on each history."""

    name = "ETS"
    min_length = 4

    def __init__(self, season: int = 1) -> None:
        super().__init__(season)
        self.params: dict[str, object] = {}
        self.seasonal: str | None = None

    def _model(self, y: np.ndarray, **initial: object):  # noqa: ANN202 - statsmodels type
        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        return ExponentialSmoothing(
            y,
            trend="add",
            seasonal=self.seasonal,
            seasonal_periods=self.season if self.seasonal else None,
            **initial,
        )

    def fit(self, train: np.ndarray) -> ETS:
        y = _check_history(train, 1, self.min_length, self.name)
        if self.season > 1 and len(y) >= 2 * self.season:
            self.seasonal = "mul" if _positive(y) else "add"
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore")
            result = self._model(y, initialization_method="estimated").fit()
        self.params = dict(result.params)
        return self

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        if not self.params:
            raise RuntimeError("ETS is not fitted; call fit(train) first")
        y = _check_history(history, horizon, self.min_length, self.name)
        p = self.params
        initial = {"initial_level": p["initial_level"], "initial_trend": p["initial_trend"]}
        smoothing = {"smoothing_level": p["smoothing_level"], "smoothing_trend": p["smoothing_trend"]}
        if self.seasonal:
            initial["initial_seasonal"] = p["initial_seasons"]
            smoothing["smoothing_seasonal"] = p["smoothing_seasonal"]
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore")
            result = self._model(y, initialization_method="known", **initial).fit(optimized=False, **smoothing)
        return np.asarray(result.forecast(horizon), dtype=np.float64)


class SARIMA(Baseline):
    """Seasonal ARIMA by state space (statsmodels ``SARIMAX``); by default the airline model.

    The log is taken when every training value is > 0. Without a season the model is ARIMA(1,1,1).
    """

    name = "SARIMA"

    def __init__(
        self,
        season: int = 1,
        order: tuple[int, int, int] | None = None,
        seasonal_order: tuple[int, int, int] | None = None,
    ) -> None:
        super().__init__(season)
        self.order = order or ((0, 1, 1) if self.season > 1 else (1, 1, 1))
        self.seasonal_order = (*(seasonal_order or (0, 1, 1)), self.season) if self.season > 1 else (0, 0, 0, 0)
        self.min_length = 2 * self.season + 3 if self.season > 1 else 5
        self.log = False
        self.result = None

    def fit(self, train: np.ndarray) -> SARIMA:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        y = _check_history(train, 1, self.min_length, self.name)
        self.log = _positive(y)
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore")
            model = SARIMAX(np.log(y) if self.log else y, order=self.order, seasonal_order=self.seasonal_order)
            self.result = model.fit(disp=False)
        return self

    def forecast(self, history: np.ndarray, horizon: int) -> np.ndarray:
        if self.result is None:
            raise RuntimeError("SARIMA is not fitted; call fit(train) first")
        y = _check_history(history, horizon, self.min_length, self.name)
        if self.log and np.any(y <= 0):
            raise ValueError("SARIMA was fit on log values but this history has values <= 0; refit it")
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore")
            forecast = np.asarray(self.result.apply(np.log(y) if self.log else y).forecast(horizon))
        return np.exp(forecast) if self.log else forecast


BASELINES: dict[str, Callable[[int], Baseline]] = {
    "naive": Naive,
    "snaive": SeasonalNaive,
    "drift": Drift,
    "ar": AR,
    "ets": ETS,
    "sarima": SARIMA,
}
"""Baseline constructors by short name, each taking the season length."""


def make_baseline(name: str, season: int = 1) -> Baseline:
    """A baseline by its short name (one of :data:`BASELINES`)."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    return BASELINES[name](season)
