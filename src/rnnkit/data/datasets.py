"""Named real series that work offline: AirPassengers, yearly sunspots, Mauna Loa CO2.

``load_dataset(name)`` returns a validated :class:`~rnnkit.data.series.SeriesSet`; its
:class:`DatasetInfo` gives its usual forecasting horizon.

- ``airpassengers``: monthly airline passengers 1949-1960 (Box & Jenkins series G), 144 values,
  shipped as ``rnnkit/data/files/airpassengers.csv`` (source and licence in the README there).
- ``sunspots``: yearly sunspot numbers 1700-2008 from ``statsmodels.datasets.sunspots``, 309 values.
- ``co2``: Mauna Loa CO2 (ppm) from ``statsmodels.datasets.co2``, weekly 1958-2001 averaged to
  months (526 values); the few months without a measurement are interpolated linearly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from rnnkit.data.series import SeriesColumns, SeriesSet, series_from_frame
from rnnkit.errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    """A named series and its usual forecasting horizon."""

    name: str
    description: str
    horizon: int


DATASETS: dict[str, DatasetInfo] = {
    "airpassengers": DatasetInfo("airpassengers", "monthly airline passengers (thousands), 1949-1960", horizon=12),
    "sunspots": DatasetInfo("sunspots", "yearly sunspot numbers, 1700-2008", horizon=30),
    "co2": DatasetInfo("co2", "Mauna Loa CO2 (ppm), monthly means 1958-2001", horizon=24),
}


def _airpassengers() -> pd.DataFrame:
    path = resources.files("rnnkit.data").joinpath("files/airpassengers.csv")
    with resources.as_file(path) as csv:
        return pd.read_csv(csv)


def _sunspots() -> pd.DataFrame:
    import statsmodels.datasets

    frame = statsmodels.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"year": frame["YEAR"].astype(int), "sunspots": frame["SUNACTIVITY"]})


def _co2() -> pd.DataFrame:
    import statsmodels.datasets

    weekly = statsmodels.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate(method="linear")
    return pd.DataFrame({"month": monthly.index, "co2": monthly.to_numpy()})


_LOADERS = {
    "airpassengers": (_airpassengers, SeriesColumns(time="Month", target="Passengers")),
    "sunspots": (_sunspots, SeriesColumns(time="year", target="sunspots")),
    "co2": (_co2, SeriesColumns(time="month", target="co2")),
}


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a named dataset; unknown names raise with the closest match."""
    if name not in DATASETS:
        close = difflib.get_close_matches(str(name), list(DATASETS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DataError(f"unknown dataset {name!r}; {hint}(choose from {', '.join(DATASETS)})")
    return DATASETS[name]


def load_dataset(name: str) -> SeriesSet:
    """Load a named series (see :data:`DATASETS`) as a validated :class:`SeriesSet` (one series)."""
    info = dataset_info(name)
    loader, columns = _LOADERS[info.name]
    return series_from_frame(loader(), columns, source=f"dataset {info.name!r}")
