"""Time series from CSV or Parquet files: loading, validation, a regular time grid, calendar features.

A file holds one row per time step (and per series, with an id column): a time column, a target
column and optional covariate columns. :func:`load_series` reads it with pandas and returns a
:class:`SeriesSet` whose every series is numeric, strictly increasing in time, on one regular grid
and free of gaps, or raises :class:`~rnnkit.errors.DataError` with one line that says what is wrong,
where, and how to fix it.

Example::

    >>> cols = SeriesColumns(time="Month", target="Passengers")
    >>> data = load_series("air.csv", cols)                       # doctest: +SKIP
    >>> data.series[0].values.shape, data.frequency.season_length  # doctest: +SKIP
    ((144,), 12)
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

from rnnkit.errors import DataError

FILL_METHODS: tuple[str, ...] = ("ffill", "interpolate", "zero")
"""Ways to fill missing values: carry the last value forward, interpolate linearly, or use 0."""

_FILL_HINT = "fill them (fill='ffill', 'interpolate' or 'zero') or clean the file"

# Seasonal period and calendar position for each family of pandas offsets (by rule-code prefix).
_SEASONS: dict[str, int] = {"M": 12, "Q": 4, "W": 52, "D": 7, "B": 5, "h": 24, "H": 24}


def _season_family(offset: str) -> str | None:
    """The key of ``_SEASONS`` for a pandas offset alias ('MS' -> 'M', 'QS-OCT' -> 'Q'), or None."""
    if not offset[:1].isalpha():
        return None  # a multiple such as '2MS' has no calendar cycle of its own
    head = offset[1:] if offset.startswith("B") and offset[1:2] in ("M", "Q", "Y", "A") else offset
    for key in _SEASONS:
        if head.startswith(key):
            return key
    return None


@dataclass(frozen=True)
class Frequency:
    """The regular step of a time index.

    Either ``offset`` (a pandas alias such as ``"MS"`` for month starts, for date times) or
    ``step`` (a number such as 1 for years written as integers) is set.
    """

    offset: str | None = None
    step: float | None = None

    def __post_init__(self) -> None:
        if (self.offset is None) == (self.step is None):
            raise ValueError(
                f"Frequency needs exactly one of offset (dates) or step (numbers), got "
                f"offset={self.offset!r}, step={self.step!r}"
            )
        if self.step is not None and not self.step > 0:
            raise ValueError(f"Frequency step must be > 0, got {self.step!r}; use the time between rows")

    @property
    def is_datetime(self) -> bool:
        return self.offset is not None

    def label(self) -> str:
        """A short human label: the offset alias or the numeric step."""
        return self.offset if self.offset is not None else f"{self.step:g}"

    def grid(self, start: object, periods: int) -> pd.Index:
        """``periods`` regular times from ``start`` included: (periods,)."""
        if self.offset is not None:
            return pd.date_range(pd.Timestamp(start), periods=periods, freq=self.offset)
        values = float(start) + float(self.step) * np.arange(periods)  # type: ignore[arg-type]
        if float(self.step).is_integer() and float(start).is_integer():  # type: ignore[arg-type]
            return pd.Index(values.astype(np.int64))
        return pd.Index(values)

    def future(self, last: object, horizon: int) -> pd.Index:
        """The ``horizon`` times that follow ``last``: (horizon,)."""
        return self.grid(last, horizon + 1)[1:]

    @property
    def season_length(self) -> int:
        """Steps in one seasonal cycle (12 for monthly, 7 for daily...; 1 when there is none)."""
        family = _season_family(self.offset) if self.offset is not None else None
        return _SEASONS[family] if family is not None else 1

    @property
    def calendar_size(self) -> int:
        """Number of calendar features :meth:`calendar` returns per time step."""
        period = self.season_length
        if period == 1:
            return 0
        return period if period <= 24 else 2

    def calendar(self, times: pd.Index) -> np.ndarray:
        """Known-future calendar features of ``times`` (position in the seasonal cycle): (T, C).

        One-hot of the position for cycles up to 24 steps (month of year, day of week, hour of
        day), its sine and cosine for longer ones (week of year); (T, 0) without a cycle.
        """
        period = self.season_length
        if period == 1:
            return np.zeros((len(times), 0))
        stamps = pd.DatetimeIndex(times)
        family = _season_family(self.offset)  # type: ignore[arg-type]
        position = {
            "M": lambda: stamps.month - 1,
            "Q": lambda: stamps.quarter - 1,
            "W": lambda: stamps.isocalendar().week.to_numpy() - 1,
            "D": lambda: stamps.dayofweek,
            "B": lambda: np.minimum(stamps.dayofweek, 4),
            "h": lambda: stamps.hour,
            "H": lambda: stamps.hour,
        }[family]()  # type: ignore[index]
        position = np.asarray(position, dtype=np.int64) % period
        if period <= 24:
            return np.eye(period)[position]
        angle = 2 * np.pi * position / period
        return np.stack([np.sin(angle), np.cos(angle)], axis=1)

    def to_dict(self) -> dict[str, object]:
        return {"offset": self.offset, "step": self.step}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Frequency:
        step = data.get("step")
        return cls(offset=data.get("offset"), step=None if step is None else float(step))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SeriesColumns:
    """Which columns of a table hold the time, the target, the series id and the covariates."""

    time: str
    target: str
    id: str | None = None
    covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        names = [("time", self.time), ("target", self.target)]
        names += [("id", self.id)] if self.id is not None else []
        names += [("covariate", c) for c in self.covariates]
        for role, name in names:
            if not isinstance(name, str) or not name:
                raise TypeError(f"{role} column name must be a non-empty string, got {name!r}")
        seen: dict[str, str] = {}
        for role, name in names:
            if name in seen:
                raise ValueError(
                    f"column {name!r} is used both as {seen[name]} and as {role}; give each role its own column"
                )
            seen[name] = role

    def roles(self) -> list[tuple[str, str]]:
        """(role, column) pairs in the order they are checked."""
        pairs = [("time", self.time), ("target", self.target)]
        pairs += [("id", self.id)] if self.id is not None else []
        return pairs + [("covariate", c) for c in self.covariates]


@dataclass
class TimeSeries:
    """One series on a regular grid.

    Attributes:
        name: the series id (its value in the id column, or the target column's name).
        time: the time index, (T,).
        values: the target, (T,) float64.
        covariates: past covariates (observed with the target, unknown in the future), (T, C).
    """

    name: str
    time: pd.Index
    values: np.ndarray
    covariates: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim != 1:
            raise ValueError(f"TimeSeries values must be 1-D (T,), got shape {self.values.shape}")
        if self.covariates is None:
            self.covariates = np.zeros((len(self.values), 0))
        self.covariates = np.asarray(self.covariates, dtype=np.float64)
        if self.covariates.ndim != 2 or self.covariates.shape[0] != len(self.values) or len(self.time) != len(self.values):
            raise ValueError(
                f"TimeSeries {self.name!r}: time ({len(self.time)}), values ({len(self.values)}) and "
                f"covariates ({self.covariates.shape[0]}) must have the same length"
            )

    def __len__(self) -> int:
        return len(self.values)

    def head(self, n: int) -> TimeSeries:
        """The first ``n`` steps (a chronological cut: nothing after step n leaks in)."""
        return TimeSeries(self.name, self.time[:n], self.values[:n], self.covariates[:n])


@dataclass
class SeriesSet:
    """Validated series that share one frequency (one per id value)."""

    series: list[TimeSeries]
    frequency: Frequency
    columns: SeriesColumns

    def __post_init__(self) -> None:
        if not self.series:
            raise DataError("a SeriesSet needs at least one series; the data has none")

    def __len__(self) -> int:
        return len(self.series)

    def __iter__(self) -> Iterator[TimeSeries]:
        return iter(self.series)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.series]

    @property
    def num_covariates(self) -> int:
        return self.series[0].covariates.shape[1]

    def head(self, n: int) -> SeriesSet:
        """Every series cut to its first ``n`` steps."""
        return SeriesSet([s.head(n) for s in self.series], self.frequency, self.columns)

    def drop_last(self, n: int) -> SeriesSet:
        """Every series without its last ``n`` steps (a chronological split point)."""
        return SeriesSet([s.head(len(s) - n) for s in self.series], self.frequency, self.columns)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``, ``.txt``, ``.tsv``) or Parquet (``.parquet``, ``.pq``) file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"data file {str(p)!r} does not exist; check the path")
    if p.is_dir():
        raise IsADirectoryError(f"data file {str(p)!r} is a folder; give a CSV or Parquet file")
    name = p.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(p)
        if name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".txt")):
            return pd.read_csv(p)
        if name.endswith(".tsv"):
            return pd.read_csv(p, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"cannot read {str(p)!r}: {first}; check that it is a valid table") from err
    raise DataError(
        f"data file {p.name!r} has an unknown type; expected .csv, .tsv or .parquet"
    )


def _check_columns(frame: pd.DataFrame, columns: SeriesColumns, source: str) -> None:
    available = [str(c) for c in frame.columns]
    for role, name in columns.roles():
        if name in frame.columns:
            continue
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
        if not close:
            lowered = {a.lower(): a for a in available}
            close = [lowered[name.lower()]] if name.lower() in lowered else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DataError(
            f"{role} column {name!r} not found in {source}; {hint}(columns: {', '.join(available)})"
        )


def _numeric(column: pd.Series, role: str, source: str) -> np.ndarray:
    """The column as float64: (N,); non-numeric cells raise with their row."""
    if is_numeric_dtype(column.dtype) or is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    coerced = pd.to_numeric(column, errors="coerce")
    bad = coerced.isna() & column.notna() & (column.astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{role} column {column.name!r} has a non-numeric value {column.iloc[row]!r} at row {row + 1} "
            f"of {source}; only numbers can be forecast, fix or remove that row"
        )
    return coerced.to_numpy(dtype=np.float64, na_value=np.nan)


def _parse_time(column: pd.Series, source: str) -> pd.Index:
    """The time column as a DatetimeIndex or a numeric Index: (N,)."""
    missing = column.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"time column {column.name!r} is empty at row {row + 1} of {source}; every row needs a time"
        )
    if is_datetime64_any_dtype(column.dtype):
        return pd.DatetimeIndex(column).tz_localize(None) if getattr(column.dt, "tz", None) else pd.DatetimeIndex(column)
    if is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return pd.Index(values.astype(np.int64))
        return pd.Index(values)
    text = column.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all():
        return _parse_time(numbers.rename(column.name), source)
    stamps = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = stamps.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"time column {column.name!r} has a value that is neither a date nor a number: "
            f"{column.iloc[row]!r} at row {row + 1} of {source}; use dates like 1949-01-01 or numbers"
        )
    return pd.DatetimeIndex(stamps)


def _fmt(t: object) -> str:
    if isinstance(t, pd.Timestamp):
        return str(t.date()) if t == t.normalize() else str(t)
    return f"{t:g}" if isinstance(t, (float, np.floating)) else str(t)


def _infer_frequency(times: pd.Index, name: str) -> Frequency:
    """The step of ``times`` (already strictly increasing), from the whole index or its first steps."""
    if isinstance(times, pd.DatetimeIndex):
        alias = pd.infer_freq(times) or pd.infer_freq(times[:3])  # a string (pandas 2) or an offset (3)
        if alias is None:
            shown = ", ".join(_fmt(t) for t in times[:3])
            raise DataError(
                f"irregular time steps in series {name!r}: no regular step in its first times "
                f"({shown}); resample the data to a regular frequency"
            )
        return Frequency(offset=pd.tseries.frequencies.to_offset(alias).freqstr)
    steps = np.diff(times.to_numpy(dtype=np.float64))
    return Frequency(step=float(steps.min()))


def _on_grid(times: pd.Index, freq: Frequency) -> tuple[pd.Index, np.ndarray]:
    """The full grid from the first to the last time and, for each time, its grid position."""
    start = times[0]
    if freq.offset is not None:
        grid = pd.date_range(start, times[-1], freq=freq.offset)
        position = grid.get_indexer(times)
    else:
        offsets = (times.to_numpy(dtype=np.float64) - float(start)) / float(freq.step)  # type: ignore[arg-type]
        rounded = np.round(offsets)
        position = np.where(np.isclose(offsets, rounded, rtol=0, atol=1e-6), rounded, -1).astype(np.int64)
        grid = freq.grid(start, int(rounded[-1]) + 1)
    return grid, position


def _fill(values: np.ndarray, method: str) -> np.ndarray:
    """Fill NaN in ``values`` (T,) or (T, C) with ``method``."""
    frame = pd.DataFrame(values.reshape(len(values), -1))
    if method == "zero":
        frame = frame.fillna(0.0)
    elif method == "ffill":
        frame = frame.ffill().bfill()
    else:
        frame = frame.interpolate(method="linear", limit_direction="both")
    return frame.to_numpy().reshape(values.shape)


def _one_series(
    name: str,
    rows: np.ndarray,
    times: pd.Index,
    values: np.ndarray,
    covariates: np.ndarray,
    columns: SeriesColumns,
    fill: str | None,
) -> tuple[TimeSeries, Frequency]:
    if len(times) < 3:
        raise DataError(
            f"series {name!r} has only {len(times)} rows; a series needs at least 3 time steps"
        )
    dup = np.flatnonzero(times.duplicated())
    if len(dup):
        second = int(dup[0])
        first = int(np.flatnonzero(times == times[second])[0])
        raise DataError(
            f"duplicate time {_fmt(times[second])} in series {name!r} (rows {rows[first] + 1} and "
            f"{rows[second] + 1}); keep one row per time step"
        )
    order = np.flatnonzero(np.asarray(times[1:] < times[:-1]))
    if len(order):
        i = int(order[0])
        raise DataError(
            f"times are not in increasing order in series {name!r}: {_fmt(times[i + 1])} at row "
            f"{rows[i + 1] + 1} comes after {_fmt(times[i])} at row {rows[i] + 1}; sort the file by its time column"
        )
    freq = _infer_frequency(times, name)
    grid, position = _on_grid(times, freq)
    expected = freq.grid(times[0], len(times))
    if (position < 0).any():
        i = int(np.flatnonzero(position < 0)[0])
        raise DataError(
            f"irregular time steps in series {name!r}: expected {_fmt(expected[i])} after "
            f"{_fmt(times[i - 1])} (step {freq.label()}) but found {_fmt(times[i])} at row {rows[i] + 1}; "
            f"resample the data to a regular frequency"
        )
    if len(grid) != len(times):
        i = int(np.flatnonzero(position != np.arange(len(times)))[0])
        if fill is None:
            raise DataError(
                f"series {name!r} skips time steps: {_fmt(expected[i])} is missing between "
                f"{_fmt(times[i - 1])} and {_fmt(times[i])} (step {freq.label()}); add the missing rows or "
                f"{_FILL_HINT}"
            )
        full = np.full(len(grid), np.nan)
        full[position] = values
        full_cov = np.full((len(grid), covariates.shape[1]), np.nan)
        full_cov[position] = covariates
        times, values, covariates = grid, full, full_cov
    for role, column, data in [("target", columns.target, values[:, None]), ("covariate", None, covariates)]:
        missing = np.isnan(data)
        if not missing.any():
            continue
        if fill is None:
            t, c = np.argwhere(missing)[0]
            col = column if column is not None else columns.covariates[int(c)]
            raise DataError(
                f"series {name!r} has {int(missing.sum())} missing value(s) in {role} column {col!r} "
                f"(first at {_fmt(times[int(t)])}); {_FILL_HINT}"
            )
    if fill is not None:
        values = _fill(values, fill)
        covariates = _fill(covariates, fill)
        if np.isnan(values).any() or np.isnan(covariates).any():
            raise DataError(f"series {name!r} has a column with no values at all; nothing to fill from")
    if not np.all(np.isfinite(values)):
        raise DataError(f"series {name!r} has an infinite value in target column {columns.target!r}; remove it")
    return TimeSeries(name, times, values, covariates), freq


def series_from_frame(
    frame: pd.DataFrame,
    columns: SeriesColumns,
    *,
    fill: str | None = None,
    source: str = "the data",
) -> SeriesSet:
    """Validate ``frame`` and split it into series (one per id value, in order of appearance).

    Args:
        frame: one row per time step (and series), N rows.
        columns: the time, target, optional id and covariate columns.
        fill: how to fill missing values and skipped time steps (one of :data:`FILL_METHODS`);
            ``None`` makes them an error.
        source: how messages name the data (the file name).
    """
    if fill is not None and fill not in FILL_METHODS:
        raise ValueError(f"fill must be one of {', '.join(FILL_METHODS)} or None, got {fill!r}")
    if len(frame) == 0:
        raise DataError(f"{source} has no rows; it needs one row per time step")
    _check_columns(frame, columns, source)
    frame = frame.reset_index(drop=True)
    times = _parse_time(frame[columns.time], source)
    values = _numeric(frame[columns.target], "target", source)
    covariates = np.stack(
        [_numeric(frame[c], "covariate", source) for c in columns.covariates] or [np.zeros(len(frame))],
        axis=1,
    )[:, : len(columns.covariates)]
    if columns.id is None:
        groups = [(columns.target, np.arange(len(frame)))]
    else:
        ids = frame[columns.id]
        if ids.isna().any():
            row = int(np.flatnonzero(ids.isna().to_numpy())[0])
            raise DataError(f"id column {columns.id!r} is empty at row {row + 1} of {source}; every row needs an id")
        groups = [(str(key), np.asarray(idx)) for key, idx in ids.groupby(ids, sort=False).indices.items()]
    series: list[TimeSeries] = []
    frequency: Frequency | None = None
    for name, rows in groups:
        one, freq = _one_series(name, rows, times[rows], values[rows], covariates[rows], columns, fill)
        if frequency is not None and freq != frequency:
            raise DataError(
                f"series {series[0].name!r} has step {frequency.label()} but series {name!r} has step "
                f"{freq.label()}; all series must share one frequency"
            )
        frequency = freq
        series.append(one)
    assert frequency is not None
    return SeriesSet(series, frequency, columns)


def load_series(
    path: str | os.PathLike[str], columns: SeriesColumns, *, fill: str | None = None
) -> SeriesSet:
    """Read a CSV/Parquet file and validate it (see :func:`series_from_frame`)."""
    return series_from_frame(read_table(path), columns, fill=fill, source=Path(path).name)
