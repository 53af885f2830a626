import numpy as np
import pytest
from statsmodels.tsa.ar_model import AutoReg

from rnnkit.data.datasets import load_dataset
from rnnkit.forecasting.baselines import AR, ETS, SARIMA, Drift, Naive, SeasonalNaive, make_baseline
from rnnkit.forecasting.metrics import mape


def test_simple_baselines_by_definition():
    y = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 7.0])
    assert Naive().forecast(y, 3).tolist() == [7.0, 7.0, 7.0]
    assert SeasonalNaive(3).forecast(y, 5).tolist() == [3.0, 5.0, 7.0, 3.0, 5.0]
    np.testing.assert_allclose(Drift().forecast(y, 2), [7.0 + 6 / 5, 7.0 + 12 / 5])


def test_ar_recursion_matches_statsmodels_and_conditions_on_new_history():
    y = load_dataset("sunspots").series[0].values
    train = y[:-30]
    model = AR(lags=9).fit(train)
    np.testing.assert_allclose(model.forecast(train, 30), AutoReg(train, lags=9, trend="c").fit().forecast(30), atol=1e-9)
    longer = y[:-20]  # the fitted coefficients applied to a history that runs on past the training data
    expected = model.const + model.phi @ longer[-1:-10:-1]
    assert model.forecast(longer, 1)[0] == pytest.approx(expected)


def test_classical_models_on_airpassengers_match_reference_accuracy():
    y = load_dataset("airpassengers").series[0].values
    train, test = y[:-12], y[-12:]
    assert mape(test, SeasonalNaive(12).forecast(train, 12)) == pytest.approx(9.99, abs=0.01)
    assert mape(test, SARIMA(12).fit(train).forecast(train, 12)) == pytest.approx(2.90, abs=0.02)
    ets = ETS(12).fit(train)
    assert mape(test, ets.forecast(train, 12)) == pytest.approx(2.21, abs=0.02)
    # re-filtering with the fitted parameters on a longer history changes the forecast origin
    assert ets.forecast(y[:-6], 6).shape == (6,)
    assert not np.allclose(ets.forecast(y[:-6], 6), ets.forecast(train, 12)[6:])


def test_bad_baseline_input():
    with pytest.raises(ValueError, match="unknown baseline 'arima'; choose from naive, snaive"):
        make_baseline("arima")
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        Naive().forecast(np.ones(3), 0)
    with pytest.raises(ValueError, match="seasonal naive needs at least 12 past values, got 5"):
        SeasonalNaive(12).forecast(np.ones(5), 1)
