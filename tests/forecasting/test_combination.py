"""The network combined with baselines: the point is the mean (or median) of the members, the
intervals are split conformal on validation windows and cover what they promise."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.forecasting.combination import Combination, window_levels


def _windows(num_series, horizon, rng, noise=1.0):
    """Validation-like rows: unique_id, ds, cutoff, y and two members with independent errors."""
    rows = []
    for i in range(num_series):
        level = 10 ** rng.uniform(0, 2)
        truth = level * (1 + 0.1 * rng.standard_normal(horizon))
        rows.append(pd.DataFrame({
            "unique_id": f"s{i}", "ds": np.arange(21, 21 + horizon), "cutoff": 20, "y": truth,
            "A": truth + noise * level * 0.1 * rng.standard_normal(horizon),
            "B": truth + noise * level * 0.1 * rng.standard_normal(horizon),
        }))
    return pd.concat(rows, ignore_index=True)


def _history(frame):
    """Twenty past values per series whose mean |y| is the series' level."""
    level = frame.groupby("unique_id")["y"].mean()
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": np.arange(1, 21), "y": value})
                      for uid, value in level.items()], ignore_index=True)


def test_point_is_the_mean_or_median_of_the_members():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 8.0], "c": [5.0, 3.0]})
    np.testing.assert_allclose(Combination("m", ("a", "b", "c")).point(frame), [3.0, 13 / 3])
    np.testing.assert_allclose(Combination("m", ("a", "b", "c"), how="median").point(frame), [3.0, 3.0])
    with pytest.raises(ValueError, match="no forecast column 'd'"):
        Combination("m", ("a", "d")).point(frame)
    with pytest.raises(ValueError, match="at least two members"):
        Combination("m", ("a",))
    with pytest.raises(ValueError, match="how must be one of mean, median"):
        Combination("m", ("a", "b"), how="max")


def test_window_levels_are_the_mean_abs_of_the_last_values_up_to_each_cutoff():
    history = pd.DataFrame({"unique_id": ["x"] * 6 + ["z"] * 3, "ds": [1, 2, 3, 4, 5, 6, 1, 2, 3],
                            "y": [1.0, -2, 3, 4, 5, 6, 0, 0, 0]})
    cutoffs = pd.DataFrame({"unique_id": ["x", "x", "z"], "cutoff": [4, 6, 3]})
    levels = window_levels(history, cutoffs, 3)
    assert levels[("x", 4)] == pytest.approx((2 + 3 + 4) / 3)
    assert levels[("x", 6)] == pytest.approx(5.0)
    assert levels[("z", 3)] == 1.0  # all zero: scale 1


def test_conformal_intervals_cover_new_windows_at_their_level_and_are_narrower_than_a_member_would_need():
    rng = np.random.default_rng(0)
    calibration, fresh = _windows(1500, 4, rng), _windows(1500, 4, rng)
    calibration["cutoff"], fresh["cutoff"] = 20, 20
    combo = Combination("A+B", ("A", "B"), scale_window=20).calibrate(calibration, _history(calibration), (80, 95))
    assert set(combo.widths) == {"80", "95"} and len(combo.widths["80"]) == 4
    out = combo.apply(fresh, _history(fresh))
    y = out["y"].to_numpy()
    for level in (80, 95):
        inside = (y >= out[f"A+B-lo-{level}"]) & (y <= out[f"A+B-hi-{level}"])
        assert abs(100 * inside.mean() - level) < 2.5
    assert np.all(out["A+B-lo-95"] <= out["A+B-lo-80"]) and np.all(out["A+B-hi-80"] <= out["A+B-hi-95"])
    # errors of two independent members average out: the combination errs less than either
    error = lambda column: np.mean(np.abs(out[column] - y))  # noqa: E731
    assert error("A+B") < 0.8 * min(error("A"), error("B"))


def test_forecast_ahead_takes_each_series_last_time_as_its_cutoff_and_round_trips_through_a_dict():
    rng = np.random.default_rng(1)
    calibration = _windows(40, 3, rng)
    history = _history(calibration)
    combo = Combination("A+B", ("A", "B"), scale_window=20).calibrate(calibration, history, (80,))
    ahead = calibration.drop(columns=["cutoff", "y"])
    out = Combination.from_dict(combo.to_dict()).apply(ahead, history)
    assert "cutoff" not in out.columns
    with_cutoff = combo.apply(calibration, history)
    np.testing.assert_allclose(out["A+B-hi-80"], with_cutoff["A+B-hi-80"])
