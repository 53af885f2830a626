"""Small synthetic panels in the long format (unique_id, ds, y) for the global-forecaster tests."""

import numpy as np
import pandas as pd
import pytest


def seasonal_panel(num_series: int = 24, length: int = 72, season: int = 12, seed: int = 0,
                   noise: float = 0.02, dates: bool = True) -> pd.DataFrame:
    """Series ``level * (1 + 0.3 sin(2 pi t / m + phase)) * (1 + trend t)`` with a little noise:
    every series has its own level (1 to 1000), phase and trend, so only a per-window scale and
    a learned seasonal pattern forecast them all."""
    rng = np.random.default_rng(seed)
    frames = []
    t = np.arange(length)
    for i in range(num_series):
        level = 10 ** rng.uniform(0, 3)
        phase = rng.uniform(0, 2 * np.pi)
        trend = rng.uniform(-0.002, 0.01)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * t / season + phase)) * (1 + trend * t)
        y = y * (1 + noise * rng.standard_normal(length))
        ds = pd.date_range("2000-01-01", periods=length, freq="MS") if dates else np.arange(1, length + 1)
        frames.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def panel_df() -> pd.DataFrame:
    return seasonal_panel()


@pytest.fixture
def make_panel():
    return seasonal_panel
