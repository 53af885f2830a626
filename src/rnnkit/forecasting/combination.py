"""The network combined with statsforecast models: an equal-weight forecast combination.

For members m = 1..M (the network and the chosen baselines) forecasting window i at step k:

    c_ik = mean_m f_mik        ("mean")   or   median_m f_mik   ("median")

Combining a learned model with classical ones is the oldest reliable gain in forecasting (Bates &
Granger 1969; the M3 and M4 competitions): their errors differ, so the average errs less than a
typical member. The intervals are split conformal on the validation windows, which none of the
members was fit on (:mod:`rnnkit.forecasting.conformal`): scores ``e_ik = |y_ik - c_ik| / s_i``
with ``s_i`` the mean |y| of the last ``scale_window`` values before the window's origin, and the
level-a interval ``c_ik -/+ q_k s_i`` with ``q_k`` their finite-sample a-quantile at step k.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rnnkit.forecasting.conformal import conformal_quantile
from rnnkit.forecasting.panel import ID, TARGET, TIME

HOW: tuple[str, ...] = ("mean", "median")


def window_levels(history: pd.DataFrame, cutoffs: pd.DataFrame, scale_window: int) -> pd.Series:
    """s of every (unique_id, cutoff) of ``cutoffs``: the mean |y| of the last ``scale_window``
    values of ``history`` up to and including the cutoff (1 where that is 0 or nothing is known).
    Returns a Series indexed by (unique_id, cutoff)."""
    pairs = cutoffs[[ID, "cutoff"]].drop_duplicates().assign(**{ID: lambda f: f[ID].astype(str)})
    data = history[[ID, TIME, TARGET]].assign(**{ID: history[ID].astype(str)}).merge(pairs, on=ID)
    known = data[data[TIME] <= data["cutoff"]]
    level = (known.assign(a=known[TARGET].abs()).groupby([ID, "cutoff"], sort=False)["a"]
             .apply(lambda a: float(a.tail(scale_window).mean())))
    level = level.reindex(pd.MultiIndex.from_frame(pairs[[ID, "cutoff"]])).fillna(0.0)
    return level.where(level > 0, 1.0)


@dataclass
class Combination:
    """An equal-weight combination of forecast columns, with conformal intervals.

    Attributes:
        name: the combined forecast's column, e.g. "MQ-LSTM+AutoETS+DOTM".
        members: the columns combined (the network's first).
        how: "mean" or "median" of the members.
        scale_window: values before an origin whose mean |y| scales the conformity scores.
        widths: per level ("80"), the calibrated q_k of every step (after :meth:`calibrate`).
    """

    name: str
    members: tuple[str, ...]
    how: str = "mean"
    scale_window: int = 1
    widths: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.members = tuple(self.members)
        if len(self.members) < 2:
            raise ValueError(f"a combination needs at least two members, got {list(self.members)}")
        if self.how not in HOW:
            raise ValueError(f"how must be one of {', '.join(HOW)}, got {self.how!r}")

    def point(self, frame: pd.DataFrame) -> np.ndarray:
        """The combined point forecast of every row of ``frame`` (which holds the members' columns)."""
        missing = [m for m in self.members if m not in frame.columns]
        if missing:
            raise ValueError(f"the frame has no forecast column {missing[0]!r} to combine")
        values = frame[list(self.members)].to_numpy(dtype=np.float64)  # (rows, M)
        return values.mean(axis=1) if self.how == "mean" else np.median(values, axis=1)

    def _steps(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Step k (0-based) of each row within its window, and the rows' (unique_id, cutoff) keys."""
        keys = frame[[ID, "cutoff"]].assign(**{ID: frame[ID].astype(str)})
        return keys.groupby([ID, "cutoff"], sort=False).cumcount().to_numpy(), keys

    def _scales(self, history: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
        """The level s_i of each row's window (rows keyed by unique_id, cutoff)."""
        return window_levels(history, keys, self.scale_window).reindex(pd.MultiIndex.from_frame(keys)).to_numpy()

    def calibrate(self, frame: pd.DataFrame, history: pd.DataFrame, levels: tuple[int, ...]) -> Combination:
        """Conformal widths from validation rows (unique_id, ds, cutoff, y and the members);
        ``history`` holds the values up to each cutoff. Returns ``self``."""
        steps, keys = self._steps(frame)
        scale = self._scales(history, keys)
        scores = np.abs(frame[TARGET].to_numpy(dtype=np.float64) - self.point(frame)) / scale  # (rows,)
        horizon = int(steps.max()) + 1
        table = np.full((len(frame), horizon), np.nan)
        table[np.arange(len(frame)), steps] = scores
        self.widths = {}
        for level in levels:
            per_step = [conformal_quantile(table[~np.isnan(table[:, k]), k : k + 1], level / 100)[0]
                        for k in range(horizon)]
            self.widths[f"{level:g}"] = [float(q) for q in per_step]
        return self

    def apply(self, frame: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the combined column and its calibrated intervals added; rows need
        unique_id, cutoff (the last known ds; added from ``history`` when absent) and the members."""
        out = frame.copy()
        dropped = "cutoff" not in out.columns
        if dropped:
            last = history.assign(**{ID: history[ID].astype(str)}).groupby(ID, sort=False)[TIME].max()
            out["cutoff"] = out[ID].astype(str).map(last).to_numpy()
        point = self.point(out)
        out[self.name] = point
        if self.widths:
            steps, keys = self._steps(out)
            scale = self._scales(history, keys)
            for level, widths in sorted(self.widths.items(), key=lambda item: float(item[0])):
                q = np.asarray(widths)[np.minimum(steps, len(widths) - 1)]
                out[f"{self.name}-lo-{level}"] = point - q * scale
                out[f"{self.name}-hi-{level}"] = point + q * scale
        return out.drop(columns="cutoff") if dropped else out

    def to_dict(self) -> dict:
        return {"name": self.name, "members": list(self.members), "how": self.how, "scale_window": self.scale_window,
                "widths": self.widths}

    @classmethod
    def from_dict(cls, data: dict) -> Combination:
        return cls(data["name"], tuple(data["members"]), data["how"], int(data["scale_window"]), dict(data["widths"]))
