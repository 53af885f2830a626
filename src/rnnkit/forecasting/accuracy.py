"""Accuracy of long-format forecasts as the M3 and Tourism competitions define it.

For each series i with true values y and forecasts f over the horizon (H steps):

    sMAPE_i = mean_k 200 |y - f| / (|y| + |f|)              (M3 definition, %)
    MAPE_i  = mean_k 100 |y - f| / |y|                      (%, the Tourism competition's measure)
    MASE_i  = mean_k |y - f| / mean_t |x_t - x_{t-m}|       (scale: the in-sample seasonal-naive error
                                                             of the series' training part x, lag 1 when
                                                             the series is not longer than m)
    RMSE_i  = sqrt(mean_k (y - f)^2)                      (the seeds' measure, in the data's units)
    coverage-a = share of values inside the a% interval

and the table reports the mean over series (then over cutoffs in a cross-validation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ACCURACY: tuple[str, ...] = ("sMAPE", "MAPE", "MASE", "RMSE")


def mase_scales(train_df: pd.DataFrame, season: int) -> pd.Series:
    """The in-sample seasonal-naive MAE of every series (index unique_id); NaN where it is 0."""

    def scale(y: pd.Series) -> float:
        values = y.to_numpy(dtype=np.float64)
        lag = season if len(values) > season else 1
        if len(values) <= lag:
            return float("nan")
        value = float(np.mean(np.abs(values[lag:] - values[:-lag])))
        return value if value > 0 else float("nan")

    data = train_df.assign(unique_id=train_df["unique_id"].astype(str))
    return data.groupby("unique_id", sort=False)["y"].apply(scale)


def score(forecasts: pd.DataFrame, test_df: pd.DataFrame, train_df: pd.DataFrame, season: int,
          models: list[str], levels: tuple[int, ...] = (80, 95)) -> pd.DataFrame:
    """One row per model: sMAPE, MAPE, MASE, RMSE and coverage-<level> where the interval columns exist.

    ``forecasts`` holds unique_id, ds (and cutoff, in a cross-validation) and the models' columns;
    ``test_df`` the true y at those (unique_id, ds); ``train_df`` the history the MASE scale comes from.
    """
    keys = ["unique_id", "ds"]
    frame = forecasts.assign(unique_id=forecasts["unique_id"].astype(str))
    if "y" not in frame.columns:
        truth = test_df.assign(unique_id=test_df["unique_id"].astype(str))[keys + ["y"]]
        frame = frame.merge(truth, on=keys, how="left")
    if frame["y"].isna().any():
        raise ValueError("some forecasts have no true value in test_df; give the test values of every (unique_id, ds)")
    frame = frame.merge(mase_scales(train_df, season).rename("mase_scale"), left_on="unique_id", right_index=True,
                        how="left")
    group = ["unique_id"] + (["cutoff"] if "cutoff" in frame.columns else [])
    y = frame["y"].to_numpy(dtype=np.float64)
    rows = {}
    for model in models:
        f = frame[model].to_numpy(dtype=np.float64)
        error = np.abs(y - f)
        denominator = np.abs(y) + np.abs(f)
        terms = pd.DataFrame({
            "sMAPE": np.divide(200 * error, denominator, out=np.zeros_like(y), where=denominator > 0),
            "MAPE": np.divide(100 * error, np.abs(y), out=np.full_like(y, np.nan), where=y != 0),
            "MASE": error / frame["mase_scale"].to_numpy(),
            "RMSE": error**2,
        })
        for level in levels:
            lo, hi = f"{model}-lo-{level:g}", f"{model}-hi-{level:g}"
            if lo in frame.columns and hi in frame.columns:
                terms[f"coverage-{level:g}"] = 100.0 * ((y >= frame[lo].to_numpy()) & (y <= frame[hi].to_numpy()))
        per_series = terms.groupby([frame[g] for g in group]).mean()
        per_series["RMSE"] = np.sqrt(per_series["RMSE"])
        rows[model] = per_series.mean()
    return pd.DataFrame(rows).T
