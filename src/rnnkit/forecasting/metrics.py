"""Forecast accuracy in the data's own units (inverse-transform before calling these).

With y the true values, f the forecasts (same shape, any number of axes, averaged over all):

    RMSE  = sqrt(mean((y - f)^2))                    the seed's measure
    MAE   = mean(|y - f|)
    MAPE  = 100 * mean(|y - f| / |y|)                 %, undefined (NaN) if some y = 0
    sMAPE = 100 * mean(2 |y - f| / (|y| + |f|))       %, terms with y = f = 0 count as 0
    MASE  = MAE / mean(|y_t - y_{t-m}|)              the scale is the in-sample seasonal-naive error
                                                     on the training series, m the season length
"""

from __future__ import annotations

import numpy as np

METRICS: tuple[str, ...] = ("RMSE", "MAE", "MAPE", "sMAPE", "MASE")


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64)
    f = np.asarray(y_pred, dtype=np.float64)
    if y.shape != f.shape:
        raise ValueError(f"true values {y.shape} and forecasts {f.shape} must have the same shape")
    if y.size == 0:
        raise ValueError("cannot score an empty forecast; give at least one value")
    return y, f


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    y, f = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    y, f = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y - f)))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error in %; NaN when a true value is 0."""
    y, f = _pair(y_true, y_pred)
    if np.any(y == 0):
        return float("nan")
    return float(100.0 * np.mean(np.abs(y - f) / np.abs(y)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in % (0 to 200)."""
    y, f = _pair(y_true, y_pred)
    denominator = np.abs(y) + np.abs(f)
    terms = np.divide(2.0 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(100.0 * np.mean(terms))


def mase(y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, season: int = 1) -> float:
    """Mean absolute scaled error; ``y_train`` (T,) is the series before the forecast origin.

    NaN if the training series is constant at lag ``season`` (nothing to scale by).
    """
    train = np.asarray(y_train, dtype=np.float64)
    if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or season < 1:
        raise ValueError(f"season must be an integer >= 1 (steps in one cycle), got {season!r}")
    if len(train) <= season:
        raise ValueError(
            f"MASE needs more than season={season} training values to scale by, got {len(train)}; "
            f"use a shorter season or a longer training series"
        )
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    return mae(y_true, y_pred) / scale if scale > 0 else float("nan")


def evaluate(
    y_true: np.ndarray, y_pred: np.ndarray, y_train: np.ndarray, season: int = 1
) -> dict[str, float]:
    """All of :data:`METRICS` for one forecast."""
    return {
        "RMSE": rmse(y_true, y_pred),
        "MAE": mae(y_true, y_pred),
        "MAPE": mape(y_true, y_pred),
        "sMAPE": smape(y_true, y_pred),
        "MASE": mase(y_true, y_pred, y_train, season),
    }
