"""Scalers for series: standard or min-max, per series or global, with an optional log.

A scaler maps values to the units the network sees and back; every metric and plot is computed
after :meth:`Scaler.inverse_transform`, in the data's own units. Fit it on the training part of a
chronological split only (see :class:`rnnkit.data.windows.ChronologicalSplit`).

    standard:  z = (v - mean) / std        min-max:  z = (v - min) / (max - min)
    with log=True, v = log(y) first (for multiplicative series such as AirPassengers).

    >>> s = Scaler("minmax").fit([np.array([2.0, 4.0, 6.0])])
    >>> s.transform(np.array([2.0, 6.0]), 0).tolist(), s.inverse_transform(np.array([0.5]), 0).tolist()
    ([0.0, 1.0], [4.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnkit.errors import DataError

SCALER_KINDS: tuple[str, ...] = ("standard", "minmax", "none")


@dataclass
class Scaler:
    """Affine scaling (after an optional log), with statistics per series or shared.

    Attributes:
        kind: "standard" (mean 0, std 1), "minmax" (range [0, 1]) or "none".
        log: take the natural log before scaling (values must be > 0).
        per_series: one set of statistics per series (S of them) or one for all.
        center, scale: fitted statistics, (S or 1, *F) with F the feature shape (() for a target).
    """

    kind: str = "standard"
    log: bool = False
    per_series: bool = True
    center: np.ndarray | None = field(default=None, repr=False)
    scale: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in SCALER_KINDS:
            raise ValueError(f"scaler kind must be one of {', '.join(SCALER_KINDS)}, got {self.kind!r}")
        if not isinstance(self.log, bool) or not isinstance(self.per_series, bool):
            raise TypeError(f"log and per_series must be True or False, got {self.log!r}, {self.per_series!r}")

    @property
    def fitted(self) -> bool:
        return self.center is not None

    def _forward_log(self, values: np.ndarray, what: str) -> np.ndarray:
        if not self.log:
            return values
        if np.any(values <= 0):
            raise DataError(
                f"the log transform needs values > 0, but {what} has a minimum of {np.min(values):g}; "
                f"turn the log off (--no-log) or shift the data"
            )
        return np.log(values)

    def fit(self, arrays: Sequence[np.ndarray]) -> Scaler:
        """Fit on one array per series, each (T_s, *F); returns self."""
        if len(arrays) == 0:
            raise ValueError("Scaler.fit needs at least one array (one per series), got none")
        logged = [self._forward_log(np.asarray(a, dtype=np.float64), f"series {i}") for i, a in enumerate(arrays)]
        groups = logged if self.per_series else [np.concatenate(logged, axis=0)]
        centers, scales = [], []
        for values in groups:
            if len(values) == 0:
                raise DataError("cannot fit a scaler on an empty series; give every series training values")
            if self.kind == "standard":
                center, scale = values.mean(axis=0), values.std(axis=0)
            elif self.kind == "minmax":
                center, scale = values.min(axis=0), values.max(axis=0) - values.min(axis=0)
            else:
                center, scale = np.zeros(values.shape[1:]), np.ones(values.shape[1:])
            centers.append(center)
            scales.append(np.where(scale > 0, scale, 1.0))  # a constant series maps to 0, not NaN
        self.center, self.scale = np.stack(centers), np.stack(scales)
        return self

    def _stats(self, series: int | np.ndarray, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        if self.center is None or self.scale is None:
            raise RuntimeError("this Scaler is not fitted; call fit(...) on the training data first")
        index = np.zeros_like(np.asarray(series)) if not self.per_series else np.asarray(series)
        if np.any(index < 0) or np.any(index >= len(self.center)):
            raise IndexError(f"series index {series!r} out of range for a scaler fit on {len(self.center)} series")
        center, scale = self.center[index], self.scale[index]
        if index.ndim == 1:  # one series per row of the values: broadcast over their middle axes
            extra = ndim - center.ndim
            center = center.reshape(center.shape[:1] + (1,) * extra + center.shape[1:])
            scale = scale.reshape(center.shape)
        return center, scale

    def transform(self, values: np.ndarray, series: int | np.ndarray = 0) -> np.ndarray:
        """Scale ``values`` (..., *F) of series ``series`` (an int, or (N,) ids for N rows)."""
        values = self._forward_log(np.asarray(values, dtype=np.float64), "the data")
        center, scale = self._stats(series, values.ndim)
        return (values - center) / scale

    def inverse_transform(self, values: np.ndarray, series: int | np.ndarray = 0) -> np.ndarray:
        """Back to the data's units: the exact inverse of :meth:`transform`."""
        values = np.asarray(values, dtype=np.float64)
        center, scale = self._stats(series, values.ndim)
        restored = values * scale + center
        return np.exp(restored) if self.log else restored

    def to_dict(self) -> dict[str, object]:
        """JSON-able description (saved beside a model)."""
        return {
            "kind": self.kind,
            "log": self.log,
            "per_series": self.per_series,
            "center": None if self.center is None else self.center.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Scaler:
        scaler = cls(kind=str(data["kind"]), log=bool(data["log"]), per_series=bool(data["per_series"]))
        if data.get("center") is not None:
            scaler.center = np.asarray(data["center"], dtype=np.float64)
            scaler.scale = np.asarray(data["scale"], dtype=np.float64)
        return scaler
