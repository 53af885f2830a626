"""Multiplicative seasonal indices of each window, from its own context (no value after the origin).

As the Theta method does before it extrapolates (Assimakopoulos & Nikolopoulos 2000), a window is
tested for seasonality at lag m on its last complete cycles,

    |r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)        (r_k: autocorrelation at lag k, n values)

and, if seasonal, divided by its seasonal indices

    I_j = mean over cycles c of  y_cj / mean(y_c)            normalized to mean(I) = 1

(j the position in the cycle, counted from the window's end); the network then sees and forecasts
the deseasonalized values, and its forecast is multiplied back by I at each future position.
Windows with fewer than two observed cycles, a value <= 0 in them, or no seasonality get I = 1.
"""

from __future__ import annotations

import numpy as np


def seasonal_indices(z: np.ndarray, mask: np.ndarray, season: int) -> np.ndarray:
    """Seasonal indices of windows z (N, L) with mask (N, L): (N, m), where
    column j belongs to the positions p with (p - L) mod m == j (the last context value has
    j = m - 1, the first forecast step j = 0)."""
    n, length = z.shape
    m = season
    out = np.ones((n, m))
    if m < 2:
        return out
    observed = mask.sum(axis=1).astype(np.int64)
    cycles = np.minimum(observed, length) // m  # complete cycles counted from the end
    for c in np.unique(cycles):
        if c < 2:
            continue
        rows = np.flatnonzero(cycles == c)
        rows = rows[np.all(z[rows, length - c * m :] > 0, axis=1)]  # a zero or negative value: left as is
        x = z[rows, length - c * m :]  # (R, c m)
        seasonal = _is_seasonal(x, m)
        cyc = x.reshape(len(rows), c, m)
        index = (cyc / cyc.mean(axis=2, keepdims=True)).mean(axis=1)  # (R, m)
        index = index / index.mean(axis=1, keepdims=True)
        out[rows] = np.where(seasonal[:, None], index, 1.0)
    return out


def _is_seasonal(x: np.ndarray, m: int) -> np.ndarray:
    """The 90% autocorrelation test at lag m for each row of x (R, n): (R,) bool."""
    n = x.shape[1]
    d = x - x.mean(axis=1, keepdims=True)
    denominator = np.maximum((d**2).sum(axis=1), 1e-12)
    r = np.stack([(d[:, k:] * d[:, : n - k]).sum(axis=1) / denominator for k in range(1, m + 1)], axis=1)
    limit = 1.645 * np.sqrt((1 + 2 * (r[:, : m - 1] ** 2).sum(axis=1)) / n)
    return np.abs(r[:, m - 1]) > limit


def positions(indices: np.ndarray, start: int, steps: int, length: int) -> np.ndarray:
    """The indices of ``steps`` positions from ``start`` (0 = the first of the L context values):
    (N, m) -> (N, steps)."""
    m = indices.shape[1]
    columns = (np.arange(start, start + steps) - length) % m
    return indices[:, columns]
