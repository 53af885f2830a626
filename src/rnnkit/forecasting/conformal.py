"""Split-conformal prediction intervals (conformalized quantile regression, Romano et al. 2019).

On calibration windows the model never trained on, each forecast step k gets the scores

    e_ik = max(lo_ik - y_ik, y_ik - hi_ik) / s_i        (N, H)

where [lo, hi] is the model's own interval (the point forecast twice when it has none) and s_i
the window's level. The interval at level a is then widened by the finite-sample quantile of the
scores, ``q_k = the ceil((N + 1) a)-th smallest e_ik``:

    [lo - q_k s, hi + q_k s]

which covers a new window's value with probability at least a when windows are exchangeable.
Pooling the scores of all series per step is what makes this work with one calibration window per
series.
"""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(scores: np.ndarray, level: float) -> np.ndarray:
    """Per-column finite-sample quantile of ``scores`` (N, H) at ``level`` in (0, 1): (H,).

    ``+inf`` when N is too small for the level (fewer than 1 / (1 - level) - 1 scores).
    """
    n = scores.shape[0]
    rank = math.ceil((n + 1) * level)
    if rank > n:
        return np.full(scores.shape[1], np.inf)
    return np.sort(scores, axis=0)[rank - 1]


def conformity_scores(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """max(lo - y, y - hi) / s for every window and step: (N, H) from (N, H) arrays and s (N,)."""
    return np.maximum(lo - y, y - hi) / scale[:, None]


def widen(point: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray,
          q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The calibrated interval [lo - q s, hi + q s], never excluding the point forecast: two (N, H)."""
    lower = np.minimum(lo - q[None, :] * scale[:, None], point)
    upper = np.maximum(hi + q[None, :] * scale[:, None], point)
    return lower, upper
