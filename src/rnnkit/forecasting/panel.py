"""Many series in the long format (``unique_id, ds, y`` + covariates) as arrays, and the windows
a global network trains on.

A :class:`Panel` is what a long DataFrame becomes once validated (by
:func:`rnnkit.data.series.series_from_frame`: one regular frequency, no duplicate or missing
times, numeric values): per series its id, times, target (n,), historical covariates (n, Ch),
known-future covariates (n + extra, Cf) and static covariates (Cs,).

A window of series i at cutoff c (the forecast origin: c values are known) holds the L values
before c, left-padded with zeros and a 0 mask where the series is shorter, and the H values from c
on as its target. Each window is put on its own scale (as DeepAR and N-BEATS do): ``z = y / s`` with

    s = mean(|y|) over the last ``scale_window`` observed values of the context   (1 if that is 0)

so the network sees levels near 1 whatever the series' units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset

from rnnkit.data.series import Frequency, SeriesColumns, series_from_frame
from rnnkit.errors import DataError

ID, TIME, TARGET = "unique_id", "ds", "y"


@dataclass
class Panel:
    """Validated series of one frequency (see the module docstring).

    Attributes:
        ids: series ids, (N,).
        times: each series' time index.
        y: each series' target, (n_i,) float64.
        hist: each series' historical covariates, (n_i, Ch).
        futr: each series' known-future covariates, (n_i + k, Cf): k > 0 rows past the end when the
            future values are given (for forecasting).
        stat: static covariates, (N, Cs).
        frequency: the shared step.
    """

    ids: list[str]
    times: list[pd.Index]
    y: list[np.ndarray]
    hist: list[np.ndarray]
    futr: list[np.ndarray]
    stat: np.ndarray
    frequency: Frequency

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.y], dtype=np.int64)

    def subset(self, keep: np.ndarray) -> Panel:
        """The series where ``keep`` (N,) is True."""
        idx = np.flatnonzero(keep)
        pick = lambda items: [items[i] for i in idx]  # noqa: E731
        return Panel(pick(self.ids), pick(self.times), pick(self.y), pick(self.hist), pick(self.futr),
                     self.stat[idx], self.frequency)

    def head(self, cut: np.ndarray | int) -> Panel:
        """Every series without its last ``cut`` values (per series when an array), covariates cut alike."""
        cuts = np.broadcast_to(np.asarray(cut, dtype=np.int64), (len(self),))
        ends = self.lengths - cuts
        return Panel(self.ids, [t[:e] for t, e in zip(self.times, ends)], [v[:e] for v, e in zip(self.y, ends)],
                     [v[:e] for v, e in zip(self.hist, ends)], [v[:e] for v, e in zip(self.futr, ends)],
                     self.stat, self.frequency)


def _numeric_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str, parameter: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} column {missing[0]!r} (from {parameter}) is not in the data; its columns are: "
                        f"{', '.join(map(str, frame.columns))}")


def panel_from_frame(
    df: pd.DataFrame,
    *,
    hist_exog: tuple[str, ...] = (),
    futr_exog: tuple[str, ...] = (),
    static_df: pd.DataFrame | None = None,
    stat_exog: tuple[str, ...] = (),
    fill: str | None = None,
    source: str = "df",
) -> Panel:
    """Validate a long frame (``unique_id, ds, y`` and the covariate columns) into a :class:`Panel`.

    Raises :class:`~rnnkit.errors.DataError` (one line) for an empty frame, a missing column, a
    non-numeric or missing ``y``, a duplicate (unique_id, ds), a series with skipped or irregular
    steps, or series of different frequencies.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source} must be a pandas DataFrame in the long format (unique_id, ds, y), got "
                        f"{type(df).__name__}")
    if ID not in df.columns and len(df):
        df = df.assign(**{ID: "series"})  # a single series needs no id
    _numeric_columns(df, hist_exog, "historical covariate", "hist_exog")
    _numeric_columns(df, futr_exog, "known-future covariate", "futr_exog")
    columns = SeriesColumns(TIME, TARGET, ID, tuple(hist_exog) + tuple(futr_exog))
    data = series_from_frame(df, columns, fill=fill, source=source)
    ch = len(hist_exog)
    stat = np.zeros((len(data), 0))
    if stat_exog:
        if static_df is None:
            raise DataError("stat_exog names static columns but no static_df was given; pass static_df "
                            "(one row per unique_id)")
        _numeric_columns(static_df, stat_exog, "static covariate", "stat_exog")
        table = static_df.assign(**{ID: static_df[ID].astype(str)}).set_index(ID)
        missing = [name for name in data.names if name not in table.index]
        if missing:
            raise DataError(f"static_df has no row for series {missing[0]!r}; give one row per unique_id")
        stat = table.loc[data.names, list(stat_exog)].to_numpy(dtype=np.float64)
    return Panel(
        ids=data.names,
        times=[s.time for s in data],
        y=[s.values for s in data],
        hist=[s.covariates[:, :ch] for s in data],
        futr=[s.covariates[:, ch:] for s in data],
        stat=stat,
        frequency=data.frequency,
    )


def panel_to_frame(panel: Panel, hist_exog: tuple[str, ...] = (), futr_exog: tuple[str, ...] = ()) -> pd.DataFrame:
    """A panel back in the long format: unique_id, ds (parsed, on the regular grid), y, covariates."""
    frames = []
    for i, name in enumerate(panel.ids):
        frame = pd.DataFrame({ID: name, TIME: panel.times[i], TARGET: panel.y[i]})
        for j, column in enumerate(hist_exog):
            frame[column] = panel.hist[i][:, j]
        for j, column in enumerate(futr_exog):
            frame[column] = panel.futr[i][: len(panel.y[i]), j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def window_scale(z: np.ndarray, mask: np.ndarray, scale_window: int) -> np.ndarray:
    """The level s of each window (N, L) from its last ``scale_window`` observed values: (N,)."""
    tail, seen = np.abs(z[:, -scale_window:]) * mask[:, -scale_window:], mask[:, -scale_window:]
    level = tail.sum(axis=1) / np.maximum(seen.sum(axis=1), 1.0)
    return np.where(level > 0, level, 1.0)


@dataclass(frozen=True)
class WindowSpec:
    """Lookback L, horizon H and the scale window of the windows a network reads."""

    lookback: int
    horizon: int
    scale_window: int


def make_windows(panel: Panel, cutoffs: list[np.ndarray], spec: WindowSpec, *, with_target: bool,
                 hist_stats: tuple[np.ndarray, np.ndarray], futr_stats: tuple[np.ndarray, np.ndarray],
                 stat_stats: tuple[np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """Windows of ``panel`` at the given cutoffs (one array per series), scaled.

    Covariates are standardized with the given (mean, std) pairs. Returns float32 arrays:
    z, mask (N, L); hist (N, L, Ch); futr (N, L + H, Cf); stat (N, Cs); scale (N,); series (N,)
    int64 index into ``panel``; with ``with_target`` also target (N, H) and target_hist (N, H, Ch)
    (z units). Known-future covariates must reach ``cutoff + H`` (DataError otherwise).
    """
    L, H = spec.lookback, spec.horizon
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("y", "mask", "hist", "futr", "stat", "series")}
    for i, starts in enumerate(cutoffs):
        if len(starts) == 0:
            continue
        starts = np.asarray(starts, dtype=np.int64)
        y, hist, futr = panel.y[i], panel.hist[i], panel.futr[i]
        if futr.shape[1] and len(futr) < starts.max() + H:
            raise DataError(f"series {panel.ids[i]!r} has known-future covariates up to step {len(futr)} but the "
                            f"forecast needs them {H} steps past the origin; give futr_df with the future values")
        span = L + H
        pad = lambda a: np.concatenate([np.zeros((L,) + a.shape[1:]), a, np.zeros((H,) + a.shape[1:])])  # noqa: E731
        observed = pad(np.ones(len(y)))
        index = starts[:, None] + np.arange(span)[None, :]  # padded positions: c - L + L = c
        rows["y"].append(pad(y)[index])
        rows["mask"].append(observed[index])
        rows["hist"].append(pad(hist)[index])
        futr_full = np.concatenate([np.zeros((L, futr.shape[1])), futr, np.zeros((max(0, len(y) + H - len(futr)), futr.shape[1]))])
        rows["futr"].append(futr_full[index])
        rows["stat"].append(np.repeat(panel.stat[i : i + 1], len(starts), axis=0))
        rows["series"].append(np.full(len(starts), i))
    if not rows["y"]:
        raise DataError("no window could be cut from the data: every series is too short for the horizon; use a "
                        "shorter horizon or longer series")
    y = np.concatenate(rows["y"])  # (N, L + H)
    mask = np.concatenate(rows["mask"])
    standard = lambda a, stats: ((a - stats[0]) / stats[1]).astype(np.float32)  # noqa: E731
    scale = window_scale(y[:, :L], mask[:, :L], spec.scale_window)
    z = y / scale[:, None]
    hist = standard(np.concatenate(rows["hist"]), hist_stats)
    out = {
        "z": z[:, :L].astype(np.float32) * mask[:, :L].astype(np.float32),
        "mask": mask[:, :L].astype(np.float32),
        "hist": hist[:, :L],
        "futr": standard(np.concatenate(rows["futr"]), futr_stats),
        "stat": standard(np.concatenate(rows["stat"]), stat_stats),
        "scale": scale,
        "series": np.concatenate(rows["series"]).astype(np.int64),
    }
    if with_target:
        out["target"] = z[:, L:].astype(np.float32)
        out["target_hist"] = hist[:, L:]
    return out


def training_cutoffs(lengths: np.ndarray, ends: np.ndarray, horizon: int, min_context: int,
                     max_windows: int | None = None) -> list[np.ndarray]:
    """For each series, every cutoff c with ``min_context <= c`` and ``c + horizon <= end``: the
    latest ``max_windows`` of them when set."""
    out = []
    for end in ends:
        cuts = np.arange(min_context, int(end) - horizon + 1)
        out.append(cuts[-max_windows:] if max_windows and len(cuts) > max_windows else cuts)
    return out


def column_stats(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (1 where constant) of each column of the stacked (n_i, C) arrays."""
    stacked = np.concatenate(arrays) if arrays and arrays[0].ndim == 2 else np.asarray(arrays)
    if stacked.size == 0:
        width = stacked.shape[-1] if stacked.ndim == 2 else 0
        return np.zeros(width), np.ones(width)
    std = stacked.std(axis=0)
    return stacked.mean(axis=0), np.where(std > 0, std, 1.0)


class WindowDataset(Dataset):
    """Windows as tensors, fetched a whole batch at a time (``__getitems__``): the loader gets a dict
    of (B, ...) tensors per batch by fancy indexing, with no per-window Python work."""

    def __init__(self, arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> None:
        self.tensors = {k: torch.as_tensor(arrays[k]) for k in keys}

    def __len__(self) -> int:
        return int(next(iter(self.tensors.values())).shape[0])

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {k: t[index] for k, t in self.tensors.items()}

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return {k: t[idx] for k, t in self.tensors.items()}

